// mpscq/llist.hpp - the Linux llist, in C++: the baseline mpscq replaces.
//
// WHAT IT IS
//   A lock-free LIFO list of intrusive nodes (the same mpscq::node hook the
//   queue uses, so one object can be measured through both). add() pushes
//   with a compare-exchange loop; del_all() takes the whole list with one
//   exchange, newest first; reverse() turns that into oldest first, in O(n).
//   This is what io_uring used for task work before the mpscq series, and it
//   is here so that every claim about mpscq::queue is measured against it
//   (bench/, and the legacy task-work variant).
//
// WHEN TO USE IT
//   When order does not matter, or batches are tiny: add() is cheaper than a
//   FIFO push by one store, and del_all() never meets an in-flight window.
//   For FIFO processing prefer mpscq::queue: no O(n) reverse pass, and a
//   consumer can take fewer than all items.
//
// EXAMPLE
//   mpscq::llist l;
//   l.add(&item.hook);                                  // any thread
//   for (node* n = mpscq::llist::reverse(l.del_all()); n != nullptr;) {
//     node* next = n->next.load(std::memory_order_relaxed);
//     process(n);                                       // oldest first
//     n = next;
//   }
//
// SYNCHRONIZATION TABLE
//                 add/add_batch  del_all  empty
//   add           yes            yes      yes
//   del_all       yes            yes      yes   (takes are atomic; several
//                                                 takers each get a disjoint list)
//   empty         yes            yes      yes
//   The chain del_all() returns belongs to the caller: walk, reverse and free
//   it without synchronization.
//
// MEMORY-ORDERING CONTRACT
//   Everything a thread wrote before add(n) happens-before everything done
//   after the del_all() whose chain contains n.
#ifndef MPSCQ_LLIST_HPP
#define MPSCQ_LLIST_HPP

#include <mpscq/version.hpp>
#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/cache_line.hpp>
#include <mpscq/node.hpp>

namespace mpscq {

class alignas(detail::cache_line) llist {
 public:
  llist() noexcept = default;
  llist(const llist&) = delete;
  llist& operator=(const llist&) = delete;

  /// Adds one node (any thread). Returns true if the list was empty before.
  bool add(node* n) noexcept { return add_batch(n, n); }

  /// Adds a chain the caller linked newest-first: first->next ... == last,
  /// as del_all() would return it. Returns true if the list was empty before.
  bool add_batch(node* first, node* last) noexcept;

  /// Takes every node, newest first; nullptr if the list was empty.
  node* del_all() noexcept;

  /// Snapshot: true if no node is on the list.
  bool empty() const noexcept;

  /// Reverses a chain the caller owns (e.g. del_all()'s, newest first, into
  /// oldest first). O(n); returns the new first node.
  static node* reverse(node* n) noexcept;

 private:
  detail::atomic<node*> first_{nullptr};
};

// ---------------------------------------------------------------------------
// Implementation. Nothing below this line is part of the interface.
// ---------------------------------------------------------------------------

inline bool llist::add_batch(node* first, node* last) noexcept {
  // [B1] Relaxed: the value is only a guess for the compare-exchange, which
  // re-reads the head on failure.
  node* head = first_.load(std::memory_order_relaxed);
  do {
    // [B2] Relaxed: published by the release compare-exchange below.
    last->next.store(head, std::memory_order_relaxed);
    // [B3] Release on success: pairs with the acquire exchange in del_all(), so
    // the taker sees our payload and our link. Relaxed on failure: we only
    // take the new head as the next guess.
  } while (!first_.compare_exchange_strong(head, first, std::memory_order_release,
                                           std::memory_order_relaxed));
  return head == nullptr;
}

inline node* llist::del_all() noexcept {
  // [B4] Acquire: pairs with the release compare-exchange of every add() whose
  // node we take (each add's release heads a release sequence that the
  // later adds' RMWs continue).
  return first_.exchange(nullptr, std::memory_order_acquire);
}

inline bool llist::empty() const noexcept {
  // [B5] Relaxed: a hint; del_all() gives the ordering for what it takes.
  return first_.load(std::memory_order_relaxed) == nullptr;
}

inline node* llist::reverse(node* n) noexcept {
  node* reversed = nullptr;
  while (n != nullptr) {
    // [B6] Relaxed: the chain is the caller's alone after del_all().
    node* next = n->next.load(std::memory_order_relaxed);
    n->next.store(reversed, std::memory_order_relaxed);  // [B6]
    reversed = n;
    n = next;
  }
  return reversed;
}

}  // namespace mpscq

#endif  // MPSCQ_LLIST_HPP
