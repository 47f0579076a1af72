// Unit tests of local_work::wait()'s deadline form and its std::stop_token
// overloads (issue 21, item 3), on mpscq::local_work and on
// baseline::llist_local_work (one core, detail/local_work_core.hpp). The
// stop-vs-sleep window is proved by the Relacy scenario `stop`
// (tests/model/relacy/local_work_model.cpp); these tests pin the public
// behaviour and race the real futex and std::stop_source.
//
// No test asserts a duration. A wait() that a stop should have ended would
// run into its long timeout instead: the tests check stats().timeouts, so a
// lost stop fails, it does not hang (the timeout is the hang guard).
#include <mpscq/baseline/llist_local_work.hpp>
#include <mpscq/local_work.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// A wait() that only a bug lets run this long.
constexpr auto long_timeout = std::chrono::nanoseconds(30s);

// An item both variants take (llist_work is a work).
struct counted : mpscq::baseline::llist_work {
  std::atomic<int>* runs = nullptr;
  counted() { func = &counted::run; }
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = static_cast<counted&>(w);
    if (!st.cancel && self.runs != nullptr) self.runs->fetch_add(1, std::memory_order_relaxed);
  }
};

template <class LW>
class WaitDeadline : public ::testing::Test {};
using variants = ::testing::Types<mpscq::local_work, mpscq::baseline::llist_local_work>;
TYPED_TEST_SUITE(WaitDeadline, variants);

// --- the deadline form -------------------------------------------------------

TYPED_TEST(WaitDeadline, ADeadlineInThePastIsAZeroTimeout) {
  TypeParam lw;
  std::atomic<int> runs{0};
  std::vector<counted> items(3);
  for (auto& it : items) {
    it.runs = &runs;
    lw.add(it, mpscq::wake::lazy);
  }
  // Runs what is queued, does not sleep, returns on the passed timeout.
  EXPECT_EQ(lw.wait(10, clock_type::now() - 1h), 3);
  EXPECT_EQ(lw.wait(1, clock_type::time_point::min()), 0);
  EXPECT_EQ(lw.wait(1, clock_type::time_point{}), 0);
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(lw.stats().sleeps, 0u) << "a past deadline slept";
  EXPECT_EQ(lw.stats().timeouts, 3u);
}

TYPED_TEST(WaitDeadline, ADeadlineIsReached) {
  TypeParam lw;
  // Nothing is ever added: only the deadline ends these (the test's own
  // timeout is the hang guard).
  EXPECT_EQ(lw.wait(1, clock_type::now() + 2ms), 0);
  EXPECT_EQ(lw.stats().timeouts, 1u);
  // Reused across waits: the loop's shared deadline, which passes once.
  const auto deadline = clock_type::now() + 3ms;
  int calls = 0;
  while (clock_type::now() < deadline && calls < 100000) {
    EXPECT_EQ(lw.wait(1, deadline), 0);
    ++calls;
  }
  EXPECT_GE(calls, 1);
  EXPECT_GE(lw.stats().timeouts, 2u);
}

TYPED_TEST(WaitDeadline, ADeadlineFormWaitIsWokenByAnAdd) {
  TypeParam lw;
  counted it;
  std::atomic<int> runs{0};
  it.runs = &runs;
  lw.add(it);  // eager, queued before: the wait runs it and returns
  EXPECT_EQ(lw.wait(1, clock_type::now() + long_timeout), 1);
  EXPECT_EQ(lw.stats().timeouts, 0u);
}

TYPED_TEST(WaitDeadline, TimePointMaxIsNoTimeoutAndMinWaitIsThenTheTimeout) {
  TypeParam lw;
  // THE MIN_WAIT RULE: no timeout + min_wait returns at min_wait.
  EXPECT_EQ(lw.wait(1, clock_type::time_point::max(), 1ms), 0);
  // A deadline before now + min_wait is waited out to min_wait (returns,
  // having run nothing).
  EXPECT_EQ(lw.wait(1, clock_type::now(), 1ms), 0);
  // time_point::max() alone: only an add (here from another thread) ends it.
  std::atomic<int> runs{0};
  counted it;
  it.runs = &runs;
  std::thread adder([&] {
    std::this_thread::sleep_for(2ms);
    lw.add(it);
  });
  EXPECT_EQ(lw.wait(1, clock_type::time_point::max()), 1);
  adder.join();
  EXPECT_EQ(runs.load(), 1);
}

#if MPSCQ_HAS_STOP_TOKEN

// --- the stop token ---------------------------------------------------------

void spin_until(const std::atomic<bool>& flag) {
  while (!flag.load(std::memory_order_acquire)) std::this_thread::yield();
}

TYPED_TEST(WaitDeadline, AStopBeforeTheWaitRunsOnePassAndReturns) {
  TypeParam lw;
  std::atomic<int> runs{0};
  std::vector<counted> items(3);
  for (auto& it : items) {
    it.runs = &runs;
    lw.add(it, mpscq::wake::lazy);
  }
  std::stop_source src;
  src.request_stop();
  EXPECT_EQ(lw.wait(10, long_timeout, {}, src.get_token()), 3);  // one pass: the three
  EXPECT_EQ(lw.wait(1, long_timeout, {}, src.get_token()), 0);
  EXPECT_EQ(lw.wait(1, clock_type::now() + long_timeout, {}, src.get_token()), 0);
  EXPECT_EQ(lw.wait(1, clock_type::time_point::max(), {}, src.get_token()), 0);
  EXPECT_EQ(lw.wait(1, std::chrono::nanoseconds::max(), 1h, src.get_token()), 0);  // also through min_wait
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(lw.stats().timeouts, 0u) << "a stopped token did not end the wait";
  EXPECT_EQ(lw.stats().sleeps, 0u) << "a stopped token slept";
  EXPECT_EQ(lw.stats().interrupts, 0u) << "a stop is not an interrupt";
}

// The stop arrives during the futex sleep, from another thread, several
// rounds (each a fresh source): duration and deadline forms, with and
// without min_wait (a long one: the stop must end the wait before it).
TYPED_TEST(WaitDeadline, AStopDuringTheSleepEndsIt) {
  TypeParam lw;
  for (int round = 0; round < 40; ++round) {
    std::stop_source src;
    std::atomic<bool> waiting{false};
    std::thread stopper([&] {
      spin_until(waiting);
      if (round % 2 == 0) std::this_thread::sleep_for(1ms);  // likely asleep by now (not required)
      src.request_stop();
    });
    waiting.store(true, std::memory_order_release);
    int ran = -1;
    switch (round % 4) {
      case 0: ran = lw.wait(1, std::chrono::nanoseconds::max(), {}, src.get_token()); break;
      case 1: ran = lw.wait(1, clock_type::time_point::max(), {}, src.get_token()); break;
      case 2: ran = lw.wait(3, long_timeout, long_timeout, src.get_token()); break;
      default: ran = lw.wait(1, clock_type::now() + long_timeout, long_timeout, src.get_token()); break;
    }
    stopper.join();
    EXPECT_EQ(ran, 0);
  }
  EXPECT_EQ(lw.stats().timeouts, 0u) << "a wait ran into its timeout: the stop was slept through";
  EXPECT_EQ(lw.stats().interrupts, 0u);
}

// A stop leaves nothing behind: the next wait() (no token, or a fresh one)
// sleeps until its timeout or its item, where an interrupt() would have
// ended it.
TYPED_TEST(WaitDeadline, AStopLeavesNoFlagBehind) {
  TypeParam lw;
  std::stop_source src;
  std::thread stopper([&] {
    std::this_thread::sleep_for(1ms);
    src.request_stop();
  });
  EXPECT_EQ(lw.wait(1, long_timeout, {}, src.get_token()), 0);
  stopper.join();
  EXPECT_EQ(lw.stats().timeouts, 0u);
  EXPECT_EQ(lw.wait(1, 2ms), 0);  // runs into its timeout: no flag ended it
  EXPECT_EQ(lw.stats().timeouts, 1u) << "the stop left a flag behind";
  std::stop_source fresh;
  EXPECT_EQ(lw.wait(1, clock_type::now() + 2ms, {}, fresh.get_token()), 0);
  EXPECT_EQ(lw.stats().timeouts, 2u) << "the stop left a flag behind";
  // An item ends the next wait, as ever.
  std::atomic<int> runs{0};
  counted it;
  it.runs = &runs;
  std::thread adder([&] {
    std::this_thread::sleep_for(1ms);
    lw.add(it);
  });
  EXPECT_EQ(lw.wait(1, long_timeout, {}, fresh.get_token()), 1);
  adder.join();
  EXPECT_EQ(lw.stats().timeouts, 2u);
}

// A stop with min_wait ends the wait before min_wait, having run what came.
TYPED_TEST(WaitDeadline, AStopEndsAMinWait) {
  TypeParam lw;
  std::stop_source src;
  std::atomic<int> runs{0};
  counted it;
  it.runs = &runs;
  lw.add(it);
  // An item ran, min_wait (1 h) has not passed: the wait would sleep on to
  // min_wait for min_events 2. The stop ends it with the one item.
  std::thread stopper([&] {
    std::this_thread::sleep_for(1ms);
    src.request_stop();
  });
  EXPECT_EQ(lw.wait(2, long_timeout, 1h, src.get_token()), 1);
  stopper.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(lw.stats().timeouts, 0u);
}

// A wait nested in an item with its own token: the stop ends it; the
// enclosing wait (no token) is not affected and ends on its own terms.
TYPED_TEST(WaitDeadline, ANestedWaitWithATokenEndsAloneOnItsStop) {
  TypeParam lw;
  struct nested : counted {
    TypeParam* lw = nullptr;
    std::stop_source src;
    int nested_ran = -1;
    nested() {
      func = [](mpscq::work& w, mpscq::run_state st) noexcept {
        auto& self = static_cast<nested&>(w);
        if (st.cancel) return;
        std::thread stopper([&self] {
          std::this_thread::sleep_for(1ms);
          self.src.request_stop();
        });
        self.nested_ran = self.lw->wait(1, long_timeout, {}, self.src.get_token());
        stopper.join();
      };
    }
  } outer_item;
  outer_item.lw = &lw;
  lw.add(outer_item);
  // The outer wait wants 2: the nested stop must not end it, only its timeout.
  EXPECT_EQ(lw.wait(2, 20ms), 1);
  EXPECT_EQ(outer_item.nested_ran, 0);
  EXPECT_EQ(lw.stats().timeouts, 1u) << "the outer wait ended on the nested wait's stop, or the nested one timed out";
}

// The request from inside an item (the owner's thread: the callback runs
// right there) ends the wait that runs the item, after the pass.
TYPED_TEST(WaitDeadline, AStopFromAnItemEndsTheWaitAfterItsPass) {
  TypeParam lw;
  struct stopper_item : counted {
    std::stop_source* src = nullptr;
    stopper_item() {
      func = [](mpscq::work& w, mpscq::run_state st) noexcept {
        if (!st.cancel) static_cast<stopper_item&>(w).src->request_stop();
      };
    }
  } it;
  std::stop_source src;
  it.src = &src;
  lw.add(it);
  EXPECT_EQ(lw.wait(5, long_timeout, {}, src.get_token()), 1);
  EXPECT_EQ(lw.stats().timeouts, 0u);
}

// After close(): wait() returns 0 at once, stopped token or not; a stop
// after close() is harmless (no callback is registered).
TYPED_TEST(WaitDeadline, AfterCloseWithAToken) {
  TypeParam lw;
  lw.close();
  std::stop_source src;
  EXPECT_EQ(lw.wait(1, long_timeout, {}, src.get_token()), 0);
  EXPECT_EQ(lw.wait(1, clock_type::time_point::max(), {}, src.get_token()), 0);
  src.request_stop();
  EXPECT_EQ(lw.wait(1, long_timeout, {}, src.get_token()), 0);
  EXPECT_EQ(lw.stats().timeouts, 0u);
}

// An item that calls close() ends a wait with a token as any wait.
TYPED_TEST(WaitDeadline, CloseFromAnItemEndsAWaitWithAToken) {
  TypeParam lw;
  struct closer : counted {
    TypeParam* lw = nullptr;
    closer() {
      func = [](mpscq::work& w, mpscq::run_state st) noexcept {
        if (!st.cancel) static_cast<closer&>(w).lw->close();
      };
    }
  } it;
  it.lw = &lw;
  lw.add(it);
  std::stop_source src;
  EXPECT_EQ(lw.wait(5, long_timeout, {}, src.get_token()), 1);
  EXPECT_EQ(lw.stats().timeouts, 0u);
}

// A token without a stop state (default, or its source gone unstopped) is
// the plain wait: it times out, and an item ends it.
TYPED_TEST(WaitDeadline, ATokenThatCannotStopIsThePlainWait) {
  TypeParam lw;
  std::stop_token none;
  EXPECT_EQ(lw.wait(1, 1ms, {}, none), 0);
  std::stop_token orphan;
  {
    std::stop_source src;
    orphan = src.get_token();
  }
  EXPECT_FALSE(orphan.stop_possible());
  EXPECT_EQ(lw.wait(1, clock_type::now() + 1ms, {}, orphan), 0);
  EXPECT_EQ(lw.stats().timeouts, 2u);
}

// A pending interrupt() and a stop: the interrupt is taken (counted) by the
// wait that the stop ends as well; the next wait is not affected. (local_work
// only: the baseline has no interrupt().)
TEST(WaitDeadlineStop, AnInterruptIsTakenFirst) {
  mpscq::local_work lw;
  std::stop_source src;
  src.request_stop();
  lw.interrupt();
  EXPECT_EQ(lw.wait(1, long_timeout, {}, src.get_token()), 0);
  EXPECT_EQ(lw.stats().interrupts, 1u);
  EXPECT_EQ(lw.wait(1, 1ms), 0);
  EXPECT_EQ(lw.stats().timeouts, 1u);
}

// Stress: stops racing the owner's sleep entry, on the real futex, many
// short rounds with no pause (the window between the pass and the sleep).
TYPED_TEST(WaitDeadline, StopsRacingTheSleepEntry) {
  TypeParam lw;
  for (int round = 0; round < 300; ++round) {
    std::stop_source src;
    std::thread stopper([&] { src.request_stop(); });
    EXPECT_EQ(lw.wait(1, long_timeout, {}, src.get_token()), 0);
    stopper.join();
  }
  EXPECT_EQ(lw.stats().timeouts, 0u) << "a stop was slept through";
}

#else

TEST(WaitDeadlineStop, NoStopTokenInThisStandardLibrary) {
  GTEST_SKIP() << "no <stop_token> (MPSCQ_HAS_STOP_TOKEN 0): the stop-token overloads are absent";
}

#endif

}  // namespace
