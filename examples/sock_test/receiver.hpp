// receiver.hpp - what sock_test's two receivers share: handing a filled
// buffer to the owner as lazy task work (timing the add), taking returned
// buffers back, and the hard deadline.
#pragma once

#include "sock_test/sock_test.hpp"

#include <cstdio>

namespace sock_test {

// The add, out of line so that a profiler sees it as one function (the
// llist variant's add() is out of line anyway, local_work's is inlined).
template <class LW, class W>
__attribute__((noinline)) void add_task_work(LW& lw, W& w) noexcept {
  lw.add(w, mpscq::wake::lazy);
}

template <class LW>
struct receiver_common {
  phase<LW>& ph;
  LW& lw;
  typename mpscq::intrusive_queue<buffer<LW>, &buffer<LW>::ret_hook>::consumer returns;
  std::uint64_t corrupt_at = 0;

  explicit receiver_common(phase<LW>& p) : ph(p), lw(*p.lw.load(std::memory_order_acquire)), returns(p.returns) {}

  // Hands a filled buffer to the owner as lazy task work.
  void hand_over(buffer<LW>& b, std::uint32_t conn, std::uint32_t len) {
    conn_recv& rc = ph.rconn[conn];
    b.conn = conn;
    b.len = len;
    b.offset = rc.received;
    rc.received += len;
    ph.received_total += len;
    if (b.adds != b.returns) {  // handed over again before it came back
      std::fprintf(stderr, "sock_test: buffer %u reused before it was returned\n", b.bid);
      ph.receiver_ok = false;
    }
    ++b.adds;
    ++ph.items_added;
    if (ph.inject_corrupt_pending && ph.items_added > 100) {
      ph.inject_corrupt_pending = false;
      b.data[len / 2] ^= 0x5a;
    }
    if (ph.inject_lose_pending && ph.items_added > 100) {
      ph.inject_lose_pending = false;  // counted as handed over, never added
      return;
    }
    const std::uint64_t t0 = ticks();
    add_task_work(lw, b.tw);
    const std::uint64_t dt = ticks() - t0;
    const double ns = to_ns(dt);
    if (ns < 2'000.0) {
      ph.add_ticks += dt;  // no syscall: the push and the wake rule
    } else if (ns < 100'000.0) {
      // It issued the futex wake; the woken owner may also have preempted
      // us inside it, so keep a histogram and charge the median.
      ++ph.add_slow_hist[static_cast<std::size_t>(ns / 250.0)];
      ++ph.add_slow;
    } else {
      ++ph.add_outliers;  // preempted inside add(): not the add's cost
    }
  }

  // Takes back what the owner returned. Returns the buffers, and whether a
  // push is still in flight (pop() said nullptr while the queue is not empty).
  template <class F>
  bool take_returns(F&& give_back) {
    while (buffer<LW>* b = returns.pop()) {
      if (++b->returns != b->runs) {
        std::fprintf(stderr, "sock_test: buffer %u returned without having run once\n", b->bid);
        ph.receiver_ok = false;
      }
      give_back(*b);
    }
    return !ph.returns.empty();
  }

  bool past_deadline() {
    if (clock_type::now() < ph.hard_deadline) return false;
    std::fprintf(stderr, "sock_test: receiver: connections still open at the hard deadline\n");
    ph.receiver_ok = false;
    ph.abort.store(true, std::memory_order_relaxed);
    return true;
  }
};

}  // namespace sock_test
