// mpscq/detail/adder_gate.hpp - the in-flight adder gate: counts the adds
// still inside an object, split over a few per-thread shards, each carrying
// the closed and destroying bits.
//
// Internal header: not part of the public API, not general purpose.
//
// WHY IT EXISTS (the upstream use-after-free)
//   An add touches its object after its push (the wake rule, the pending flag,
//   the scheduler call, the fallback hand-off). The item it pushed can run -
//   and its owner can decide to destroy the object - before the add returns.
//   So every add enters the gate *before* its push and leaves it as its very
//   last access; teardown sets the closed bit and waits until the count is
//   zero. local_work and task_work both use this unit. (The kernel answers the
//   same window with RCU around the add; user space has no preempt-disabled
//   read side without registering every producer thread, so this is the
//   split-counter family instead: the kernel's percpu_ref, which io_uring's
//   ctx->refs is, with the thread's stack standing in for the CPU.)
//
// SHARDS
//   The gate is `shards` words, each on its own cache line. An add picks its
//   shard from where its thread's stack lies (shard_of_this_thread()), so
//   producers on different threads mostly count on different lines and the
//   only line every add writes is the queue's tail. Each word is
//   done | closed | destroying | limited | count (WORD LAYOUT, below).
//   close() sets the bits in every shard, then
//   the caller waits until every shard's count is zero. Which shard an add
//   uses does not matter for correctness (any thread may share any shard);
//   leave() must use the shard its enter() used, so enter() hands back a
//   ticket that names it.
//
// WORD LAYOUT (64 bits; issue 21: items added, with no new atomic write)
//   bits  0-21  count       adds inside the gate on this shard (enter() +1,
//                           every leave() -1); at most 2^22 - 1 at once per
//                           shard (4M adds in flight: threads times nesting)
//   bits 22-24  flags       limited (22), destroying (23), closed (24)
//   bits 25-63  done        completed counted adds on this shard, modulo
//                           2^39: leave_added(t, n) adds n here in the same
//                           RMW that takes the add out of the count
//   leave_added(t, 1) is ONE fetch_add of 2^25 - 1 (+1 in `done`, -1 in
//   `count`; no borrow crosses into the flags, since count >= 1 while the
//   add is inside): on x86-64 `lock add $0x1ffffff,(mem)` - the same one
//   instruction as the uncounted leave()'s `lock sub $1`, on the same line,
//   so counting the adds costs no extra atomic and no extra instruction.
//   leave() (uncounted) stays a fetch_sub of 1: adds that push nothing (one
//   that found the gate closed, a refused try_add), interrupt(), task_work.
//   The `done` field wraps; added() returns the sum over the shards modulo
//   2^39, and the reader widens it against a 64-bit count it knows is close
//   (local_work_core::stats(): items run + cancelled).
//
// INVARIANTS
//   G1. Each shard word changes only by read-modify-writes, so its changes
//       are totally ordered (its modification order): an enter() on shard s
//       either comes before close()'s fetch_or on s (the caller's
//       wait_drained(), which reads s after that fetch_or, then waits for its
//       leave()) or after it (the enter() returns the closed bit and the
//       caller acts on it). An add that enters shard s after close() began
//       but before close() reached s is of the first kind: counted, waited
//       for, its item drained - as if it had come before close().
//   G2. An add is counted from its enter() to its leave(); in between it may
//       touch the object; after leave() it must not.
//   G3. wait_drained() returns only after it has read a count of zero in
//       every shard, each read after close()'s fetch_or on that shard; each
//       read synchronizes with every leave() before it on that shard (release
//       sequence of RMWs), so all those adds' effects happen-before what the
//       waiter does next.
//
// COST
//   Two RMWs (enter, leave) per add on the add's shard line: a line its
//   thread keeps in its own cache unless another producer hashes to the same
//   shard. close() costs one RMW per shard. Memory: shards * cache_line
//   (MPSCQ_GATE_SHARDS, default 4: 256 bytes per object with 64-byte lines).
//
// ATOMICS (rows of docs/design.md's table)
//   [A1] enter   fetch_add acquire   pairs with close()'s release half
//   [A2] leave   fetch_sub release   pairs with wait_drained()'s acquire load
//   [A3] close   fetch_or  acq_rel   per shard; release: to adds that see the bit
//   [A4] wait    load      acquire   per shard; pairs with [A2]
//   [A5] is_closed, is_destroying, in_flight: relaxed snapshots
//   [A6] wait_except load acquire   per shard; pairs with [A2], as [A4]
//   [A7] set_flags fetch_or relaxed   the constructor's, before sharing
//   [A8] leave_added fetch_add release  as [A2] (one RMW: count -1, done +n)
//   [A9] added   load      relaxed   per shard; a statistic (stats())
#ifndef MPSCQ_DETAIL_ADDER_GATE_HPP
#define MPSCQ_DETAIL_ADDER_GATE_HPP

#include <bit>
#include <cstdint>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/backoff.hpp>
#include <mpscq/detail/cache_line.hpp>
#include <mpscq/detail/mutants.hpp>

// MPSCQ_GATE_SHARDS: how many in-flight counters each local_work / task_work
// splits its adds over (a power of two, 1..64; 1 = one shared word, the
// pre-0.3 gate). Choose the same in every translation unit of a program.
#ifndef MPSCQ_GATE_SHARDS
#define MPSCQ_GATE_SHARDS 4
#endif

namespace mpscq::detail {

class adder_gate {
 public:
  using state = std::uint64_t;
  /// The in-flight count: the low bits (WORD LAYOUT).
  static constexpr int count_bits = 22;
  static constexpr state count_mask = (state{1} << count_bits) - 1;
  /// The object is bounded (detail/admission.hpp): every add takes the
  /// slow path that takes room. Set once, by the constructor (set_flags()),
  /// so an unbounded object's add tests the same word with the same one
  /// instruction as before (closed | limited instead of closed).
  static constexpr state limited = state{1} << count_bits;
  /// The destructor began: no add may begin any more (a use after free).
  static constexpr state destroying = state{1} << (count_bits + 1);
  /// close() ran (or began): adds must not schedule / queue normally.
  static constexpr state closed = state{1} << (count_bits + 2);
  /// The flag bits.
  static constexpr state flag_mask = closed | destroying | limited;
  /// The completed counted adds (leave_added()): the top bits, modulo 2^39.
  static constexpr int done_shift = count_bits + 3;
  static constexpr int done_bits = 64 - done_shift;
  static constexpr state done_one = state{1} << done_shift;
  static constexpr state done_mask = ~(done_one - 1);
  static_assert((count_mask | flag_mask | done_mask) == ~state{0} && (count_mask & flag_mask) == 0 &&
                    (flag_mask & done_mask) == 0,
                "the gate word's fields must tile it");
  // leave_added(t, 1)'s operand fits a sign-extended 32-bit immediate, so
  // it stays one `lock add $imm, (mem)` on x86-64 (WORD LAYOUT).
  static_assert(done_one - 1 <= 0x7fffffffu);
  /// Shards per gate.
  static constexpr unsigned shards = MPSCQ_GATE_SHARDS;
  static_assert(shards >= 1 && shards <= 64 && (shards & (shards - 1)) == 0,
                "MPSCQ_GATE_SHARDS must be a power of two from 1 to 64");

  /// What enter() hands back: the shard word before this add was counted
  /// (its closed / destroying bits tell the caller what to do), and the
  /// shard, which leave() needs.
  struct ticket {
    state before;
    unsigned shard;
  };

  /// The calling thread's shard: from the address of its stack, so that no
  /// thread-local storage is touched (add() stays async-signal-safe also in
  /// a dlopen()ed library) and nothing is registered. The address is taken
  /// in 64 KiB granules (threads' stacks lie at least that far apart, unless
  /// they are smaller: threads whose stacks share a granule share a shard)
  /// and hashed by Fibonacci hashing, keeping the product's top bits, so
  /// distinct granules spread like random draws. One thread keeps its shard
  /// unless its stack crosses a granule boundary between two adds (harmless:
  /// the ticket carries the shard to leave()). The model build uses Relacy's
  /// thread index.
  static unsigned shard_of_this_thread() noexcept {
    if constexpr (shards == 1) {
      return 0;
    } else if constexpr (model_build) {
      return model_thread_index() & (shards - 1);
    } else {
      const char here = 0;
      const auto granule = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&here) >> 16);
      // Fibonacci hashing: the top log2(shards) bits of the product.
      constexpr int bits = std::countr_zero(shards);  // >= 1 here
      return static_cast<unsigned>((granule * 0x9E3779B97F4A7C15ull) >> (64 - (bits > 0 ? bits : 1)));
    }
  }

  /// Enters the gate on the calling thread's shard. The caller must call
  /// leave(ticket) exactly once afterwards, whatever the bits say.
  ticket enter() noexcept { return enter_shard(shard_of_this_thread()); }

  /// enter() on a chosen shard (tests; `shard` < shards).
  ticket enter_shard(unsigned shard) noexcept {
    // [A1] Acquire: an add that sees the closed bit sees what the closing
    // thread did before close() (pairs with [A3]'s release).
    return ticket{shard_[shard].word.fetch_add(1, std::memory_order_acquire), shard};
  }

  /// Leaves the gate: from here on the add must not touch the object.
  /// Uncounted: the add is not in added() (an add that pushed nothing,
  /// interrupt(), task_work).
  void leave(ticket t) noexcept {
    // [A2] Release: pairs with [A4], so the add's push, wake and scheduler
    // call happen-before the closer drains and the destructor frees.
    // (MUTANT gate_relaxed: relaxed.)
    shard_[t.shard].word.fetch_sub(1, mutant::weaken_if(mutant::gate_relaxed, std::memory_order_release));
  }

  /// leave(), counting `n` completed adds in the shard's `done` field, in the
  /// same one RMW (WORD LAYOUT): for an add that pushed n items.
  void leave_added(ticket t, std::uint64_t n = 1) noexcept {
    // [A8] Release, as [A2] (pairs with [A4]/[A6]): the one fetch_add takes
    // the add out of the count (-1) and adds n to `done` (n << done_shift);
    // the count is >= 1 here (ours), so the -1 borrows nothing from the
    // flags, and `done` wraps modulo 2^39 out of the word's top.
    // (MUTANT gate_relaxed: relaxed.)
    shard_[t.shard].word.fetch_add((n << done_shift) - 1,
                                   mutant::weaken_if(mutant::gate_relaxed, std::memory_order_release));
  }

  /// Counted adds completed (leave_added()'s n, summed over the shards),
  /// modulo 2^done_bits. [A9] relaxed loads, one per shard: a statistic -
  /// not a consistent cut across shards, and an add is in it only once it
  /// has left. Any thread.
  state added() const noexcept {
    state sum = 0;
    for (const auto& s : shard_) sum += s.word.load(std::memory_order_relaxed) >> done_shift;  // [A9]
    return sum & ((state{1} << done_bits) - 1);
  }

  /// The 64-bit count that added() (`low`, modulo 2^done_bits) stands for,
  /// given a 64-bit count `floor` that the reader knows is close below it
  /// (local_work: items consumed, every one of which was added, with fewer
  /// than 2^38 queued at once): floor + ((low - floor) mod 2^done_bits). A
  /// `low` behind `floor` (a difference of 2^38 or more: an add whose item
  /// was consumed before the add left the gate, or a reader that saw the
  /// consumption first) reads as `floor`.
  static std::uint64_t widen(state low, std::uint64_t floor) noexcept {
    constexpr std::uint64_t modulus = std::uint64_t{1} << done_bits;
    const std::uint64_t ahead = (low - floor) & (modulus - 1);
    return ahead >= modulus / 2 ? floor : floor + ahead;
  }

  /// Sets `bits` (closed, destroying) in every shard; returns the bits that
  /// were set before (in any shard). Adds that enter a shard after this
  /// reached it see the bits (G1).
  state close(state bits) noexcept {
    state before = 0;
    // MUTANT gate_close_one_shard: only shard 0 - an add on another shard
    // neither sees the bit nor is waited for (the use-after-free again).
    const unsigned n = mutant::gate_close_one_shard ? 1 : shards;
    for (unsigned i = 0; i < n; ++i) {
      // [A3] acq_rel: release pairs with [A1] of adds that see the bits;
      // acquire orders the caller's wait after it.
      before |= shard_[i].word.fetch_or(bits, std::memory_order_acq_rel) & flag_mask;
    }
    return before;
  }

  /// Sets `bits` (limited) in every shard before the object is shared (the
  /// constructor). [A7] relaxed: the object's publication orders it.
  void set_flags(state bits) noexcept {
    for (auto& s : shard_) s.word.fetch_or(bits, std::memory_order_relaxed);  // [A7]
  }

  /// Waits (backoff: yields, then short sleeps) until no add is inside any
  /// shard. Call after close() (G1, G3).
  void wait_drained() noexcept {
    const unsigned n = mutant::gate_close_one_shard ? 1 : shards;
    for (unsigned i = 0; i < n; ++i) {
      backoff wait;
      // [A4] Acquire: pairs with [A2]. (MUTANT gate_relaxed: relaxed.) An
      // add that enters shard i after we read it drained came after close()
      // reached i: it saw the bits (G1), as with a single word.
      while ((shard_[i].word.load(mutant::weaken_if(mutant::gate_relaxed, std::memory_order_acquire)) &
              count_mask) != 0)
        wait.pause();
    }
  }

  /// Adds of the calling thread that are inside the gate, per shard: what
  /// wait_drained_except() leaves out.
  struct own_adds {
    state count[shards] = {};
  };

  /// wait_drained(), except for `own`: waits until each shard's count is at
  /// most own.count[shard]. For a closer that runs, by exit(), under adds of
  /// its own thread that are inside the gate and never leave (their caller
  /// called exit() from inside their scheduler call, detail/callback_guard.hpp):
  /// every other add has then left, and what it did happens-before our next
  /// step (G3, as in wait_drained(): those adds' leave()s come before our
  /// read in the shard's modification order, and a count can only be the
  /// own adds once all of them have left). Call after close().
  void wait_drained_except(const own_adds& own) noexcept {
    const unsigned n = mutant::gate_close_one_shard ? 1 : shards;
    for (unsigned i = 0; i < n; ++i) {
      backoff wait;
      // [A6] Acquire: pairs with [A2], as [A4]. (MUTANT gate_relaxed: relaxed.)
      while ((shard_[i].word.load(mutant::weaken_if(mutant::gate_relaxed, std::memory_order_acquire)) &
              count_mask) > own.count[i])
        wait.pause();
    }
  }

  /// The closed bit, as a snapshot of shard 0 (close() sets it there first;
  /// relaxed: callers that need ordering get it from enter() or close()). [A5]
  bool is_closed() const noexcept { return (shard_[0].word.load(std::memory_order_relaxed) & closed) != 0; }
  /// The destroying bit, as a snapshot of shard 0 (relaxed: a best-effort
  /// misuse check). [A5]
  bool is_destroying() const noexcept {
    return (shard_[0].word.load(std::memory_order_relaxed) & destroying) != 0;  // [A5]
  }
  /// Adds inside, summed over the shards, as a snapshot (tests). [A5]
  state in_flight() const noexcept {
    state sum = 0;
    for (const auto& s : shard_) sum += s.word.load(std::memory_order_relaxed) & count_mask;  // [A5]
    return sum;
  }

 private:
  struct alignas(cache_line) padded {
    atomic<state> word{0};
  };
  padded shard_[shards];
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_ADDER_GATE_HPP
