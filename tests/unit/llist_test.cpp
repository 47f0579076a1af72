// Unit tests for mpscq::llist, the Linux llist baseline.
#include <mpscq/llist.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace {

using mpscq::llist;
using mpscq::node;

struct item {
  node hook;  // first member: a node* is the item*
  int value = 0;
};

int value_of(node* n) { return reinterpret_cast<item*>(n)->value; }

// The values along a chain, first to last.
std::vector<int> walk(node* n) {
  std::vector<int> out;
  while (n != nullptr) {
    out.push_back(value_of(n));
    n = n->next.load(std::memory_order_relaxed);
  }
  return out;
}

TEST(Llist, StartsEmpty) {
  llist l;
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.del_all(), nullptr);
  EXPECT_TRUE(l.empty());
}

TEST(Llist, AddReportsWasEmpty) {
  llist l;
  item a{{}, 1}, b{{}, 2}, c{{}, 3};
  EXPECT_TRUE(l.add(&a.hook));
  EXPECT_FALSE(l.empty());
  EXPECT_FALSE(l.add(&b.hook));
  EXPECT_NE(l.del_all(), nullptr);
  EXPECT_TRUE(l.empty());
  EXPECT_TRUE(l.add(&c.hook));  // empty again after del_all
  EXPECT_EQ(walk(l.del_all()), std::vector<int>({3}));
}

TEST(Llist, DelAllIsNewestFirst) {
  llist l;
  item items[4];
  for (int i = 0; i < 4; ++i) {
    items[i].value = i;
    l.add(&items[i].hook);
  }
  node* taken = l.del_all();
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(walk(taken), std::vector<int>({3, 2, 1, 0}));
}

TEST(Llist, ReverseGivesOldestFirst) {
  llist l;
  item items[5];
  for (int i = 0; i < 5; ++i) {
    items[i].value = i;
    l.add(&items[i].hook);
  }
  node* oldest = llist::reverse(l.del_all());
  EXPECT_EQ(oldest, &items[0].hook);
  EXPECT_EQ(walk(oldest), std::vector<int>({0, 1, 2, 3, 4}));
  // Reversing twice restores the original order.
  EXPECT_EQ(walk(llist::reverse(oldest)), std::vector<int>({4, 3, 2, 1, 0}));
}

TEST(Llist, ReverseOfEmptyAndSingle) {
  EXPECT_EQ(llist::reverse(nullptr), nullptr);
  item a{{}, 9};
  a.hook.next.store(nullptr, std::memory_order_relaxed);
  EXPECT_EQ(llist::reverse(&a.hook), &a.hook);
  EXPECT_EQ(a.hook.next.load(std::memory_order_relaxed), nullptr);
}

TEST(Llist, AddBatch) {
  llist l;
  item old{{}, 0}, a{{}, 3}, b{{}, 2}, c{{}, 1};
  // A chain linked newest first, as del_all() would return it: a -> b -> c.
  a.hook.next.store(&b.hook, std::memory_order_relaxed);
  b.hook.next.store(&c.hook, std::memory_order_relaxed);
  EXPECT_TRUE(l.add_batch(&a.hook, &c.hook));  // one was-empty for the chain
  EXPECT_EQ(walk(l.del_all()), std::vector<int>({3, 2, 1}));

  EXPECT_TRUE(l.add(&old.hook));
  a.hook.next.store(&b.hook, std::memory_order_relaxed);
  b.hook.next.store(&c.hook, std::memory_order_relaxed);
  EXPECT_FALSE(l.add_batch(&a.hook, &c.hook));
  // The batch sits in front of the older node, with its own order kept.
  EXPECT_EQ(walk(llist::reverse(l.del_all())), std::vector<int>({0, 1, 2, 3}));
}

TEST(Llist, ConcurrentAddsLoseNothingAndKeepPerProducerOrder) {
  constexpr int producers = 4;
  constexpr int per_producer = 20000;
  struct tagged {
    node hook;
    int producer = 0;
    int seq = 0;
  };
  std::vector<std::unique_ptr<tagged[]>> storage;
  for (int p = 0; p < producers; ++p) {
    storage.push_back(std::make_unique<tagged[]>(per_producer));
    for (int i = 0; i < per_producer; ++i) {
      storage.back()[i].producer = p;
      storage.back()[i].seq = i;
    }
  }
  llist l;
  std::atomic<int> was_empty{0};
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      int mine = 0;
      for (int i = 0; i < per_producer; ++i) mine += l.add(&storage[static_cast<std::size_t>(p)][i].hook) ? 1 : 0;
      was_empty.fetch_add(mine, std::memory_order_relaxed);
      finished.fetch_add(1, std::memory_order_release);
    });
  }
  int next[producers] = {};
  int received = 0, out_of_order = 0, takes = 0;
  for (;;) {
    const bool done = finished.load(std::memory_order_acquire) == producers;
    node* n = llist::reverse(l.del_all());
    if (n != nullptr) ++takes;
    for (; n != nullptr; n = n->next.load(std::memory_order_relaxed)) {
      auto* t = reinterpret_cast<tagged*>(n);
      if (t->seq != next[t->producer]) ++out_of_order;
      next[t->producer] = t->seq + 1;
      ++received;
    }
    if (done) break;  // the take after every producer finished got the rest
    std::this_thread::yield();
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(out_of_order, 0);
  EXPECT_EQ(received, producers * per_producer);
  for (int p = 0; p < producers; ++p) EXPECT_EQ(next[p], per_producer);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(was_empty.load(), takes);  // each non-empty take ends one empty -> non-empty period
}

}  // namespace
