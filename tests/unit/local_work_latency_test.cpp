// Unit tests of local_work::sample_latency() / latency() (issue 21, item 2):
// the probe item of detail/latency_probe.hpp.
//
// No test asserts a duration from above: the only timing checks are lower
// bounds that the test itself enforces by sleeping inside an item ahead of
// the probe, and wait() timeouts that end a wait the probe must not end.
#include <mpscq/local_work.hpp>

#include <poll.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;

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

// Holds the owner up for `hold` before the items behind it run.
struct sleeper : mpscq::work {
  std::chrono::milliseconds hold{0};
  sleeper() { func = &sleeper::run; }
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    if (!st.cancel) std::this_thread::sleep_for(static_cast<sleeper&>(w).hold);
  }
};

TEST(LocalWorkLatency, NoSamplesReadsEmpty) {
  mpscq::local_work lw;
  const auto l = lw.latency();
  EXPECT_EQ(l.count, 0u);
  EXPECT_EQ(l.max, 0ns);
  EXPECT_EQ(l.p(0.5), 0ns);
  EXPECT_EQ(lw.run(10), 0);
}

TEST(LocalWorkLatency, AProbeBehindABusyQueueWaitsAtLeastTheHoldUp) {
  mpscq::local_work lw;
  sleeper s;
  s.hold = 20ms;
  counted after;
  lw.add(s);
  lw.sample_latency();  // stamped now, queued behind s
  lw.add(after);
  EXPECT_EQ(lw.run(10), 2);  // s and after; the probe is no item
  EXPECT_EQ(after.runs, 1);
  const auto l = lw.latency();
  ASSERT_EQ(l.count, 1u);
  EXPECT_GE(l.max, 20ms);
  EXPECT_GE(l.p(0.5), 20ms);  // an upper bound of the sample
  EXPECT_GE(l.p(0.99), l.max);
  // The one sample sits in the bucket of its bit width.
  const auto ns = static_cast<std::uint64_t>(l.max.count());
  EXPECT_EQ(l.buckets[std::bit_width(ns)], 1u);
  EXPECT_LE(l.p(1.0).count(), 2 * l.max.count() + 1);
  lw.close();
}

TEST(LocalWorkLatency, ASampleFromAnotherThreadWhileTheOwnerIsHeldUp) {
  mpscq::local_work lw;
  std::atomic<bool> entered{false};
  std::atomic<bool> sampled{false};
  struct gate_item : mpscq::work {
    std::atomic<bool>* entered;
    std::atomic<bool>* sampled;
  } g;
  g.entered = &entered;
  g.sampled = &sampled;
  g.func = [](mpscq::work& w, mpscq::run_state st) noexcept {
    if (st.cancel) return;
    auto& self = static_cast<gate_item&>(w);
    self.entered->store(true, std::memory_order_release);
    while (!self.sampled->load(std::memory_order_acquire)) std::this_thread::yield();
    std::this_thread::sleep_for(10ms);  // the hold-up after the sample
  };
  lw.add(g);
  std::thread sampler([&] {
    while (!entered.load(std::memory_order_acquire)) std::this_thread::yield();
    lw.sample_latency();
    sampled.store(true, std::memory_order_release);
  });
  EXPECT_EQ(lw.run(10), 1);  // g (the probe arrives while g runs: the same pass may take it)
  sampler.join();
  lw.run(10);  // the probe, if that pass did not take it
  const auto l = lw.latency();
  ASSERT_EQ(l.count, 1u);
  EXPECT_GE(l.max, 10ms);
  lw.close();
}

TEST(LocalWorkLatency, ProbesChangeNoReturnValueNorCounter) {
  mpscq::local_work lw;
  std::vector<counted> items(6);
  lw.sample_latency();
  lw.add(items[0]);
  // The probe at the head does not take an item's place under max_events.
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_EQ(items[0].runs, 1);
  // [item, probe, item, item]: run(2) runs two items, leaves one.
  lw.add(items[1]);
  lw.sample_latency();
  lw.add(items[2]);
  lw.add(items[3]);
  EXPECT_EQ(lw.run(2), 2);
  EXPECT_EQ(items[2].runs, 1);
  EXPECT_EQ(items[3].runs, 0);
  EXPECT_TRUE(lw.has_work());
  EXPECT_EQ(lw.run(10), 1);
  // wait(): min_events counts items only.
  lw.sample_latency();
  lw.add(items[4], mpscq::wake::lazy);
  lw.add(items[5], mpscq::wake::lazy);
  EXPECT_EQ(lw.wait(2, 10s), 2);
  const auto s = lw.stats();
  EXPECT_EQ(s.items_run, 6u);
  EXPECT_EQ(s.items_added, 6u);
  EXPECT_EQ(s.depth, 0u);
  EXPECT_EQ(s.timeouts, 0u);
  EXPECT_EQ(lw.latency().count, 3u);
  lw.close();
  EXPECT_EQ(lw.stats().items_cancelled, 0u);
}

TEST(LocalWorkLatency, AProbeAloneNeitherCountsTowardsMinEventsNorEndsAWait) {
  mpscq::local_work lw;
  lw.sample_latency();
  EXPECT_TRUE(lw.has_work());  // the add that found the queue empty signals
  // The probe runs in the first pass, counts for nothing; the wait goes on
  // to its timeout (only the timeout can end it: the probe wakes no one).
  EXPECT_EQ(lw.wait(1, 30ms), 0);
  EXPECT_EQ(lw.stats().timeouts, 1u);
  EXPECT_EQ(lw.stats().items_run, 0u);
  EXPECT_EQ(lw.latency().count, 1u);
  EXPECT_FALSE(lw.has_work());
  lw.close();
}

TEST(LocalWorkLatency, ANestedRunCountsItsOwnProbe) {
  // [a, probe, b, c], a runs lw.run(1) nested: the nested run takes the
  // probe and b and returns 1; the outer run returns 2 (a, c).
  mpscq::local_work lw;
  counted b, c;
  struct nesting : mpscq::work {
    mpscq::local_work* lw;
    int nested = -1;
  } a;
  a.lw = &lw;
  a.func = [](mpscq::work& w, mpscq::run_state st) noexcept {
    if (st.cancel) return;
    auto& self = static_cast<nesting&>(w);
    self.nested = self.lw->run(1);
  };
  lw.add(a);
  lw.sample_latency();
  lw.add(b);
  lw.add(c);
  EXPECT_EQ(lw.run(10), 2);
  EXPECT_EQ(a.nested, 1);
  EXPECT_EQ(b.runs, 1);
  EXPECT_EQ(c.runs, 1);
  EXPECT_EQ(lw.stats().items_run, 3u);
  EXPECT_EQ(lw.latency().count, 1u);
  lw.close();
}

TEST(LocalWorkLatency, ANestedRunDoesNotTakeTheOuterRunsProbe) {
  // [probe, a, b, c], a runs lw.run(1) nested after the outer run took the
  // probe: the nested run runs b only (the outer's probe is not its own, so
  // it does not make room for c); the outer runs a and c.
  mpscq::local_work lw;
  counted b, c;
  struct nesting : mpscq::work {
    mpscq::local_work* lw;
    counted* c;
    int nested = -1;
    int c_runs_after_nested = -1;
  } a;
  a.lw = &lw;
  a.c = &c;
  a.func = [](mpscq::work& w, mpscq::run_state st) noexcept {
    if (st.cancel) return;
    auto& self = static_cast<nesting&>(w);
    self.nested = self.lw->run(1);
    self.c_runs_after_nested = self.c->runs;
  };
  lw.sample_latency();
  lw.add(a);
  lw.add(b);
  lw.add(c);
  EXPECT_EQ(lw.run(10), 2);
  EXPECT_EQ(a.nested, 1);
  EXPECT_EQ(a.c_runs_after_nested, 0);
  EXPECT_EQ(b.runs, 1);
  EXPECT_EQ(c.runs, 1);
  EXPECT_EQ(lw.stats().items_run, 3u);
  lw.close();
}

TEST(LocalWorkLatency, ASampleDoesNotWakeASleepingOwner) {
  // The probe claims no wake: an owner asleep in wait(1, ...) sleeps on to
  // its timeout (stats().wakes stays 0), then runs the probe.
  mpscq::local_work lw;
  int ran = -1;
  std::thread owner([&] { ran = lw.wait(1, 500ms); });
  while (lw.stats().sleeps == 0) std::this_thread::yield();  // the owner is (about to be) asleep
  lw.sample_latency();
  owner.join();
  EXPECT_EQ(ran, 0);
  const auto s = lw.stats();
  EXPECT_EQ(s.wakes, 0u);
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.items_run, 0u);
  EXPECT_EQ(lw.latency().count, 1u);  // the timeout's last pass ran it
  lw.close();
}

TEST(LocalWorkLatency, CloseDropsAProbeInFlightAndLaterSamplesDoNothing) {
  mpscq::local_work_options o;
  o.enable_eventfd = true;
  mpscq::local_work lw(o);
  counted a;
  lw.add(a);
  lw.sample_latency();
  lw.sample_latency();  // one in flight already: nothing
  lw.close();
  auto s = lw.stats();
  EXPECT_EQ(a.cancelled, 1);
  EXPECT_EQ(s.items_cancelled, 1u);
  EXPECT_EQ(s.items_added, 1u);
  EXPECT_EQ(lw.latency().count, 0u);  // dropped unrecorded
  lw.sample_latency();                // closed: does nothing
  EXPECT_FALSE(lw.has_work());
  pollfd p{lw.event_fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);  // not readable
  EXPECT_EQ(lw.run(10), 0);
  EXPECT_EQ(lw.latency().count, 0u);
  EXPECT_EQ(lw.stats().items_cancelled, 1u);
}

TEST(LocalWorkLatency, BoundedTheProbeTakesNoRoom) {
  mpscq::local_work_options o;
  o.limit = 1;
  mpscq::local_work lw(o);
  counted a, b;
  lw.sample_latency();
  EXPECT_EQ(lw.try_add(a), mpscq::add_status::added);
  EXPECT_EQ(lw.try_add(b), mpscq::add_status::full);
  EXPECT_EQ(lw.stats().depth, 1u);
  EXPECT_EQ(lw.run(10), 1);
  EXPECT_EQ(lw.stats().depth, 0u);
  EXPECT_EQ(lw.try_add(b), mpscq::add_status::added);
  EXPECT_EQ(lw.run(10), 1);
  EXPECT_EQ(lw.latency().count, 1u);
  lw.close();
}

TEST(LocalWorkLatency, ConcurrentSamplersKeepOneProbeInFlight) {
  // Samplers race each other and producers while the owner runs: the probe
  // node is pushed only by its claimer (a second push of a queued node
  // would corrupt the queue and lose or repeat items). Every item runs once
  // and nothing the probe did shows in the item counts.
  constexpr int samplers = 3;
  constexpr int samples = 2000;
  constexpr int producers = 2;
  constexpr int per_producer = 3000;
  mpscq::local_work lw;
  std::vector<std::unique_ptr<counted[]>> items;
  for (int p = 0; p < producers; ++p) items.push_back(std::make_unique<counted[]>(per_producer));
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < samplers; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < samples; ++k) {
        lw.sample_latency();
        if (k % 64 == 0) std::this_thread::yield();
      }
      done.fetch_add(1, std::memory_order_release);
    });
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) lw.add(items[p][i], mpscq::wake::lazy);
      done.fetch_add(1, std::memory_order_release);
    });
  long ran = 0;
  while (done.load(std::memory_order_acquire) < samplers + producers) ran += lw.run(64);
  for (auto& t : threads) t.join();
  ran += lw.run(1 << 20);
  constexpr long total = long{producers} * per_producer;
  EXPECT_EQ(ran, total);
  for (int p = 0; p < producers; ++p)
    for (int i = 0; i < per_producer; ++i) ASSERT_EQ(items[p][i].runs, 1) << p << " " << i;
  const auto s = lw.stats();
  EXPECT_EQ(s.items_run, static_cast<std::uint64_t>(total));
  EXPECT_EQ(s.items_added, static_cast<std::uint64_t>(total));
  const auto l = lw.latency();
  EXPECT_GE(l.count, 1u);
  EXPECT_LE(l.count, std::uint64_t{samplers} * samples);
  EXPECT_FALSE(lw.has_work());
  lw.close();
}

TEST(LocalWorkLatencySnapshot, PercentilesPickTheBucketTop) {
  mpscq::local_work_latency l;
  l.buckets[3] = 50;   // 4-7 ns
  l.buckets[10] = 40;  // 512-1023 ns
  l.buckets[20] = 10;  // 2^19 - 2^20-1 ns
  l.count = 100;
  EXPECT_EQ(l.p(0.0), 7ns);
  EXPECT_EQ(l.p(0.5), 7ns);
  EXPECT_EQ(l.p(0.51), 1023ns);
  EXPECT_EQ(l.p(0.9), 1023ns);
  EXPECT_EQ(l.p(0.91), std::chrono::nanoseconds((1 << 20) - 1));
  EXPECT_EQ(l.p(1.0), std::chrono::nanoseconds((1 << 20) - 1));
  EXPECT_EQ(l.p(2.0), std::chrono::nanoseconds((1 << 20) - 1));
  mpscq::local_work_latency zero;
  zero.buckets[0] = 1;
  zero.count = 1;
  EXPECT_EQ(zero.p(0.5), 0ns);
}

}  // namespace
