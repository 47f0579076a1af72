// mpscq/detail/adder_gate.hpp - the in-flight adder gate: one word that
// counts the adds still inside an object and carries its closed and
// destroying bits.
//
// Internal header: not part of the public API, not general purpose.
//
// WHY IT EXISTS (the upstream use-after-free)
//   An add touches its object after its push (the wake rule, the pending flag,
//   the scheduler call, the fallback hand-off). The item it pushed can run -
//   and its owner can decide to destroy the object - before the add returns.
//   So every add enters the gate *before* its push and leaves it as its very
//   last access; teardown sets the closed bit and waits until the count is
//   zero. local_work and task_work both use this unit.
//
// INVARIANTS
//   G1. The word changes only by read-modify-writes, so all changes are
//       totally ordered (its modification order): an enter() either comes
//       before close() (close() then waits for its leave()) or after it (the
//       enter() returns the closed bit and the caller acts on it).
//   G2. An add is counted from its enter() to its leave(); in between it may
//       touch the object; after leave() it must not.
//   G3. wait_drained() returns only after it has read a count of zero, which
//       synchronizes with every leave() before it (release sequence of RMWs),
//       so all those adds' effects happen-before what the waiter does next.
//
// COST
//   Two RMWs (enter, leave) on the gate's cache line per add.
//
// ATOMICS (rows of docs/design.md's table)
//   [A1] enter   fetch_add acquire   pairs with close()'s release half
//   [A2] leave   fetch_sub release   pairs with wait_drained()'s acquire load
//   [A3] close   fetch_or  acq_rel   release: to adds that see the bit
//   [A4] wait    load      acquire   pairs with [A2]
//   [A5] is_closed, is_destroying, in_flight: relaxed snapshots
#ifndef MPSCQ_DETAIL_ADDER_GATE_HPP
#define MPSCQ_DETAIL_ADDER_GATE_HPP

#include <cstdint>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/backoff.hpp>
#include <mpscq/detail/mutants.hpp>

namespace mpscq::detail {

class adder_gate {
 public:
  using state = std::uint32_t;
  /// close() ran (or began): adds must not schedule / queue normally.
  static constexpr state closed = 1u << 31;
  /// The destructor began: no add may begin any more (a use after free).
  static constexpr state destroying = 1u << 30;
  /// The in-flight count: the low bits.
  static constexpr state count_mask = destroying - 1;

  /// Enters the gate; returns the state word before this add was counted (its
  /// closed / destroying bits tell the caller what to do). The caller must
  /// call leave() exactly once afterwards, whatever the bits say.
  state enter() noexcept {
    // [A1] Acquire: an add that sees the closed bit sees what the closing
    // thread did before close() (pairs with [A3]'s release).
    return word_.fetch_add(1, std::memory_order_acquire);
  }

  /// Leaves the gate: from here on the add must not touch the object.
  void leave() noexcept {
    // [A2] Release: pairs with [A4], so the add's push, wake and scheduler
    // call happen-before the closer drains and the destructor frees.
    // (MUTANT gate_relaxed: relaxed.)
    word_.fetch_sub(1, mutant::weaken_if(mutant::gate_relaxed, std::memory_order_release));
  }

  /// Sets `bits` (closed, destroying); returns the state before. Adds that
  /// enter after this see the bits.
  state close(state bits) noexcept {
    // [A3] acq_rel: release pairs with [A1] of adds that see the bits;
    // acquire orders the caller's wait after it.
    return word_.fetch_or(bits, std::memory_order_acq_rel);
  }

  /// Waits (backoff: yields, then short sleeps) until no add is inside.
  void wait_drained() noexcept {
    backoff wait;
    // [A4] Acquire: pairs with [A2]. (MUTANT gate_relaxed: relaxed.)
    while ((word_.load(mutant::weaken_if(mutant::gate_relaxed, std::memory_order_acquire)) & count_mask) != 0)
      wait.pause();
  }

  /// The closed bit, as a snapshot (relaxed: callers that need ordering get it
  /// from enter() or close()). [A5]
  bool is_closed() const noexcept { return (word_.load(std::memory_order_relaxed) & closed) != 0; }
  /// The destroying bit, as a snapshot (relaxed: a best-effort misuse check). [A5]
  bool is_destroying() const noexcept { return (word_.load(std::memory_order_relaxed) & destroying) != 0; }
  /// Adds inside, as a snapshot (tests). [A5]
  state in_flight() const noexcept { return word_.load(std::memory_order_relaxed) & count_mask; }

 private:
  atomic<state> word_{0};
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_ADDER_GATE_HPP
