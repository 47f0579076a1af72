// Unit tests of local_work_stats' items_added and depth (issue 21, item 2):
// counted inside the adder gate's leave() (detail/adder_gate.hpp, WORD
// LAYOUT), widened against items run + cancelled (adder_gate::widen).
//
// No test asserts a duration.
#include <mpscq/detail/adder_gate.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/work_chain.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

using gate = mpscq::detail::adder_gate;

struct counted : mpscq::work {
  int runs = 0;
  int cancelled = 0;
  counted() { func = &counted::run; }
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = static_cast<counted&>(w);
    if (st.cancel) {
      ++self.cancelled;
    } else {
      ++self.runs;
    }
  }
};

// --- the gate's `done` field ---------------------------------------------------

TEST(GateAddedCount, LeaveAddedCountsAndLeaveDoesNot) {
  gate g;
  EXPECT_EQ(g.added(), 0u);
  g.leave_added(g.enter_shard(0));
  g.leave(g.enter_shard(0));  // uncounted
  g.leave_added(g.enter_shard(gate::shards - 1), 5);
  EXPECT_EQ(g.added(), 6u);
  EXPECT_EQ(g.in_flight(), 0u);
  // The counted leave takes exactly one add out of the count, nothing else.
  const gate::ticket a = g.enter_shard(0);
  const gate::ticket b = g.enter_shard(0);
  g.leave_added(a, 3);
  EXPECT_EQ(g.in_flight(), 1u);
  EXPECT_EQ(g.enter_shard(0).before & gate::count_mask, 1u);
  g.leave(b);
  g.leave(b);
  EXPECT_EQ(g.in_flight(), 0u);
  EXPECT_EQ(g.added(), 9u);
}

TEST(GateAddedCount, TheFlagsSurviveTheCount) {
  gate g;
  g.set_flags(gate::limited);
  const gate::state before = g.close(gate::closed);
  EXPECT_EQ(before, gate::limited);
  for (int i = 0; i < 100; ++i) g.leave_added(g.enter_shard(0), 1u << 20);
  const gate::ticket t = g.enter_shard(0);
  EXPECT_EQ(t.before & gate::flag_mask, gate::closed | gate::limited);
  EXPECT_EQ(t.before & gate::count_mask, 0u);
  g.leave(t);
  EXPECT_EQ(g.added(), 100u << 20);
  EXPECT_TRUE(g.is_closed());
  EXPECT_FALSE(g.is_destroying());
  // close() returns flags only, never the done count.
  EXPECT_EQ(g.close(gate::closed), gate::closed | gate::limited);
}

TEST(GateAddedCount, WrapsModuloTheFieldAndWidens) {
  gate g;
  const std::uint64_t modulus = std::uint64_t{1} << gate::done_bits;
  // Past the field's width on one shard: the count wraps, the flags and the
  // in-flight count stay as they were.
  g.leave_added(g.enter_shard(0), modulus - 2);
  g.leave_added(g.enter_shard(0), 5);
  EXPECT_EQ(g.added(), 3u);
  EXPECT_EQ(g.in_flight(), 0u);
  EXPECT_FALSE(g.is_closed());
  // widen(): the 64-bit count next above a known floor.
  EXPECT_EQ(gate::widen(3, modulus - 10), modulus + 3);  // 13 queued across the wrap
  EXPECT_EQ(gate::widen(3, 3), 3u);
  EXPECT_EQ(gate::widen(7, 3), 7u);
  EXPECT_EQ(gate::widen(2, 3), 3u);  // behind the floor: nothing queued
  EXPECT_EQ(gate::widen(5, 5 * modulus + 1), 5 * modulus + 5);
  EXPECT_EQ(gate::widen(0, 5 * modulus + 1), 5 * modulus + 1);  // behind
  EXPECT_EQ(gate::widen(4, 6 * modulus - 2), 6 * modulus + 4);  // across the wrap
}

// --- local_work's figures --------------------------------------------------------

TEST(LocalWorkStats, AddedAndDepthFollowAKnownSequence) {
  mpscq::local_work lw;
  std::vector<counted> items(10);
  EXPECT_EQ(lw.stats().items_added, 0u);
  EXPECT_EQ(lw.stats().depth, 0u);
  for (int i = 0; i < 3; ++i) lw.add(items[i], i % 2 == 0 ? mpscq::wake::eager : mpscq::wake::lazy);
  auto s = lw.stats();
  EXPECT_EQ(s.items_added, 3u);
  EXPECT_EQ(s.depth, 3u);
  EXPECT_EQ(lw.run(2), 2);
  s = lw.stats();
  EXPECT_EQ(s.items_added, 3u);
  EXPECT_EQ(s.items_run, 2u);
  EXPECT_EQ(s.depth, 1u);
  mpscq::work_chain chain;
  for (int i = 3; i < 7; ++i) chain.append(items[i]);
  lw.add_batch(chain, mpscq::wake::lazy);
  s = lw.stats();
  EXPECT_EQ(s.items_added, 7u);
  EXPECT_EQ(s.depth, 5u);
  EXPECT_EQ(lw.try_add(items[7]), mpscq::add_status::added);  // unbounded: added, counted
  EXPECT_EQ(lw.stats().items_added, 8u);
  EXPECT_EQ(lw.run(100), 6);
  s = lw.stats();
  EXPECT_EQ(s.items_added, 8u);
  EXPECT_EQ(s.items_run, 8u);
  EXPECT_EQ(s.depth, 0u);
  lw.close();
}

TEST(LocalWorkStats, InterruptAndAnAddAfterCloseAreNotCounted) {
  mpscq::local_work lw;
  counted a, b, c;
  lw.interrupt();
  lw.interrupt();
  EXPECT_EQ(lw.stats().items_added, 0u);
  EXPECT_EQ(lw.stats().depth, 0u);
  lw.add(a);
  lw.add(b);
  EXPECT_EQ(lw.run(1), 1);
  lw.close();  // b runs cancelled
  auto s = lw.stats();
  EXPECT_EQ(s.items_added, 2u);
  EXPECT_EQ(s.items_run, 1u);
  EXPECT_EQ(s.items_cancelled, 1u);
  EXPECT_EQ(s.depth, 0u);
  lw.add(c);  // closed: runs here, cancelled, not queued
  mpscq::work_chain chain;
  counted d, e;
  chain.append(d);
  chain.append(e);
  lw.add_batch(chain);  // closed: both run here
  EXPECT_EQ(lw.try_add(a), mpscq::add_status::closed);
  lw.interrupt();
  s = lw.stats();
  EXPECT_EQ(c.cancelled + d.cancelled + e.cancelled, 3);
  EXPECT_EQ(s.cancelled_inline, 3u);
  EXPECT_EQ(s.items_added, 2u);
  EXPECT_EQ(s.depth, 0u);
}

TEST(LocalWorkStats, ManyProducersThenRunAddedEqualsRun) {
  constexpr int producers = 4;
  constexpr int per_producer = 5000;
  mpscq::local_work lw;
  std::vector<std::unique_ptr<counted[]>> items;
  for (int p = 0; p < producers; ++p) items.push_back(std::make_unique<counted[]>(per_producer));
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        if (i % 10 == 9) {
          mpscq::work_chain chain;
          chain.append(items[p][i]);
          lw.add_batch(chain, mpscq::wake::lazy);
        } else {
          lw.add(items[p][i], mpscq::wake::lazy);
        }
      }
    });
  for (auto& t : threads) t.join();
  constexpr std::uint64_t total = std::uint64_t{producers} * per_producer;
  auto s = lw.stats();
  EXPECT_EQ(s.items_added, total);
  EXPECT_EQ(s.depth, total);
  int ran = 0;
  while (ran < static_cast<int>(total)) ran += lw.run(1000);
  s = lw.stats();
  EXPECT_EQ(s.items_run, total);
  EXPECT_EQ(s.items_added, s.items_run);
  EXPECT_EQ(s.depth, 0u);
  lw.close();
}

TEST(LocalWorkStats, ConcurrentProducersAndOwnerEndExact) {
  // Producers add while the owner runs and reads stats(): every snapshot
  // keeps added >= run and depth == added - run; at the end all are exact.
  constexpr int producers = 3;
  constexpr int per_producer = 4000;
  mpscq::local_work lw;
  std::vector<std::unique_ptr<counted[]>> items;
  for (int p = 0; p < producers; ++p) items.push_back(std::make_unique<counted[]>(per_producer));
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) lw.add(items[p][i], mpscq::wake::lazy);
    });
  constexpr std::uint64_t total = std::uint64_t{producers} * per_producer;
  std::uint64_t ran = 0;
  while (ran < total) {
    ran += static_cast<std::uint64_t>(lw.wait(1, std::chrono::seconds(30)));
    const auto s = lw.stats();
    EXPECT_GE(s.items_added, s.items_run);
    EXPECT_EQ(s.depth, s.items_added - s.items_run);
    EXPECT_LE(s.items_added, total);
  }
  for (auto& t : threads) t.join();
  const auto s = lw.stats();
  EXPECT_EQ(s.items_added, total);
  EXPECT_EQ(s.items_run, total);
  EXPECT_EQ(s.depth, 0u);
  lw.close();
}

TEST(LocalWorkStats, BoundedDepthIsAdmissionsAndRefusedAddsAreNotCounted) {
  mpscq::local_work_options o;
  o.limit = 2;
  mpscq::local_work lw(o);
  counted a, b, c, d;
  EXPECT_EQ(lw.try_add(a), mpscq::add_status::added);
  lw.add(b);  // never refused; counts
  EXPECT_EQ(lw.try_add(c), mpscq::add_status::full);
  auto s = lw.stats();
  EXPECT_EQ(s.items_added, 2u);
  EXPECT_EQ(s.refused, 1u);
  EXPECT_EQ(s.depth, 2u);
  EXPECT_EQ(lw.run(10), 2);
  EXPECT_EQ(lw.try_add(d), mpscq::add_status::added);
  s = lw.stats();
  EXPECT_EQ(s.items_added, 3u);
  EXPECT_EQ(s.depth, 1u);
  lw.close();
  s = lw.stats();
  EXPECT_EQ(s.items_cancelled, 1u);
  EXPECT_EQ(s.depth, 0u);
  EXPECT_EQ(s.items_added, 3u);
}

}  // namespace
