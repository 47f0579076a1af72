// receiver_epoll.cpp - sock_test's network side without multishot receive:
// epoll + recv() into free buffers (the fallback, or --receiver=epoll).
#include "sock_test/sock_test.hpp"

#include "sock_test/receiver.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace sock_test {

// Receiver with epoll + recv() (fallback, or --receiver=epoll).
template <class LW>
void receiver_epoll(phase<LW>& ph) {
  const std::uint64_t cpu0 = thread_cpu_ns();
  receiver_common<LW> rx(ph);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1", errno);
  constexpr std::uint32_t tag = 0xffffffffu;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = tag;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ph.ret_efd, &ev) != 0) die("epoll_ctl", errno);
  for (std::uint32_t c = 0; c < static_cast<std::uint32_t>(ph.nclients); ++c) {
    ev.data.u32 = c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ph.rconn[c].fd, &ev) != 0) die("epoll_ctl", errno);
  }
  std::vector<buffer<LW>*> free_bufs;
  for (auto& b : ph.bufs) free_bufs.push_back(&b);
  ph.receiver_armed.store(true, std::memory_order_release);
  std::vector<epoll_event> evs(512);
  int open = ph.nclients;
  bool in_flight = false;
  while (open > 0 && !rx.past_deadline()) {
    in_flight = rx.take_returns([&](buffer<LW>& b) { free_bufs.push_back(&b); });
    if (free_bufs.empty()) {
      // Out of buffers: wait for the owner's return signal only (clear it,
      // then drain at the top of the loop).
      pollfd p{ph.ret_efd, POLLIN, 0};
      const int pr = poll(&p, 1, 1);
      if (pr < 0 && errno != EINTR) die("poll", errno);
      std::uint64_t v;
      if (pr > 0 && (p.revents & POLLIN) && read(ph.ret_efd, &v, sizeof v) < 0) die("read(eventfd)", errno);
      continue;
    }
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), in_flight ? 1 : 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait (receiver)", errno);
    }
    const std::uint64_t added_before = ph.items_added;
    for (int i = 0; i < n; ++i) {
      const std::uint32_t c = evs[static_cast<std::size_t>(i)].data.u32;
      if (c == tag) {
        std::uint64_t v;  // readable: this read does not block
        if (read(ph.ret_efd, &v, sizeof v) < 0) die("read(eventfd)", errno);
        continue;
      }
      if (free_bufs.empty()) continue;  // level-triggered: it comes back
      buffer<LW>* b = free_bufs.back();
      const ssize_t r = recv(ph.rconn[c].fd, b->data, ph.buf_size, MSG_DONTWAIT);
      if (r > 0) {
        free_bufs.pop_back();
        rx.hand_over(*b, c, static_cast<std::uint32_t>(r));
      } else if (r == 0) {
        ph.rconn[c].eof = true;
        --open;
        epoll_ctl(ep, EPOLL_CTL_DEL, ph.rconn[c].fd, nullptr);
      } else if (errno != EAGAIN && errno != EINTR) {
        die("recv", errno);
      }
    }
    if (ph.items_added != added_before) ++ph.rx_batches;
  }
  ::close(ep);
  ph.recv_cpu_ns = thread_cpu_ns() - cpu0;
  ph.receiver_done.store(true, std::memory_order_release);
}

template void receiver_epoll(phase<mpscq::local_work>&);
template void receiver_epoll(phase<mpscq::baseline::llist_local_work>&);

}  // namespace sock_test
