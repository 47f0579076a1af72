// receiver_uring.cpp - sock_test's network side with io_uring: multishot
// receive from a provided buffer ring on its own ring (SINGLE_ISSUER |
// DEFER_TASKRUN where the kernel takes them), and the probes for both.
#include "sock_test/sock_test.hpp"

#include "sock_test/receiver.hpp"

#include <liburing.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace sock_test {

// Can this kernel + liburing do multishot receive from a provided buffer
// ring? Tried once on a socketpair; the reason goes into `why` if not.
bool probe_uring(std::string& why) {
  io_uring ring{};
  int r = io_uring_queue_init(8, &ring, 0);
  if (r < 0) {
    why = std::string("io_uring_queue_init: ") + std::strerror(-r);
    return false;
  }
  bool ok = false;
  int sv[2] = {-1, -1};
  void* mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  alignas(64) static unsigned char data[8][64];
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
  reg.ring_entries = 8;
  reg.bgid = 7;
  if (mem == MAP_FAILED) {
    why = "mmap";
  } else if ((r = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
    why = std::string("io_uring_register_buf_ring: ") + std::strerror(-r);
  } else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    why = "socketpair";
  } else {
    auto* br = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(br);
    for (int i = 0; i < 8; ++i)
      io_uring_buf_ring_add(br, data[i], 64, static_cast<unsigned short>(i), io_uring_buf_ring_mask(8), i);
    io_uring_buf_ring_advance(br, 8);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(sqe, sv[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 7;
    io_uring_submit(&ring);
    if (write(sv[1], "ab", 2) != 2) why = "write";
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{};
    ts.tv_sec = 1;
    r = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
    if (r < 0) why = std::string("no completion: ") + std::strerror(-r);
    else if (cqe->res != 2 || !(cqe->flags & IORING_CQE_F_BUFFER) || !(cqe->flags & IORING_CQE_F_MORE))
      why = "multishot receive not supported (res " + std::to_string(cqe->res) + ")";
    else ok = true;
  }
  if (sv[0] >= 0) ::close(sv[0]);
  if (sv[1] >= 0) ::close(sv[1]);
  io_uring_queue_exit(&ring);
  if (mem != MAP_FAILED) munmap(mem, 4096);
  return ok;
}


unsigned probe_ring_flags() {
  const unsigned wanted = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  io_uring ring{};
  io_uring_params p{};
  p.flags = wanted;
  if (io_uring_queue_init_params(8, &ring, &p) != 0) return 0;  // older kernel: a plain ring
  io_uring_queue_exit(&ring);
  return wanted;
}

namespace {

constexpr std::uint64_t tag_returns = 1ull << 62;
constexpr std::uint16_t buffer_group = 1;

}  // namespace

// Receiver with io_uring multishot receive and a provided buffer ring.
template <class LW>
void receiver_uring(phase<LW>& ph) {
  const std::uint64_t cpu0 = thread_cpu_ns();
  receiver_common<LW> rx(ph);
  io_uring ring{};
  // Created on this thread, which is the ring's only user.
  io_uring_params p{};
  p.flags = receiver_ring_flags | IORING_SETUP_CQSIZE;
  p.cq_entries = 32768;
  int r = io_uring_queue_init_params(1024, &ring, &p);
  if (r < 0) die("io_uring_queue_init_params (receiver)", -r);

  const std::uint32_t n = ph.opt->bufs;
  const std::size_t br_bytes = (sizeof(io_uring_buf) * n + 4095) & ~std::size_t{4095};
  void* br_mem = mmap(nullptr, br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (br_mem == MAP_FAILED) die("mmap (buffer ring)", errno);
  auto* br = static_cast<io_uring_buf_ring*>(br_mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(br_mem);
  reg.ring_entries = n;
  reg.bgid = buffer_group;
  if ((r = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) die("io_uring_register_buf_ring", -r);
  io_uring_buf_ring_init(br);
  const int mask = io_uring_buf_ring_mask(n);
  for (std::uint32_t i = 0; i < n; ++i)
    io_uring_buf_ring_add(br, ph.bufs[i].data, ph.buf_size, static_cast<unsigned short>(i), mask, static_cast<int>(i));
  io_uring_buf_ring_advance(br, static_cast<int>(n));
  std::uint32_t in_ring = n;  // buffers the kernel may still fill

  auto get_sqe = [&]() {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (s == nullptr) {
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
      if (s == nullptr) die("io_uring_get_sqe", EBUSY);
    }
    return s;
  };
  auto arm = [&](std::uint32_t c) {
    io_uring_sqe* s = get_sqe();
    io_uring_prep_recv_multishot(s, ph.rconn[c].fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = buffer_group;
    io_uring_sqe_set_data64(s, c);
  };
  std::uint64_t efd_value = 0;
  auto arm_returns = [&] {
    io_uring_sqe* s = get_sqe();
    io_uring_prep_read(s, ph.ret_efd, &efd_value, sizeof efd_value, 0);
    io_uring_sqe_set_data64(s, tag_returns);
  };
  for (std::uint32_t c = 0; c < static_cast<std::uint32_t>(ph.nclients); ++c) arm(c);
  arm_returns();
  io_uring_submit(&ring);
  ph.receiver_armed.store(true, std::memory_order_release);

  int open = ph.nclients;
  std::vector<std::uint32_t> to_arm;
  bool in_flight = false;
  int returned_since_advance = 0;
  while (open > 0 && !rx.past_deadline()) {
    __kernel_timespec ts{};
    ts.tv_nsec = in_flight ? 50'000 : 10'000'000;
    io_uring_cqe* first = nullptr;
    r = io_uring_submit_and_wait_timeout(&ring, &first, 1, &ts, nullptr);
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) die("io_uring_submit_and_wait_timeout", -r);
    unsigned head;
    io_uring_cqe* cqe;
    unsigned seen = 0;
    bool rearm_returns = false;
    const std::uint64_t added_before = ph.items_added;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      const std::uint64_t ud = io_uring_cqe_get_data64(cqe);
      if (ud == tag_returns) {
        if (cqe->res != static_cast<int>(sizeof efd_value)) die("read(eventfd) (receiver)", -cqe->res);
        rearm_returns = true;
        continue;
      }
      const auto c = static_cast<std::uint32_t>(ud);
      if (cqe->res > 0) {
        if (!(cqe->flags & IORING_CQE_F_BUFFER)) die("recv completion without a buffer", EINVAL);
        const std::uint32_t bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        --in_ring;
        rx.hand_over(ph.bufs[bid], c, static_cast<std::uint32_t>(cqe->res));
        if (!(cqe->flags & IORING_CQE_F_MORE)) to_arm.push_back(c);  // terminated: arm again
      } else if (cqe->res == 0) {
        if (!ph.rconn[c].eof) {
          ph.rconn[c].eof = true;
          --open;
        }
      } else if (cqe->res == -ENOBUFS) {
        ++ph.enobufs;
        to_arm.push_back(c);  // out of buffers: arm again once some are back
      } else {
        die("multishot receive", -cqe->res);
      }
    }
    io_uring_cq_advance(&ring, seen);
    if (ph.items_added != added_before) ++ph.rx_batches;
    if (rearm_returns) arm_returns();  // re-arm the eventfd read before draining
    returned_since_advance = 0;
    in_flight = rx.take_returns([&](buffer<LW>& b) {
      io_uring_buf_ring_add(br, b.data, ph.buf_size, static_cast<unsigned short>(b.bid), mask, returned_since_advance++);
    });
    if (returned_since_advance > 0) {
      io_uring_buf_ring_advance(br, returned_since_advance);
      in_ring += static_cast<std::uint32_t>(returned_since_advance);
    }
    if (in_ring > 0 && !to_arm.empty()) {
      for (std::uint32_t c : to_arm)
        if (!ph.rconn[c].eof) {
          arm(c);
        }
      to_arm.clear();
    }
  }
  io_uring_queue_exit(&ring);
  munmap(br_mem, br_bytes);
  ph.recv_cpu_ns = thread_cpu_ns() - cpu0;
  ph.receiver_done.store(true, std::memory_order_release);
}

template void receiver_uring(phase<mpscq::local_work>&);
template void receiver_uring(phase<mpscq::baseline::llist_local_work>&);

}  // namespace sock_test
