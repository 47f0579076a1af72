// Unit tests of mpscq::detail::countdown_wake (include/mpscq/detail/
// countdown_wake.hpp), the wait_nr countdown and futex word that local_work
// (and baseline::llist_local_work) call: the claim rules per mode and armed value
// (lazy k..1 -> 0 wakes once, eager wakes while > 0, <= 0 never), disarm(),
// a wake between snapshot() and sleep() that is not lost, and one wake per
// arming with many claiming threads. The relaxed-memory side is checked by
// tests/model/relacy/countdown_wake_model.cpp.
#include <mpscq/detail/countdown_wake.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

using mpscq::detail::countdown_wake;
using mpscq::detail::futex_wait_result;
using mpscq::detail::wake_mode;
using namespace std::chrono_literals;

// An add's part, as local_work::add() does it after its push.
bool add(countdown_wake& cw, wake_mode mode) {
  if (!cw.claim(cw.read(), mode)) return false;
  cw.wake();
  return true;
}

TEST(CountdownWake, StartsWithNoWaiter) {
  countdown_wake cw;
  EXPECT_EQ(countdown_wake::no_waiter, -1);
  EXPECT_EQ(cw.read(), countdown_wake::no_waiter);
  EXPECT_EQ(cw.wait_nr(), countdown_wake::no_waiter);
  EXPECT_EQ(cw.wakes(), 0u);
}

TEST(CountdownWake, ReadDoesNotChangeTheCount) {
  countdown_wake cw;
  cw.arm(3);
  EXPECT_EQ(cw.read(), 3);
  EXPECT_EQ(cw.read(), 3);
  EXPECT_EQ(cw.wait_nr(), 3);
}

TEST(CountdownWake, NoWaiterOrFiredMeansNoWakeInEitherMode) {
  countdown_wake cw;
  for (const wake_mode mode : {wake_mode::lazy, wake_mode::eager}) {
    EXPECT_FALSE(cw.claim(countdown_wake::no_waiter, mode));
    EXPECT_FALSE(cw.claim(0, mode));
    EXPECT_FALSE(cw.claim(-5, mode));
  }
  EXPECT_EQ(cw.wait_nr(), countdown_wake::no_waiter);  // a claim on <= 0 writes nothing
  EXPECT_FALSE(add(cw, wake_mode::lazy));
  EXPECT_FALSE(add(cw, wake_mode::eager));
  EXPECT_EQ(cw.wakes(), 0u);
}

TEST(CountdownWake, LazyCountsDownAndOnlyOneToZeroWakes) {
  countdown_wake cw;
  cw.arm(3);
  EXPECT_FALSE(add(cw, wake_mode::lazy));  // 3 -> 2
  EXPECT_EQ(cw.wait_nr(), 2);
  EXPECT_FALSE(add(cw, wake_mode::lazy));  // 2 -> 1
  EXPECT_TRUE(add(cw, wake_mode::lazy));   // 1 -> 0: wakes
  EXPECT_EQ(cw.wait_nr(), 0);
  EXPECT_FALSE(add(cw, wake_mode::lazy));  // fired: no more
  EXPECT_FALSE(add(cw, wake_mode::eager));
  EXPECT_EQ(cw.wakes(), 1u);
}

TEST(CountdownWake, LazyOfOneWakesAtOnce) {
  countdown_wake cw;
  cw.arm(1);
  EXPECT_TRUE(add(cw, wake_mode::lazy));
  EXPECT_EQ(cw.wakes(), 1u);
}

TEST(CountdownWake, EagerWakesWhileArmedAndTakesTheWholeCount) {
  countdown_wake cw;
  cw.arm(5);
  EXPECT_TRUE(add(cw, wake_mode::eager));
  EXPECT_EQ(cw.wait_nr(), countdown_wake::no_waiter);
  EXPECT_FALSE(add(cw, wake_mode::eager));
  EXPECT_FALSE(add(cw, wake_mode::lazy));
  EXPECT_EQ(cw.wakes(), 1u);
}

TEST(CountdownWake, EagerAfterLazyDecrementsStillWakes) {
  // Race window R2, sequentially: the eager add read 3, two lazy decrements
  // land, then its claim: the count is still positive, so the wake is ours.
  countdown_wake cw;
  cw.arm(3);
  const int armed = cw.read();
  EXPECT_EQ(armed, 3);
  EXPECT_FALSE(add(cw, wake_mode::lazy));  // 3 -> 2
  EXPECT_FALSE(add(cw, wake_mode::lazy));  // 2 -> 1
  EXPECT_TRUE(cw.claim(armed, wake_mode::eager));
  EXPECT_EQ(cw.wait_nr(), countdown_wake::no_waiter);
}

TEST(CountdownWake, StaleClaimsDriveTheCountBelowZeroWithoutWaking) {
  // Race window R3: claims that read k > 0 but land after the arming fired.
  countdown_wake cw;
  cw.arm(1);
  const int stale_lazy = cw.read();
  const int stale_eager = cw.read();
  EXPECT_TRUE(add(cw, wake_mode::lazy));  // 1 -> 0
  EXPECT_FALSE(cw.claim(stale_lazy, wake_mode::lazy));    // 0 -> -1
  EXPECT_FALSE(cw.claim(stale_eager, wake_mode::eager));  // -1 -> -1
  EXPECT_LE(cw.wait_nr(), 0);
  cw.disarm();
  EXPECT_EQ(cw.wait_nr(), countdown_wake::no_waiter);
}

TEST(CountdownWake, DisarmResetsToNoWaiter) {
  countdown_wake cw;
  cw.arm(4);
  EXPECT_FALSE(add(cw, wake_mode::lazy));
  cw.disarm();
  EXPECT_EQ(cw.wait_nr(), countdown_wake::no_waiter);
  EXPECT_FALSE(add(cw, wake_mode::lazy));
  EXPECT_FALSE(add(cw, wake_mode::eager));
  // Re-arming starts a fresh count.
  cw.arm(2);
  EXPECT_FALSE(add(cw, wake_mode::lazy));
  EXPECT_TRUE(add(cw, wake_mode::lazy));
  EXPECT_EQ(cw.wakes(), 1u);
}

TEST(CountdownWake, WakeChangesTheSnapshot) {
  countdown_wake cw;
  const int seq = cw.snapshot();
  cw.wake();
  EXPECT_NE(cw.snapshot(), seq);
  EXPECT_EQ(cw.wakes(), 1u);
}

TEST(CountdownWake, AWakeBetweenSnapshotAndSleepIsNotLost) {
  // Race window R4: the claimer wakes after the owner's snapshot and arm but
  // before its sleep. The sleep must return at once (the word changed), not
  // after its timeout.
  countdown_wake cw;
  const int seq = cw.snapshot();
  cw.arm(1);
  EXPECT_TRUE(add(cw, wake_mode::lazy));
  const auto start = std::chrono::steady_clock::now();
  const futex_wait_result r = cw.sleep(seq, std::chrono::seconds(10));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(r, futex_wait_result::timed_out);
  EXPECT_LT(took, 5s);
  cw.disarm();
}

TEST(CountdownWake, SleepWithoutAWakeTimesOut) {
  countdown_wake cw;
  const int seq = cw.snapshot();
  cw.arm(1);
  futex_wait_result r = futex_wait_result::woken;
  // Spurious wakes are allowed: retry a few times.
  for (int i = 0; i < 100 && r != futex_wait_result::timed_out; ++i) r = cw.sleep(seq, 1ms);
  EXPECT_EQ(r, futex_wait_result::timed_out);
  cw.disarm();
}

TEST(CountdownWake, ASleeperIsWokenByAnotherThread) {
  countdown_wake cw;
  const int seq = cw.snapshot();
  cw.arm(1);
  std::thread adder([&] {
    std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(add(cw, wake_mode::lazy));
  });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (cw.snapshot() == seq && std::chrono::steady_clock::now() < deadline) cw.sleep(seq, 1s);
  EXPECT_NE(cw.snapshot(), seq);
  adder.join();
  cw.disarm();
}

// Many threads claim each arming at once: exactly one wake per cycle, and the
// owner (sleeping on its snapshot) always wakes.
void one_wake_per_cycle(wake_mode mode) {
  constexpr int threads = 4;
  constexpr int cycles = 300;
  countdown_wake cw;
  std::atomic<int> round{0};
  std::atomic<int> done{0};
  std::atomic<int> claims{0};
  std::vector<std::thread> adders;
  for (int t = 0; t < threads; ++t) {
    adders.emplace_back([&] {
      for (int r = 1; r <= cycles; ++r) {
        while (round.load(std::memory_order_acquire) < r) std::this_thread::yield();
        if (add(cw, mode)) claims.fetch_add(1, std::memory_order_relaxed);
        done.fetch_add(1, std::memory_order_release);
      }
    });
  }
  for (int r = 1; r <= cycles; ++r) {
    const int seq = cw.snapshot();
    // Lazy: the last of the round's adds completes the count; eager: the
    // first claim takes it.
    cw.arm(threads);
    round.store(r, std::memory_order_release);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (cw.snapshot() == seq && std::chrono::steady_clock::now() < deadline) cw.sleep(seq, 1s);
    ASSERT_NE(cw.snapshot(), seq) << "lost wake in cycle " << r;
    while (done.load(std::memory_order_acquire) < r * threads) std::this_thread::yield();
    ASSERT_EQ(claims.load(std::memory_order_relaxed), r) << "cycle " << r;
    ASSERT_EQ(cw.wakes(), static_cast<std::uint64_t>(r));
    cw.disarm();
  }
  for (auto& t : adders) t.join();
}

TEST(CountdownWake, OneWakePerCycleLazy) { one_wake_per_cycle(wake_mode::lazy); }
TEST(CountdownWake, OneWakePerCycleEager) { one_wake_per_cycle(wake_mode::eager); }

TEST(CountdownWake, OneWakePerCycleMixed) {
  // Half eager, half lazy, armed with more than the lazy adds can complete:
  // an eager claim must take it whatever lazy decrements landed first (R2).
  constexpr int cycles = 300;
  countdown_wake cw;
  for (int r = 1; r <= cycles; ++r) {
    const int seq = cw.snapshot();
    cw.arm(10);
    std::atomic<int> claims{0};
    std::thread lazy1([&] { claims += add(cw, wake_mode::lazy) ? 1 : 0; });
    std::thread lazy2([&] { claims += add(cw, wake_mode::lazy) ? 1 : 0; });
    std::thread eager([&] { claims += add(cw, wake_mode::eager) ? 1 : 0; });
    lazy1.join();
    lazy2.join();
    eager.join();
    ASSERT_EQ(claims.load(), 1) << "cycle " << r;
    ASSERT_NE(cw.snapshot(), seq);
    cw.disarm();
  }
  EXPECT_EQ(cw.wakes(), static_cast<std::uint64_t>(cycles));
}

}  // namespace
