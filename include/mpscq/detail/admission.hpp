// mpscq/detail/admission.hpp - bounded admission: the room counter and the
// sleeping protocol of producers that wait for room.
//
// Internal header: not part of the public API, not general purpose.
// The public side: mpscq/bounded.hpp (add_status, the contract) and the
// try_add* calls of local_work and task_work.
//
// WHAT IT COUNTS
//   depth_: items accepted and not yet run (or run cancelled). A bounded add
//   takes room for its items *before* its push (try_acquire(), or, waiting,
//   acquire_wait()); the object's consumer gives it back after the items ran
//   (release(), once per pass). A plain add() on a bounded object takes room
//   unconditionally (charge(): it is never refused, and may take depth_ past
//   the limit). So depth_ <= limit as long as only bounded adds come in, and
//   a bounded add is refused exactly when depth_ + n > limit at its CAS.
//
// THE SLEEPING PROTOCOL (an eventcount: a waiter count plus a futex word)
//   A producer that found no room:
//     1. s = seq_ (acquire)                                          [AD6]
//     2. closed? stop requested? deadline passed? -> give up
//     3. waiters_ += 1 (seq_cst)                                     [AD7]
//     4. re-check: room now? (seq_cst load of depth_)                [AD4]
//           yes -> waiters_ -= 1, go back to try_acquire()
//     5. futex_wait(seq_, s, until the deadline); waiters_ -= 1      [AD8]
//   The consumer, after a pass that ran n items:
//     a. depth_ -= n (seq_cst)                                       [AD5]
//     b. waiters_ != 0 (seq_cst load)?                               [AD9]
//           yes -> seq_ += 1 (release) and FUTEX_WAKE all            [AD10]
//   close() and a stop request do b's wake unconditionally, after raising
//   their flag (closed_ [AD11], or the stop_source's state).
//
// RACE WINDOWS
//   W1. release vs announce (the Dekker pair): a producer that re-checks
//       (4) while the consumer releases (a). Both sides are seq_cst pairs -
//       the producer's increment (3) then its load (4), the consumer's
//       decrement (a) then its load (b) - so one comes first in their single
//       total order: either (a) precedes (4) and the re-check sees the room,
//       or (3) precedes (b) and the consumer sees the waiter and wakes it.
//       (MUTANT admission_no_recheck: step 4 dropped - the producer sleeps
//       after a release that saw no waiter: DEADLOCK. MUTANT
//       admission_relaxed: (3), (4), (a), (b) relaxed - store buffering, both
//       loads read the old values: DEADLOCK.)
//   W2. wake vs sleep: a wake between the snapshot (1) and the sleep (5)
//       changed seq_ first, so futex_wait finds the word changed and returns
//       (the futex's own re-check). The snapshot comes before every flag
//       check (2, 4): a flag raised and announced after them is announced by
//       a bump the snapshot predates.
//   W3. wake before the room (the consumer's order): the wake must follow
//       the decrement. A consumer that woke first would let the producer
//       re-check, find no room, and go back to sleep on a newer snapshot;
//       the decrement then comes with no wake: a lost wake. (MUTANT
//       admission_wake_before_release: DEADLOCK.)
//   W4. close and stop vs sleep: the flag is raised before the bump (AD11,
//       and std::stop_source's request before its callbacks run); a producer
//       whose snapshot (1, acquire) reads the bump sees the flag in (2)
//       (release/acquire through seq_); one whose snapshot predates it
//       sleeps on a word that has changed: futex_wait returns. (MUTANT
//       admission_stop_before_snapshot: the stop read before (1) - a stop
//       and its bump between the two, the producer sleeps on the bumped
//       word: DEADLOCK. MUTANT admission_close_no_wake: close() without the
//       bump - the producer sleeps through it and close() waits for it for
//       ever (W5): LIVELOCK in the model.)
//   W5. teardown: a producer waits inside the object's adder gate
//       (detail/adder_gate.hpp), so close() wakes it (close() here) before
//       it waits the gate drained, and the memory outlives its last access.
//
// NOT PROMISED
//   Fairness: a woken producer competes with new ones (try_add may overtake
//   a producer that has waited longer), and a release wakes every waiter
//   (they race for the room; the losers sleep again). Wakes cost the
//   consumer one FUTEX_WAKE per pass while anyone waits, nothing otherwise.
//
// ATOMICS (rows of docs/design.md's table, section 3.12)
//   [AD1] try_acquire load       relaxed   a first look; the CAS decides
//   [AD2] try_acquire CAS        relaxed   counting only: room is not data
//   [AD3] charge fetch_add       relaxed   counting only (plain add())
//   [AD4] re-check load          seq_cst   W1, the producer's second half
//   [AD5] release fetch_sub      seq_cst   W1, the consumer's first half
//   [AD6] snapshot load          acquire   pairs with [AD10] (W2, W4)
//   [AD7] waiters fetch_add      seq_cst   W1, the producer's first half
//   [AD8] waiters fetch_sub      relaxed   a stale count only costs a wake
//   [AD9] waiters load           seq_cst   W1, the consumer's second half
//   [AD10] seq fetch_add         release   pairs with [AD6]
//   [AD11] closed store/load     release/acquire  W4
//   [AD12] refused fetch_add, depth/refused loads: relaxed statistics
#ifndef MPSCQ_DETAIL_ADMISSION_HPP
#define MPSCQ_DETAIL_ADMISSION_HPP

#include <chrono>
#include <climits>
#include <cstdint>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/cache_line.hpp>
#include <mpscq/detail/futex.hpp>
#include <mpscq/detail/mutants.hpp>

namespace mpscq::detail {

class admission {
 public:
  /// How a waiting acquire ended (mpscq::add_status, less `full`, which is
  /// try_acquire()'s false).
  enum class outcome { admitted, timed_out, stopped, closed };

  admission() = default;
  admission(const admission&) = delete;
  admission& operator=(const admission&) = delete;

  /// Before the object is shared. 0: no limit (the object never calls the
  /// rest, except the statistics).
  void set_limit(std::uint32_t limit) noexcept { limit_ = limit; }
  std::uint32_t limit() const noexcept { return limit_; }

  /// Takes room for `n` items if depth + n <= limit; never waits.
  bool try_acquire(std::uint32_t n) noexcept {
    std::int64_t d = depth_.load(std::memory_order_relaxed);  // [AD1]
    for (;;) {
      if (d + static_cast<std::int64_t>(n) > static_cast<std::int64_t>(limit_)) return false;
      // [AD2] Relaxed: the room is a count, no data is published through it
      // (the items' contents travel through the queue's release/acquire).
      if (depth_.compare_exchange_strong(d, d + static_cast<std::int64_t>(n), std::memory_order_relaxed,
                                         std::memory_order_relaxed))
        return true;
    }
  }

  /// Takes room for `n` items whatever the depth (a plain add() on a
  /// bounded object: never refused). [AD3]
  void charge(std::uint32_t n) noexcept { depth_.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed); }

  /// The waiting acquire: try_acquire(n) until it succeeds, the object
  /// closes (closed), `stop.stop_requested()` (stopped) or `deadline` passes
  /// (timed_out; time_point::max(): never). Stop: anything with a
  /// `bool stop_requested() const`; whoever requests it must then call
  /// wake_all() (W4). The caller is inside the object's adder gate (W5).
  template <class Stop>
  outcome acquire_wait(std::uint32_t n, std::chrono::steady_clock::time_point deadline, const Stop& stop) noexcept {
    using clock = std::chrono::steady_clock;
    constexpr std::memory_order dekker =
        mutant::weaken_if(mutant::admission_relaxed, std::memory_order_seq_cst);
    for (;;) {
      if (try_acquire(n)) return outcome::admitted;
      if constexpr (mutant::admission_stop_before_snapshot) {
        if (stop.stop_requested()) return outcome::stopped;  // MUTANT: before the snapshot (W2, W4)
      }
      // 1. The snapshot, before every check that a wake may answer (W2, W4).
      const int s = seq_.load(std::memory_order_acquire);  // [AD6]
      // 2. The ways out.
      if (closed_.load(std::memory_order_acquire)) return outcome::closed;  // [AD11]
      if constexpr (!mutant::admission_stop_before_snapshot) {
        if (stop.stop_requested()) return outcome::stopped;
      }
      std::chrono::nanoseconds left = std::chrono::nanoseconds::max();
      if (deadline != clock::time_point::max()) {
        const clock::time_point now = clock::now();
        if (now >= deadline) return outcome::timed_out;
        left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
      }
      // 3. Announce. [AD7]
      waiters_.fetch_add(1, dekker);
      // 4. Re-check (W1). [AD4]
      if constexpr (!mutant::admission_no_recheck) {
        if (depth_.load(dekker) + static_cast<std::int64_t>(n) <= static_cast<std::int64_t>(limit_)) {
          waiters_.fetch_sub(1, std::memory_order_relaxed);  // [AD8]
          continue;
        }
      }
      // 5. Sleep; any outcome may be spurious: the loop looks again.
      futex_wait(seq_, s, left);
      waiters_.fetch_sub(1, std::memory_order_relaxed);  // [AD8]
    }
  }

  /// The consumer: `n` items ran (or ran cancelled); gives their room back
  /// and wakes the producers waiting for room (W1, W3).
  void release(std::uint32_t n) noexcept {
    if (n == 0) return;
    constexpr std::memory_order dekker =
        mutant::weaken_if(mutant::admission_relaxed, std::memory_order_seq_cst);
    if constexpr (mutant::admission_wake_before_release) {
      if (waiters_.load(dekker) != 0) wake_all();  // MUTANT: the wake before the room (W3)
      depth_.fetch_sub(static_cast<std::int64_t>(n), dekker);
      return;
    }
    depth_.fetch_sub(static_cast<std::int64_t>(n), dekker);  // [AD5]
    if (waiters_.load(dekker) != 0) wake_all();           // [AD9]
  }

  /// Wakes every waiting producer (a release with waiters, close(), a stop
  /// request). Any thread; async-signal-safe (an RMW and a syscall).
  void wake_all() noexcept {
    seq_.fetch_add(1, std::memory_order_release);  // [AD10] pairs with [AD6]
    futex_wake(seq_, INT_MAX);
  }

  /// close(): waiting and later waiting acquires give up with `closed`.
  void close() noexcept {
    closed_.store(true, std::memory_order_release);  // [AD11] before the bump (W4)
    if constexpr (mutant::admission_close_no_wake) return;  // MUTANT: the flag without its wake (W4, W5)
    wake_all();
  }

  /// Counts an add that left its item with the caller. [AD12]
  void count_refused() noexcept { refused_.fetch_add(1, std::memory_order_relaxed); }

  /// Statistics (relaxed snapshots, any thread). [AD12]
  std::uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }
  /// Items accepted and not yet run, as a snapshot (>= 0).
  std::uint64_t depth() const noexcept {
    const std::int64_t d = depth_.load(std::memory_order_relaxed);  // [AD12]
    return d < 0 ? 0 : static_cast<std::uint64_t>(d);
  }

 private:
  // Its own line: the bounded producers' CAS target, away from the queue's
  // tail and from the gate's shards.
  alignas(cache_line) atomic<std::int64_t> depth_{0};
  futex_word seq_{0};
  atomic<std::uint32_t> waiters_{0};
  atomic<bool> closed_{false};
  std::uint32_t limit_ = 0;  // set once, before sharing
  // Its own line: producers that keep finding no room (a logger that drops)
  // write it on every refusal; on depth_'s line that would take the line
  // away from the owner's release and the waiting producers' re-checks.
  alignas(cache_line) atomic<std::uint64_t> refused_{0};
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_ADMISSION_HPP
