// fork(): what a child may do with what the library created in its parent
// (docs/api.md 6.6). The principle: pending work and kernel objects belong to
// the process that created them - a child never runs, reads or signals its
// parent's unless it asks (calling run()/wait()/close() on an inherited
// object, destroying it, or run_inherited_fallback_jobs()).
//
//   - the local_work eventfd (issue 18, item 3): the child gets its own at the
//     same descriptor number; what it does with its copy never reaches the
//     parent's (and back);
//   - the default fallback thread (issue 18, item 4): jobs queued at the
//     fork are held in the child - an exec'ing child runs none of them, the
//     child's own jobs run without them, and they run when the child asks;
//   - the MPSCQ_PORTABLE_FUTEX wait table: never inherited locked.
//
// Children check and report through their exit code (_exit: no static
// destructors, no atexit of the test runner), with alarm() armed so that a
// regression fails instead of hanging.
#include <mpscq/fallback_executor.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/task_work.hpp>
#if defined(MPSCQ_PORTABLE_FUTEX)
#include <mpscq/detail/futex.hpp>
#endif

#include <gtest/gtest.h>

#include "test_wait.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#if defined(__SANITIZE_THREAD__)
// TSan refuses, by default, to start threads in the child of a
// multi-threaded fork; the children here start a fallback thread of their
// own. Its fork interceptor keeps its own state consistent (see
// fallback_test.cpp).
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }
#endif

namespace {

using mpscq::local_work;
using mpscq::local_work_options;
using mpscq::run_state;
using mpscq::task_work;
using mpscq::work;

constexpr unsigned child_alarm_s = 20;

using mpscq_test::wait_for;

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

// Readable now? (poll with a zero timeout: never blocks, never drains.)
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

struct pipe_pair {
  int read_end = -1;
  int write_end = -1;
  pipe_pair() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == 0) {
      read_end = fds[0];
      write_end = fds[1];
    }
  }
  ~pipe_pair() {
    if (read_end >= 0) close(read_end);
    if (write_end >= 0) close(write_end);
  }
  pipe_pair(const pipe_pair&) = delete;
  pipe_pair& operator=(const pipe_pair&) = delete;
  bool ok() const { return read_end >= 0; }
};

// An item that counts its runs (in this process's memory).
struct item {
  work w{{}, &item::run};
  std::atomic<int> runs{0};
  std::atomic<bool> cancelled{false};
  static void run(work& self, run_state st) noexcept {
    item& it = mpscq::container_of<&item::w>(self);
    it.cancelled.store(st.cancel, std::memory_order_relaxed);
    it.runs.fetch_add(1, std::memory_order_release);
  }
  int ran() const { return runs.load(std::memory_order_acquire); }
};

// --- the eventfd ---------------------------------------------------------------

// Issue 18, item 3: an item queued from another thread (the fd readable), a
// fork, the child runs its copy. Before the fix the child drained the one
// kernel object both processes shared: the parent's fd was no longer readable
// while has_work() was true, and a parent asleep in poll() never woke.
TEST(ForkEventfd, ChildRunningItsCopyLeavesTheParentsSignal) {
  local_work_options options;
  options.enable_eventfd = true;
  options.owner = std::this_thread::get_id();  // the forking thread: the owner in the child too
  local_work lw(options);
  const int fd = lw.event_fd();
  ASSERT_GE(fd, 0);
  item it;
  std::thread producer([&] { lw.add(it.w); });
  producer.join();
  ASSERT_TRUE(lw.has_work());
  ASSERT_TRUE(readable(fd));

  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    alarm(child_alarm_s);
    if (lw.event_fd() != fd) _exit(2);       // the same number
    if (!readable(fd)) _exit(3);             // the child's copy has work: readable
    if ((fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0) _exit(4);
    if (lw.run(10) != 1 || it.ran() != 1) _exit(5);  // the child asks: runs its copy
    if (readable(fd) || lw.has_work()) _exit(6);     // and drained its own signal
    _exit(0);
  }
  EXPECT_EQ(wait_child(pid), 0);
  // The parent's signal is still there.
  EXPECT_TRUE(lw.has_work());
  EXPECT_TRUE(readable(lw.event_fd())) << "the child drained the parent's eventfd";
  EXPECT_EQ(lw.run(10), 1);
  EXPECT_EQ(it.ran(), 1);
  EXPECT_FALSE(readable(lw.event_fd()));
}

// The other direction, and one generation further: a child's add signals
// only its own eventfd, and a grandchild that runs its copy drains only its
// own. Before the fix the child's add made the parent's fd readable over an
// empty queue - for ever, since the parent drains only when its own pending
// flag is up - and the grandchild's run drained the child's signal.
TEST(ForkEventfd, ChildsSignalsStayInTheChild) {
  local_work_options options;
  options.enable_eventfd = true;
  options.owner = std::this_thread::get_id();
  local_work lw(options);
  local_work other(options);  // a second registered eventfd, idle in all processes
  const int fd = lw.event_fd();
  ASSERT_GE(fd, 0);
  ASSERT_FALSE(readable(fd));

  item parents;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    alarm(child_alarm_s);
    if (lw.event_fd() != fd || readable(fd)) _exit(2);
    item mine;
    lw.add(mine.w);
    if (!readable(fd)) _exit(3);
    const pid_t grandchild = fork();
    if (grandchild < 0) _exit(4);
    if (grandchild == 0) {
      // Its copy has the child's item: readable; it runs and drains its own.
      _exit(readable(fd) && lw.run(10) == 1 && !readable(fd) && !lw.has_work() ? 0 : 5);
    }
    if (wait_child(grandchild) != 0) _exit(6);
    if (!readable(fd) || !lw.has_work()) _exit(7);  // the child's signal is still there
    if (readable(other.event_fd())) _exit(8);
    _exit(0);  // without running: the item stays queued in the child's copy
  }
  EXPECT_EQ(wait_child(pid), 0);
  EXPECT_FALSE(readable(fd)) << "a child's add signalled the parent's eventfd";
  EXPECT_FALSE(lw.has_work());
  EXPECT_FALSE(readable(other.event_fd()));
  // The parent's own signalling still works.
  lw.add(parents.w);
  EXPECT_TRUE(readable(fd));
  EXPECT_EQ(lw.run(10), 1);
  EXPECT_FALSE(readable(fd));
}

// A child with no free descriptor number still gets an eventfd of its own
// (the handler gives up its reference to the parent's first). Run one level
// down, so the descriptor limit stays out of the test process.
TEST(ForkEventfd, ChildWithNoFreeDescriptorStillGetsItsOwn) {
  local_work_options options;
  options.enable_eventfd = true;
  options.owner = std::this_thread::get_id();
  local_work lw(options);
  const int fd = lw.event_fd();
  ASSERT_GE(fd, 0);
  item it;
  lw.add(it.w);  // readable, in every copy
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    alarm(child_alarm_s);
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(2);
    limit.rlim_cur = static_cast<rlim_t>(fd + 64);
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(3);
    while (dup(0) >= 0) {
    }
    if (errno != EMFILE) _exit(4);  // every number below the limit is taken
    const pid_t grandchild = fork();
    if (grandchild < 0) _exit(5);
    if (grandchild == 0) {
      _exit(lw.event_fd() == fd && readable(fd) && lw.run(10) == 1 && !readable(fd) ? 0 : 6);
    }
    if (wait_child(grandchild) != 0) _exit(7);
    _exit(readable(fd) && lw.has_work() ? 0 : 8);  // ours is still signalled
  }
  EXPECT_EQ(wait_child(pid), 0);
  EXPECT_TRUE(readable(fd));
  EXPECT_EQ(lw.run(10), 1);
}

// A local_work destroyed before the fork is forgotten: the child must not
// replace a descriptor that now names something else.
TEST(ForkEventfd, ClosedEventfdsAreNotTouched) {
  int number = -1;
  {
    local_work_options options;
    options.enable_eventfd = true;
    local_work lw(options);
    number = lw.event_fd();
  }
  pipe_pair p;  // takes the lowest free number: the eventfd's
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p.read_end, number);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    struct stat st {};
    _exit(fstat(number, &st) == 0 && S_ISFIFO(st.st_mode) ? 0 : 2);
  }
  EXPECT_EQ(wait_child(pid), 0);
}

// --- the default fallback thread -------------------------------------------------

bool refuse(task_work&) { return false; }

// Keeps the default fallback thread busy: a job that blocks in read(2) until
// release(). A forked child does not have that thread.
class busy_fallback {
 public:
  busy_fallback() {
    job_.fd = gate_.read_end;
    mpscq::default_fallback_executor().execute(job_.w);
    entered_ = wait_for([&] { return job_.entered.load(std::memory_order_acquire); });
  }
  ~busy_fallback() { release(); }
  busy_fallback(const busy_fallback&) = delete;
  busy_fallback& operator=(const busy_fallback&) = delete;

  bool ok() const { return gate_.ok() && entered_; }
  void release() {
    if (released_) return;
    released_ = true;
    const char byte = 1;
    [[maybe_unused]] const auto n = write(gate_.write_end, &byte, 1);
    wait_for([&] { return job_.done.load(std::memory_order_acquire); });
  }

 private:
  struct blocking_job {
    work w{{}, &blocking_job::run};
    int fd = -1;
    std::atomic<bool> entered{false};
    std::atomic<bool> done{false};
    static void run(work& self, run_state) noexcept {
      blocking_job& j = mpscq::container_of<&blocking_job::w>(self);
      j.entered.store(true, std::memory_order_release);
      char byte = 0;
      while (read(j.fd, &byte, 1) < 0 && errno == EINTR) {
      }
      j.done.store(true, std::memory_order_release);
    }
  };
  pipe_pair gate_;
  blocking_job job_;
  bool entered_ = false;
  bool released_ = false;
};

// An item with an external effect: a line on a pipe, "<pid>\n", whenever it
// runs, in whichever process.
struct effect_item {
  work w{{}, &effect_item::run};
  int fd = -1;
  std::atomic<int> runs{0};
  std::atomic<bool> cancelled{false};
  static void run(work& self, run_state st) noexcept {
    effect_item& e = mpscq::container_of<&effect_item::w>(self);
    char line[32];
    const int n = std::snprintf(line, sizeof line, "%d\n", static_cast<int>(getpid()));
    [[maybe_unused]] const auto written = write(e.fd, line, static_cast<std::size_t>(n));
    e.cancelled.store(st.cancel, std::memory_order_relaxed);
    e.runs.fetch_add(1, std::memory_order_release);
  }
  int ran() const { return runs.load(std::memory_order_acquire); }
};

std::string read_available(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  fcntl(fd, F_SETFL, flags);
  return out;
}

// Issue 18, item 4: the default fallback thread is busy; a refused cycle's
// item waits behind it; 40 children fork and exec. Before the fix the
// child's fork handler restarted the thread because jobs were queued, and it
// ran the parent's item before the exec in some of the children (the short
// pause before each exec lets such a thread run, so the old code fails every
// time; the new code runs nothing, whatever the timing).
TEST(ForkFallback, ChildThatExecsRunsNothingOfTheParents) {
  pipe_pair effects;
  ASSERT_TRUE(effects.ok());
  busy_fallback busy;
  ASSERT_TRUE(busy.ok());
  auto* tw = new task_work(refuse);
  effect_item it;
  it.fd = effects.write_end;
  tw->add(it.w);  // refused: a fallback job, queued behind the busy one
  ASSERT_EQ(it.ran(), 0);

  constexpr int children = 40;
  for (int i = 0; i < children; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) {
      alarm(child_alarm_s);
      usleep(2000);
      execl("/bin/true", "true", static_cast<char*>(nullptr));
      _exit(127);
    }
    ASSERT_EQ(wait_child(pid), 0);
  }
  busy.release();
  ASSERT_TRUE(wait_for([&] { return it.ran() == 1; }));
  delete tw;
  const std::string lines = read_available(effects.read_end);
  EXPECT_EQ(lines, std::to_string(getpid()) + "\n") << "children ran the parent's item";
}

// The child's own jobs run on a thread of its own, without the inherited
// ones; items the child adds to an inherited task_work join its held cycle;
// run_inherited_fallback_jobs() runs them when the child asks, once.
TEST(ForkFallback, ChildsOwnJobsRunWithoutTheInheritedOnes) {
  busy_fallback busy;
  ASSERT_TRUE(busy.ok());
  auto* inherited_tw = new task_work(refuse);
  item parents;
  inherited_tw->add(parents.w);  // queued behind the busy job at the fork

  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    alarm(child_alarm_s);
    item joins;
    inherited_tw->add(joins.w);  // joins the held cycle: no new hand-off
    {
      task_work mine(refuse);
      item own;
      mine.add(own.w);  // starts the child's fallback thread
      if (!wait_for([&] { return own.ran() == 1; })) _exit(2);
      if (!own.cancelled.load()) _exit(3);
    }  // ~task_work returns: the child's thread served it
    // Before the fix the restarted thread ran the inherited job first.
    if (parents.ran() != 0 || joins.ran() != 0) _exit(4);
    if (mpscq::run_inherited_fallback_jobs() != 1) _exit(5);
    if (parents.ran() != 1 || !parents.cancelled.load()) _exit(6);
    if (joins.ran() != 1 || !joins.cancelled.load()) _exit(7);
    if (mpscq::run_inherited_fallback_jobs() != 0) _exit(8);  // once
    delete inherited_tw;  // its job ran: returns
    _exit(0);
  }
  EXPECT_EQ(wait_child(pid), 0);
  busy.release();
  EXPECT_TRUE(wait_for([&] { return parents.ran() == 1; }));
  delete inherited_tw;
  EXPECT_EQ(parents.ran(), 1);
}

// Destroying an inherited task_work asks for its own held job (and only
// that one): the destructor runs it and returns instead of waiting for ever.
TEST(ForkFallback, DestroyingAnInheritedTaskWorkRunsOnlyItsOwnJob) {
  busy_fallback busy;
  ASSERT_TRUE(busy.ok());
  auto* a = new task_work(refuse);
  auto* b = new task_work(refuse);
  item in_a, in_b;
  a->add(in_a.w);
  b->add(in_b.w);

  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    alarm(child_alarm_s);
    delete a;
    if (in_a.ran() != 1 || !in_a.cancelled.load()) _exit(2);
    if (in_b.ran() != 0) _exit(3);
    if (mpscq::run_inherited_fallback_jobs() != 1) _exit(4);  // b's only
    if (in_b.ran() != 1) _exit(5);
    delete b;
    _exit(0);
  }
  EXPECT_EQ(wait_child(pid), 0);
  busy.release();
  delete a;
  delete b;
  EXPECT_EQ(in_a.ran(), 1);
  EXPECT_EQ(in_b.ran(), 1);
}

// A job that forks: in the child the forking thread goes on being the
// fallback thread, and a job the child hands over runs after the forking job
// returns - without the parent's job that was queued behind it.
struct forking_job {
  work w{{}, &forking_job::run};
  std::atomic<bool> go{false};
  std::atomic<pid_t> child{-1};
  item* behind = nullptr;

  struct exit_check {
    work w{{}, &exit_check::run};
    item* behind = nullptr;
    static void run(work& self, run_state) noexcept {
      exit_check& c = mpscq::container_of<&exit_check::w>(self);
      _exit(c.behind->ran() == 0 ? 0 : 3);  // before the fix: the parent's job ran first
    }
  };

  static void run(work& self, run_state) noexcept {
    forking_job& j = mpscq::container_of<&forking_job::w>(self);
    while (!j.go.load(std::memory_order_acquire)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(child_alarm_s);
      static exit_check check;  // outlives this job
      check.behind = j.behind;
      mpscq::default_fallback_executor().execute(check.w);  // runs on this thread once we return
      return;
    }
    j.child.store(pid, std::memory_order_release);
  }
};

TEST(ForkFallback, ForkInsideAJobHoldsTheJobsQueuedBehindIt) {
  item behind;
  forking_job job;
  job.behind = &behind;
  mpscq::fallback_executor& fallback = mpscq::default_fallback_executor();
  fallback.execute(job.w);
  fallback.execute(behind.w);  // queued behind the forking job
  job.go.store(true, std::memory_order_release);
  ASSERT_TRUE(wait_for([&] { return job.child.load(std::memory_order_acquire) >= 0; }));
  EXPECT_EQ(wait_child(job.child.load()), 0);
  EXPECT_TRUE(wait_for([&] { return behind.ran() == 1; }));  // in the parent, as queued
}

// The job the parent's fallback thread was running at the fork cannot finish
// in the child: destroying its task_work there is reported, instead of
// waiting for it for ever (it hung before).
struct blocking_item {
  work w{{}, &blocking_item::run};
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  static void run(work& self, run_state) noexcept {
    blocking_item& b = mpscq::container_of<&blocking_item::w>(self);
    b.entered.store(true, std::memory_order_release);
    while (!b.release.load(std::memory_order_acquire)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
};

TEST(ForkFallback, DestroyingATaskWorkWhoseJobWasRunningAtTheForkIsReported) {
  auto* tw = new task_work(refuse);
  blocking_item running;
  tw->add(running.w);  // refused: its job runs on the fallback thread and blocks
  ASSERT_TRUE(wait_for([&] { return running.entered.load(std::memory_order_acquire); }));

  pipe_pair err;
  ASSERT_TRUE(err.ok());
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    alarm(child_alarm_s);
    dup2(err.write_end, 2);
    delete tw;  // reported: abort
    _exit(2);
  }
  close(err.write_end);
  err.write_end = -1;
  EXPECT_EQ(wait_child(pid), 128 + SIGABRT);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = read(err.read_end, buf, sizeof buf)) > 0;) message.append(buf, static_cast<std::size_t>(n));
  EXPECT_NE(message.find("mpscq::task_work: destroyed in a forked child while its fallback job was running on the "
                         "parent's fallback thread at the fork"),
            std::string::npos)
      << message;
  running.release.store(true, std::memory_order_release);
  delete tw;  // in the parent the job finishes: the destructor returns
}

// --- the portable futex's wait table ---------------------------------------------

#if defined(MPSCQ_PORTABLE_FUTEX)
// A thread holds a slot's mutex (as a timed wait or a wake does, briefly)
// while another thread forks. Before the fix the child inherited it locked:
// its first wake on that slot deadlocked.
TEST(ForkPortableFutex, ChildNeverInheritsALockedSlot) {
  mpscq::detail::futex_word word{0};
  std::atomic<bool> locked{false};
  std::thread holder([&] {
    mpscq::detail::futex_bucket& b = mpscq::detail::futex_bucket_for(word);
    b.mutex.lock();
    locked.store(true, std::memory_order_release);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // widens the old window only
    b.mutex.unlock();
  });
  ASSERT_TRUE(wait_for([&] { return locked.load(std::memory_order_acquire); }));
  const pid_t pid = fork();  // the prepare handler waits for the holder
  if (pid == 0) {
    alarm(child_alarm_s);
    word.store(1, std::memory_order_release);
    mpscq::detail::futex_wake(word, 1);
    const auto r = mpscq::detail::futex_wait(word, 1, std::chrono::milliseconds(1));
    _exit(r == mpscq::detail::futex_wait_result::timed_out ? 0 : 2);
  }
  holder.join();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  EXPECT_EQ(wait_child(pid), 0);
}
#endif

}  // namespace
