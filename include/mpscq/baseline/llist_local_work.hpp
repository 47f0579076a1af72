// mpscq/baseline/llist_local_work.hpp - the baseline: local task work the
// way io_uring did it before the mpscq series (an llist, with the nr_tw
// counting scheme), kept to measure the seed's claims against. Not a
// deprecated API, and not installed: the benchmarks, tests and examples use it.
//
// WHY IT EXISTS
//   To measure. The benchmarks run the seed's before/after side by side: this
//   class is "before" (LIFO compare-exchange push, take-all + reverse, a retry
//   list for what exceeds the cap, the wake decision from nr_tw), and
//   mpscq::local_work is "after". Same API, same gate, pending flag, eventfd,
//   wait loop and counters (detail/local_work_core.hpp), so only the queue and
//   the wake rule differ. Use mpscq::local_work in real code.
//
// THE OLD SCHEME
//   add(): a compare-exchange loop on the list head. Each new head carries
//   nr_tw = (the old head's nr_tw) + 1 for a lazy add - the number of lazy
//   items queued since the owner last took the list - or FORCE (larger than
//   any count a waiter arms with) for an eager one. After the push, with
//   nr_wait = wait_nr read as unsigned (NO_WAITER = -1 is the largest):
//     nr_tw <  nr_wait             -> not enough yet (or nobody waits): no wake
//     previous head's nr_tw >= nr_wait -> an earlier add already woke: no wake
//     otherwise                    -> wake
//   The owner arms wait_nr with the number still needed and resets it to
//   NO_WAITER after waking, like mpscq::local_work. run(): first what the
//   retry list holds (and stop there if the cap leaves some of it), then take
//   the whole list with one exchange (newest first), reverse it (O(n)), run up
//   to the cap and park the rest on the retry list.
//
// ITEMS MUST BE TYPE-STABLE STORAGE
//   An add reads nr_tw from the current head item, which the owner may have
//   run (and the item's owner reused) meanwhile; the kernel relied on
//   SLAB_TYPESAFE_BY_RCU for this. Here: an llist_work may be re-added or
//   reused as an llist_work at any time, but its memory must stay valid for
//   the lifetime of the llist_local_work it was added to (take items from a
//   pool). nr_tw is atomic, so such a read is a stale value, never a race; the
//   compare-exchange then fails and the add retries.
//
// SYNCHRONIZATION TABLE, MEMORY-ORDERING CONTRACT, CLOSE
//   As mpscq::local_work (mpscq/local_work.hpp), except the order: items
//   still run oldest first within one take, but a capped take parks the rest,
//   and later adds wait behind them.
#ifndef MPSCQ_BASELINE_LLIST_LOCAL_WORK_HPP
#define MPSCQ_BASELINE_LLIST_LOCAL_WORK_HPP

#include <chrono>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/cache_line.hpp>
#include <mpscq/detail/local_work_core.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/llist.hpp>
#include <mpscq/work.hpp>

namespace mpscq::baseline {

/// A task-work item with the old scheme's per-item counter. Also an
/// mpscq::work, so a benchmark can run the same items through both variants.
struct llist_work : mpscq::work {
  /// Lazy items queued since the owner's last take, counting this one (or
  /// FORCE for an eager add). Written by the adding thread before its push,
  /// read by the next adder.
  detail::atomic<unsigned> nr_tw{0};
};

class llist_local_work : private detail::local_work_core<llist_local_work> {
  using core = detail::local_work_core<llist_local_work>;
  friend core;

 public:
  /// nr_tw of an eager add (io_uring's IO_CQ_WAKE_FORCE): above any count.
  static constexpr unsigned force_wake = static_cast<unsigned>(detail::no_waiter) >> 1;

  /// options.limit must be 0: bounded admission is local_work's (the
  /// baseline has no try_add, and its runs do not count room) - reported.
  explicit llist_local_work(local_work_options options = {}) : core(options) {
    if (options.limit != 0)
      detail::misuse("baseline::llist_local_work",
                     "options.limit is not supported (bounded admission is mpscq::local_work's: use it, or leave "
                     "the limit 0)");
  }
  ~llist_local_work() { close_on_destroy(); }
  // Not copyable: local_work_core is not.

  /// See mpscq::local_work::add and THE OLD SCHEME.
  void add(llist_work& w, wake mode = wake::eager) noexcept {
    detail::adder_gate::ticket ticket;
    if (!admit(w, "baseline::llist_local_work", ticket)) return;  // closed: w ran here, cancelled
    // [LG1] Acquire (and acquire on the compare-exchange's failure): pairs with the
    // release compare-exchange that made `head` the head, so the nr_tw its
    // adder stored is the one we read (the kernel's READ_ONCE under cmpxchg's
    // full barrier).
    node* head = first_.load(std::memory_order_acquire);
    unsigned previous = 0;
    unsigned nr_tw = 0;
    do {
      // The head item may have run already: see ITEMS MUST BE TYPE-STABLE.
      // [LG2] Relaxed: ordered by the acquire that gave us `head`.
      previous = head == nullptr ? 0 : item(head).nr_tw.load(std::memory_order_relaxed);
      nr_tw = mode == wake::lazy ? previous + 1 : force_wake;  // overflow: an earlier add woke
      // [LG2] Relaxed: published by the release compare-exchange below.
      w.nr_tw.store(nr_tw, std::memory_order_relaxed);
      w.hook.next.store(head, std::memory_order_relaxed);  // [LG2]
      // [LG3] seq_cst on success: release pairs with the acquire exchange in
      // run_items() (the owner's take) and with the next adder's acquire head
      // read; seq_cst makes it the add's first half of the push-vs-arm Dekker
      // pair with the seq_cst read() below (countdown_wake C2; the re-check
      // in wait() is a seq_cst load of first_). On x86 the same lock cmpxchg.
    } while (!first_.compare_exchange_strong(head, &w.hook, std::memory_order_seq_cst, std::memory_order_acquire));
    if (head == nullptr) signal_non_empty();
    // The Dekker read [W1] and the wake [W4] of detail/countdown_wake.hpp
    // (not its claim(): the old rule decides from nr_tw). NO_WAITER reads as
    // UINT_MAX.
    const auto nr_wait = static_cast<unsigned>(countdown().read());  // [L5]
    if (nr_tw >= nr_wait && previous < nr_wait) countdown().wake();  // [L6]
    leave_added(ticket);  // [L3]: counted in stats().items_added
  }

  // As mpscq::local_work's (see local_work.hpp).
  void close() noexcept { core::close(); }
  void disown() noexcept { core::disown(); }
  int event_fd() const noexcept { return core::event_fd(); }
  bool has_work() const noexcept { return core::has_work(); }
  int run(int max_events) noexcept { return core::run(max_events); }
  local_work_stats stats() const noexcept { return core::template stats<local_work_stats>(); }
  // Every wait() form of the core (duration or steady_clock deadline, with a
  // std::stop_token where MPSCQ_HAS_STOP_TOKEN), as local_work has them.
  using core::wait;

 private:
  static llist_work& item(node* n) noexcept { return static_cast<llist_work&>(mpscq::work::from_hook(n)); }

  // Runs the chain starting at *chain while n < max; leaves *chain at the
  // first item not run.
  static int run_chain(node*& chain, int n, int max, bool cancel) noexcept {
    while (n < max && chain != nullptr) {
      node* current = chain;
      // [LG5] Relaxed: the chain is the owner's alone (taken, or parked by us).
      chain = current->next.load(std::memory_order_relaxed);  // before func: it may re-add the item
      // [LG5] Relaxed: the item is ours; a handed-out node has next == nullptr (as
      // queue.hpp's debug check expects, should it go on a queue next).
      current->next.store(nullptr, std::memory_order_relaxed);
      mpscq::work::from_hook(current)(run_state{cancel});
      ++n;
    }
    return n;
  }

  int run_items(int max, bool cancel) noexcept {
    int n = run_chain(retry_, 0, max, cancel);
    if (retry_ != nullptr || n >= max) return n;  // the retry list goes first
    // [LG4] Acquire: pairs with the release compare-exchange of every add whose
    // item we take (each later add's RMW continues the release sequence).
    node* taken = llist::reverse(first_.exchange(nullptr, std::memory_order_acquire));
    n = run_chain(taken, n, max, cancel);
    // Park what is left of our take ahead of anything a nested run() (from
    // one of the items above) parked meanwhile: that run took later adds.
    // (Until 0.3 `retry_ = taken` dropped the nested run's leftover: items
    // that never ran, not even cancelled - the third adversarial review.)
    if (taken != nullptr) {
      node* tail = taken;
      // [LG5] Relaxed: the parked chain is the owner's alone.
      while (tail->next.load(std::memory_order_relaxed) != nullptr) tail = tail->next.load(std::memory_order_relaxed);  // [LG5]
      tail->next.store(retry_, std::memory_order_relaxed);  // [LG5]
      retry_ = taken;
    }
    return n;
  }

  // Work remains: the parked chain, or adds that this run did not take (it
  // stopped at its cap on the parked chain, or they came after its take).
  // Their signal may have been consumed by this pass's clear of the flag
  // [L10], so the pass must announce them [L11]. A relaxed load of first_ is
  // enough: an add whose signal this pass cleared happened-before the clear
  // (the flag's release/acquire), so it is seen; a later add found first_
  // non-empty only behind one that signals after the clear. (Until 0.3 only
  // the parked chain counted: a capped run left such adds with has_work()
  // false and the eventfd unreadable - the third adversarial review.)
  bool items_left() const noexcept {
    return retry_ != nullptr || first_.load(std::memory_order_relaxed) != nullptr;  // [LG7]
  }

  // [LG6] caller's order: relaxed (in-flight check) or seq_cst (re-check) in
  // wait(), acquire in drain_cancelled().
  bool queue_empty(std::memory_order order) const noexcept {
    return retry_ == nullptr && first_.load(order) == nullptr;  // [LG6]
  }

  int drain_cancelled() noexcept {
    int n = 0;
    // No add is inside any more (close() waited them out). [LG6] acquire.
    while (!queue_empty(std::memory_order_acquire)) n += run_items(1 << 30, true);
    return n;
  }

  // The producers' line: the list head (llist's layout; the add loop is
  // llist::add's with the nr_tw computation inside, which llist::add cannot
  // host).
  alignas(detail::cache_line) detail::atomic<node*> first_{nullptr};
  // The owner's: what a capped run left over, oldest first.
  alignas(detail::cache_line) node* retry_ = nullptr;
};

}  // namespace mpscq::baseline

#endif  // MPSCQ_BASELINE_LLIST_LOCAL_WORK_HPP
