// docs/examples/llist_baseline.cpp - mpscq::llist, the Linux llist baseline:
// LIFO add (compare-exchange loop), del_all (newest first), reverse (O(n),
// oldest first), add_batch, and many producers feeding a taker. Shown in
// docs/api.md; built and run as the CTest test doc_llist_baseline. Exits
// non-zero if any check fails.
#include <mpscq/llist.hpp>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

namespace {

int failures = 0;
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ++failures;
  }
}

struct item {
  int producer = 0;
  int seq = 0;
  mpscq::node hook;  // the same hook type mpscq::queue uses
};

item& item_of(mpscq::node* n) { return mpscq::container_of<&item::hook>(*n); }  // node.hpp

// The chain del_all() returns is the caller's: plain relaxed walks suffice.
mpscq::node* next_of(mpscq::node* n) { return n->next.load(std::memory_order_relaxed); }

void single_thread() {
  mpscq::llist l;
  item a{0, 1, {}}, b{0, 2, {}}, c{0, 3, {}};
  check(l.empty(), "a new llist is empty");
  check(l.add(&a.hook), "add() reports the list was empty");
  check(!l.add(&b.hook), "... and then that it was not");
  l.add(&c.hook);

  mpscq::node* newest_first = l.del_all();  // one exchange takes everything
  check(l.empty(), "del_all() leaves the list empty");
  check(&item_of(newest_first) == &c, "del_all() returns the newest first");

  mpscq::node* oldest_first = mpscq::llist::reverse(newest_first);  // O(n)
  int expected = 1;
  for (mpscq::node* n = oldest_first; n != nullptr; n = next_of(n)) {
    check(item_of(n).seq == expected, "reverse() gives the oldest first");
    ++expected;
  }
  check(expected == 4, "three items");

  // add_batch: a chain linked newest first (as del_all() returns it).
  a.hook.next.store(nullptr, std::memory_order_relaxed);
  c.hook.next.store(&b.hook, std::memory_order_relaxed);
  b.hook.next.store(&a.hook, std::memory_order_relaxed);
  check(l.add_batch(&c.hook, &a.hook), "add_batch onto an empty list");
  check(l.del_all() == &c.hook, "the batch is taken as one chain, newest first");
  check(l.del_all() == nullptr, "nothing left: del_all() returns nullptr");
}

void threads() {
  constexpr int producers = 3;
  constexpr int per_producer = 20000;
  mpscq::llist l;
  std::vector<std::unique_ptr<item[]>> items;
  for (int p = 0; p < producers; ++p) {
    items.emplace_back(new item[per_producer]);
    for (int i = 0; i < per_producer; ++i) {
      items.back()[i].producer = p;
      items.back()[i].seq = i;
    }
  }
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) l.add(&items[p][i].hook);
      finished.fetch_add(1, std::memory_order_release);
    });
  }
  int expected_seq[producers] = {};
  int taken = 0;
  bool in_order = true;
  for (;;) {
    // Read `finished` first: if every producer was done before the take,
    // this take got everything that is left.
    const bool all_added = finished.load(std::memory_order_acquire) == producers;
    mpscq::node* chain = mpscq::llist::reverse(l.del_all());
    for (mpscq::node* n = chain; n != nullptr;) {
      mpscq::node* next = next_of(n);  // read before the item is reused or freed
      item& it = item_of(n);
      in_order = in_order && it.seq == expected_seq[it.producer];
      expected_seq[it.producer] = it.seq + 1;
      ++taken;
      n = next;
    }
    if (all_added && chain == nullptr) break;
    if (chain == nullptr) std::this_thread::yield();
  }
  for (auto& t : threads) t.join();
  check(taken == producers * per_producer, "every item taken once");
  check(in_order, "per-producer order holds across takes once each take is reversed");
}

}  // namespace

int main() {
  single_thread();
  threads();
  if (failures != 0) return 1;
  std::puts("llist_baseline: OK");
  return 0;
}
