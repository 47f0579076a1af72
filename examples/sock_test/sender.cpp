// sender.cpp - sock_test's client side: N client sockets, non-blocking sends
// driven by epoll, the byte pattern per connection; stops by itself after
// --seconds or --max-mib, then shuts the connections down (EOF on each).
#include "sock_test/sock_test.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace sock_test {

template <class LW>
void sender(phase<LW>& ph) {
  const std::uint64_t cpu0 = thread_cpu_ns();
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1", errno);
  for (int i = 0; i < ph.nclients; ++i) {
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ph.client_fds[static_cast<std::size_t>(i)], &ev) != 0) die("epoll_ctl", errno);
  }
  while (!ph.receiver_armed.load(std::memory_order_acquire) && !ph.abort.load(std::memory_order_relaxed))
    std::this_thread::yield();
  const std::uint64_t cap = ph.opt->max_mib * 1024 * 1024;
  const auto deadline = ph.start + example::to_duration(ph.opt->seconds);
  std::uint64_t total = 0;
  std::vector<epoll_event> evs(512);
  while (total < cap && clock_type::now() < deadline && !ph.abort.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait (sender)", errno);
    }
    for (int i = 0; i < n && total < cap; ++i) {
      const std::uint32_t c = evs[static_cast<std::size_t>(i)].data.u32;
      std::uint64_t& off = ph.sent[c];
      const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(send_chunk, cap - total));
      const ssize_t r = send(ph.client_fds[c], pattern_table.data() + pattern_phase(c, off), len, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r > 0) {
        off += static_cast<std::uint64_t>(r);
        total += static_cast<std::uint64_t>(r);
      } else if (r < 0 && errno != EAGAIN && errno != EINTR) {
        std::fprintf(stderr, "sock_test: send: %s\n", std::strerror(errno));
        ph.sender_ok = false;
        ph.abort.store(true, std::memory_order_relaxed);
        break;
      }
    }
  }
  for (int fd : ph.client_fds) shutdown(fd, SHUT_WR);  // the receiver sees EOF on each
  ::close(ep);
  ph.sent_total = total;
  ph.send_cpu_ns = thread_cpu_ns() - cpu0;
}

template void sender(phase<mpscq::local_work>&);
template void sender(phase<mpscq::baseline::llist_local_work>&);

}  // namespace sock_test
