// mpscq/detail/eventfd.hpp - an optional, non-blocking eventfd owned by value.
//
// Internal header: not part of the public API, not general purpose.
//
// local_work signals it when work arrives on an empty queue, so an owner that
// sleeps in poll()/epoll rather than in local_work::wait() learns about the
// work; the owner drains it when it takes that work. Linux only: elsewhere
// open() throws std::system_error (ENOSYS), and a disabled eventfd (the
// default) costs nothing anywhere.
#ifndef MPSCQ_DETAIL_EVENTFD_HPP
#define MPSCQ_DETAIL_EVENTFD_HPP

#include <cerrno>
#include <cstdint>
#include <system_error>

#if defined(__linux__) && __has_include(<sys/eventfd.h>)
#include <sys/eventfd.h>
#include <unistd.h>
#define MPSCQ_HAS_EVENTFD 1
#endif

namespace mpscq::detail {

class eventfd_signal {
 public:
  eventfd_signal() noexcept = default;
  eventfd_signal(const eventfd_signal&) = delete;
  eventfd_signal& operator=(const eventfd_signal&) = delete;
  ~eventfd_signal() { close(); }

  /// Creates the eventfd (non-blocking, close-on-exec). Throws on failure.
  void open() {
#if defined(MPSCQ_HAS_EVENTFD)
    fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "mpscq: eventfd");
#else
    throw std::system_error(ENOSYS, std::generic_category(), "mpscq: eventfd is Linux only");
#endif
  }

  void close() noexcept {
#if defined(MPSCQ_HAS_EVENTFD)
    if (fd_ >= 0) ::close(fd_);
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
  int fd_ = -1;
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_EVENTFD_HPP
