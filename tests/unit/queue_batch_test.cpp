// Unit tests for mpscq::consumer::pop_batch (and intrusive_queue's): the same
// contract as a sequence of pop() calls, checked directly and against pop()
// itself (a differential test over random pushes, in-flight windows and
// batch sizes).
#include <mpscq/queue.hpp>

#include <gtest/gtest.h>

#include "queue_producers.hpp"

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using mpscq::consumer;
using mpscq::node;
using mpscq::queue;
using access = mpscq::detail::queue_access;

struct item {
  int value = 0;
  node hook;
};
using item_queue = mpscq::intrusive_queue<item, &item::hook>;

item* owner(node* n) { return item_queue::from_hook(n); }

// One pop_batch call: the values handed out, in order.
std::vector<int> batch(consumer& c, int max) {
  std::vector<int> got;
  const int n = c.pop_batch(max, [&](node* x) { got.push_back(owner(x)->value); });
  EXPECT_EQ(n, static_cast<int>(got.size()));
  return got;
}

using values = std::vector<int>;

// The callback's noexcept carries through; a throwing callback makes the call
// potentially throwing.
struct nothrow_f {
  void operator()(node*) const noexcept {}
};
struct throwing_f {
  void operator()(node*) const {}
};
static_assert(noexcept(std::declval<consumer&>().pop_batch(1, nothrow_f{})));
static_assert(!noexcept(std::declval<consumer&>().pop_batch(1, throwing_f{})));

TEST(QueueBatch, FifoAndMaxCap) {
  queue q;
  std::vector<item> items(10);
  consumer c(q);
  for (int i = 0; i < 10; ++i) {
    items[static_cast<std::size_t>(i)].value = i;
    EXPECT_EQ(q.push(&items[static_cast<std::size_t>(i)].hook), i == 0);
  }
  EXPECT_EQ(batch(c, 4), (values{0, 1, 2, 3}));  // capped at max
  EXPECT_FALSE(c.emptied());
  EXPECT_EQ(batch(c, 1), (values{4}));
  EXPECT_FALSE(c.emptied());
  EXPECT_EQ(batch(c, 100), (values{5, 6, 7, 8, 9}));  // fewer than max: the queue ran empty
  EXPECT_TRUE(c.emptied());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(batch(c, 100), values{});
  EXPECT_TRUE(c.emptied());
  EXPECT_EQ(c.pop(), nullptr);
}

TEST(QueueBatch, MaxZeroOrNegativeTouchesNothing) {
  queue q;
  item a{1, {}};
  consumer c(q);
  q.push(&a.hook);
  int calls = 0;
  EXPECT_EQ(c.pop_batch(0, [&](node*) { ++calls; }), 0);
  EXPECT_EQ(c.pop_batch(-5, [&](node*) { ++calls; }), 0);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(c.emptied());  // still the initial state: nothing stepped off the stub
  EXPECT_EQ(c.pop(), &a.hook);
}

TEST(QueueBatch, EmptiedInsideCallbackDescribesThatNode) {
  queue q;
  item a{0, {}}, b{1, {}}, d{2, {}};
  consumer c(q);
  q.push(&a.hook);
  q.push(&b.hook);
  q.push(&d.hook);
  std::vector<bool> seen;
  EXPECT_EQ(c.pop_batch(8, [&](node*) { seen.push_back(c.emptied()); }), 3);
  EXPECT_EQ(seen, (std::vector<bool>{false, false, true}));
}

TEST(QueueBatch, StopsRightAfterTheNodeThatEmptiesTheQueue) {
  // A node pushed by the callback of the emptying hand-out starts a new
  // cycle; the batch must not run on into it (task_work's stop rule).
  queue q;
  item a{0, {}}, b{1, {}};
  consumer c(q);
  q.push(&a.hook);
  bool pushed_was_empty = false;
  EXPECT_EQ(c.pop_batch(8, [&](node* n) {
              if (n == &a.hook) pushed_was_empty = q.push(&b.hook);
            }),
            1);
  EXPECT_TRUE(pushed_was_empty);
  EXPECT_TRUE(c.emptied());
  EXPECT_EQ(batch(c, 8), (values{1}));
  EXPECT_TRUE(c.emptied());
}

TEST(QueueBatch, ZeroOnInFlightPushOnEmptyQueue) {
  queue q;
  item a{1, {}}, b{2, {}};
  consumer c(q);
  node* prev = access::publish(q, &a.hook, &a.hook);  // step 1 only
  ASSERT_EQ(prev, access::stub(q));
  EXPECT_EQ(batch(c, 8), values{});  // pop() would return nullptr: so do we
  EXPECT_FALSE(q.empty());
  EXPECT_FALSE(q.push(&b.hook));  // behind the in-flight push
  EXPECT_EQ(batch(c, 8), values{});
  access::link(prev, &a.hook);
  EXPECT_EQ(batch(c, 8), (values{1, 2}));
  EXPECT_TRUE(c.emptied());
}

TEST(QueueBatch, ZeroOnInFlightPushBehindLastLinkedNode) {
  queue q;
  item a{1, {}}, b{2, {}};
  consumer c(q);
  EXPECT_TRUE(q.push(&a.hook));
  node* prev = access::publish(q, &b.hook, &b.hook);
  ASSERT_EQ(prev, &a.hook);
  // a is linked but its successor's link is in flight: it cannot go.
  EXPECT_EQ(batch(c, 8), values{});
  EXPECT_FALSE(c.emptied());  // the call stepped off the stub onto a: a new cycle
  EXPECT_EQ(c.pop(), nullptr);  // pop() agrees
  access::link(prev, &b.hook);
  EXPECT_EQ(batch(c, 8), (values{1, 2}));
  EXPECT_TRUE(c.emptied());
}

TEST(QueueBatch, InFlightPushInTheMiddleEndsTheBatch) {
  queue q;
  item a{1, {}}, b{2, {}}, d{3, {}}, e{4, {}};
  consumer c(q);
  q.push(&a.hook);
  q.push(&b.hook);
  node* prev = access::publish(q, &d.hook, &d.hook);
  q.push(&e.hook);
  EXPECT_EQ(batch(c, 8), (values{1}));  // b waits for d's link
  EXPECT_FALSE(c.emptied());
  EXPECT_EQ(batch(c, 8), values{});
  access::link(prev, &d.hook);
  EXPECT_EQ(batch(c, 8), (values{2, 3, 4}));
  EXPECT_TRUE(c.emptied());
}

// Differential test: two queues get the same pushes and in-flight windows;
// one is drained with pop(), the other with pop_batch(max) for random max.
// Each batch must hand out exactly what the same number of pop() calls hand
// out, stop where pop() would (nullptr, or after the emptying pop), and
// leave emptied() as those pops leave it.
TEST(QueueBatch, MatchesPopCallForCall) {
  constexpr int pool = 48;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    queue qa, qb;
    std::vector<item> ia(pool), ib(pool);
    for (int i = 0; i < pool; ++i) ia[static_cast<std::size_t>(i)].value = ib[static_cast<std::size_t>(i)].value = i;
    std::vector<int> free_ids;
    for (int i = pool - 1; i >= 0; --i) free_ids.push_back(i);
    consumer ca(qa), cb(qb);
    struct held_push {
      node* prev_a;
      node* prev_b;
      int id;
    };
    std::vector<held_push> held;
    unsigned lcg = seed * 2654435761u;
    auto rnd = [&](unsigned n) {
      lcg = lcg * 1103515245u + 12345u;
      return (lcg >> 8) % n;
    };
    int handed = 0;
    for (int step = 0; step < 400; ++step) {
      const unsigned op = rnd(10);
      if (op < 4 && !free_ids.empty()) {  // push
        const int id = free_ids.back();
        free_ids.pop_back();
        EXPECT_EQ(qa.push(&ia[static_cast<std::size_t>(id)].hook), qb.push(&ib[static_cast<std::size_t>(id)].hook));
      } else if (op == 4 && !free_ids.empty() && held.size() < 2) {  // start an in-flight push
        const int id = free_ids.back();
        free_ids.pop_back();
        node* pa = access::publish(qa, &ia[static_cast<std::size_t>(id)].hook, &ia[static_cast<std::size_t>(id)].hook);
        node* pb = access::publish(qb, &ib[static_cast<std::size_t>(id)].hook, &ib[static_cast<std::size_t>(id)].hook);
        held.push_back({pa, pb, id});
      } else if (op == 5 && !held.empty()) {  // finish one (any of them)
        const std::size_t k = rnd(static_cast<unsigned>(held.size()));
        access::link(held[k].prev_a, &ia[static_cast<std::size_t>(held[k].id)].hook);
        access::link(held[k].prev_b, &ib[static_cast<std::size_t>(held[k].id)].hook);
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
      } else {  // consume: one batch against the same number of pops
        const int max = static_cast<int>(rnd(6));  // 0..5
        std::vector<int> by_batch;
        std::vector<bool> emptied_in_f;
        const int n = cb.pop_batch(max, [&](node* x) {
          by_batch.push_back(owner(x)->value);
          emptied_in_f.push_back(cb.emptied());
        });
        ASSERT_EQ(n, static_cast<int>(by_batch.size()));
        std::vector<int> by_pop;
        for (int i = 0; i < max; ++i) {
          node* x = ca.pop();
          if (x == nullptr) break;
          const std::size_t k = by_pop.size();
          by_pop.push_back(owner(x)->value);
          if (k < emptied_in_f.size()) {
            EXPECT_EQ(ca.emptied(), emptied_in_f[k]) << "seed " << seed << " step " << step;
          }
          if (ca.emptied()) break;
        }
        ASSERT_EQ(by_batch, by_pop) << "seed " << seed << " step " << step << " max " << max;
        EXPECT_EQ(cb.emptied(), ca.emptied()) << "seed " << seed << " step " << step;
        for (int id : by_batch) free_ids.push_back(id);
        handed += n;
      }
    }
    for (auto& h : held) {
      access::link(h.prev_a, &ia[static_cast<std::size_t>(h.id)].hook);
      access::link(h.prev_b, &ib[static_cast<std::size_t>(h.id)].hook);
    }
    std::vector<int> rest_a, rest_b;
    while (node* x = ca.pop()) rest_a.push_back(owner(x)->value);
    while (true) {
      const std::vector<int> got = batch(cb, 7);
      if (got.empty()) break;
      rest_b.insert(rest_b.end(), got.begin(), got.end());
    }
    EXPECT_EQ(rest_a, rest_b);
    EXPECT_TRUE(ca.emptied());
    EXPECT_TRUE(cb.emptied());
    EXPECT_GT(handed, 50);
  }
}

TEST(QueueBatch, CallbackPushesTheNodeAgain) {
  queue q;
  item a{0, {}}, b{1, {}}, d{2, {}};
  consumer c(q);
  q.push(&a.hook);
  q.push(&b.hook);
  q.push(&d.hook);
  // Every node handed out goes straight back in, behind the others: the
  // batch keeps walking into the re-pushed nodes, in order.
  std::vector<int> got;
  EXPECT_EQ(c.pop_batch(5, [&](node* n) {
              got.push_back(owner(n)->value);
              EXPECT_FALSE(q.push(n));
            }),
            5);
  EXPECT_EQ(got, (values{0, 1, 2, 0, 1}));
  EXPECT_FALSE(c.emptied());
  EXPECT_EQ(batch(c, 8), (values{2, 0, 1}));
  EXPECT_TRUE(c.emptied());

  // A single node going round: each batch hands it out through the stub
  // compare-exchange, and the push in the callback finds the queue empty.
  EXPECT_TRUE(q.push(&a.hook));
  for (int i = 0; i < 5; ++i) {
    bool was_empty = false;
    EXPECT_EQ(c.pop_batch(8, [&](node* n) { was_empty = q.push(n); }), 1);
    EXPECT_TRUE(was_empty);
    EXPECT_TRUE(c.emptied());
  }
  EXPECT_EQ(batch(c, 8), (values{0}));
  EXPECT_EQ(batch(c, 8), values{});
}

TEST(QueueBatch, CallbackFreesTheNode) {
  // ASan builds check that the batch never touches a node after handing it out.
  queue q;
  consumer c(q);
  int next_value = 0, expected = 0;
  for (int round = 0; round < 30; ++round) {
    const int n = round % 5 + 1;
    for (int i = 0; i < n; ++i) q.push(&(new item{next_value++, {}})->hook);
    int total = 0;
    while (const int got = c.pop_batch(round % 3 + 1, [&](node* x) {
             EXPECT_EQ(owner(x)->value, expected++);
             delete owner(x);
           }))
      total += got;
    EXPECT_EQ(total, n);
    EXPECT_TRUE(c.emptied());
  }
}

TEST(QueueBatch, CallbackPopsReentrantly) {
  queue q;
  std::vector<item> items(6);
  consumer c(q);
  for (int i = 0; i < 6; ++i) {
    items[static_cast<std::size_t>(i)].value = i;
    q.push(&items[static_cast<std::size_t>(i)].hook);
  }
  // f takes the node after 1 with pop(): the outer batch goes on after it.
  std::vector<int> outer, inner;
  const int n = c.pop_batch(10, [&](node* x) {
    outer.push_back(owner(x)->value);
    if (owner(x)->value == 1) {
      node* y = c.pop();
      ASSERT_NE(y, nullptr);
      inner.push_back(owner(y)->value);
    }
  });
  EXPECT_EQ(n, 5);
  EXPECT_EQ(outer, (values{0, 1, 3, 4, 5}));
  EXPECT_EQ(inner, (values{2}));
  EXPECT_TRUE(c.emptied());

  // f drains the rest with a nested pop_batch, which empties the queue: the
  // outer batch stops there and emptied() stays true.
  for (int i = 0; i < 6; ++i) q.push(&items[static_cast<std::size_t>(i)].hook);
  outer.clear();
  inner.clear();
  const int m = c.pop_batch(10, [&](node* x) {
    outer.push_back(owner(x)->value);
    if (owner(x)->value == 1) {
      EXPECT_EQ(c.pop_batch(10, [&](node* y) { inner.push_back(owner(y)->value); }), 4);
      EXPECT_TRUE(c.emptied());
    }
  });
  EXPECT_EQ(m, 2);
  EXPECT_EQ(outer, (values{0, 1}));
  EXPECT_EQ(inner, (values{2, 3, 4, 5}));
  EXPECT_TRUE(c.emptied());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(batch(c, 4), values{});
}

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
TEST(QueueBatch, ThrowingCallbackLeavesTheRestQueued) {
  queue q;
  std::vector<item> items(6);
  consumer c(q);
  for (int i = 0; i < 6; ++i) {
    items[static_cast<std::size_t>(i)].value = i;
    q.push(&items[static_cast<std::size_t>(i)].hook);
  }
  std::vector<int> got;
  EXPECT_THROW(c.pop_batch(10,
                           [&](node* x) {
                             got.push_back(owner(x)->value);
                             if (owner(x)->value == 2) throw std::runtime_error("item 2");
                           }),
               std::runtime_error);
  EXPECT_EQ(got, (values{0, 1, 2}));  // 2 counts as handed out
  EXPECT_FALSE(c.emptied());
  // 2 is out of the queue: it may be pushed again at once.
  EXPECT_FALSE(q.push(&items[2].hook));
  EXPECT_EQ(batch(c, 10), (values{3, 4, 5, 2}));
  EXPECT_TRUE(c.emptied());

  // A throw from the emptying hand-out: the stub is back, emptied() is true.
  q.push(&items[0].hook);
  EXPECT_THROW(c.pop_batch(10, [](node*) { throw 7; }), int);
  EXPECT_TRUE(c.emptied());
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.push(&items[0].hook));
  EXPECT_EQ(batch(c, 10), (values{0}));
}
#endif

TEST(QueueBatch, IntrusiveQueuePassesItems) {
  item_queue q;
  item items[4];
  for (int i = 0; i < 4; ++i) {
    items[i].value = 10 + i;
    q.push(&items[i]);
  }
  item_queue::consumer c(q);
  std::vector<item*> got;
  EXPECT_EQ(c.pop_batch(3, [&](item* it) { got.push_back(it); }), 3);
  EXPECT_EQ(got, (std::vector<item*>{&items[0], &items[1], &items[2]}));
  EXPECT_FALSE(c.emptied());
  EXPECT_EQ(c.pop_batch(3, [&](item* it) noexcept { got.push_back(it); }), 1);
  EXPECT_EQ(got.back(), &items[3]);
  EXPECT_TRUE(c.emptied());
  static_assert(noexcept(c.pop_batch(1, [](item*) noexcept {})));
  static_assert(!noexcept(c.pop_batch(1, [](item*) {})));
}

TEST(QueueBatch, ConcurrentProducersKeepPerProducerOrder) {
  queue q;
  // Yield every 32 pushes: let the consumer empty the queue now and then.
  mpscq_test::queue_producers producers(q, 4, 20000, 32);
  consumer c(q);
  int emptied_batches = 0, emptied_in_f = 0, bad_counts = 0, batches = 0, zero_returns = 0;
  unsigned lcg = 7;
  producers.start();
  while (producers.received() < producers.total()) {
    lcg = lcg * 1103515245u + 12345u;
    const int max = 1 + static_cast<int>((lcg >> 8) % 64);
    int in_this_batch = 0;
    const int n = c.pop_batch(max, [&](node* x) {
      producers.check(x);
      ++in_this_batch;
      emptied_in_f += c.emptied() ? 1 : 0;
    });
    if (n != in_this_batch || n > max) ++bad_counts;
    if (n == 0) {
      ++zero_returns;
      std::this_thread::yield();  // empty, or a producer inside its window
      continue;
    }
    ++batches;
    emptied_batches += c.emptied() ? 1 : 0;
  }
  producers.join();
  EXPECT_EQ(producers.out_of_order(), 0);
  EXPECT_EQ(bad_counts, 0);
  EXPECT_TRUE(producers.all_complete());
  EXPECT_EQ(batch(c, 8), values{});
  EXPECT_TRUE(q.empty());
  // Pushes that found the queue empty == hand-outs that emptied it == batches
  // that ended emptied (only a batch's last node can empty the queue).
  EXPECT_EQ(producers.was_empty(), emptied_in_f);
  EXPECT_EQ(producers.was_empty(), emptied_batches);
  std::printf("queue_batch stress: %d items in %d batches (%d returned 0), %d empty -> non-empty cycles\n",
              producers.received(), batches, zero_returns, producers.was_empty());
}

}  // namespace
