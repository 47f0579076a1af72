// Unit tests of mpscq::local_work::interrupt(): a wake from any thread that
// ends the owner's current or next wait(). The protocol's windows (flag vs
// sleep, interrupt vs teardown) are proved by the Relacy scenarios
// `interrupt` and `interrupt_countdown` (tests/model/relacy/local_work_model.cpp);
// these tests pin the public behaviour and race the real futex.
//
// No test asserts a duration. A wait() that an interrupt should have ended
// would run into its long timeout instead: the tests check stats().timeouts
// (and the interrupt count), so a lost interrupt fails, it does not hang.
#include <mpscq/local_work.hpp>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;

// A wait() that only a bug lets run this long: "should have been interrupted".
constexpr auto long_timeout = std::chrono::nanoseconds(30s);

struct counted : mpscq::work {
  std::atomic<int>* runs = nullptr;
  std::atomic<int>* cancelled = nullptr;
  counted() { func = &counted::run; }
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = static_cast<counted&>(w);
    if (st.cancel) {
      if (self.cancelled != nullptr) self.cancelled->fetch_add(1, std::memory_order_relaxed);
    } else if (self.runs != nullptr) {
      self.runs->fetch_add(1, std::memory_order_relaxed);
    }
  }
};

// Waits (without a timed assertion) until `flag` is set.
void spin_until(const std::atomic<bool>& flag) {
  while (!flag.load(std::memory_order_acquire)) std::this_thread::yield();
}

TEST(LocalWorkInterrupt, EndsAnUntimedWaitFromAnotherThread) {
  mpscq::local_work lw;
  std::atomic<bool> waiting{false};
  int ran = -1;
  std::thread owner([&] {
    waiting.store(true, std::memory_order_release);
    ran = lw.wait(1, std::chrono::nanoseconds::max());  // only the interrupt can end it
    lw.close();
  });
  spin_until(waiting);
  std::this_thread::sleep_for(5ms);  // likely asleep on the futex by now (not required)
  lw.interrupt();
  owner.join();
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(lw.stats().interrupts, 1u);
}

TEST(LocalWorkInterrupt, BeforeTheWaitEndsTheNextWaitOnlyAndInterruptsCoalesce) {
  mpscq::local_work lw;
  lw.interrupt();
  lw.interrupt();
  lw.interrupt();  // one flag: the three count once
  EXPECT_EQ(lw.wait(1, long_timeout), 0);
  EXPECT_EQ(lw.stats().timeouts, 0u) << "the pending interrupt did not end the wait";
  EXPECT_EQ(lw.stats().interrupts, 1u);
  // Consumed: the next wait runs into its (short) timeout.
  EXPECT_EQ(lw.wait(1, 1ms), 0);
  EXPECT_EQ(lw.stats().timeouts, 1u);
  EXPECT_EQ(lw.stats().interrupts, 1u);
}

// Only a wait() that would go on waiting takes the flag: a poll, or a wait
// whose timeout passed, returns anyway and leaves it for the blocking wait.
TEST(LocalWorkInterrupt, AWaitThatReturnsAnywayLeavesItForTheNext) {
  mpscq::local_work lw;
  lw.interrupt();
  EXPECT_EQ(lw.wait(0, long_timeout), 0);  // min_events reached: a poll
  EXPECT_EQ(lw.wait(-5, long_timeout), 0);
  EXPECT_EQ(lw.wait(1, std::chrono::nanoseconds::zero()), 0);  // timeout passed
  EXPECT_EQ(lw.stats().interrupts, 0u) << "a wait that returned anyway took the interrupt";
  EXPECT_EQ(lw.stats().timeouts, 1u);
  EXPECT_EQ(lw.wait(1, long_timeout), 0);  // the blocking wait takes it
  EXPECT_EQ(lw.stats().interrupts, 1u);
  EXPECT_EQ(lw.stats().timeouts, 1u) << "the blocking wait ran into its timeout: interrupt lost";
}

// interrupt() claims no wait cycle: stats().wakes counts claims only, so
// wakes <= wait_cycles holds with interrupts too.
TEST(LocalWorkInterrupt, IsNotCountedAsAClaimedWake) {
  mpscq::local_work lw;
  for (int i = 0; i < 10; ++i) lw.interrupt();
  lw.wait(1, long_timeout);
  const mpscq::local_work_stats st = lw.stats();
  EXPECT_EQ(st.wakes, 0u);
  EXPECT_LE(st.wakes, st.wait_cycles);
  EXPECT_EQ(st.interrupts, 1u);
}

// A wait() nested in an item returns on the flag and leaves it, so the
// enclosing wait() - the one the interrupter meant - returns too.
TEST(LocalWorkInterrupt, ANestedWaitReturnsAndTheEnclosingWaitReturnsToo) {
  mpscq::local_work lw;
  struct nested : mpscq::work {
    mpscq::local_work* lw = nullptr;
    int nested_ran = -1;
    nested() {
      func = [](mpscq::work& w, mpscq::run_state st) noexcept {
        auto& self = static_cast<nested&>(w);
        if (st.cancel) return;
        self.lw->interrupt();
        self.nested_ran = self.lw->wait(1, long_timeout);  // returns on the flag
      };
    }
  } it;
  it.lw = &lw;
  lw.add(it);
  EXPECT_EQ(lw.wait(1000, long_timeout), 1);
  EXPECT_EQ(it.nested_ran, 0);
  EXPECT_EQ(lw.stats().timeouts, 0u) << "a wait ran into its timeout: the interrupt was eaten";
  EXPECT_EQ(lw.stats().interrupts, 1u);
}

TEST(LocalWorkInterrupt, TheWaitRunsWhatIsQueuedFirst) {
  mpscq::local_work lw;
  std::atomic<int> runs{0};
  std::vector<counted> items(5);
  for (auto& it : items) {
    it.runs = &runs;
    lw.add(it, mpscq::wake::lazy);
  }
  lw.interrupt();
  EXPECT_EQ(lw.wait(100, long_timeout), 5);
  EXPECT_EQ(runs.load(), 5);
  EXPECT_EQ(lw.stats().timeouts, 0u);
}

TEST(LocalWorkInterrupt, RunIgnoresItAndTheNextWaitConsumesIt) {
  mpscq::local_work lw;
  lw.interrupt();
  EXPECT_EQ(lw.run(10), 0);
  EXPECT_EQ(lw.stats().interrupts, 0u);
  EXPECT_EQ(lw.wait(1, long_timeout), 0);
  EXPECT_EQ(lw.stats().interrupts, 1u);
  EXPECT_EQ(lw.stats().timeouts, 0u);
}

TEST(LocalWorkInterrupt, FromInsideAnItemEndsTheWaitAfterThePass) {
  mpscq::local_work lw;
  struct interrupter : mpscq::work {
    mpscq::local_work* lw = nullptr;
    interrupter() {
      func = [](mpscq::work& w, mpscq::run_state st) noexcept {
        if (!st.cancel) static_cast<interrupter&>(w).lw->interrupt();
      };
    }
  } it;
  it.lw = &lw;
  lw.add(it);
  EXPECT_EQ(lw.wait(1000, long_timeout), 1);
  EXPECT_EQ(lw.stats().interrupts, 1u);
  EXPECT_EQ(lw.stats().timeouts, 0u);
}

TEST(LocalWorkInterrupt, AfterCloseDoesNothing) {
  mpscq::local_work lw;
  lw.close();
  lw.interrupt();
  EXPECT_EQ(lw.wait(1, long_timeout), 0);  // closed: returns at once anyway
  EXPECT_EQ(lw.stats().interrupts, 0u);
}

// The stop-flag pattern of the docs, raced many times against a sleeping
// owner and lazy adds from a third thread (the countdown's windows). Each
// round: the owner announces it, waits for "everything"; the interrupter
// sees the round, sets stop, interrupts. A lost interrupt shows as a
// timeout (30 s, then the test fails), a lost item as a wrong count.
TEST(LocalWorkInterrupt, RacesAgainstTheCountdownAndLazyAdds) {
  constexpr int rounds = 3000;
  constexpr int adds = 20000;
  mpscq::local_work lw;
  std::atomic<int> round{-1};
  std::atomic<int> runs{0};
  std::atomic<int> cancelled{0};
  std::atomic<bool> stop{false};
  std::vector<counted> items(adds);
  for (auto& it : items) {
    it.runs = &runs;
    it.cancelled = &cancelled;
  }
  std::thread owner([&] {
    for (int r = 0; r < rounds; ++r) {
      stop.store(false, std::memory_order_relaxed);
      round.store(r, std::memory_order_release);
      while (!stop.load(std::memory_order_relaxed)) lw.wait(INT_MAX, long_timeout);
    }
    lw.close();  // the rest of the lazy adds run cancelled (here or inline)
  });
  std::thread producer([&] {
    for (auto& it : items) lw.add(it, mpscq::wake::lazy);
  });
  std::thread interrupter([&] {
    for (int r = 0; r < rounds; ++r) {
      while (round.load(std::memory_order_acquire) != r) std::this_thread::yield();
      stop.store(true, std::memory_order_relaxed);  // made visible by interrupt() (happens-before)
      lw.interrupt();
    }
  });
  interrupter.join();
  owner.join();
  producer.join();
  EXPECT_EQ(lw.stats().timeouts, 0u) << "an interrupt was lost";
  EXPECT_EQ(runs.load() + cancelled.load(), adds) << "an item was lost or ran twice";
  EXPECT_GE(lw.stats().interrupts, 1u);
  EXPECT_LE(lw.stats().interrupts, static_cast<std::uint64_t>(rounds));
}

// The owner returns because of the interrupt and destroys the object at
// once, while the interrupter may still be before its FUTEX_WAKE: the
// destructor must wait it out (under ASan a use after free is reported).
TEST(LocalWorkInterrupt, TheOwnerMayDestroyRightAfterTheInterruptedWait) {
  for (int i = 0; i < 2000; ++i) {
    auto lw = std::make_unique<mpscq::local_work>();
    mpscq::local_work* raw = lw.get();
    std::atomic<bool> waiting{false};
    std::thread interrupter([&] {
      spin_until(waiting);
      raw->interrupt();
    });
    waiting.store(true, std::memory_order_release);
    lw->wait(1, long_timeout);
    const auto timeouts = lw->stats().timeouts;
    lw.reset();  // close() + wait out the interrupter
    interrupter.join();
    ASSERT_EQ(timeouts, 0u) << "round " << i;
  }
}

// interrupt() is async-signal-safe: a handler may call it. The signal also
// makes the futex wait return with EINTR; the interrupt is what ends wait().
mpscq::local_work* signal_target = nullptr;
extern "C" void interrupt_from_handler(int) { signal_target->interrupt(); }

TEST(LocalWorkInterrupt, FromASignalHandler) {
  mpscq::local_work lw;
  signal_target = &lw;
  struct sigaction sa {};
  sa.sa_handler = &interrupt_from_handler;
  sigemptyset(&sa.sa_mask);
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  std::atomic<bool> waiting{false};
  std::atomic<bool> done{false};
  int ran = -1;
  std::thread owner([&] {
    waiting.store(true, std::memory_order_release);
    ran = lw.wait(1, long_timeout);
    done.store(true, std::memory_order_release);
    lw.close();
  });
  const pthread_t owner_handle = owner.native_handle();
  spin_until(waiting);
  pthread_kill(owner_handle, SIGUSR1);
  owner.join();
  sigaction(SIGUSR1, &old, nullptr);
  signal_target = nullptr;
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(lw.stats().timeouts, 0u);
  EXPECT_EQ(lw.stats().interrupts, 1u);
}

}  // namespace
