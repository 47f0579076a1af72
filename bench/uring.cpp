// bench/uring.cpp - liburing (2.3 here) for S6: MSG_RING into a
// SINGLE_ISSUER|DEFER_TASKRUN ring, and the IORING_NOP_TW probe and cost.
#include "uring.hpp"

#include <liburing.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <vector>
#include <chrono>
#include <cstring>

// liburing 2.3 and the system's uapi headers predate these (upstream values).
#ifndef IORING_NOP_INJECT_RESULT
#define IORING_NOP_INJECT_RESULT (1U << 0)
#endif
#ifndef IORING_NOP_TW
#define IORING_NOP_TW (1U << 4)
#endif

namespace bench::uring {
namespace {

std::uint64_t now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

int init_defer(io_uring& ring, unsigned entries) {
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  return io_uring_queue_init_params(entries, &ring, &p);
}

// The NOP's flags share the union slot with rw_flags (sqe->nop_flags upstream);
// the injected result travels in sqe->len.
void prep_nop(io_uring_sqe* sqe, unsigned flags, unsigned inject, std::uint64_t user_data) {
  io_uring_prep_nop(sqe);
  sqe->rw_flags = static_cast<int>(flags);
  sqe->len = inject;
  io_uring_sqe_set_data64(sqe, user_data);
}

}  // namespace

struct owner_ring::impl {
  io_uring ring{};
};

owner_ring::owner_ring(std::unique_ptr<impl> p) : p_(std::move(p)) {}
owner_ring::~owner_ring() { io_uring_queue_exit(&p_->ring); }

std::unique_ptr<owner_ring> owner_ring::create(std::string& err) {
  auto p = std::make_unique<impl>();
  const int r = init_defer(p->ring, 256);
  if (r < 0) {
    err = std::string("io_uring_queue_init_params(SINGLE_ISSUER|DEFER_TASKRUN): ") + std::strerror(-r);
    return nullptr;
  }
  return std::unique_ptr<owner_ring>(new owner_ring(std::move(p)));
}

int owner_ring::fd() const noexcept { return p_->ring.ring_fd; }

int owner_ring::wait(int min_events, long timeout_ns, void (*on)(void*, std::uint64_t), void* ctx) {
  io_uring_cqe* cqe = nullptr;
  __kernel_timespec ts{timeout_ns / 1000000000L, timeout_ns % 1000000000L};
  io_uring_wait_cqes(&p_->ring, &cqe, static_cast<unsigned>(min_events), &ts, nullptr);
  int n = 0;
  unsigned head;
  io_uring_for_each_cqe(&p_->ring, head, cqe) {
    on(ctx, cqe->user_data);
    ++n;
  }
  io_uring_cq_advance(&p_->ring, static_cast<unsigned>(n));
  return n;
}

struct sender_ring::impl {
  io_uring ring{};
  std::uint64_t errors = 0;
};

sender_ring::sender_ring(std::unique_ptr<impl> p) : p_(std::move(p)) {}
sender_ring::~sender_ring() { io_uring_queue_exit(&p_->ring); }

std::unique_ptr<sender_ring> sender_ring::create(std::string& err) {
  auto p = std::make_unique<impl>();
  const int r = io_uring_queue_init(64, &p->ring, 0);
  if (r < 0) {
    err = std::string("io_uring_queue_init: ") + std::strerror(-r);
    return nullptr;
  }
  return std::unique_ptr<sender_ring>(new sender_ring(std::move(p)));
}

bool sender_ring::send(int target_fd, std::uint64_t data) {
  // Failed sends post a CQE here (successes are skipped): count them.
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&p_->ring, &cqe) == 0 && cqe != nullptr) {
    if (cqe->res < 0) ++p_->errors;
    io_uring_cqe_seen(&p_->ring, cqe);
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&p_->ring);
  if (sqe == nullptr) return false;
  io_uring_prep_msg_ring(sqe, target_fd, 0, data, 0);
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  return io_uring_submit(&p_->ring) == 1;
}

std::uint64_t sender_ring::errors() const noexcept { return p_->errors; }

probe_result probe() {
  probe_result r;
  io_uring ring{};
  int e = init_defer(ring, 8);
  if (e < 0) {
    r.msg_ring_why = r.nop_tw_why =
        std::string("cannot create a SINGLE_ISSUER|DEFER_TASKRUN ring: ") + std::strerror(-e);
    return r;
  }
  // NOP_TW: the injected result must come back.
  {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    prep_nop(sqe, IORING_NOP_INJECT_RESULT | IORING_NOP_TW, 4242, 1);
    io_uring_submit_and_wait(&ring, 1);
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&ring, &cqe) == 0 && cqe != nullptr) {
      if (cqe->res == 4242) {
        r.nop_tw = true;
      } else {
        r.nop_tw_why = "kernel does not support IORING_NOP_TW (NOP with INJECT_RESULT|TW returned " +
                       std::to_string(cqe->res) + ", not the injected 4242)";
      }
      io_uring_cqe_seen(&ring, cqe);
    } else {
      r.nop_tw_why = "no CQE for the NOP probe";
    }
  }
  // MSG_RING to ourselves through a plain ring.
  {
    io_uring src{};
    e = io_uring_queue_init(8, &src, 0);
    if (e == 0) {
      io_uring_sqe* sqe = io_uring_get_sqe(&src);
      io_uring_prep_msg_ring(sqe, ring.ring_fd, 7, 99, 0);
      io_uring_submit_and_wait(&src, 1);
      io_uring_cqe* cqe = nullptr;
      io_uring_peek_cqe(&src, &cqe);
      const int res = cqe != nullptr ? cqe->res : -EIO;
      io_uring_queue_exit(&src);
      if (res < 0) {
        r.msg_ring_why = std::string("IORING_OP_MSG_RING failed: ") + std::strerror(-res);
      } else {
        __kernel_timespec ts{1, 0};
        io_uring_cqe* got = nullptr;
        if (io_uring_wait_cqe_timeout(&ring, &got, &ts) == 0 && got != nullptr && got->user_data == 99) {
          r.msg_ring = true;
          io_uring_cqe_seen(&ring, got);
        } else {
          r.msg_ring_why = "MSG_RING sent but no CQE arrived in the target ring";
        }
      }
    } else {
      r.msg_ring_why = std::string("io_uring_queue_init: ") + std::strerror(-e);
    }
  }
  io_uring_queue_exit(&ring);
  return r;
}

nop_cost measure_nop(std::size_t items, int batch, bool with_tw) {
  nop_cost c;
  io_uring ring{};
  const int e = init_defer(ring, static_cast<unsigned>(batch) * 2);
  if (e < 0) {
    c.why = std::string("cannot create a DEFER_TASKRUN ring: ") + std::strerror(-e);
    return c;
  }
  auto run_block = [&](unsigned flags, std::size_t n) -> double {
    const std::uint64_t t0 = now();
    std::size_t done = 0;
    while (done < n) {
      for (int i = 0; i < batch; ++i) prep_nop(io_uring_get_sqe(&ring), flags, 0, static_cast<std::uint64_t>(i));
      io_uring_submit_and_wait(&ring, static_cast<unsigned>(batch));
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring, head, cqe) ++seen;
      io_uring_cq_advance(&ring, seen);
      done += seen;
    }
    return static_cast<double>(now() - t0) / static_cast<double>(done);
  };
  run_block(0, static_cast<std::size_t>(batch) * 64);  // warm-up
  // Alternating blocks; the median of each kind (a preempted block does not
  // move it).
  const std::size_t blocks = 9;
  std::vector<double> plain, tw;
  for (std::size_t b = 0; b < blocks; ++b) {
    plain.push_back(run_block(0, items / blocks));
    if (with_tw) tw.push_back(run_block(IORING_NOP_TW, items / blocks));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  c.plain_ns = median(plain);
  c.tw_ns = median(tw);
  c.ok = true;
  io_uring_queue_exit(&ring);
  return c;
}

}  // namespace bench::uring
