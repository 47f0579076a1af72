// owner.cpp - sock_test's owner thread (the ring's task). Default: local_work::
// wait(--batch) runs the buffers as task work, each verifying its bytes
// (buffer::on_run), the machinery's CPU time is measured around every wait(),
// and the buffers go back to the receiver in one push_batch per wait.
// --owner=busy: the task is busy with its own computation (own_work(), a fixed
// number of steps per loop iteration) and, between two slices of it, run()s
// whatever task work piled up meanwhile - the way the kernel meets task work:
// on the task's way back to user space, not in a wait for min_events. The
// machinery is timed (TSC) around each run() call, minus the item
// callbacks' own TSC time.
#include "sock_test/sock_test.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <vector>

namespace sock_test {

__attribute__((noinline)) std::uint64_t own_work(std::uint64_t iters, std::uint64_t x) noexcept {
  for (std::uint64_t i = 0; i < iters; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    x ^= x >> 29;
  }
  return x;
}

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

namespace {

// Returns the buffers of this batch: one exchange, and an eventfd signal only
// when the return queue was empty.
template <class LW>
void return_buffers(phase<LW>& ph) {
  if (ph.ret_first == nullptr) return;
  if (ph.returns.push_batch(ph.ret_first, ph.ret_last)) {
    const std::uint64_t one = 1;
    if (write(ph.ret_efd, &one, sizeof one) != sizeof one) die("write(eventfd)", errno);
  }
  ph.ret_first = ph.ret_last = nullptr;
}

// True when the owner should stop: everything handed over ran after the
// receiver finished (or it did not within 2 s: an error).
template <class LW>
bool owner_finished(phase<LW>& ph, clock_type::time_point& drain_deadline) {
  if (ph.receiver_done.load(std::memory_order_acquire)) {
    if (ph.ran >= ph.items_added) return true;
    if (drain_deadline == clock_type::time_point{}) drain_deadline = clock_type::now() + std::chrono::seconds(2);
    if (clock_type::now() > drain_deadline) {
      std::fprintf(stderr, "sock_test: owner: %llu of %llu items ran 2 s after the receiver finished\n",
                   static_cast<unsigned long long>(ph.ran), static_cast<unsigned long long>(ph.items_added));
      ph.owner_ok = false;
      return true;
    }
  } else if (ph.abort.load(std::memory_order_relaxed) && clock_type::now() > ph.hard_deadline + std::chrono::seconds(5)) {
    std::fprintf(stderr, "sock_test: owner: the receiver did not finish\n");
    ph.owner_ok = false;
    std::exit(1);
  }
  return false;
}

// One run(cap) of a busy iteration. Out of line, so that a profiler sees the
// run side as one function: callgrind's inclusive cost of run_task_work minus
// that of the item callbacks it calls (buffer::on_run) is the run side
// (callgrind_share.py).
template <class LW>
__attribute__((noinline)) int run_task_work(LW& lw, int cap) noexcept {
  return lw.run(cap);
}

// --owner=busy. Per loop iteration: own_work(own_iters), then - if has_work()
// - one run(cap) of what piled up, then the buffers go back. Per run() call,
// the machinery is
//   TSC(run()) - TSC inside the item callbacks
//     - rdtsc cost x (1 + items)      (the bracket's pair, and the part of each
//                                      callback's own pair outside its bracket)
// Calls during which the owner was preempted (ru_nivcsw changed) or run()
// paused for a producer inside its push (stats().in_flight_backoffs changed:
// a yield or a sleep) are left out and counted; the per-item figure of the
// clean calls applies to all items. No wait(), so no futex sleep and no wake:
// the receiver's lazy adds find no waiter armed.
template <class LW>
void owner_busy(phase<LW>& ph, LW& lw) {
  // One rdtsc pair, back to back, in ticks: the mean of 4000 pairs, leaving
  // out those over twice the median (a preemption or a stolen vCPU inside the
  // loop would otherwise inflate it, and every item's correction with it).
  double tsc_pair = 0;
  {
    std::vector<std::uint64_t> pairs(4000);
    for (auto& p : pairs) {
      const std::uint64_t a = ticks();
      const std::uint64_t b = ticks();
      p = b - a;
    }
    std::vector<std::uint64_t> sorted = pairs;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2), sorted.end());
    const std::uint64_t med = sorted[sorted.size() / 2];
    double sum = 0;
    std::size_t kept = 0;
    for (std::uint64_t p : pairs)
      if (p <= 2 * med) {
        sum += static_cast<double>(p);
        ++kept;
      }
    tsc_pair = kept > 0 ? sum / static_cast<double>(kept) : static_cast<double>(med);
    ph.tsc_pair_ticks = tsc_pair;
  }
  const int cap = ph.opt->run_cap > 0 ? ph.opt->run_cap : INT_MAX;
  const std::uint64_t iters = ph.opt->own_iters;
  ph.run_hist.assign(static_cast<std::size_t>(ph.opt->bufs) + 2, 0);
  std::uint64_t x = 1;
  const std::uint64_t cpu0 = thread_cpu_ns();
  clock_type::time_point drain_deadline{};
  for (;;) {
    const long swo = involuntary_switches();
    const std::uint64_t t_o = ticks();
    x = own_work(iters, x);  // the task's own work: completions pile up meanwhile
    asm volatile("" : : "r"(x));  // its result is used: the call stays
    const std::uint64_t t_w = ticks();
    ++ph.iterations;
    const mpscq::local_work_stats s0 = lw.stats();
    const long sw0 = involuntary_switches();
    if (sw0 == swo) {
      ph.own_ticks += t_w - t_o;
      ++ph.own_clean;
    }
    // The kernel's check for pending task work on the way back to user space
    // (one load; not counted, like the TIF flag test outside the profiled
    // functions in the seed).
    if (!lw.has_work()) {
      if (owner_finished(ph, drain_deadline)) break;
      continue;
    }
    ph.call_payload_ticks = 0;
    const std::uint64_t t_a = ticks();
    const int ran = run_task_work(lw, cap);
    const std::uint64_t t_b = ticks();
    const long sw1 = involuntary_switches();
    const mpscq::local_work_stats s1 = lw.stats();
    ++ph.run_calls;
    ++ph.run_hist[std::min(static_cast<std::size_t>(ran), ph.run_hist.size() - 1)];
    if (sw1 == sw0 && s1.in_flight_backoffs == s0.in_flight_backoffs) {
      const double machinery_ticks = static_cast<double>(t_b - t_a) - static_cast<double>(ph.call_payload_ticks) -
                                     tsc_pair * (1.0 + static_cast<double>(ran));
      ++ph.nosleep_calls;
      ph.nosleep_items += static_cast<std::uint64_t>(ran);
      ph.clean_payload_ticks += ph.call_payload_ticks;
      ph.nosleep_machinery_ns += machinery_ticks / ticks_per_ns;  // unclamped: noise averages out
    } else {
      ++ph.dirty_calls;
    }
    return_buffers(ph);
    if (owner_finished(ph, drain_deadline)) break;
  }
  ph.owner_end = clock_type::now();
  ph.owner_cpu_ns = thread_cpu_ns() - cpu0;
  ph.stats = lw.stats();
  lw.close();
  return_buffers(ph);
}

}  // namespace

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
  if (ph.opt->owner == "busy") {
    owner_busy(ph, lw);
    return;
  }
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
    return_buffers(ph);  // the buffers of this batch
    if (owner_finished(ph, drain_deadline)) break;
  }
  ph.owner_end = clock_type::now();
  ph.owner_cpu_ns = thread_cpu_ns() - cpu0;
  ph.stats = lw.stats();
  lw.close();  // in a correct run nothing is left to cancel
  return_buffers(ph);
}

template void buffer<mpscq::local_work>::on_run(mpscq::work&, mpscq::run_state) noexcept;
template void buffer<mpscq::baseline::llist_local_work>::on_run(mpscq::work&, mpscq::run_state) noexcept;
template void owner(phase<mpscq::local_work>&);
template void owner(phase<mpscq::baseline::llist_local_work>&);

}  // namespace sock_test
