// Unit tests of the default fallback executor (mpscq/fallback_executor.hpp,
// detail/fallback_executor_impl.hpp): fork() after the thread started (the child
// gets a thread of its own for its own jobs, task_work destructors return;
// the rules for the jobs queued at the fork are tested in fork_test.cpp),
// thread creation failure (std::system_error from the task_work constructor;
// a child that cannot start one is told at its first hand-off), and backoff
// while a producer is inside its push.
//
// Fork tests run the child's checks with alarm() armed, so a regression fails
// (SIGALRM) instead of hanging, and report through the exit code. Thread
// creation is made to fail for real: pthread_setattr_default_np with a stack
// no mmap can provide (the thread is created with default attributes).
#include <mpscq/fallback_executor.hpp>
#include <mpscq/task_work.hpp>

#include <gtest/gtest.h>

#include "test_wait.hpp"

#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#if defined(__SANITIZE_THREAD__)
// TSan refuses, by default, to start threads in the child of a multi-threaded
// fork ("starting new threads after multi-threaded fork is not supported.
// Dying"), and restarting the fallback thread there is exactly what these
// tests check. TSan's own fork interceptor keeps its state consistent; opt
// in to continuing (its internal locks are taken around fork()).
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }
#endif

namespace {

using mpscq::run_state;
using mpscq::task_work;
using mpscq::work;
using mpscq::detail::fallback_thread;

constexpr unsigned child_alarm_s = 20;

// An item that records how it ran.
struct item {
  work w{{}, &item::run};
  std::atomic<int> runs{0};
  std::atomic<bool> cancelled{false};
  static void run(work& self, run_state st) noexcept {
    item& it = mpscq::container_of<&item::w>(self);
    it.cancelled.store(st.cancel, std::memory_order_relaxed);
    it.runs.fetch_add(1, std::memory_order_release);
  }
};

// A job that blocks its executor's thread until released.
struct blocker {
  work w{{}, &blocker::run};
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  static void run(work& self, run_state) noexcept {
    blocker& b = mpscq::container_of<&blocker::w>(self);
    b.entered.store(true, std::memory_order_release);
    while (!b.release.load(std::memory_order_acquire)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
};

using mpscq_test::wait_for;

bool refuse(task_work&) { return false; }

// Makes pthread_create with default attributes fail (EAGAIN: no mmap can
// give a 1 PiB stack) until destroyed.
class threads_cannot_start {
 public:
  threads_cannot_start() {
    ok_ = pthread_getattr_default_np(&saved_) == 0;
    pthread_attr_t huge;
    pthread_attr_init(&huge);
    ok_ = ok_ && pthread_attr_setstacksize(&huge, std::size_t{1} << 50) == 0 &&
          pthread_setattr_default_np(&huge) == 0;
    pthread_attr_destroy(&huge);
  }
  ~threads_cannot_start() {
    pthread_setattr_default_np(&saved_);
    pthread_attr_destroy(&saved_);
  }
  bool ok() const { return ok_; }

 private:
  pthread_attr_t saved_{};
  bool ok_ = false;
};

// Waits for `pid`; returns its exit code, or 128 + signal.
int wait_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// --- fork --------------------------------------------------------------------

// The bug: after fork() the child's start-once state said "started" with no
// thread behind it, so refused items never ran and ~task_work hung. Now the
// child starts a thread of its own at its first hand-off.
TEST(FallbackFork, ChildRunsRefusedItemsAndQueuedJobs) {
  // Thread started and used in the parent.
  task_work before(refuse);
  item first;
  before.add(first.w);
  ASSERT_TRUE(wait_for([&] { return first.runs.load(std::memory_order_acquire) == 1; }));

  // At the fork: the thread is busy with `hold`, and a job handed over by
  // `queued_tw` waits in the queue behind it.
  blocker hold;
  mpscq::default_fallback_executor().execute(hold.w);
  ASSERT_TRUE(wait_for([&] { return hold.entered.load(std::memory_order_acquire); }));
  auto* queued_tw = new task_work(refuse);
  item queued;
  queued_tw->add(queued.w);
  ASSERT_EQ(queued.runs.load(), 0);

  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    alarm(child_alarm_s);
    // The job queued before the fork is held in the child (fork_test.cpp);
    // destroying its task_work asks for it: the destructor runs it and
    // returns.
    delete queued_tw;
    if (queued.runs.load() != 1 || !queued.cancelled.load()) _exit(2);
    // A task_work from the parent, and a new one, both work in the child.
    item again;
    before.add(again.w);
    {
      task_work fresh(refuse);
      item it;
      fresh.add(it.w);
      fresh.close();
    }  // ~task_work returns: the item ran
    {
      task_work fresh(refuse);
      item it;
      fresh.add(it.w);
      if (!wait_for([&] { return it.runs.load(std::memory_order_acquire) == 1; })) _exit(3);
      if (!it.cancelled.load()) _exit(4);
    }
    if (!wait_for([&] { return again.runs.load(std::memory_order_acquire) == 1; })) _exit(5);
    _exit(0);
  }
  hold.release.store(true, std::memory_order_release);
  EXPECT_EQ(wait_child(pid), 0);
  delete queued_tw;  // the parent's copy of the job ran here too
  EXPECT_EQ(queued.runs.load(), 1);
  EXPECT_TRUE(queued.cancelled.load());
}

// A job that forks: in the child the forking thread is the fallback thread,
// and stays it (no second thread on the same queue).
pthread_t forking_thread{};

void exit_if_on_forking_thread(work&, run_state) noexcept {
  _exit(pthread_equal(pthread_self(), forking_thread) != 0 ? 0 : 4);
}
work exit_job{{}, &exit_if_on_forking_thread};

struct forking_job {
  work w{{}, &forking_job::run};
  fallback_thread* ft = nullptr;
  std::atomic<pid_t> child{-1};
  std::atomic<bool> done{false};

  static void run(work& self, run_state) noexcept {
    forking_job& j = mpscq::container_of<&forking_job::w>(self);
    forking_thread = pthread_self();
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(child_alarm_s);
      if (!j.ft->running()) _exit(3);
      j.ft->execute(exit_job);  // runs on this thread once this job returns
      return;
    }
    j.child.store(pid, std::memory_order_relaxed);
    j.done.store(true, std::memory_order_release);
  }
};

TEST(FallbackFork, ForkFromInsideAJob) {
  auto* ft = new fallback_thread();  // leaked: its thread runs forever
  forking_job job;
  job.ft = ft;
  ft->execute(job.w);
  ASSERT_TRUE(wait_for([&] { return job.done.load(std::memory_order_acquire); }));
  ASSERT_GE(job.child.load(), 0);
  EXPECT_EQ(wait_child(job.child.load()), 0);
}

// --- thread creation failure -------------------------------------------------

TEST(FallbackStart, FailureThrowsSystemErrorAndCanBeRetried) {
  auto* ft = new fallback_thread();  // leaked: its thread runs forever
  {
    threads_cannot_start no_threads;
    ASSERT_TRUE(no_threads.ok());
    try {
      ft->start();
      ADD_FAILURE() << "start() did not throw";
    } catch (const std::system_error& e) {
      EXPECT_NE(e.code().value(), 0);
      EXPECT_NE(std::string(e.what()).find("mpscq::fallback_executor: cannot start the default fallback thread"),
                std::string::npos)
          << e.what();
    }
    EXPECT_FALSE(ft->running());
  }
  ft->start();  // not stuck in "started" (nor in "failed")
  EXPECT_TRUE(ft->running());
  item it;
  ft->execute(it.w);
  EXPECT_TRUE(wait_for([&] { return it.runs.load(std::memory_order_acquire) == 1; }));
}

// The one-argument task_work constructor starts the default thread; in a
// process that cannot create threads it throws instead of terminating. Run in
// a child, where the default thread is not running (and whose failure cannot
// leave the test process without one).
TEST(FallbackStart, TaskWorkConstructorThrowsWhenTheThreadCannotStart) {
  (void)mpscq::default_fallback_executor();  // running in the parent: the child must restart it
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    alarm(child_alarm_s);
    threads_cannot_start no_threads;
    if (!no_threads.ok()) _exit(10);
    try {
      task_work tw(refuse);
      _exit(11);  // constructed without a fallback thread
    } catch (const std::system_error& e) {
      if (e.code().value() != EAGAIN) _exit(12);
      if (std::strstr(e.what(), "cannot start the default fallback thread") == nullptr) _exit(13);
      if (std::strstr(e.what(), std::strerror(EAGAIN)) == nullptr) _exit(14);
    } catch (...) {
      _exit(15);
    }
    _exit(0);
  }
  EXPECT_EQ(wait_child(pid), 0);
}

// In a forked child no thread is started by the fork handler (the jobs
// queued at the fork are held, not run): a child that cannot create threads
// survives the fork, and its own first hand-off reports the failure with its
// cause and aborts (rather than leaving the job to hang). (Until issue 18 the
// handler restarted the thread at once and aborted there.)
TEST(FallbackStart, StartFailureInChildIsReportedAtItsFirstHandOff) {
  auto* ft = new fallback_thread();  // leaked: its thread runs forever
  blocker hold;
  ft->execute(hold.w);
  ASSERT_TRUE(wait_for([&] { return hold.entered.load(std::memory_order_acquire); }));
  item queued;
  ft->execute(queued.w);  // queued behind `hold` at the fork

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  fflush(stderr);
  pid_t pid;
  {
    threads_cannot_start no_threads;  // inherited by the child
    ASSERT_TRUE(no_threads.ok());
    pid = fork();
    if (pid == 0) {
      alarm(child_alarm_s);
      dup2(pipe_fds[1], 2);
      if (ft->running()) _exit(20);       // no thread started at the fork
      if (queued.runs.load() != 0) _exit(21);
      item own;
      ft->execute(own.w);  // cannot start a thread: reported, abort
      _exit(22);
    }
  }
  close(pipe_fds[1]);
  hold.release.store(true, std::memory_order_release);
  ASSERT_GE(pid, 0);
  EXPECT_EQ(wait_child(pid), 128 + SIGABRT);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<std::size_t>(n));
  close(pipe_fds[0]);
  EXPECT_NE(message.find("mpscq::fallback_executor: cannot start the default fallback thread: "), std::string::npos)
      << message;
  EXPECT_NE(message.find(std::strerror(EAGAIN)), std::string::npos) << message;
  EXPECT_TRUE(wait_for([&] { return queued.runs.load(std::memory_order_acquire) == 1; }));  // parent unaffected
}

// --- backoff -------------------------------------------------------------------

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A producer held inside its push: the thread sees pop() == nullptr while the
// queue is not empty. It must back off (sleeping), not yield-spin: the whole
// process, otherwise idle, may use only a fraction of the wall time.
TEST(FallbackBackoff, InFlightPushDoesNotBurnCpu) {
  auto* ft = new fallback_thread();  // leaked: its thread runs forever
  ft->start();
  mpscq::queue& q = mpscq::detail::fallback_thread_access::jobs(*ft);

  blocker hold;  // keeps the thread awake until the push is held
  ft->execute(hold.w);
  ASSERT_TRUE(wait_for([&] { return hold.entered.load(std::memory_order_acquire); }));
  item held, behind;
  mpscq::node* prev = mpscq::detail::queue_access::publish(q, &held.w.hook, &held.w.hook);
  ft->execute(behind.w);  // pushed behind the held one: not reachable yet
  hold.release.store(true, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the thread meets the held push

  const double cpu0 = process_cpu_seconds();
  const auto wall0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double cpu = process_cpu_seconds() - cpu0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  EXPECT_EQ(held.runs.load(), 0);
  EXPECT_LT(cpu, wall / 5) << "the fallback thread spins while a push is in flight: " << cpu << " s CPU in " << wall
                           << " s";

  mpscq::detail::queue_access::link(prev, &held.w.hook);  // the producer finishes
  EXPECT_TRUE(wait_for([&] { return behind.runs.load(std::memory_order_acquire) == 1; }));
  EXPECT_EQ(held.runs.load(), 1);
}

}  // namespace
