// Unit tests for mpscq::consumer::poll (pop_batch, paced: queue.hpp and
// detail/pacer.hpp) and for the hand-out's clear of `next`, which runs in
// every build since issue 19.
//
// poll must hand out exactly what pop_batch / pop would (a differential test
// over random pushes, in-flight windows and batch sizes); the pacer's rule is
// checked on a clock the test drives, so nothing here depends on timing.
#include <mpscq/queue.hpp>

#include <gtest/gtest.h>

#include "queue_producers.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
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

struct nothrow_f {
  void operator()(node*) const noexcept {}
};
struct throwing_f {
  void operator()(node*) const {}
};
static_assert(noexcept(std::declval<consumer&>().poll(1, nothrow_f{})));
static_assert(!noexcept(std::declval<consumer&>().poll(1, throwing_f{})));

// --- the clear: a handed-out node's next is nullptr, in every build --------

TEST(QueueClear, PopClearsTheHandedOutNodesLink) {
  queue q;
  item a, b;
  q.push(&a.hook);
  q.push(&b.hook);
  consumer c(q);
  ASSERT_EQ(c.pop(), &a.hook);  // linked to b until now
  EXPECT_EQ(a.hook.next.load(std::memory_order_relaxed), nullptr);
  ASSERT_EQ(c.pop(), &b.hook);
}

TEST(QueueClear, PopBatchAndPollClearBeforeTheCallback) {
  for (int use_poll = 0; use_poll < 2; ++use_poll) {
    queue q;
    item it[4];
    for (auto& x : it) q.push(&x.hook);
    consumer c(q);
    int seen = 0;
    auto f = [&](node* n) {
      // Inside f the node is already the caller's: its link is cleared.
      EXPECT_EQ(n->next.load(std::memory_order_relaxed), nullptr) << "node " << seen << " poll " << use_poll;
      ++seen;
    };
    const int n = use_poll ? c.poll(8, f) : c.pop_batch(8, f);
    EXPECT_EQ(n, 4);
    EXPECT_EQ(seen, 4);
  }
}

// --- poll hands out what pop would ------------------------------------------

// Two queues get the same pushes and in-flight windows; one is drained with
// pop(), the other with poll(max) for random max. Each poll must hand out
// exactly what the same number of pop() calls hand out, stop where pop()
// would, and leave emptied() as those pops leave it. (The pacer may pause a
// call here - the test thread is its own producer, so each pause finds the
// tail unmoved and pausing switches itself off - but never changes what is
// handed out.)
TEST(QueuePoll, MatchesPopCallForCall) {
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
      } else {  // consume: one poll against the same number of pops
        const int max = static_cast<int>(rnd(6));  // 0..5
        std::vector<int> by_poll;
        std::vector<bool> emptied_in_f;
        const int n = cb.poll(max, [&](node* x) {
          by_poll.push_back(owner(x)->value);
          emptied_in_f.push_back(cb.emptied());
        });
        ASSERT_EQ(n, static_cast<int>(by_poll.size()));
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
        ASSERT_EQ(by_poll, by_pop) << "seed " << seed << " step " << step << " max " << max;
        EXPECT_EQ(cb.emptied(), ca.emptied()) << "seed " << seed << " step " << step;
        for (int id : by_poll) free_ids.push_back(id);
        handed += n;
      }
    }
    for (auto& h : held) {
      access::link(h.prev_a, &ia[static_cast<std::size_t>(h.id)].hook);
      access::link(h.prev_b, &ib[static_cast<std::size_t>(h.id)].hook);
    }
    std::vector<int> rest_a, rest_b;
    while (node* x = ca.pop()) rest_a.push_back(owner(x)->value);
    while (cb.poll(7, [&](node* x) { rest_b.push_back(owner(x)->value); }) > 0) {
    }
    EXPECT_EQ(rest_a, rest_b);
    EXPECT_TRUE(ca.emptied());
    EXPECT_TRUE(cb.emptied());
    EXPECT_GT(handed, 50);
  }
}

TEST(QueuePoll, ThrowingCallbackLeavesTheRestQueued) {
  queue q;
  item it[5];
  for (int i = 0; i < 5; ++i) {
    it[i].value = i;
    q.push(&it[i].hook);
  }
  consumer c(q);
  std::vector<int> got;
  EXPECT_THROW(c.poll(8,
                      [&](node* x) {
                        got.push_back(owner(x)->value);
                        if (got.size() == 2) throw std::runtime_error("item failed");
                      }),
               std::runtime_error);
  EXPECT_EQ(got, (std::vector<int>{0, 1}));
  while (c.poll(8, [&](node* x) { got.push_back(owner(x)->value); }) > 0) {
  }
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(c.emptied());
}

TEST(QueuePoll, IntrusiveQueuePassesItems) {
  item_queue q;
  item it[3];
  for (int i = 0; i < 3; ++i) {
    it[i].value = 10 + i;
    q.push(&it[i]);
  }
  item_queue::consumer c(q);
  std::vector<int> got;
  EXPECT_EQ(c.poll(8, [&](item* x) { got.push_back(x->value); }), 3);
  EXPECT_EQ(got, (std::vector<int>{10, 11, 12}));
  EXPECT_EQ(c.poll(0, [&](item*) { ADD_FAILURE(); }), 0);
}

// max <= 0 touches nothing: not the queue, and not an armed pause (which
// the next real call still waits out and judges).
TEST(QueuePoll, MaxZeroOrNegativeTouchesNothing) {
  queue q;
  item it[2];
  q.push(&it[0].hook);
  consumer c(q);
  int calls = 0;
  EXPECT_EQ(c.poll(0, [&](node*) { ++calls; }), 0);
  EXPECT_EQ(c.poll(-1, [&](node*) { ++calls; }), 0);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(c.emptied());  // never stepped off the stub
  EXPECT_EQ(c.poll(4, [&](node*) { ++calls; }), 1);
  EXPECT_EQ(calls, 1);
}

// Real producers, a polling consumer: per-producer order, nothing lost, and
// the empty -> non-empty rule (pushes that found the queue empty == polls
// that ended emptied) - pauses included.
TEST(QueuePoll, ConcurrentProducersKeepPerProducerOrder) {
  queue q;
  mpscq_test::queue_producers producers(q, 4, 20000, 32);
  consumer c(q);
  int emptied_calls = 0, bad_counts = 0, calls = 0;
  producers.start();
  while (producers.received() < producers.total()) {
    int in_this_call = 0;
    const int n = c.poll(64, [&](node* x) {
      producers.check(x);
      ++in_this_call;
    });
    if (n != in_this_call || n > 64) ++bad_counts;
    if (n == 0) {
      std::this_thread::yield();  // empty, or a producer inside its window
      continue;
    }
    ++calls;
    emptied_calls += c.emptied() ? 1 : 0;
  }
  producers.join();
  EXPECT_EQ(producers.out_of_order(), 0);
  EXPECT_EQ(bad_counts, 0);
  EXPECT_TRUE(producers.all_complete());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(producers.was_empty(), emptied_calls);
  std::printf("queue_poll stress: %d items in %d calls, %d empty -> non-empty cycles\n", producers.received(), calls,
              producers.was_empty());
}

// --- the pacer's rule, on a clock the test drives ---------------------------

struct test_clock {
  static inline std::uint64_t t = 1'000'000;
  static inline std::uint64_t step = 0;  // added on every read (a spin must end)
  static std::uint64_t now() noexcept { return t += step; }
};
using test_pacer = mpscq::detail::basic_pacer<test_clock>;
constexpr std::uint64_t max_pace = test_pacer::max_pace_ns;
constexpr std::uint64_t step_ns = test_pacer::pace_step_ns;

struct PacerRule : ::testing::Test {
  void SetUp() override {
    test_clock::t = 1'000'000;
    test_clock::step = 0;
  }
  // A frontier call that handed out `n` items, `gap` ns after the previous one.
  static void frontier(test_pacer& p, int n, std::uint64_t gap) {
    test_clock::t += gap;
    p.after(n, true);
  }
};

TEST_F(PacerRule, EmptyPollsAndFullCallsNeverArm) {
  test_pacer p;
  frontier(p, 100, 0);  // the first frontier call only starts the measurement
  for (int i = 0; i < 100; ++i) {
    p.after(0, true);   // empty poll
    p.after(64, false); // stopped at max: more is queued
  }
  EXPECT_FALSE(p.armed());
  EXPECT_EQ(p.pace_ns(), 0u);
}

TEST_F(PacerRule, HeavyTrafficEngagesLightTrafficNever) {
  test_pacer p;
  frontier(p, 10, 0);
  frontier(p, 10, 10 * test_pacer::heavy_traffic_ns + 1);  // just lighter than the threshold
  EXPECT_FALSE(p.armed());
  frontier(p, 10, 10 * test_pacer::heavy_traffic_ns);  // exactly heavy
  EXPECT_TRUE(p.armed());
  EXPECT_EQ(p.pace_ns(), step_ns);
}

TEST_F(PacerRule, PausesThatBuildBatchesGrowToTheCapAndStay) {
  test_pacer p;
  frontier(p, 64, 0);
  frontier(p, 64, 100);
  ASSERT_TRUE(p.armed());
  int tail = 0;
  test_clock::step = 50;
  for (int i = 0; i < 20; ++i) {
    p.wait_turn([&] { return tail++; });  // the tail moves: producers pushed
    EXPECT_FALSE(p.armed());
    frontier(p, 64, 100);
    EXPECT_TRUE(p.armed());
  }
  EXPECT_EQ(p.pace_ns(), max_pace);
}

TEST_F(PacerRule, TheSpinEndsAtTheDeadlineOrTheCallersLimit) {
  test_pacer p;
  frontier(p, 64, 0);
  frontier(p, 64, 100);
  ASSERT_EQ(p.pace_ns(), step_ns);
  test_clock::step = 10;
  const std::uint64_t start = test_clock::t;
  int tail = 0;
  p.wait_turn([&] { return tail++; });
  EXPECT_GE(test_clock::t - start, step_ns - 10);  // waited out the pause ...
  EXPECT_LE(test_clock::t - start, step_ns + 40);  // ... and not much longer
  frontier(p, 64, 100);
  ASSERT_TRUE(p.armed());
  const std::uint64_t start2 = test_clock::t;
  p.wait_turn([&] { return tail++; }, start2 + 100);  // the caller's deadline comes first
  EXPECT_LE(test_clock::t - start2, 140u);
}

TEST_F(PacerRule, WorkDoneSinceCoversThePauseWithoutJudgingIt) {
  test_pacer p;
  frontier(p, 64, 0);
  frontier(p, 64, 100);
  ASSERT_TRUE(p.armed());
  test_clock::t += max_pace;  // the caller did other work for longer than the pause
  bool tail_read = false;
  p.wait_turn([&] {
    tail_read = true;
    return 0;
  });
  EXPECT_FALSE(tail_read);
  EXPECT_EQ(p.pace_ns(), step_ns);  // neither grown nor dropped
}

// A thread that posts to itself and polls: every pause finds the tail
// unmoved. Pausing must switch itself off, probing again after 2, 4, ...,
// 1024 catch-ups: over 100 000 catch-ups at most ~10 + 100000/1024 pauses.
TEST_F(PacerRule, APauseThatGainsNothingBacksOffExponentially) {
  test_pacer p;
  test_clock::step = 20;
  int pauses = 0;
  frontier(p, 1, 0);
  for (int i = 0; i < 100000; ++i) {
    if (p.armed()) {
      ++pauses;
      p.wait_turn([] { return 7; });  // nothing arrived
      EXPECT_EQ(p.pace_ns(), 0u);
    }
    frontier(p, 1, 50);  // heavy by rate: one item per 50 ns
  }
  EXPECT_GE(pauses, 10);
  EXPECT_LE(pauses, 10 + 100000 / 1024 + 1);
  // A pause that pays resets the back-off: the next engagement is at once.
  while (!p.armed()) frontier(p, 1, 50);
  int tail = 0;
  p.wait_turn([&] { return tail++; });
  EXPECT_EQ(p.pace_ns(), step_ns);  // judged at the frontier call that ends the interval
  frontier(p, 64, 100);
  EXPECT_EQ(p.pace_ns(), 3 * step_ns);
  EXPECT_TRUE(p.armed());
}

// A closed loop: 8 clients, each re-adds only after its item ran. Producers
// do push during a pause (the tail moves), but the interval brings 8 items,
// below heavy traffic once the pause is counted: the pause must drop before
// it nears the cap, and stay rare.
TEST_F(PacerRule, AClosedLoopDropsThePause) {
  test_pacer p;
  test_clock::step = 20;
  int tail = 0, pauses = 0;
  frontier(p, 8, 0);
  for (int i = 0; i < 20000; ++i) {
    if (p.armed()) {
      ++pauses;
      p.wait_turn([&] { return tail++; });
    }
    frontier(p, 8, 800);  // 8 items, 100 ns each: heavy without a pause
    // The pause grows only while the interval stays heavy: 8 items cover
    // at most 8 * heavy_traffic_ns of pause, so it never nears the cap.
    EXPECT_LE(p.pace_ns(), 2 * 8 * test_pacer::heavy_traffic_ns);
  }
  // Each probe pauses a few times (1, 3, 7 us) before it drops; probes come
  // after 2, 4, ..., then every 1024 frontier calls.
  EXPECT_LE(pauses, 3 * (10 + 20000 / 1024 + 1));
}

}  // namespace
