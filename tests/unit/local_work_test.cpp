// Unit tests of mpscq::local_work and mpscq::baseline::llist_local_work. Behaviour
// both variants share is a typed test; wake counting and ordering details
// that differ are tested per variant.
#include <mpscq/baseline/llist_local_work.hpp>
#include <mpscq/local_work.hpp>

#include <poll.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

// Test access to the queue inside local_work, to hold a push inside its
// in-flight window (between the tail exchange and the link store).
struct mpscq::detail::local_work_access {
  static mpscq::queue& queue_of(mpscq::local_work& lw) { return lw.queue_; }
};

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// One item type for both variants (baseline::llist_work is an mpscq::work too).
struct item : mpscq::baseline::llist_work {
  int id = 0;
  std::vector<int>* log = nullptr;                 // ids, in run order
  std::vector<bool>* cancels = nullptr;            // run_state.cancel, in run order
  std::atomic<std::thread::id>* ran_on = nullptr;  // the thread that ran it
  std::atomic<int>* counter = nullptr;             // bumped on run

  item() { func = &item::run; }
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = static_cast<item&>(w);
    if (self.log != nullptr) self.log->push_back(self.id);
    if (self.cancels != nullptr) self.cancels->push_back(st.cancel);
    if (self.ran_on != nullptr) self.ran_on->store(std::this_thread::get_id());
    if (self.counter != nullptr) self.counter->fetch_add(1);
  }
};

struct items {
  explicit items(int n) : all(static_cast<std::size_t>(n)) {
    for (int i = 0; i < n; ++i) {
      all[static_cast<std::size_t>(i)].id = i;
      all[static_cast<std::size_t>(i)].log = &log;
      all[static_cast<std::size_t>(i)].cancels = &cancels;
      all[static_cast<std::size_t>(i)].counter = &counter;
    }
  }
  item& operator[](int i) { return all[static_cast<std::size_t>(i)]; }
  std::vector<item> all;
  std::vector<int> log;
  std::vector<bool> cancels;
  std::atomic<int> counter{0};
};

std::vector<int> iota(int from, int to) {
  std::vector<int> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  const auto end = clock_type::now() + limit;
  while (!pred()) {
    if (clock_type::now() > end) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

template <class LW>
class LocalWork : public ::testing::Test {};
using variants = ::testing::Types<mpscq::local_work, mpscq::baseline::llist_local_work>;
TYPED_TEST_SUITE(LocalWork, variants);

TYPED_TEST(LocalWork, RunsInFifoOrder) {
  TypeParam lw;
  items it(8);
  for (int i = 0; i < 8; ++i) lw.add(it[i], i % 2 ? mpscq::wake::lazy : mpscq::wake::eager);
  EXPECT_EQ(lw.run(100), 8);
  EXPECT_EQ(it.log, iota(0, 8));
  EXPECT_EQ(lw.run(100), 0);
}

TYPED_TEST(LocalWork, CapIsHonouredAndTheRestStaysQueued) {
  TypeParam lw;
  items it(10);
  for (int i = 0; i < 10; ++i) lw.add(it[i], mpscq::wake::lazy);
  EXPECT_EQ(lw.run(3), 3);
  EXPECT_EQ(it.log, iota(0, 3));
  EXPECT_TRUE(lw.has_work());
  EXPECT_EQ(lw.run(0), 0);
  EXPECT_EQ(lw.run(4), 4);
  EXPECT_EQ(it.log, iota(0, 7));
  EXPECT_EQ(lw.run(100), 3);
  EXPECT_EQ(it.log, iota(0, 10));
  EXPECT_FALSE(lw.has_work());
}

TYPED_TEST(LocalWork, PendingFlagFollowsTheQueue) {
  TypeParam lw;
  items it(2);
  EXPECT_FALSE(lw.has_work());
  lw.add(it[0]);
  EXPECT_TRUE(lw.has_work());
  lw.add(it[1]);
  EXPECT_TRUE(lw.has_work());
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_TRUE(lw.has_work()) << "a capped run must leave the flag set";
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_FALSE(lw.has_work());
  lw.add(it[0]);  // re-add after it ran
  EXPECT_TRUE(lw.has_work());
  EXPECT_EQ(lw.run(5), 1);
  EXPECT_FALSE(lw.has_work());
}

TYPED_TEST(LocalWork, EventFdIsReadableWhenWorkArrivesOnAnEmptyQueue) {
  TypeParam disabled;
  EXPECT_EQ(disabled.event_fd(), -1);

  mpscq::local_work_options options;
  options.enable_eventfd = true;
  TypeParam lw(options);
  const int fd = lw.event_fd();
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(readable(fd));
  items it(3);
  std::thread([&] { lw.add(it[0], mpscq::wake::lazy); }).join();
  EXPECT_TRUE(readable(fd));
  lw.add(it[1], mpscq::wake::lazy);
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_TRUE(readable(fd)) << "work left behind: still readable";
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_FALSE(readable(fd)) << "run() took the work: drained";
  lw.add(it[2], mpscq::wake::eager);
  EXPECT_TRUE(readable(fd));
  EXPECT_EQ(lw.wait(1, 1s), 1);
  EXPECT_FALSE(readable(fd)) << "wait() drains it too";
}

TYPED_TEST(LocalWork, WaitTimesOutWithNothingQueued) {
  TypeParam lw;
  const auto start = clock_type::now();
  EXPECT_EQ(lw.wait(1, 30ms), 0);
  const auto took = clock_type::now() - start;
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(lw.stats().timeouts, 1u);
  EXPECT_GE(lw.stats().sleeps, 1u);
  EXPECT_EQ(lw.wait(1, 0ns), 0) << "a zero timeout never sleeps";
}

TYPED_TEST(LocalWork, WaitRunsWhatIsQueuedWithoutSleeping) {
  TypeParam lw;
  items it(5);
  for (int i = 0; i < 5; ++i) lw.add(it[i], mpscq::wake::lazy);
  EXPECT_EQ(lw.wait(3, 10s), 5);  // a batch runs everything available
  EXPECT_EQ(lw.stats().sleeps, 0u);
  EXPECT_EQ(lw.wait(0, 10s), 0) << "min_events 0: returns at once";
}

TYPED_TEST(LocalWork, MinWaitReturnsOnceOneItemRan) {
  TypeParam lw;
  items it(1);
  std::thread producer([&] {
    std::this_thread::sleep_for(5ms);
    lw.add(it[0], mpscq::wake::lazy);  // 1 of the 10 lazy adds the owner wants
  });
  const auto start = clock_type::now();
  const int ran = lw.wait(10, 20s, 50ms);
  const auto took = clock_type::now() - start;
  producer.join();
  EXPECT_EQ(ran, 1);
  EXPECT_GE(took, 50ms) << "before min_wait only min_events ends the wait";
  EXPECT_LT(took, 10s) << "after min_wait, one item is enough";
  EXPECT_EQ(lw.stats().timeouts, 0u);
}

TYPED_TEST(LocalWork, MinWaitWakesOnTheFirstAddAfterItPassed) {
  TypeParam lw;
  items it(1);
  std::thread producer([&] {
    std::this_thread::sleep_for(100ms);  // after min_wait: any add wakes
    lw.add(it[0], mpscq::wake::lazy);
  });
  const auto start = clock_type::now();
  const int ran = lw.wait(10, 20s, 10ms);
  const auto took = clock_type::now() - start;
  producer.join();
  EXPECT_EQ(ran, 1);
  EXPECT_LT(took, 10s);
  EXPECT_GE(lw.stats().wakes, 1u);
}

TYPED_TEST(LocalWork, MinWaitWithNothingQueuedEndsAtTheTimeout) {
  TypeParam lw;
  const auto start = clock_type::now();
  EXPECT_EQ(lw.wait(4, 60ms, 10ms), 0);
  EXPECT_GE(clock_type::now() - start, 60ms);
}

TYPED_TEST(LocalWork, OneFutexWakePerCycleForLazyAdds) {
  constexpr int n = 64;
  TypeParam lw;
  items it(n);
  std::thread producer([&] {
    ASSERT_TRUE(eventually([&] { return lw.stats().sleeps >= 1; }));
    for (int i = 0; i < n; ++i) lw.add(it[i], mpscq::wake::lazy);
  });
  const int ran = lw.wait(n, 20s);
  producer.join();
  EXPECT_EQ(ran, n);
  EXPECT_EQ(it.log, iota(0, n));
  const auto s = lw.stats();
  EXPECT_EQ(s.wakes, 1u) << "only the add that completes the count wakes";
  EXPECT_EQ(s.wait_cycles, 1u);
  EXPECT_EQ(s.sleeps, 1u);
}

TYPED_TEST(LocalWork, EagerAddWakesASleepingOwnerAtOnce) {
  TypeParam lw;
  items it(2);
  std::atomic<std::thread::id> ran_on{};
  it[0].ran_on = &ran_on;
  std::thread producer([&] {
    ASSERT_TRUE(eventually([&] { return lw.stats().sleeps >= 1; }));
    lw.add(it[0], mpscq::wake::eager);
    // The owner is still inside wait(2, ...), but it must have run the item.
    EXPECT_TRUE(eventually([&] { return it.counter.load() == 1; }, 5000ms));
    lw.add(it[1], mpscq::wake::lazy);  // completes the wait
  });
  const auto start = clock_type::now();
  EXPECT_EQ(lw.wait(2, 30s), 2);
  producer.join();
  EXPECT_LT(clock_type::now() - start, 20s);
  EXPECT_EQ(ran_on.load(), std::this_thread::get_id());
  EXPECT_GE(lw.stats().wakes, 2u);
}

TYPED_TEST(LocalWork, OwnerOnlyCallsFromAnotherThreadAbortWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // One misuse policy (docs/api.md, Contracts): a message naming the call,
  // then abort - in every build.
  auto from_other_thread = [](auto call) {
    TypeParam lw;
    EXPECT_EQ(lw.run(1), 0);  // this thread is the owner now
    std::thread other([&] { call(lw); });
    other.join();
  };
  EXPECT_DEATH(from_other_thread([](TypeParam& lw) { lw.run(1); }), "run\\(\\) called from a thread that is not the owner");
  EXPECT_DEATH(from_other_thread([](TypeParam& lw) { lw.wait(1, 1ms); }), "wait\\(\\) called from a thread that is not the owner");
  EXPECT_DEATH(from_other_thread([](TypeParam& lw) { lw.close(); }), "close\\(\\) called from a thread that is not the owner");
  EXPECT_DEATH(from_other_thread([](TypeParam& lw) { lw.disown(); }), "disown\\(\\) called from a thread that is not the owner");
}

TYPED_TEST(LocalWork, NamedOwnerIsEnforcedFromTheStart) {
  std::atomic<bool> close_now{false};
  std::unique_ptr<TypeParam> lw;
  std::thread owner([&] {
    while (!close_now.load()) std::this_thread::sleep_for(100us);
    lw->close();
  });
  mpscq::local_work_options options;
  options.owner = owner.get_id();
  lw = std::make_unique<TypeParam>(options);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(lw->run(1), "not the owner");
  // Destroying an open object from another thread is an error too.
  EXPECT_DEATH(lw.reset(), "not its owner");
  close_now.store(true);
  owner.join();
  lw.reset();  // closed by its owner: any thread may destroy it
}

TYPED_TEST(LocalWork, DisownHandsOwnershipOver) {
  TypeParam lw;
  items it(1);
  lw.add(it[0]);
  EXPECT_EQ(lw.run(0), 0);
  lw.disown();
  std::thread([&] {
    EXPECT_EQ(lw.run(5), 1);
    lw.close();
  }).join();
  // Closed: the destructor may run here.
}

TYPED_TEST(LocalWork, CloseRunsLeftoversOnceWithCancel) {
  items it(5);
  {
    TypeParam lw;
    for (int i = 0; i < 5; ++i) lw.add(it[i], mpscq::wake::lazy);
    EXPECT_EQ(lw.run(2), 2);
    lw.close();
    EXPECT_EQ(it.log, iota(0, 5));
    EXPECT_EQ(it.cancels, (std::vector<bool>{false, false, true, true, true}));
    EXPECT_EQ(lw.stats().items_cancelled, 3u);
    lw.close();  // idempotent
    EXPECT_EQ(lw.run(10), 0);
    EXPECT_EQ(lw.wait(1, 10s), 0) << "wait after close returns at once";
    EXPECT_FALSE(lw.has_work());
  }
  EXPECT_EQ(it.log.size(), 5u);
}

TYPED_TEST(LocalWork, DestructorClosesToo) {
  items it(3);
  {
    TypeParam lw;
    for (int i = 0; i < 3; ++i) lw.add(it[i]);
  }
  EXPECT_EQ(it.log, iota(0, 3));
  EXPECT_EQ(it.cancels, (std::vector<bool>{true, true, true}));
}

TYPED_TEST(LocalWork, AddAfterCloseRunsInlineWithCancel) {
  TypeParam lw;
  lw.close();
  items it(1);
  std::atomic<std::thread::id> ran_on{};
  it[0].ran_on = &ran_on;
  std::thread::id adder;
  std::thread([&] {
    adder = std::this_thread::get_id();
    lw.add(it[0], mpscq::wake::eager);
    // Ran before add() returned, on this thread, with cancel.
    EXPECT_EQ(it.counter.load(), 1);
  }).join();
  EXPECT_EQ(ran_on.load(), adder);
  EXPECT_EQ(it.cancels, std::vector<bool>{true});
  EXPECT_EQ(lw.stats().cancelled_inline, 1u);
  EXPECT_FALSE(lw.has_work());
}

TYPED_TEST(LocalWork, ClosedObjectMayBeDestroyedByAnyThread) {
  auto lw = std::make_unique<TypeParam>();
  EXPECT_EQ(lw->run(1), 0);
  lw->close();
  std::thread([&] { lw.reset(); }).join();
  EXPECT_EQ(lw, nullptr);
}

TYPED_TEST(LocalWork, ManyProducersNothingLost) {
  constexpr int producers = 3;
  constexpr int per = 2000;
  TypeParam lw;
  std::deque<items> its;
  for (int p = 0; p < producers; ++p) its.emplace_back(per);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per; ++i) lw.add(its[static_cast<std::size_t>(p)][i], i % 7 ? mpscq::wake::lazy : mpscq::wake::eager);
    });
  }
  int ran = 0;
  while (ran < producers * per) ran += lw.wait(16, 1s, 100us);
  for (auto& t : threads) t.join();
  EXPECT_EQ(ran, producers * per);
  for (auto& i : its) EXPECT_EQ(i.log, iota(0, per)) << "per-producer order";
}

// --- variant-specific --------------------------------------------------------

TEST(LocalWorkQueue, CappedRunThenMoreAddsKeepsOneFifo) {
  // The FIFO variant leaves the remainder in the queue itself, so later adds
  // queue behind it (the in-flight window is exercised by the stress test and
  // the Relacy model).
  mpscq::local_work lw;
  items it(6);
  for (int i = 0; i < 3; ++i) lw.add(it[i]);
  EXPECT_EQ(lw.run(2), 2);
  for (int i = 3; i < 6; ++i) lw.add(it[i]);
  EXPECT_EQ(lw.run(10), 4);
  EXPECT_EQ(it.log, iota(0, 6));
}

TEST(LocalWorkQueue, InFlightPushKeepsWorkPendingAndNeverSleeps) {
  mpscq::local_work_options options;
  options.enable_eventfd = true;
  mpscq::local_work lw(options);
  items it(2);
  lw.add(it[0], mpscq::wake::lazy);
  // A second producer is preempted inside its push: the tail is it[1], but
  // it[0] does not link to it yet.
  mpscq::queue& q = mpscq::detail::local_work_access::queue_of(lw);
  mpscq::node* prev = mpscq::detail::queue_access::publish(q, &it[1].hook, &it[1].hook);
  ASSERT_EQ(prev, &it[0].hook);

  EXPECT_EQ(lw.run(10), 0) << "it[0] cannot be handed out while a push behind it is in flight";
  EXPECT_TRUE(lw.has_work()) << "work is left: the flag must stay up";
  EXPECT_TRUE(readable(lw.event_fd())) << "and the eventfd readable";

  const auto start = clock_type::now();
  EXPECT_EQ(lw.wait(1, 30ms), 0);
  EXPECT_GE(clock_type::now() - start, 30ms);
  auto s = lw.stats();
  EXPECT_EQ(s.sleeps, 0u) << "never sleeps on the futex with a push in flight";
  EXPECT_GT(s.in_flight_backoffs, 0u);

  mpscq::detail::queue_access::link(prev, &it[1].hook);  // the producer runs again
  EXPECT_EQ(lw.run(10), 2);
  EXPECT_EQ(it.log, iota(0, 2));
  EXPECT_FALSE(lw.has_work());
  EXPECT_FALSE(readable(lw.event_fd()));
}

// A pass that ran items made progress: it must not pause for the push in
// flight behind them (an owner whose producer adds in bursts meets the window
// on most passes; pausing there made it sleep ~1 ms per pass). Only a pass
// that ran nothing backs off.
TEST(LocalWorkQueue, APassThatRanItemsDoesNotBackOffForAPushInFlight) {
  mpscq::local_work lw;
  items it(4);
  lw.add(it[0], mpscq::wake::lazy);
  lw.add(it[1], mpscq::wake::lazy);
  lw.add(it[2], mpscq::wake::lazy);
  mpscq::queue& q = mpscq::detail::local_work_access::queue_of(lw);
  mpscq::node* prev = mpscq::detail::queue_access::publish(q, &it[3].hook, &it[3].hook);
  ASSERT_EQ(prev, &it[2].hook);
  for (int round = 0; round < 3; ++round) {
    // it[0] and it[1] run (it[2] waits for the link behind it) ...
    EXPECT_EQ(lw.run(10), round == 0 ? 2 : 0);
    if (round == 0) {
      EXPECT_EQ(lw.stats().in_flight_backoffs, 0u) << "a pass that ran items paused";
    }
  }
  // ... and the passes that ran nothing backed off, once each.
  EXPECT_EQ(lw.stats().in_flight_backoffs, 2u);
  mpscq::detail::queue_access::link(prev, &it[3].hook);
  EXPECT_EQ(lw.run(10), 2);
  EXPECT_EQ(it.log, iota(0, 4));
}

// The first push of a cycle in flight (the cursor still on the stub): run()
// finds nothing it can hand out and no node behind which to wait, but the
// queue is not empty - it must back off, not return at once (a loop on run()
// would spin on the producer's core).
TEST(LocalWorkQueue, RunBacksOffWhenTheFirstPushOfACycleIsInFlight) {
  mpscq::local_work lw;
  items it(1);
  mpscq::queue& q = mpscq::detail::local_work_access::queue_of(lw);
  mpscq::node* prev = mpscq::detail::queue_access::publish(q, &it[0].hook, &it[0].hook);
  ASSERT_EQ(prev, mpscq::detail::queue_access::stub(q));
  EXPECT_EQ(lw.run(10), 0);
  EXPECT_EQ(lw.stats().in_flight_backoffs, 1u) << "run() returned at once with a push in flight";
  EXPECT_EQ(lw.run(10), 0);
  EXPECT_EQ(lw.stats().in_flight_backoffs, 2u);
  mpscq::detail::queue_access::link(prev, &it[0].hook);
  EXPECT_EQ(lw.run(10), 1);
  EXPECT_EQ(lw.run(10), 0);
  EXPECT_EQ(lw.stats().in_flight_backoffs, 2u) << "an empty queue is not a push in flight";
}

// run(max) runs what its items add to the same object within the cap, as a
// loop of pops does - also when the item ran as the last one of its cycle
// (the batch consumer ends its batch there).
TEST(LocalWorkQueue, RunAlsoRunsWhatItsItemsAddWithinTheCap) {
  mpscq::local_work lw;
  int ran_second = 0;
  struct chain {
    mpscq::work first;
    mpscq::work second;
    mpscq::local_work* lw;
    int* ran_second;
  } c{};
  c.lw = &lw;
  c.ran_second = &ran_second;
  c.second.func = [](mpscq::work& w, mpscq::run_state) noexcept {
    ++*mpscq::detail::owner_of<chain, mpscq::work, &chain::second>(&w)->ran_second;
  };
  c.first.func = [](mpscq::work& w, mpscq::run_state) noexcept {
    chain* self = mpscq::detail::owner_of<chain, mpscq::work, &chain::first>(&w);
    self->lw->add(self->second);  // the queue was emptied by this item's pop
  };
  lw.add(c.first);
  EXPECT_EQ(lw.run(10), 2);
  EXPECT_EQ(ran_second, 1);
  // The cap still holds.
  lw.add(c.first);
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_EQ(ran_second, 1);
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_EQ(ran_second, 2);
}

TEST(LegacyLocalWork, CappedTakeParksTheRestOnTheRetryList) {
  mpscq::baseline::llist_local_work lw;
  items it(6);
  for (int i = 0; i < 4; ++i) lw.add(it[i], mpscq::wake::lazy);
  EXPECT_EQ(it[3].nr_tw.load(), 4u) << "each head counts the lazy items before it";
  EXPECT_EQ(lw.run(3), 3);  // takes all 4, runs 3, parks item 3
  for (int i = 4; i < 6; ++i) lw.add(it[i], mpscq::wake::lazy);
  EXPECT_EQ(it[4].nr_tw.load(), 1u) << "the count restarts after a take";
  EXPECT_EQ(lw.run(1), 1) << "the retry list goes first, and alone";
  EXPECT_EQ(lw.run(10), 2);
  EXPECT_EQ(it.log, iota(0, 6));
}

TEST(LegacyLocalWork, EagerAddCarriesTheForceValue) {
  mpscq::baseline::llist_local_work lw;
  items it(2);
  lw.add(it[0], mpscq::wake::eager);
  EXPECT_EQ(it[0].nr_tw.load(), mpscq::baseline::llist_local_work::force_wake);
  lw.add(it[1], mpscq::wake::lazy);
  EXPECT_EQ(it[1].nr_tw.load(), mpscq::baseline::llist_local_work::force_wake + 1);
  EXPECT_EQ(lw.run(5), 2);
}

}  // namespace
