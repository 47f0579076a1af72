// mpscq/detail/countdown_wake.hpp - the countdown wake: io_uring's cq_wait_nr
// (how many lazy adds still end the owner's sleep) and the futex word the
// owner sleeps on.
//
// Internal header: not part of the public API, not general purpose.
//
// WHAT IT DOES
//   One owner thread sleeps until enough adds arrived; any thread adds. The
//   owner arms `wait_nr` with the number of lazy adds it still needs, re-checks
//   its queue, and sleeps on a separate futex word; an add, after its push,
//   reads `wait_nr` and applies a wake rule. mpscq::local_work uses the merged
//   kernel's rule (claim(): a lazy add counts down, the one that takes 1 -> 0
//   wakes; an eager add takes the whole count); mpscq::baseline::llist_local_work uses
//   only read() and wake() with its own nr_tw rule.
//
//   wait_nr values: k > 0 armed (k lazy adds still needed); 0 fired; NO_WAITER
//   (-1) nobody waits. Any value <= 0 means "issue no wake".
//
//   The owner's cycle:  seq = snapshot(); arm(k); re-check (disarm() if work);
//                       sleep(seq, left); disarm().
//   An add's part:      push; armed = read(); if (claim(armed, mode)) wake();
//   A chain's add:      push_batch; armed = read();
//                       if (claim_batch(armed, n, mode)) wake();
//
// INVARIANTS
//   C1. Every write to wait_nr is a read-modify-write (arm, disarm, claims),
//       so all writes are totally ordered (wait_nr's modification order) and
//       each one's release sequence contains every later one. read() is a
//       load: an add that finds nobody waiting writes nothing here.
//   C2. Dekker (push vs arm), by the single total order S of seq_cst
//       operations: the add's push exchange on the queue's tail and its
//       read() are seq_cst, in that order; the owner's arm() exchange and its
//       re-check load of the tail are seq_cst, in that order. Of the add's
//       read() and the owner's arm(), one comes first in S:
//         - read() first: then the push precedes the re-check in S, and a
//           seq_cst load does not read a tail older than a seq_cst write
//           before it in S - the re-check finds the work (non-stub tail);
//         - arm() first: read() returns the armed count or a later value in
//           C1's order (a claim's, whose maker wakes the owner; or a disarm's,
//           after which the owner's next arm comes after our read() in S and
//           its re-check finds the work) and the add applies the rule.
//       Until 0.3 read() was an acq_rel fetch_add(0), a second RMW on the
//       producers' line per add; on x86 and AArch64 a seq_cst exchange and a
//       seq_cst load compile to the same instructions as acq_rel / acquire,
//       so the seq_cst form costs nothing there (MUTANT local_read_acquire:
//       acquire load and acq_rel arm: lost wake).
//   C3. At most one wake per arming: only one RMW can take the value from
//       positive to <= 0 - a lazy fetch_sub(1) that sees 1, a lazy chain's
//       fetch_sub(n) that sees a value in (0, n] (claim_batch), or an eager
//       exchange that replaces a positive value by NO_WAITER; every other
//       claim sees a value <= 0 (the value only falls until the next arm).
//   C4. No lost wake between snapshot and sleep: the owner snapshots the
//       futex word before arm(); a claimer bumps it after its claim of that
//       arming (C1: claim after arm), so the snapshot cannot include the
//       bump, and sleep() with it returns at once (value changed) or is
//       already queued when FUTEX_WAKE comes.
//
// RACE WINDOWS
//   [R1] push vs arm: C2. The caller's re-check after arm() (a seq_cst load
//        of the queue's tail) is what finds an add whose read() came first (it
//        saw "no waiter" and will not wake).
//   [R2] eager vs lazy: a lazy decrement lands between an eager add's read()
//        and its claim. The eager claim is therefore an unconditional
//        exchange; a compare-exchange against the value read would give up
//        although the countdown has not fired - a lost wake (the seed's v2
//        bug; MUTANT local_eager_wake_cas).
//   [R3] stale decrement: a lazy add reads k > 0, the owner wakes (another
//        claim) and re-arms, and the add's fetch_sub lands on the new count:
//        an early wake at worst (the owner re-arms for what it still needs).
//        On 0 or NO_WAITER it just drives the value further below zero.
//   [R4] wake between snapshot and sleep: C4.
//
// COST
//   Per add: one load (read()) of wait_nr's line, which the owner writes only
//   when it arms and disarms; only when wait_nr > 0 a claim RMW; only for the
//   claimer a futex bump and one FUTEX_WAKE syscall.
//
// ATOMICS (rows of docs/design.md's table, section 3.4)
//   [W1] read      wait_nr load             seq_cst   the add's Dekker half (C2), after its seq_cst push
//   [W2] claim     wait_nr fetch_sub(1)     acq_rel   lazy; 1 -> 0 wakes (C3)
//   [W3] claim     wait_nr exchange(-1)     acq_rel   eager; old > 0 wakes (C3, R2)
//   [W4] wake      futex   fetch_add(1)     release   before FUTEX_WAKE (C4)
//   [W5] snapshot  futex   load             acquire   pairs with [W4]; before arm
//   [W6] arm       wait_nr exchange(k)      seq_cst   the owner's Dekker half (C2), before its seq_cst re-check
//   [W7] disarm    wait_nr exchange(-1)     acq_rel   as C1
//   [W8] wakes counter fetch_add / load, wait_nr load: relaxed statistic and
//        snapshots (plain std::atomic for wakes_).
//   [W9] claim_batch wait_nr fetch_sub(n)   acq_rel   a lazy chain of n items; old in (0, n] wakes (C3)
#ifndef MPSCQ_DETAIL_COUNTDOWN_WAKE_HPP
#define MPSCQ_DETAIL_COUNTDOWN_WAKE_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/futex.hpp>
#include <mpscq/detail/mutants.hpp>

namespace mpscq::detail {

/// wait_nr when nobody waits (io_uring's IO_CQ_WAKE_INIT, as a signed value).
/// Zero or below means "issue no wake".
inline constexpr int no_waiter = -1;

/// The add's mode, at this level (local_work.hpp maps mpscq::wake onto it).
enum class wake_mode { eager, lazy };

class countdown_wake {
 public:
  static constexpr int no_waiter = detail::no_waiter;

  // --- the adds' side -------------------------------------------------------

  /// The add's Dekker read of wait_nr, after its seq_cst push (C2, R1).
  /// Returns the value: > 0 armed, <= 0 no wake.
  int read() noexcept {
    // [W1] seq_cst load (C2): pairs with arm()'s seq_cst exchange through S.
    // (MUTANT local_push_arm_relaxed: relaxed, here and in arm(); MUTANT
    // local_read_acquire: acquire, and arm() acq_rel.)
    constexpr std::memory_order order = mutant::local_read_acquire ? std::memory_order_acquire
                                                                   : std::memory_order_seq_cst;
    return wait_nr_.load(mutant::weaken_if(mutant::local_push_arm_relaxed, order));  // [W1]
  }

  /// The merged kernel's wake rule for an add that read `armed`. True: this
  /// add claimed the arming's wake (C3) and must call wake().
  bool claim(int armed, wake_mode mode) noexcept {
    if (armed <= 0) return false;  // nobody waits, or this arming already fired
    if (mode == wake_mode::lazy) {
      // [W2] acq_rel, as every write (C1). The add that takes the count from
      // 1 to 0 wakes; the others only count (R3: may land on a later arming).
      // (MUTANT local_claim_relaxed: relaxed, here and in [W3].)
      return wait_nr_.fetch_sub(1, mutant::weaken_if(mutant::local_claim_relaxed, std::memory_order_acq_rel)) == 1;
    }
    if constexpr (mutant::local_eager_wake_cas) {
      // MUTANT (the seed's v2, R2): give up if wait_nr changed since our
      // read. A lazy decrement in between (k -> k-1, still > 0) makes us give
      // up although nobody will wake the owner: lost wake. (Mutant form of [W3].)
      return wait_nr_.compare_exchange_strong(armed, no_waiter, std::memory_order_acq_rel,
                                              std::memory_order_relaxed);
    } else {
      // [W3] acq_rel, as every write (C1). Unconditional (R2): whatever lazy
      // decrements landed since our read, if the count is still positive the
      // wake is ours.
      return wait_nr_.exchange(no_waiter, mutant::weaken_if(mutant::local_claim_relaxed,
                                                            std::memory_order_acq_rel)) > 0;
    }
  }

  /// The wake rule for a chain of `items` adds made by one push
  /// (local_work::add_batch): the chain counts `items` towards the armed
  /// count with ONE subtraction (the batched local task-work add io_uring
  /// prototyped after the mpscq merge), and its add wakes the owner when that
  /// subtraction takes the count from positive to <= 0 (C3: one such RMW per
  /// arming). Eager: claim()'s exchange, one wake for the whole chain.
  /// items >= 1; claim_batch(armed, 1, mode) is claim(armed, mode).
  bool claim_batch(int armed, std::size_t items, wake_mode mode) noexcept {
    if (armed <= 0) return false;  // nobody waits, or this arming already fired
    if (mode == wake_mode::eager) return claim(armed, mode);  // [W3]
    // At most `armed`: between read() and this RMW the count only falls
    // (claims) or leaves the arming (disarm, eager claim: then it is <= 0 or
    // re-armed, R3), so the value this RMW meets is <= armed, and it is in
    // (0, count] exactly when it is in (0, items]: the clamp changes no
    // verdict, and keeps any number of stale chain decrements (R3) far from
    // an int's range. (MUTANT local_chain_counts_one: subtract 1, as if the
    // chain were one item: the owner sleeps past min_events.)
    const int count = mutant::local_chain_counts_one               ? 1
                      : items < static_cast<std::size_t>(armed) ? static_cast<int>(items)
                                                                  : armed;
    // [W9] acq_rel, as every write (C1) and as [W2], whose rule this is for
    // `count` items. (MUTANT local_claim_relaxed: relaxed, as [W2].)
    const int old = wait_nr_.fetch_sub(count, mutant::weaken_if(mutant::local_claim_relaxed, std::memory_order_acq_rel));
    // MUTANT local_chain_wake_exact: the single add's "== 1" carried over as
    // "== count": a lazy decrement that lands between read() and this RMW
    // makes the chain step over the last needed count without waking: lost
    // wake.
    if constexpr (mutant::local_chain_wake_exact) return old == count;
    return old > 0 && old <= count;
  }

  /// Wakes the owner for a claimed wait cycle: wake_unclaimed(), counted in
  /// wakes() (so wakes() <= the owner's arms).
  void wake() noexcept {
    wake_unclaimed();
    // [W8] Relaxed: a statistic, incremented only here.
    wakes_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Wakes the owner: bump the futex word, then FUTEX_WAKE (C4). Also for a
  /// wake that claimed no cycle (local_work::interrupt()); not counted.
  void wake_unclaimed() noexcept {
    // [W4] Release: pairs with [W5]. The word changes before futex_wake, so
    // an owner between its snapshot and its sleep sees a different value and
    // does not sleep.
    // (MUTANT local_futex_word_relaxed: relaxed, here and in snapshot().)
    futex_.fetch_add(1, mutant::weaken_if(mutant::local_futex_word_relaxed, std::memory_order_release));
    futex_wake(futex_, 1);
  }

  // --- the owner's side -----------------------------------------------------

  /// The futex word's value, to sleep() on; taken *before* arm() (C4).
  int snapshot() noexcept {
    // [W5] Acquire: pairs with [W4]. (MUTANT local_futex_word_relaxed.)
    return futex_.load(mutant::weaken_if(mutant::local_futex_word_relaxed, std::memory_order_acquire));
  }

  /// Arms the countdown with `count` > 0 lazy adds; the caller re-checks its
  /// queue afterwards (R1) and disarm()s if it finds work.
  void arm(int count) noexcept {
    // [W6] seq_cst: the owner's half of C2 (the caller's re-check after it is
    // a seq_cst load of the tail); its release half publishes the snapshot's
    // order to the claimer (C4).
    // (MUTANT local_push_arm_relaxed: relaxed, here and in read(); MUTANT
    // local_read_acquire: acq_rel.)
    constexpr std::memory_order order = mutant::local_read_acquire ? std::memory_order_acq_rel
                                                                   : std::memory_order_seq_cst;
    wait_nr_.exchange(count, mutant::weaken_if(mutant::local_push_arm_relaxed, order));  // [W6]
  }

  /// Resets wait_nr to NO_WAITER: after the sleep, or when the re-check
  /// found work.
  void disarm() noexcept {
    // [W7] acq_rel, as every write (C1). An add whose read() returns this
    // value needs nothing from it: the owner's next arm() comes after that
    // read() in S, and its re-check finds the push (C2).
    wait_nr_.exchange(no_waiter, std::memory_order_acq_rel);
  }

  /// Sleeps while the futex word still holds `seq` (from snapshot()), for at
  /// most `left` (nanoseconds::max(): no limit). May return early or
  /// spuriously: the caller loops.
  futex_wait_result sleep(int seq, std::chrono::nanoseconds left) noexcept { return futex_wait(futex_, seq, left); }

  // --- snapshots (relaxed: statistics and tests) ------------------------------

  /// Wakes issued (claims that called wake()).
  std::uint64_t wakes() const noexcept { return wakes_.load(std::memory_order_relaxed); }  // [W8]
  /// wait_nr, as a snapshot.
  int wait_nr() const noexcept { return wait_nr_.load(std::memory_order_relaxed); }  // [W8]

 private:
  // The countdown: lazy adds still needed, or <= 0 for "issue no wake". Only
  // RMWs write it (C1).
  atomic<int> wait_nr_{no_waiter};
  // The owner sleeps on this word; a claimer bumps it first (not the
  // countdown: its value is a sequence number, so a wake between the owner's
  // snapshot and its sleep is never missed, C4).
  futex_word futex_{0};
  // Plain std::atomic also in model builds: statistics are not part of the
  // protocol under check.
  std::atomic<std::uint64_t> wakes_{0};
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_COUNTDOWN_WAKE_HPP
