// Unit tests of mpscq::detail::adder_gate (include/mpscq/detail/adder_gate.hpp),
// the in-flight adder count (split over shards) with the closed and
// destroying bits that local_work and task_work share: what enter() and
// close() return, the count, the bits' visibility to later enters on every
// shard, and wait_drained() waiting for adds that leave on other threads and
// other shards (and seeing what they did). The relaxed-memory
// side is checked by tests/model/relacy/adder_gate_model.cpp; under TSan the
// plain `written`/`seen` pair below reports a data race when the gate's
// leave()/wait_drained() orders are relaxed (MPSCQ_MUTANT_GATE_RELAXED).
#include <mpscq/detail/adder_gate.hpp>

#include <gtest/gtest.h>
#include <pthread.h>

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
  EXPECT_EQ(gate::count_mask & gate::limited, 0u);
  EXPECT_EQ(gate::done_mask & (gate::count_mask | gate::flag_mask), 0u);
  EXPECT_EQ(gate::count_mask | gate::closed | gate::destroying | gate::limited | gate::done_mask, ~gate::state{0});
}

TEST(AdderGate, StartsOpenAndEmpty) {
  gate g;
  EXPECT_FALSE(g.is_closed());
  EXPECT_FALSE(g.is_destroying());
  EXPECT_EQ(g.in_flight(), 0u);
}

TEST(AdderGate, EnterReturnsTheStateBeforeAndCounts) {
  gate g;
  EXPECT_EQ(g.enter_shard(0).before, 0u);
  EXPECT_EQ(g.in_flight(), 1u);
  EXPECT_EQ(g.enter_shard(0).before, 1u);
  EXPECT_EQ(g.enter_shard(0).before, 2u);
  EXPECT_EQ(g.in_flight(), 3u);
  g.leave({0, 0});
  EXPECT_EQ(g.in_flight(), 2u);
  EXPECT_EQ(g.enter_shard(0).before, 2u);
  g.leave({0, 0});
  g.leave({0, 0});
  g.leave({0, 0});
  EXPECT_EQ(g.in_flight(), 0u);
  EXPECT_FALSE(g.is_closed());
}

TEST(AdderGate, ManyAddsDoNotTouchTheBits) {
  gate g;
  constexpr gate::state n = 10000;
  for (gate::state i = 0; i < n; ++i) EXPECT_EQ(g.enter_shard(0).before, i);
  EXPECT_EQ(g.in_flight(), n);
  EXPECT_FALSE(g.is_closed());
  EXPECT_FALSE(g.is_destroying());
  for (gate::state i = 0; i < n; ++i) g.leave({0, 0});
  EXPECT_EQ(g.in_flight(), 0u);
}

TEST(AdderGate, CloseReturnsTheWordBeforeAndLaterEntersSeeTheBit) {
  gate g;
  EXPECT_EQ(g.enter_shard(0).before, 0u);
  EXPECT_EQ(g.enter_shard(0).before, 1u);
  // close() returns the bits before (none) ...
  EXPECT_EQ(g.close(gate::closed), 0u);
  EXPECT_TRUE(g.is_closed());
  EXPECT_FALSE(g.is_destroying());
  EXPECT_EQ(g.in_flight(), 2u);
  // ... and an add after it sees the bit, and is counted all the same.
  EXPECT_EQ(g.enter_shard(0).before, gate::closed | 2u);
  EXPECT_EQ(g.in_flight(), 3u);
  g.leave({0, 0});
  g.leave({0, 0});
  g.leave({0, 0});
  EXPECT_EQ(g.in_flight(), 0u);
  EXPECT_TRUE(g.is_closed());  // the bit stays
  EXPECT_EQ(g.enter_shard(0).before, gate::closed);
  g.leave({0, 0});
}

TEST(AdderGate, SecondCloseAddsDestroyingAndReturnsTheClosedBit) {
  gate g;
  EXPECT_EQ(g.close(gate::closed), 0u);
  EXPECT_EQ(g.close(gate::closed | gate::destroying), gate::closed);
  EXPECT_TRUE(g.is_closed());
  EXPECT_TRUE(g.is_destroying());
  EXPECT_EQ(g.in_flight(), 0u);
  EXPECT_EQ(g.enter_shard(0).before, gate::closed | gate::destroying);
  EXPECT_EQ(g.in_flight(), 1u);
  g.leave({0, 0});
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
  g.leave(g.enter());
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
    EXPECT_EQ(g.enter_shard(0).before, 0u);
    entered.store(true, std::memory_order_release);
    while (!release_add.load(std::memory_order_acquire)) std::this_thread::yield();
    written = 42;  // the add's last write to the object
    g.leave({0, 0});
  });
  while (!entered.load(std::memory_order_acquire)) std::this_thread::yield();

  std::atomic<bool> drained{false};
  int seen = 0;
  std::thread closer([&] {
    EXPECT_EQ(g.close(gate::closed), 0u);  // no bit before
    EXPECT_EQ(g.in_flight(), 1u);          // the add is counted
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
  EXPECT_EQ(g.enter_shard(0).before, gate::closed);  // a late add, on its way out
  std::atomic<bool> drained{false};
  std::thread closer([&] {
    g.wait_drained();
    drained.store(true, std::memory_order_release);
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(drained.load(std::memory_order_acquire));
  g.leave({0, 0});
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
          const gate::ticket t = g.enter();
          if ((t.before & gate::closed) == 0) {
            acted.fetch_add(1, std::memory_order_relaxed);  // the "push"
          } else {
            saw_closed.fetch_add(1, std::memory_order_relaxed);
          }
          g.leave(t);
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

// The shards: close() reaches every one, wait_drained() waits on every one,
// and a thread keeps its shard.
TEST(AdderGate, CloseSetsTheBitsInEveryShard) {
  gate g;
  g.close(gate::closed);
  for (unsigned i = 0; i < gate::shards; ++i) {
    const gate::ticket t = g.enter_shard(i);
    EXPECT_EQ(t.before, gate::closed) << "shard " << i;
    EXPECT_EQ(t.shard, i);
    g.leave(t);
  }
  g.close(gate::destroying);
  for (unsigned i = 0; i < gate::shards; ++i) {
    const gate::ticket t = g.enter_shard(i);
    EXPECT_EQ(t.before, gate::closed | gate::destroying) << "shard " << i;
    g.leave(t);
  }
  EXPECT_EQ(g.in_flight(), 0u);
}

TEST(AdderGate, InFlightSumsTheShards) {
  gate g;
  std::vector<gate::ticket> tickets;
  for (unsigned i = 0; i < gate::shards; ++i) tickets.push_back(g.enter_shard(i));
  EXPECT_EQ(g.in_flight(), gate::shards);
  for (const gate::ticket& t : tickets) g.leave(t);
  EXPECT_EQ(g.in_flight(), 0u);
}

TEST(AdderGate, WaitDrainedWaitsForAnAddOnTheLastShard) {
  gate g;
  const gate::ticket t = g.enter_shard(gate::shards - 1);
  int written = 0;
  std::atomic<bool> drained{false};
  int seen = 0;
  g.close(gate::closed);
  std::thread closer([&] {
    g.wait_drained();
    seen = written;  // ordered by the last shard's leave -> wait
    drained.store(true, std::memory_order_release);
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(drained.load(std::memory_order_acquire)) << "wait_drained() did not wait on shard " << t.shard;
  written = 7;
  g.leave(t);
  closer.join();
  EXPECT_EQ(seen, 7);
}

TEST(AdderGate, AThreadKeepsItsShardAndThreadsSpreadOverThem) {
  const unsigned mine = gate::shard_of_this_thread();
  EXPECT_LT(mine, gate::shards);
  EXPECT_EQ(gate::shard_of_this_thread(), mine);
  gate g;
  const gate::ticket t = g.enter();
  EXPECT_EQ(t.shard, mine);
  g.leave(t);
  if constexpr (gate::shards > 1) {
    // Threads' stacks lie megabytes apart: 16 threads must not all hash to
    // one shard (that would be the one shared word again).
    std::vector<unsigned> seen(16);
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < seen.size(); ++i)
      threads.emplace_back([&seen, i] { seen[i] = gate::shard_of_this_thread(); });
    for (auto& th : threads) th.join();
    std::sort(seen.begin(), seen.end());
    EXPECT_GT(std::unique(seen.begin(), seen.end()) - seen.begin(), 1) << "every thread hashed to one shard";
    // Small stacks (64 KiB, as fiber or pool runtimes use): they lie one
    // granule apart, and must spread too (the 0.3.0 draft hashed 1 MiB
    // granules and its low bits: 16 such threads all landed on one shard).
    std::vector<unsigned> small(16);
    std::vector<pthread_t> ids(small.size());
    pthread_attr_t attr;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
    for (std::size_t i = 0; i < small.size(); ++i) {
      ASSERT_EQ(pthread_create(
                    &ids[i], &attr,
                    [](void* out) -> void* {
                      *static_cast<unsigned*>(out) = gate::shard_of_this_thread();
                      return nullptr;
                    },
                    &small[i]),
                0);
    }
    for (pthread_t id : ids) pthread_join(id, nullptr);
    pthread_attr_destroy(&attr);
    std::sort(small.begin(), small.end());
    EXPECT_GT(std::unique(small.begin(), small.end()) - small.begin(), 1)
        << "16 threads with 64 KiB stacks all hashed to one shard";
  }
}

}  // namespace
