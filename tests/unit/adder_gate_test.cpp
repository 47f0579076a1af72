// Unit tests of mpscq::detail::adder_gate (include/mpscq/detail/adder_gate.hpp),
// the in-flight adder count with the closed and destroying bits that
// local_work and task_work share: what enter() and close() return, the count,
// the bits' visibility to later enters, and wait_drained() waiting for adds
// that leave on other threads (and seeing what they did). The relaxed-memory
// side is checked by tests/model/relacy/adder_gate_model.cpp; under TSan the
// plain `written`/`seen` pair below reports a data race when the gate's
// leave()/wait_drained() orders are relaxed (MPSCQ_MUTANT_GATE_RELAXED).
#include <mpscq/detail/adder_gate.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

using gate = mpscq::detail::adder_gate;
using namespace std::chrono_literals;

TEST(AdderGate, BitsAndMaskAreDisjoint) {
  EXPECT_EQ(gate::closed & gate::destroying, 0u);
  EXPECT_EQ(gate::count_mask & gate::closed, 0u);
  EXPECT_EQ(gate::count_mask & gate::destroying, 0u);
  EXPECT_EQ(gate::count_mask | gate::closed | gate::destroying, ~gate::state{0});
}

TEST(AdderGate, StartsOpenAndEmpty) {
  gate g;
  EXPECT_FALSE(g.is_closed());
  EXPECT_FALSE(g.is_destroying());
  EXPECT_EQ(g.in_flight(), 0u);
}

TEST(AdderGate, EnterReturnsTheStateBeforeAndCounts) {
  gate g;
  EXPECT_EQ(g.enter(), 0u);
  EXPECT_EQ(g.in_flight(), 1u);
  EXPECT_EQ(g.enter(), 1u);
  EXPECT_EQ(g.enter(), 2u);
  EXPECT_EQ(g.in_flight(), 3u);
  g.leave();
  EXPECT_EQ(g.in_flight(), 2u);
  EXPECT_EQ(g.enter(), 2u);
  g.leave();
  g.leave();
  g.leave();
  EXPECT_EQ(g.in_flight(), 0u);
  EXPECT_FALSE(g.is_closed());
}

TEST(AdderGate, ManyAddsDoNotTouchTheBits) {
  gate g;
  constexpr gate::state n = 10000;
  for (gate::state i = 0; i < n; ++i) EXPECT_EQ(g.enter(), i);
  EXPECT_EQ(g.in_flight(), n);
  EXPECT_FALSE(g.is_closed());
  EXPECT_FALSE(g.is_destroying());
  for (gate::state i = 0; i < n; ++i) g.leave();
  EXPECT_EQ(g.in_flight(), 0u);
}

TEST(AdderGate, CloseReturnsTheWordBeforeAndLaterEntersSeeTheBit) {
  gate g;
  EXPECT_EQ(g.enter(), 0u);
  EXPECT_EQ(g.enter(), 1u);
  // close() sees the two adds counted ...
  EXPECT_EQ(g.close(gate::closed), 2u);
  EXPECT_TRUE(g.is_closed());
  EXPECT_FALSE(g.is_destroying());
  EXPECT_EQ(g.in_flight(), 2u);
  // ... and an add after it sees the bit, and is counted all the same.
  EXPECT_EQ(g.enter(), gate::closed | 2u);
  EXPECT_EQ(g.in_flight(), 3u);
  g.leave();
  g.leave();
  g.leave();
  EXPECT_EQ(g.in_flight(), 0u);
  EXPECT_TRUE(g.is_closed());  // the bit stays
  EXPECT_EQ(g.enter(), gate::closed);
  g.leave();
}

TEST(AdderGate, SecondCloseAddsDestroyingAndReturnsTheClosedBit) {
  gate g;
  EXPECT_EQ(g.close(gate::closed), 0u);
  EXPECT_EQ(g.close(gate::closed | gate::destroying), gate::closed);
  EXPECT_TRUE(g.is_closed());
  EXPECT_TRUE(g.is_destroying());
  EXPECT_EQ(g.in_flight(), 0u);
  EXPECT_EQ(g.enter(), gate::closed | gate::destroying);
  EXPECT_EQ(g.in_flight(), 1u);
  g.leave();
  // Idempotent.
  EXPECT_EQ(g.close(gate::closed | gate::destroying), gate::closed | gate::destroying);
}

TEST(AdderGate, DestroyingAloneSetsOnlyThatBit) {
  gate g;
  EXPECT_EQ(g.close(gate::destroying), 0u);
  EXPECT_TRUE(g.is_destroying());
  EXPECT_FALSE(g.is_closed());
}

TEST(AdderGate, WaitDrainedReturnsAtOnceWhenNoAddIsInside) {
  gate g;
  g.wait_drained();  // open, empty
  g.enter();
  g.leave();
  g.close(gate::closed);
  g.wait_drained();  // closed, empty: the bits are not a count
  g.close(gate::closed | gate::destroying);
  g.wait_drained();
  EXPECT_EQ(g.in_flight(), 0u);
}

TEST(AdderGate, WaitDrainedWaitsForALeaveOnAnotherThreadAndSeesItsWrites) {
  gate g;
  int written = 0;  // plain memory: ordered by leave() -> wait_drained() only
  std::atomic<bool> entered{false};
  std::atomic<bool> release_add{false};
  std::thread adder([&] {
    EXPECT_EQ(g.enter(), 0u);
    entered.store(true, std::memory_order_release);
    while (!release_add.load(std::memory_order_acquire)) std::this_thread::yield();
    written = 42;  // the add's last write to the object
    g.leave();
  });
  while (!entered.load(std::memory_order_acquire)) std::this_thread::yield();

  std::atomic<bool> drained{false};
  int seen = 0;
  std::thread closer([&] {
    EXPECT_EQ(g.close(gate::closed), 1u);  // the add is counted
    g.wait_drained();
    seen = written;  // happens-after the add's write (leave release, wait acquire)
    drained.store(true, std::memory_order_release);
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(drained.load(std::memory_order_acquire)) << "wait_drained() returned with an add inside";
  release_add.store(true, std::memory_order_release);
  adder.join();
  closer.join();
  EXPECT_TRUE(drained.load(std::memory_order_acquire));
  EXPECT_EQ(seen, 42);
  EXPECT_EQ(g.in_flight(), 0u);
}

TEST(AdderGate, WaitDrainedAlsoWaitsForAddsThatSawTheClosedBit) {
  gate g;
  g.close(gate::closed);
  EXPECT_EQ(g.enter(), gate::closed);  // a late add, on its way out
  std::atomic<bool> drained{false};
  std::thread closer([&] {
    g.wait_drained();
    drained.store(true, std::memory_order_release);
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(drained.load(std::memory_order_acquire));
  g.leave();
  closer.join();
  EXPECT_TRUE(drained.load(std::memory_order_acquire));
}

// Adds on many threads race with close(): every add either entered before the
// close (it is counted, and wait_drained() waits for it, so its effect is
// visible once the wait returns) or sees the closed bit (and does nothing).
// No add that found the gate open may act after the drain.
TEST(AdderGate, ConcurrentAddsEitherFinishBeforeTheDrainOrSeeTheBit) {
  for (int round = 0; round < 20; ++round) {
    gate g;
    std::atomic<std::uint64_t> acted{0};
    std::atomic<bool> go{false};
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> saw_closed{0};
    std::vector<std::thread> adders;
    const unsigned n = std::max(2u, std::min(4u, std::thread::hardware_concurrency()));
    for (unsigned t = 0; t < n; ++t) {
      adders.emplace_back([&] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        while (!stop.load(std::memory_order_relaxed)) {
          const gate::state s = g.enter();
          if ((s & gate::closed) == 0) {
            acted.fetch_add(1, std::memory_order_relaxed);  // the "push"
          } else {
            saw_closed.fetch_add(1, std::memory_order_relaxed);
          }
          g.leave();
        }
      });
    }
    go.store(true, std::memory_order_release);
    std::this_thread::sleep_for(1ms);
    g.close(gate::closed);
    g.wait_drained();
    const std::uint64_t at_drain = acted.load(std::memory_order_relaxed);
    std::this_thread::sleep_for(1ms);  // adds go on, all of them closed now
    stop.store(true, std::memory_order_relaxed);
    for (auto& a : adders) a.join();
    EXPECT_EQ(acted.load(std::memory_order_relaxed), at_drain) << "an add that found the gate open acted after the drain";
    EXPECT_EQ(g.in_flight(), 0u);
    EXPECT_TRUE(g.is_closed());
  }
}

}  // namespace
