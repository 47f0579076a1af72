// mpscq/detail/eventfd.hpp - an optional, non-blocking eventfd owned by value.
//
// Internal header: not part of the public API, not general purpose.
//
// local_work signals it when work arrives on an empty queue, so an owner that
// sleeps in poll()/epoll rather than in local_work::wait() learns about the
// work; the owner drains it when it takes that work. Linux only: elsewhere
// open() throws std::system_error (ENOSYS), and a disabled eventfd (the
// default) costs nothing anywhere.
//
// FORK (detail/fork_hooks.hpp)
//   The descriptor is the only one the library creates. After fork() both
//   processes' descriptors would name ONE kernel object: a child that runs
//   its copy of the local_work would drain the parent's signal (a parent
//   asleep in poll() never wakes), and a child's add would wake the parent
//   over an empty queue. So each open eventfd is a fork hook: in the child,
//   its handler creates a new eventfd and installs it at the SAME descriptor
//   number (eventfd + dup3(O_CLOEXEC) + close), so event_fd() keeps its value
//   and the child never reads or writes the parent's object. The new one is
//   readable exactly when the child's copy of the flag it mirrors (the
//   local_work's pending flag, given to open()) is set: the same state the
//   parent's object had at the fork. open() and close() hold the fork lock,
//   so at every fork the registered eventfds are exactly the open ones.
//   If the child cannot get a new eventfd (ENFILE, ENOMEM) it is reported
//   ("mpscq::local_work: cannot give the forked child an eventfd of its own
//   ...") and the child aborts rather than share the parent's.
//   Close-on-exec stays set, so an exec'd child has none of them.
#ifndef MPSCQ_DETAIL_EVENTFD_HPP
#define MPSCQ_DETAIL_EVENTFD_HPP

#include <cerrno>
#include <cstdint>
#include <system_error>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/fork_hooks.hpp>

#if defined(__linux__) && __has_include(<sys/eventfd.h>)
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <mpscq/detail/misuse.hpp>
#define MPSCQ_HAS_EVENTFD 1
#if MPSCQ_DETAIL_FORK_HOOKS
#define MPSCQ_DETAIL_EVENTFD_FORK_HOOK 1
#endif
#endif

namespace mpscq::detail {

class eventfd_signal
#if defined(MPSCQ_DETAIL_EVENTFD_FORK_HOOK)
    : private fork_hook
#endif
{
 public:
  eventfd_signal() noexcept = default;
  eventfd_signal(const eventfd_signal&) = delete;
  eventfd_signal& operator=(const eventfd_signal&) = delete;
  ~eventfd_signal() { close(); }

  /// Creates the eventfd (non-blocking, close-on-exec) and registers it for
  /// fork (see FORK): a forked child's copy is readable iff
  /// `readable_after_fork` (the flag this eventfd mirrors; nullptr: never)
  /// is set in the child's memory. Throws std::system_error on failure.
  void open(const atomic<bool>* readable_after_fork = nullptr) {
#if defined(MPSCQ_HAS_EVENTFD)
#if defined(MPSCQ_DETAIL_EVENTFD_FORK_HOOK)
    fork_lock lock;  // no fork between the eventfd's creation and its registration
#endif
    fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "mpscq: eventfd");
#if defined(MPSCQ_DETAIL_EVENTFD_FORK_HOOK)
    readable_after_fork_ = readable_after_fork;
    if (const int rc = lock.add(*this); rc != 0) {
      ::close(fd_);
      fd_ = -1;
      throw std::system_error(rc, std::generic_category(), "mpscq: eventfd: cannot register the fork handlers");
    }
#else
    (void)readable_after_fork;
#endif
#else
    (void)readable_after_fork;
    throw std::system_error(ENOSYS, std::generic_category(), "mpscq: eventfd is Linux only");
#endif
  }

  void close() noexcept {
#if defined(MPSCQ_HAS_EVENTFD)
    if (fd_ >= 0) {
#if defined(MPSCQ_DETAIL_EVENTFD_FORK_HOOK)
      // Unregistered before the descriptor goes: a fork in between would
      // otherwise make the child's handler dup3() over whatever the number
      // names by then.
      fork_lock lock;
      lock.remove(*this);
#endif
      ::close(fd_);
    }
#endif
    fd_ = -1;
  }

  int fd() const noexcept { return fd_; }
  bool enabled() const noexcept { return fd_ >= 0; }

  /// Makes the eventfd readable (any thread). One write(2).
  void signal() const noexcept {
#if defined(MPSCQ_HAS_EVENTFD)
    const std::uint64_t one = 1;
    // Only EAGAIN (counter saturated: already readable) can fail here.
    [[maybe_unused]] const auto n = ::write(fd_, &one, sizeof one);
#endif
  }

  /// Makes it unreadable again (the owner, when it takes the work). One read(2).
  void drain() const noexcept {
#if defined(MPSCQ_HAS_EVENTFD)
    std::uint64_t count = 0;
    // EAGAIN: nothing to drain.
    [[maybe_unused]] const auto n = ::read(fd_, &count, sizeof count);
#endif
  }

 private:
#if defined(MPSCQ_DETAIL_EVENTFD_FORK_HOOK)
  // The child's handler (see FORK): its only thread, syscalls only.
  void after_fork_child() noexcept override {
    const int saved_errno = errno;  // fork() returns to its caller after us
    // [K1] Relaxed: the child has one thread, and this is its own copy.
    const bool readable = readable_after_fork_ != nullptr && readable_after_fork_->load(std::memory_order_relaxed);
    const unsigned int initial = readable ? 1U : 0U;
    int fresh = ::eventfd(initial, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fresh < 0 && errno == EMFILE) {
      // No free descriptor number: give up the parent's first (the child's
      // reference to it only), then the new one can take a number.
      ::close(fd_);
      fresh = ::eventfd(initial, EFD_NONBLOCK | EFD_CLOEXEC);
    }
    if (fresh < 0) cannot_replace(errno);
    if (fresh != fd_) {
      // Atomically closes the child's reference to the parent's object and
      // puts the new one at the same number, still close-on-exec.
      if (::dup3(fresh, fd_, O_CLOEXEC) < 0) cannot_replace(errno);
      ::close(fresh);
    }
    errno = saved_errno;
  }

  [[noreturn]] static void cannot_replace(int error) noexcept {
    char message[256];
    std::snprintf(message, sizeof message,
                  "cannot give the forked child an eventfd of its own: %s (eventfd/dup3); it would share the "
                  "parent's",
                  std::strerror(error));
    misuse("local_work", message);
  }

  const atomic<bool>* readable_after_fork_ = nullptr;
#endif
  int fd_ = -1;
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_EVENTFD_HPP
