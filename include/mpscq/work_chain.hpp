// mpscq/work_chain.hpp - a chain of work items for one batched add.
//
// WHAT IT IS
//   mpscq::work_chain collects work items (mpscq::work, mpscq::context_work)
//   on one thread, linking them through their own hooks (no allocation), and
//   local_work::add_batch() / task_work::add_batch() hand the whole chain over
//   in one add: ONE exchange on the queue's tail for all of them (the kernel's
//   llist_add_batch(new_first, new_last, head); here queue::push_batch), and
//   for local_work ONE countdown subtraction of the chain's length from the
//   owner's min_events (the batched local task-work add io_uring prototyped
//   after the mpscq merge). The items stay contiguous in the queue and run in
//   the order they were appended.
//
// WHEN TO USE IT
//   A thread that completes several items at once for the same target - a
//   reactor that reaped a batch of completions, a worker that finished a
//   burst of requests for one event loop - and wants to pay the producers'
//   shared line once, not once per item. For one item use add().
//
// EXAMPLE
//   mpscq::work_chain chain;
//   for (request* r : completed) chain.append(r->tw);   // any one thread
//   lw.add_batch(chain, mpscq::wake::lazy);  // counts completed.size() at once
//   // chain is empty again here, and may be reused
//
// SHAPES AND UNITS
//   size() is a count of items (std::size_t). append() is O(1): one store
//   into the previous item's hook. add_batch() costs what one add() costs
//   (see local_work.hpp and task_work.hpp, COST), whatever the length.
//
// THREAD AND LIFETIME RULES
//   A work_chain is a plain single-thread builder: append(), size(), clear()
//   and add_batch() on one chain must not run at the same time (the add's
//   target may of course be shared). From append() on, an item belongs to
//   the chain: do not add() it, append it to another chain, move or free it.
//   add_batch() takes every item (they belong to the target from then on, as
//   after add(): work.hpp, LIFETIME) and leaves the chain empty; clear()
//   gives them back unadded. A chain destroyed while it still holds items is
//   misuse (their work would be lost without running, not even cancelled):
//   add_batch() or clear() it first. Every item's func must stay set until
//   it runs (add_batch() does not re-check it). Movable (the source is left
//   empty), not copyable.
//
// EXCEPTIONS
//   Nothing here throws. An exception that unwinds past a chain that still
//   holds items (thrown between append() and add_batch()) does not abort:
//   the destructor gives the items back (clear()), unadded and untouched.
//
// MISUSE (docs/api.md, Contracts: "mpscq::work_chain: <what>", then abort)
//   Every build (one compare each): append() of an item with no func;
//   append() of the item that is the chain's last already (appended twice in
//   a row); destroying a chain that holds items. With MPSCQ_DEBUG also:
//   append() of an item whose hook is linked (still queued in a local_work or
//   task_work, or already in this or another chain, not last). At the add,
//   queue::push_batch reports a chain whose first or last item is the
//   queue's tail already (every build). Not detected: an item in the middle
//   of a chain that is the tail of a queue (its link is nullptr there too);
//   in release builds, an item appended again later in the same chain
//   ([x, y, x]: the second append relinks x, so y is cut out and never
//   runs, while a lazy add still counts 3 towards min_events).
//   An empty chain is not an error: add_batch() of it does nothing.
#ifndef MPSCQ_WORK_CHAIN_HPP
#define MPSCQ_WORK_CHAIN_HPP

#include <cstddef>
#include <exception>

#include <mpscq/version.hpp>
#include <mpscq/detail/misuse.hpp>
#include <mpscq/node.hpp>
#include <mpscq/queue.hpp>  // MPSCQ_DEBUG
#include <mpscq/work.hpp>

namespace mpscq {

namespace detail {
struct work_chain_access;  // local_work and task_work take the chain through this
}

/// Items linked through their hooks, for one batched add. See the header
/// comment.
class work_chain {
 public:
  work_chain() noexcept = default;
  work_chain(const work_chain&) = delete;
  work_chain& operator=(const work_chain&) = delete;
  /// Takes `other`'s items; `other` is left empty.
  work_chain(work_chain&& other) noexcept : first_(other.first_), last_(other.last_), size_(other.size_) {
    other.first_ = other.last_ = nullptr;
    other.size_ = 0;
  }
  work_chain& operator=(work_chain&&) = delete;

  /// Misuse if it still holds items (add_batch() or clear() them first),
  /// except while an exception unwinds past it: the items were never added,
  /// so they are given back (clear()) and stay the caller's.
  ~work_chain() {
    if (size_ == 0) return;
    if (std::uncaught_exceptions() > uncaught_at_construction_) {
      clear();
      return;
    }
    detail::misuse("work_chain",
                   "destroyed while it still holds items that were never added (their work would be lost): "
                   "add_batch() it or clear() it first");
  }

  /// Appends `w` at the end (O(1)). `w.func` must be set; `w` must not be
  /// queued or in a chain. See MISUSE in the header comment.
  void append(work& w) noexcept;

  /// Items appended since the chain was last emptied.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Gives every item back unadded: unlinks their hooks (O(n); the items
  /// must still be alive) and empties the chain.
  void clear() noexcept;

 private:
  friend struct detail::work_chain_access;

  node* first_ = nullptr;
  node* last_ = nullptr;
  std::size_t size_ = 0;
  int uncaught_at_construction_ = std::uncaught_exceptions();  // see ~work_chain()
};

namespace detail {

/// What add_batch() takes from a chain: first..last linked through their
/// hooks, `size` items.
struct taken_chain {
  node* first;
  node* last;
  std::size_t size;
};

struct work_chain_access {
  /// Empties `c` and returns what it held.
  static taken_chain take(work_chain& c) noexcept {
    const taken_chain t{c.first_, c.last_, c.size_};
    c.first_ = c.last_ = nullptr;
    c.size_ = 0;
    return t;
  }

  /// Runs every item of `t` on this thread, in order, with `st` (an add that
  /// found its target closed). Each item's link is read, and its hook
  /// cleared, before it runs: the item may add itself again or free itself.
  static void run_each(taken_chain t, run_state st) noexcept {
    node* n = t.first;
    for (;;) {
      // [WC2] Relaxed: our own appends wrote these links (program order).
      // The last item's link is not read: `last` ends the walk, whatever the
      // link holds (an item handed out by a queue has it cleared, but one
      // that never went through a queue may not).
      node* const next = n == t.last ? nullptr : n->next.load(std::memory_order_relaxed);
      // [WC3] Relaxed, the item is ours: not queued, as after a pop, so that
      // it may be added or appended again (MPSCQ_DEBUG checks the link).
      n->next.store(nullptr, std::memory_order_relaxed);
      work::from_hook(n)(st);
      if (next == nullptr) return;
      n = next;
    }
  }
};

}  // namespace detail

// ---------------------------------------------------------------------------
// Implementation. Nothing below this line is part of the interface.
// ---------------------------------------------------------------------------

inline void work_chain::append(work& w) noexcept {
  if (w.func == nullptr) detail::misuse("work_chain", "append(): the work item has no func (set it before appending)");
  node* const n = &w.hook;
  if (n == last_)
    detail::misuse("work_chain", "append(): the item is the chain's last item already (appended twice)");
#if MPSCQ_DEBUG
  // A hook that is not queued and in no chain has next == nullptr in debug
  // builds (pop() and add_batch()'s closed path clear it); the last item of
  // a chain or queue is the one case this cannot see. [WC1] Relaxed, as
  // queue::push's check [Q12].
  if (n->next.load(std::memory_order_relaxed) != nullptr)
    detail::misuse("work_chain",
                   "append(): the item is still queued, or already in a chain (its hook is linked); append an item "
                   "only after its func started running, and to one chain at a time");
#endif
  if (last_ == nullptr) {
    first_ = n;
  } else {
    // [WC1] Relaxed: a link inside the chain, written before the add that
    // publishes it. The consumer reaches it only through the chain's first
    // item, which queue::push_batch's release link store [Q5] hands over
    // (pairs with the consumer's acquire loads of `next`, Q8/Q10/Q14/Q16):
    // everything this thread wrote before that store - these links and the
    // items' payloads - happens-before the consumer follows them. The tail
    // exchange [Q4] publishes the chain's last link (`nullptr`, Q3) to the
    // next producer as for a single push.
    last_->next.store(n, std::memory_order_relaxed);
  }
  last_ = n;
  ++size_;
}

inline void work_chain::clear() noexcept {
  if (size_ == 0) return;
  node* n = first_;
  for (;;) {
    node* const next = n == last_ ? nullptr : n->next.load(std::memory_order_relaxed);  // [WC2]
    n->next.store(nullptr, std::memory_order_relaxed);                                   // [WC3]
    if (next == nullptr) break;
    n = next;
  }
  first_ = last_ = nullptr;
  size_ = 0;
}

}  // namespace mpscq

#endif  // MPSCQ_WORK_CHAIN_HPP
