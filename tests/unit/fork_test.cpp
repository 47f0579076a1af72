// fork(): what a child may do with what the library created in its parent
// (docs/api.md 6.6). The principle: pending work and kernel objects belong to
// the process that created them - a child never runs, reads or signals its
// parent's unless it asks (calling run()/wait()/close() on an inherited
// object, or destroying it).
//
//   - the local_work eventfd (issue 18, item 3): the child gets its own at the
//     same descriptor number; what it does with its copy never reaches the
//     parent's (and back);
//   - the MPSCQ_PORTABLE_FUTEX wait table: never inherited locked.
//
// Children check and report through their exit code (_exit: no static
// destructors, no atexit of the test runner), with alarm() armed so that a
// regression fails instead of hanging.
#include <mpscq/local_work.hpp>
#if defined(MPSCQ_PORTABLE_FUTEX)
#include <mpscq/detail/futex.hpp>
#endif

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
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

namespace {

using mpscq::local_work;
using mpscq::local_work_options;
using mpscq::run_state;
using mpscq::work;

constexpr unsigned child_alarm_s = 20;

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(20000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

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
