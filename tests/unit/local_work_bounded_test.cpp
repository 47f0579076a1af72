// local_work's bounded admission (local_work_options::limit, mpscq/bounded.hpp,
// detail/admission.hpp): every policy and every way out of a waiting add.
//   - try_add(): added while there is room, full at once when not; closed
//     after close(). Every refusal leaves the item untouched (func not
//     called, link untouched) and is counted in stats().refused.
//   - try_add_for()/try_add_until(): added when room comes (the owner's pass
//     makes it and wakes the producer), timed_out, stopped (std::stop_token),
//     closed by close() and by the destructor (both wake a producer that
//     sleeps for room), and full at once for the owner itself (only its runs
//     make room: it would wait for itself).
//   - add() and add_batch() on a bounded object are never refused: they
//     count, and may take the depth past the limit.
//   - without a limit: try_add* always add; after close() they return closed.
//   - many producers against a small limit: the depth never passes the limit
//     while only try_adds come in; every accepted item runs exactly once.
// No timed assertions: the waits below are hang guards only.
#include <mpscq/baseline/llist_local_work.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/work_chain.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../support/test_wait.hpp"

namespace {

using namespace std::chrono_literals;
using mpscq::add_status;

struct item {
  mpscq::work w{{}, &item::run};
  std::atomic<int> ran{0};
  std::atomic<int> cancelled{0};
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = mpscq::container_of<&item::w>(w);
    (st.cancel ? self.cancelled : self.ran).fetch_add(1, std::memory_order_relaxed);
  }
  int runs() const { return ran.load() + cancelled.load(); }
};

mpscq::local_work_options limited(std::uint32_t n) {
  mpscq::local_work_options o;
  o.limit = n;
  return o;
}

// Joins `t` once `done` is set; a hang (a producer that never wakes) becomes
// a failure after 20 s instead of the suite's timeout.
void join_or_die(std::thread& t, const std::atomic<int>& done, int want, const char* what) {
  if (!mpscq_test::wait_for([&] { return done.load() == want; })) {
    ADD_FAILURE() << "hang: " << what;
    std::abort();
  }
  t.join();
}

// A refused item: func not called, link untouched.
void expect_untouched(const item& it) {
  EXPECT_EQ(it.runs(), 0);
  EXPECT_EQ(it.w.hook.next.load(std::memory_order_relaxed), nullptr);
}

TEST(LocalWorkBounded, UnboundedTryAddAlwaysAddsAndIsClosedAfterClose) {
  mpscq::local_work lw;
  std::vector<item> items(100);
  for (auto& it : items) EXPECT_EQ(lw.try_add(it.w), add_status::added);
  EXPECT_EQ(lw.stats().limit, 0u);
  EXPECT_EQ(lw.run(1000), 100);
  item late;
  lw.close();
  EXPECT_EQ(lw.try_add(late.w), add_status::closed);
  EXPECT_EQ(lw.try_add_for(late.w, 1s), add_status::closed);
  expect_untouched(late);
  EXPECT_EQ(lw.stats().refused, 2u);
}

TEST(LocalWorkBounded, TryAddRefusesWhenFullAndTheOwnersPassMakesRoom) {
  mpscq::local_work lw(limited(2));
  item a, b, c;
  EXPECT_EQ(lw.try_add(a.w), add_status::added);
  EXPECT_EQ(lw.try_add(b.w), add_status::added);
  EXPECT_EQ(lw.stats().depth, 2u);
  EXPECT_EQ(lw.try_add(c.w), add_status::full);
  expect_untouched(c);
  EXPECT_EQ(lw.stats().refused, 1u);
  EXPECT_EQ(lw.run(1), 1);  // the pass gives a's room back
  EXPECT_EQ(lw.stats().depth, 1u);
  EXPECT_EQ(lw.try_add(c.w), add_status::added);
  EXPECT_EQ(lw.run(10), 2);
  EXPECT_EQ(a.ran + b.ran + c.ran, 3);
  EXPECT_EQ(lw.stats().depth, 0u);
  EXPECT_EQ(lw.stats().limit, 2u);
}

TEST(LocalWorkBounded, ZeroAndPastDeadlinesDoNotWait) {
  mpscq::local_work lw(limited(1));
  item a, b;
  ASSERT_EQ(lw.try_add(a.w), add_status::added);
  EXPECT_EQ(lw.try_add_for(b.w, 0ns), add_status::timed_out);
  EXPECT_EQ(lw.try_add_for(b.w, -5s), add_status::timed_out);
  EXPECT_EQ(lw.try_add_until(b.w, std::chrono::steady_clock::now() - 1s), add_status::timed_out);
  EXPECT_EQ(lw.try_add_for(b.w, 2ms), add_status::timed_out);
  expect_untouched(b);
  EXPECT_EQ(lw.stats().refused, 4u);
  // With room, a past deadline does not matter: room is taken first.
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_EQ(lw.try_add_for(b.w, 0ns), add_status::added);
  EXPECT_EQ(lw.run(1), 1);
}

TEST(LocalWorkBounded, AWaitingProducerIsWokenByThePassThatMakesRoom) {
  for (int round = 0; round < 50; ++round) {
    mpscq::local_work lw(limited(1));
    item a, b;
    ASSERT_EQ(lw.try_add(a.w), add_status::added);
    std::atomic<int> got{-1};
    std::atomic<int> done{0};
    std::thread producer([&] {
      got = static_cast<int>(lw.try_add_for(b.w, std::chrono::nanoseconds::max()));
      done = 1;
    });
    if (round % 2 == 0) std::this_thread::sleep_for(1ms);  // most likely asleep by now
    int ran = 0;
    // The owner's wait runs a, which makes room; the producer's b arrives.
    ASSERT_TRUE(mpscq_test::wait_for([&] {
      ran += lw.wait(1, 10ms);
      return ran == 2;
    })) << "round " << round;
    join_or_die(producer, done, 1, "the producer waiting for room was not woken");
    EXPECT_EQ(got.load(), static_cast<int>(add_status::added));
    EXPECT_EQ(a.ran + b.ran, 2);
  }
}

TEST(LocalWorkBounded, CloseWakesWaitingProducersWhoKeepTheirItems) {
  for (int round = 0; round < 20; ++round) {
    mpscq::local_work lw(limited(1));
    item a;
    std::vector<item> waiting(3);
    ASSERT_EQ(lw.try_add(a.w), add_status::added);
    std::vector<std::thread> producers;
    std::atomic<int> closed{0};
    std::atomic<int> done{0};
    for (auto& it : waiting)
      producers.emplace_back([&lw, &it, &closed, &done] {
        if (lw.try_add_for(it.w, std::chrono::nanoseconds::max()) == add_status::closed) ++closed;
        ++done;
      });
    if (round % 2 == 0) std::this_thread::sleep_for(1ms);
    lw.close();  // runs a cancelled, wakes the three
    for (auto& t : producers) join_or_die(t, done, 3, "close() did not wake the producers waiting for room");
    EXPECT_EQ(closed.load(), 3);
    EXPECT_EQ(a.cancelled.load(), 1);
    for (const auto& it : waiting) expect_untouched(it);
    EXPECT_EQ(lw.stats().depth, 0u);
  }
}

TEST(LocalWorkBounded, DestructionWakesAWaitingProducer) {
  for (int round = 0; round < 20; ++round) {
    auto lw = std::make_unique<mpscq::local_work>(limited(1));
    item a, b;
    ASSERT_EQ(lw->try_add(a.w), add_status::added);
    std::atomic<int> got{-1};
    std::atomic<bool> calling{false};
    mpscq::local_work* raw = lw.get();
    std::atomic<int> done{0};
    std::thread producer([&] {
      calling = true;
      got = static_cast<int>(raw->try_add_for(b.w, std::chrono::nanoseconds::max()));
      done = 1;
    });
    // The call must have begun before the destructor (a later one is a use
    // after free); it then waits for room, or is refused closed.
    ASSERT_TRUE(mpscq_test::wait_for([&] { return calling.load(); }));
    std::this_thread::sleep_for(1ms);
    lw.reset();  // close: a runs cancelled, b's producer returns closed
    join_or_die(producer, done, 1, "the destructor did not wake the producer waiting for room");
    EXPECT_EQ(got.load(), static_cast<int>(add_status::closed));
    EXPECT_EQ(a.cancelled.load(), 1);
    expect_untouched(b);
  }
}

#if MPSCQ_HAS_STOP_TOKEN
TEST(LocalWorkBounded, AStopRequestEndsAWaitForRoom) {
  for (int round = 0; round < 50; ++round) {
    mpscq::local_work lw(limited(1));
    item a, b;
    ASSERT_EQ(lw.try_add(a.w), add_status::added);
    std::stop_source stop;
    std::atomic<int> got{-1};
    std::atomic<int> done{0};
    std::thread producer([&] {
      got = static_cast<int>(lw.try_add_for(b.w, std::chrono::nanoseconds::max(), stop.get_token()));
      done = 1;
    });
    if (round % 2 == 0) std::this_thread::sleep_for(1ms);
    stop.request_stop();
    join_or_die(producer, done, 1, "a stop request did not wake the producer waiting for room");
    EXPECT_EQ(got.load(), static_cast<int>(add_status::stopped));
    expect_untouched(b);
    EXPECT_EQ(lw.run(10), 1);
  }
}

TEST(LocalWorkBounded, AStoppedTokenRefusesOnlyWithoutRoom) {
  mpscq::local_work lw(limited(1));
  item a, b;
  std::stop_source stop;
  stop.request_stop();
  EXPECT_EQ(lw.try_add_for(a.w, 1s, stop.get_token()), add_status::added);  // room: added
  EXPECT_EQ(lw.try_add_until(b.w, std::chrono::steady_clock::time_point::max(), stop.get_token()),
            add_status::stopped);
  expect_untouched(b);
  // A token with no stop state costs nothing and never stops.
  EXPECT_EQ(lw.try_add_for(b.w, 1ms, std::stop_token{}), add_status::timed_out);
  EXPECT_EQ(lw.run(10), 1);
}
#endif

TEST(LocalWorkBounded, TheOwnerDoesNotWaitForItself) {
  mpscq::local_work lw(limited(1));
  item a, b;
  ASSERT_EQ(lw.try_add(a.w), add_status::added);
  EXPECT_EQ(lw.run(0), 0);  // makes this thread the owner
  // Outside a pass: only this thread's runs make room.
  EXPECT_EQ(lw.try_add_for(b.w, std::chrono::nanoseconds::max()), add_status::full);
  expect_untouched(b);
  // From inside one of its own items: the same.
  struct self_adder {
    mpscq::work w{{}, &self_adder::run};
    mpscq::local_work* lw = nullptr;
    mpscq::work* other = nullptr;
    add_status got = add_status::added;
    static void run(mpscq::work& w, mpscq::run_state st) noexcept {
      auto& self = mpscq::container_of<&self_adder::w>(w);
      if (!st.cancel) self.got = self.lw->try_add_for(*self.other, std::chrono::nanoseconds::max());
    }
  } s;
  s.lw = &lw;
  s.other = &b.w;
  EXPECT_EQ(lw.run(1), 1);  // a ran, room for s
  lw.add(s.w);
  item filler;
  lw.add(filler.w);  // depth 2 > limit 1: no room while s runs
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_EQ(s.got, add_status::full);
  expect_untouched(b);
  EXPECT_EQ(lw.run(10), 1);
}

TEST(LocalWorkBounded, PlainAddsAreChargedNeverRefused) {
  mpscq::local_work lw(limited(2));
  std::vector<item> items(5);
  for (auto& it : items) lw.add(it.w, mpscq::wake::lazy);
  EXPECT_EQ(lw.stats().depth, 5u);
  item t;
  EXPECT_EQ(lw.try_add(t.w), add_status::full);
  mpscq::work_chain chain;
  item c1, c2;
  chain.append(c1.w);
  chain.append(c2.w);
  lw.add_batch(chain);
  EXPECT_EQ(lw.stats().depth, 7u);
  EXPECT_EQ(lw.run(6), 6);
  EXPECT_EQ(lw.stats().depth, 1u);
  EXPECT_EQ(lw.try_add(t.w), add_status::added);
  item u;
  EXPECT_EQ(lw.try_add(u.w), add_status::full);
  EXPECT_EQ(lw.run(10), 2);
  EXPECT_EQ(lw.stats().depth, 0u);
}

TEST(LocalWorkBounded, ManyProducersNeverPassTheLimit) {
  constexpr std::uint32_t limit = 4;
  constexpr int producers = 4;
  constexpr int per_producer = 3000;
  mpscq::local_work lw(limited(limit));
  struct checked {
    mpscq::work w{{}, &checked::run};
    mpscq::local_work* lw = nullptr;
    std::atomic<int>* over = nullptr;
    std::atomic<int>* ran = nullptr;
    static void run(mpscq::work& w, mpscq::run_state st) noexcept {
      auto& self = mpscq::container_of<&checked::w>(w);
      // Room comes back at the end of the pass: while an item runs, it is
      // still counted, so the depth seen here never passes the limit.
      if (self.lw->stats().depth > limit) self.over->fetch_add(1);
      if (!st.cancel) self.ran->fetch_add(1);
    }
  };
  std::atomic<int> over{0}, ran{0}, accepted{0}, refused{0};
  std::vector<std::unique_ptr<checked[]>> items;
  for (int p = 0; p < producers; ++p) items.push_back(std::make_unique<checked[]>(per_producer));
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        checked& c = items[p][i];
        c.lw = &lw;
        c.over = &over;
        c.ran = &ran;
        // Half wait for room, half give up when full (a logger's two modes).
        const add_status s = (i % 2 == 0) ? lw.try_add_for(c.w, std::chrono::nanoseconds::max(), mpscq::wake::lazy)
                                          : lw.try_add(c.w, mpscq::wake::eager);
        (s == add_status::added ? accepted : refused).fetch_add(1);
      }
    });
  const int expected_waiting = producers * per_producer / 2;
  // The owner's loop (hang guard: 60 s).
  const auto guard = std::chrono::steady_clock::now() + 60s;
  while (!(accepted.load() + refused.load() == producers * per_producer && ran.load() == accepted.load())) {
    lw.wait(1, 1ms);
    ASSERT_LT(std::chrono::steady_clock::now(), guard) << "hang: accepted " << accepted << " ran " << ran;
  }
  for (auto& t : threads) t.join();
  lw.run(1000);
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(ran.load(), accepted.load());
  EXPECT_GE(accepted.load(), expected_waiting);  // every waiting add got in
  EXPECT_EQ(static_cast<int>(lw.stats().refused), refused.load());
  EXPECT_EQ(lw.stats().depth, 0u);
}

// An item that nests a wait() (a nested event loop, a synchronous call from
// an item) must receive bounded adds: the enclosing pass's room - the
// running item's and what that pass already ran - comes back when the item
// nests a pass, not when the enclosing pass ends (before: limit 1, the nested
// wait and the producer waiting for room waited for each other for ever).
TEST(LocalWorkBounded, ANestedWaitReceivesBoundedAdds) {
  for (const std::uint32_t limit : {1u, 3u}) {
    mpscq::local_work lw(limited(limit));
    struct nester {
      mpscq::work w{{}, &nester::run};
      mpscq::local_work* lw = nullptr;
      std::atomic<int>* started = nullptr;
      int got = -1;
      static void run(mpscq::work& w, mpscq::run_state st) noexcept {
        auto& self = mpscq::container_of<&nester::w>(w);
        if (st.cancel) return;
        self.started->store(1);
        // Waits for the producer's item (hang guard: 20 s; no timing check).
        self.got = self.lw->wait(1, 20s);
      }
    } n;
    std::atomic<int> started{0};
    n.lw = &lw;
    n.started = &started;
    std::vector<item> before(limit - 1);  // the pass runs these first: their room too
    for (auto& it : before) ASSERT_EQ(lw.try_add(it.w), add_status::added);
    ASSERT_EQ(lw.try_add(n.w), add_status::added);
    item late;
    std::atomic<int> got{-1};
    std::atomic<int> done{0};
    std::thread producer([&] {
      while (started.load() == 0) std::this_thread::yield();
      got = static_cast<int>(lw.try_add_for(late.w, 20s));
      done = 1;
    });
    EXPECT_EQ(lw.run(static_cast<int>(limit)), static_cast<int>(limit));
    join_or_die(producer, done, 1, "the producer waiting for room");
    EXPECT_EQ(got.load(), static_cast<int>(add_status::added)) << "limit " << limit;
    EXPECT_EQ(n.got, 1) << "limit " << limit;
    EXPECT_EQ(late.ran.load(), 1);
    EXPECT_EQ(lw.stats().depth, 0u);
  }
}

TEST(LocalWorkBounded, TheBaselineRefusesALimit) {
  mpscq::local_work_options o;
  o.limit = 2;
  EXPECT_DEATH(mpscq::baseline::llist_local_work b(o), "mpscq::baseline::llist_local_work: options.limit is not supported");
}

TEST(LocalWorkBounded, AnItemWithoutFuncIsReported) {
  mpscq::local_work lw(limited(1));
  mpscq::work w{};
  EXPECT_DEATH((void)lw.try_add(w), "mpscq::local_work: try_add\\(\\): the work item has no func");
}

}  // namespace
