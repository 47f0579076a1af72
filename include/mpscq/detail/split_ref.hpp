// mpscq/detail/split_ref.hpp - a reference count split over per-thread
// shards, whose owner's reference kill() drops, and whose release runs in
// stages (the kernel's percpu_ref, in user space).
//
// Internal header: not part of the public API, not general purpose.
//
// WHY IT EXISTS
//   mpscq/asio.hpp's contexts. The asio::execution_context that owns Asio's
//   services must outlive every function queued through its executors (a
//   queued strand invoker's destructor locks the strand service's mutex; a
//   co_spawn'ed frame posts its unwinding through the executor), and those
//   functions sit in a local_work / task_work queue that the context cannot
//   reach. So the user's handle holds one reference, every queued function
//   holds one, and the last one out releases the services. A post takes a
//   reference (get()) on the posting thread and the function drops it
//   (put()) on the thread that runs it: one shared word would bounce between
//   producer and consumer on every item. So the count is split: get() and
//   put() touch only the calling thread's shard (the adder gate's shards,
//   detail/adder_gate.hpp), a line that stays in that thread's cache, and
//   the shards are summed only when the owner lets go (kill()). From then on
//   every get()/put() also goes to one central word, where reaching zero is
//   exact. This is percpu_ref's switch to atomic mode at kill, with the
//   shard's read-modify-write standing in for RCU (S1).
//
// THE RELEASE, IN STAGES
//   Releasing an Asio context runs user code: shutting the services down
//   destroys handlers, whose destructors may post through the context again
//   - a new reference taken while the count is zero (by the releasing
//   thread, or by a thread of a service that the release joins). So the
//   release is a token. The put() (or kill()) that brings the central count
//   to zero gets it (returns true) and runs one stage; stage_done() then
//   says whether references were taken meanwhile and are still held: if
//   not, the holder keeps the token and runs the next stage; if so, it gives
//   the token back, and the put() that brings the count to zero again gets
//   it. While the token is held, a count that reaches zero hands out nothing:
//   two stages never run at once, and none runs twice.
//
// INVARIANTS
//   S1. Each shard word changes only by read-modify-writes, so its changes
//       are totally ordered: every get()/put() on shard s either precedes
//       kill()'s fetch_or on s (kill() reads it, and adds it to the sum) or
//       follows it (it reads the killed bit and applies itself to the central
//       word too). A put() counted in the sum has its get() counted there as
//       well: the get happens-before the put (the reference was handed
//       over), the put's release is read by kill()'s acquire on its shard,
//       and kill() visits the shards in order - so the sum is never below the
//       references that are really held.
//   S2. Until kill() adds the sum, the central word holds the bias (2^40)
//       plus the post-kill changes: puts of references counted in the sum
//       bring it down by at most the sum, far above zero. The bias is the
//       owner's reference; kill() adds `sum - bias`, and the central count is
//       from then on exactly the references held.
//   S3. The token is handed out only by a read-modify-write of the central
//       word that leaves the count at zero and sets the token bit (put(),
//       kill()), and given back only by one that clears it while the count
//       is above zero (stage_done()). So at most one thread holds it, and a
//       count that reaches zero while it is held hands out nothing.
//   S4. Every put() is a release (on its shard, read by kill()'s acquire; or
//       on the central word, read by the next claim's acquire), and every
//       claim of the token an acquire RMW on the central word (whose release
//       sequence holds kill()'s and every central put's change): everything
//       a holder did before dropping its reference happens-before the stage
//       that the token's next holder runs.
//
// RULES FOR THE CALLER
//   get(): only by a thread that holds a reference (it passes the new one
//   on), or by the token's holder and the threads its stage drives (they
//   count while the token is held). put(): once per reference, as the
//   holder's last access. kill(): once, by the owner, as its last access
//   unless it returns true. The token's holder calls stage_done() after each
//   stage and, when it returns true, runs the next one; the last stage may
//   free the object (no reference is left, and only the token's holder could
//   take one).
//
// COST
//   get(): one relaxed RMW on the calling thread's shard line. put(): one
//   release RMW on its shard line. killed(): a relaxed load of the same line.
//   After kill(), each also does one RMW on the central word (a CAS loop for
//   put()). kill(): one RMW per shard and a CAS loop on the central word.
//   Memory: (shards + 1) cache lines.
//
// ATOMICS (rows of docs/design.md's table)
//   [SR1] get         shard fetch_add        relaxed   the caller's reference keeps the object
//   [SR2] get         central fetch_add      relaxed   after the killed bit; only goes up
//   [SR3] put         shard fetch_sub        release   pairs with [SR5]
//   [SR4] put, kill   central CAS loop       acq_rel   release to the token's next holder; acquire on a claim
//   [SR5] kill        shard fetch_or         acquire   pairs with [SR3]
//   [SR6] killed, central_count  loads       relaxed   snapshots
//   [SR7] stage_done  central load / CAS     acquire / acq_rel
//   [SR8] constructor stores                 relaxed   before the object is shared
#ifndef MPSCQ_DETAIL_SPLIT_REF_HPP
#define MPSCQ_DETAIL_SPLIT_REF_HPP

#include <cstdint>

#include <mpscq/detail/adder_gate.hpp>
#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/cache_line.hpp>
#include <mpscq/detail/mutants.hpp>

namespace mpscq::detail {

class split_ref {
 public:
  using word = std::uint64_t;
  /// Shards: the adder gate's (MPSCQ_GATE_SHARDS), picked the same way.
  static constexpr unsigned shards = adder_gate::shards;
  /// A shard's top bit: kill() has summed it; changes after it go central too.
  static constexpr word killed_bit = word{1} << 63;
  /// A shard's count reads zero at this value: a shard only its consumers
  /// use goes below it (they drop references others took), one only its
  /// producers use goes above it. 2^62 changes either way never reach the
  /// killed bit or wrap.
  static constexpr word shard_zero = word{1} << 62;
  /// The central word: the token bit and the count below it.
  static constexpr word token = word{1} << 62;
  static constexpr word count_mask = token - 1;
  /// The owner's reference, in the central word until kill() (S2).
  /// (MUTANT split_ref_no_bias: a plain 1, as any other reference; see kill().)
  static constexpr word bias = mutant::split_ref_no_bias ? word{1} : word{1} << 40;

  split_ref() noexcept {
    for (auto& s : shard_) s.value.store(shard_zero, std::memory_order_relaxed);  // [SR8] before any sharing
    central_.value.store(bias, std::memory_order_relaxed);                          // [SR8]
  }
  split_ref(const split_ref&) = delete;
  split_ref& operator=(const split_ref&) = delete;

  /// A new reference. The caller holds one (or holds the token, or runs
  /// inside a stage): see RULES FOR THE CALLER.
  void get() noexcept {
    // [SR1] Relaxed: the caller's own reference keeps the object alive, and
    // the new one reaches its putter through the caller's own hand-over (a
    // queue push), which orders it. kill() sees it by S1.
    if ((shard_[adder_gate::shard_of_this_thread()].value.fetch_add(1, std::memory_order_relaxed) & killed_bit) != 0) {
      // [SR2] Relaxed: the count only goes up; whoever reaches zero later
      // reads it in the central word's modification order.
      central_.value.fetch_add(1, std::memory_order_relaxed);
    }
  }

  /// Drops a reference: the caller's last access to the object, unless it
  /// returns true - then the count reached zero and the caller holds the
  /// token: run a stage, then stage_done().
  [[nodiscard]] bool put() noexcept {
    // [SR3] Release: pairs with kill()'s acquire fetch_or on this shard
    // ([SR5]): what the holder did happens-before the release that kill()
    // may start. (MUTANT split_ref_put_relaxed: relaxed, here and in the
    // central put.)
    const word before = shard_[adder_gate::shard_of_this_thread()].value.fetch_sub(
        1, mutant::weaken_if(mutant::split_ref_put_relaxed, std::memory_order_release));
    if ((before & killed_bit) == 0) return false;  // counted in the shard: kill() will sum it
    return central_add(~word{0}, mutant::weaken_if(mutant::split_ref_put_relaxed, std::memory_order_acq_rel));
  }

  /// The owner drops its reference (once). Returns true if it was the last:
  /// the caller holds the token. Otherwise the caller must not touch the
  /// object again.
  [[nodiscard]] bool kill() noexcept {
    word sum = 0;
    for (auto& s : shard_) {
      // [SR5] Acquire: pairs with the release of every put() before it on
      // this shard ([SR3]), so their holders' work happens-before whatever
      // release this kill() starts (or hands on through [SR4]).
      // (MUTANT split_ref_put_relaxed: relaxed.)
      const word before =
          s.value.fetch_or(killed_bit, mutant::weaken_if(mutant::split_ref_put_relaxed, std::memory_order_acquire));
      sum += (before & ~killed_bit) - shard_zero;  // modulo 2^64: a shard may be below zero
    }
    // The owner's reference was the bias: replace it by the sum (S2). With
    // MUTANT split_ref_no_bias the bias is a plain 1, and before this add a
    // put() on a shard already killed can take the central count to zero
    // while references counted in the sum are still held.
    // [SR4] acq_rel: release publishes the owner's work to the token's next
    // holder; acquire, when this claims the token, reads the central puts.
    return central_add(sum - bias, std::memory_order_acq_rel);
  }

  /// True once kill() reached the calling thread's shard. A snapshot: a
  /// call that kill() happens-before sees true (coherence).
  bool killed() const noexcept {
    // [SR6] Relaxed: the caller only decides what to do with a reference it
    // holds; a call racing with kill() may go either way.
    return (shard_[adder_gate::shard_of_this_thread()].value.load(std::memory_order_relaxed) & killed_bit) != 0;
  }

  /// The token's holder finished a stage. True: no reference is held, the
  /// caller keeps the token (and runs the next stage). False: references
  /// taken during the stage are still held; the token is given back, and
  /// the put() that drops the last of them gets it.
  [[nodiscard]] bool stage_done() noexcept {
    // [SR7] Acquire: pairs with the release of the central puts of
    // references taken during the stage (they happen-before the next one).
    word old = central_.value.load(std::memory_order_acquire);
    for (;;) {
      if ((old & count_mask) == 0) return true;
      // [SR7] acq_rel: release hands what the stage did to the next holder.
      if (central_.value.compare_exchange_strong(old, old & ~token, std::memory_order_acq_rel,
                                                 std::memory_order_acquire))
        return false;
    }
  }

  /// The central count (references held), for tests: meaningful after kill().
  word central_count() const noexcept {
    return central_.value.load(std::memory_order_relaxed) & count_mask;  // [SR6]
  }

 private:
  // Adds `delta` (modulo 2^64) to the central word. Returns true if that
  // took the count to zero with no token out: the caller now holds it (S3).
  bool central_add(word delta, std::memory_order order) noexcept {
    word old = central_.value.load(std::memory_order_relaxed);  // [SR4] a guess: the CAS checks it
    for (;;) {
      word next = old + delta;
      // MUTANT split_ref_claim_held_token: a count that reaches zero hands
      // the token out even while it is held - a reference taken and dropped
      // during a stage starts a second release next to the running one.
      const bool claim = (next & count_mask) == 0 && ((old & token) == 0 || mutant::split_ref_claim_held_token);
      if (claim) next |= token;
      // [SR4] acq_rel (put(): weakened with MUTANT split_ref_put_relaxed).
      // Release: the holder's work, and kill()'s, to the token's next holder;
      // acquire: a claim reads every earlier central put and kill()'s add.
      if (central_.value.compare_exchange_strong(old, next, order, std::memory_order_relaxed)) return claim;
    }
  }

  struct alignas(cache_line) padded {
    atomic<word> value;
  };
  padded shard_[shards];
  padded central_;
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_SPLIT_REF_HPP
