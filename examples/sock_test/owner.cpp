// owner.cpp - sock_test's owner thread (the ring's task): local_work::wait()
// runs the buffers as task work, each verifying its bytes (buffer::on_run),
// the machinery's CPU time is measured around every wait(), and the
// buffers go back to the receiver in one push_batch per wait.
#include "sock_test/sock_test.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sock_test {

template <class LW>
void buffer<LW>::on_run(mpscq::work& w, mpscq::run_state st) noexcept {
  const std::uint64_t t0 = ticks();
  buffer& b = mpscq::container_of<&buffer::tw>(static_cast<typename variant<LW>::work_type&>(w));
  phase<LW>& ph = *b.ph;
  ++ph.ran;
  if (st.cancel) ++ph.ran_cancelled;
  if (++b.runs != b.adds) ++ph.exactly_once_violations;
  // Consume: the bytes must continue this connection's stream exactly.
  std::uint64_t& done = ph.consumed[b.conn];
  if (b.offset != done) ++ph.order_violations;
  if (std::memcmp(b.data, pattern_table.data() + pattern_phase(b.conn, b.offset), b.len) != 0) ++ph.mismatches;
  done = b.offset + b.len;
  ph.consumed_total += b.len;
  // Queue the buffer for return (one push_batch after the wait).
  b.ret_hook.next.store(nullptr, std::memory_order_relaxed);
  if (ph.ret_last != nullptr) ph.ret_last->ret_hook.next.store(&b.ret_hook, std::memory_order_relaxed);
  else ph.ret_first = &b;
  ph.ret_last = &b;
  const std::uint64_t t1 = ticks();
  ph.call_payload_ticks += t1 - t0;
}

// ------------------------------------------------------------------ owner --

template <class LW>
void owner(phase<LW>& ph) {
  LW lw;  // constructed on the owner thread
  // Calibrate the pair of thread-CPU clock reads that brackets each wait():
  // what a bracket around nothing measures (precise: CLOCK_THREAD_CPUTIME_ID
  // brings the running thread's time up to date; getrusage() would not).
  double pair_cost_ns = 0;
  {
    constexpr int n = 2000;
    std::uint64_t sum = 0;
    for (int i = 0; i < n; ++i) {
      const std::uint64_t a = thread_cpu_ns();
      const std::uint64_t b = thread_cpu_ns();
      sum += b - a;
    }
    pair_cost_ns = static_cast<double>(sum) / n;
  }
  ph.lw.store(&lw, std::memory_order_release);
  const std::uint64_t cpu0 = thread_cpu_ns();
  const auto timeout = std::chrono::microseconds(ph.opt->timeout_us);
  clock_type::time_point drain_deadline{};
  for (;;) {
    const mpscq::local_work_stats s0 = lw.stats();  // relaxed loads, outside the bracket
    const long sw0 = involuntary_switches();
    ph.call_payload_ticks = 0;
    const std::uint64_t cpu_a = thread_cpu_ns();
    const int ran = lw.wait(ph.opt->batch, timeout);
    const std::uint64_t cpu_b = thread_cpu_ns();
    const long sw1 = involuntary_switches();
    const mpscq::local_work_stats s1 = lw.stats();
    ++ph.waits;
    if (ran < ph.opt->batch) ++ph.waits_short;
    if (sw1 == sw0) {
      const double machinery = static_cast<double>(cpu_b - cpu_a) - pair_cost_ns - to_ns(ph.call_payload_ticks);
      const auto items = static_cast<std::uint64_t>(std::max(ran, 0));
      if (s1.sleeps == s0.sleeps && s1.in_flight_backoffs == s0.in_flight_backoffs) {
        ++ph.nosleep_calls;  // queue work only: pops (or take + reverse), dispatch, arm + re-check
        ph.nosleep_items += items;
        ph.nosleep_machinery_ns += machinery;
      } else {
        ++ph.sleep_calls;  // plus futex_wait / back-off sleeps and the wake-up
        ph.sleep_items += items;
        ph.sleep_machinery_ns += machinery;
      }
    } else {
      ++ph.dirty_calls;  // preempted: the payload's TSC time may include another thread's
    }
    // Return the buffers of this batch: one exchange, and an eventfd signal
    // only when the return queue was empty.
    if (ph.ret_first != nullptr) {
      if (ph.returns.push_batch(ph.ret_first, ph.ret_last)) {
        const std::uint64_t one = 1;
        if (write(ph.ret_efd, &one, sizeof one) != sizeof one) die("write(eventfd)", errno);
      }
      ph.ret_first = ph.ret_last = nullptr;
    }
    if (ph.receiver_done.load(std::memory_order_acquire)) {
      if (ph.ran >= ph.items_added) break;
      if (drain_deadline == clock_type::time_point{}) drain_deadline = clock_type::now() + std::chrono::seconds(2);
      if (clock_type::now() > drain_deadline) {
        std::fprintf(stderr, "sock_test: owner: %llu of %llu items ran 2 s after the receiver finished\n",
                     static_cast<unsigned long long>(ph.ran), static_cast<unsigned long long>(ph.items_added));
        ph.owner_ok = false;
        break;
      }
    } else if (ph.abort.load(std::memory_order_relaxed) && clock_type::now() > ph.hard_deadline + std::chrono::seconds(5)) {
      std::fprintf(stderr, "sock_test: owner: the receiver did not finish\n");
      ph.owner_ok = false;
      std::exit(1);
    }
  }
  ph.owner_end = clock_type::now();
  ph.owner_cpu_ns = thread_cpu_ns() - cpu0;
  ph.stats = lw.stats();
  lw.close();  // in a correct run nothing is left to cancel
  if (ph.ret_first != nullptr) {
    ph.returns.push_batch(ph.ret_first, ph.ret_last);
    ph.ret_first = ph.ret_last = nullptr;
  }
}

template void buffer<mpscq::local_work>::on_run(mpscq::work&, mpscq::run_state) noexcept;
template void buffer<mpscq::baseline::llist_local_work>::on_run(mpscq::work&, mpscq::run_state) noexcept;
template void owner(phase<mpscq::local_work>&);
template void owner(phase<mpscq::baseline::llist_local_work>&);

}  // namespace sock_test
