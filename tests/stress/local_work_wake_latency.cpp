// local_work_wake_latency - a measurement tool, not a test (built by
// tests/stress/local_work.cmake, not registered with CTest).
//
//   local_work_wake_latency [--samples N] [--lazy-items N] [--min-events N]
//
// 1. Eager wake latency. Three owners sleep at once: one in
//    mpscq::local_work::wait(), one in mpscq::baseline::llist_local_work::wait(), one
//    in a bare futex_wait (detail/futex.hpp, the same syscall). For each
//    sample a producer waits until the owner is asleep (its sleep counter
//    moved, then 50-150 us more), takes t0 and adds one eager item (or bumps
//    the word and issues FUTEX_WAKE); the owner takes t1 when the item runs
//    (when futex_wait returns). Samples of the three kinds are interleaved
//    (A B C A B C ...) so machine noise hits them alike. Prints median, p90,
//    p99 of t1 - t0 per kind and the ratio to the bare futex, plus what the
//    producer's add() itself cost (it pays the FUTEX_WAKE syscall).
// 2. Wakes per wait cycle for lazy traffic. The owner loops
//    wait(min_events, 1 s); a producer adds --lazy-items lazy items with
//    short random gaps. Prints futex wakes, wait cycles, sleeps, wakes per
//    sleep and per item, for both variants.
//
// Timing is wall-clock on a shared machine: quote the ratios, and rerun.
#include <mpscq/detail/futex.hpp>
#include <mpscq/baseline/llist_local_work.hpp>
#include <mpscq/local_work.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

struct probe : mpscq::baseline::llist_work {
  std::atomic<std::int64_t> ran_at{0};
  probe() {
    func = [](mpscq::work& w, mpscq::run_state) noexcept { static_cast<probe&>(w).ran_at.store(now_ns()); };
  }
};

void wait_until(const std::atomic<std::int64_t>& flag) {
  while (flag.load() == 0) std::this_thread::sleep_for(5us);
}

// Waits until the owner went to sleep again since the last sample (its sleep
// counter moved past `last`), then a random 50-150 us more so that it is in
// the kernel; updates `last` to the count it is asleep at.
template <class F>
void wait_for_sleep(F sleeps, std::uint64_t& last, std::mt19937& rng) {
  while (sleeps() <= last) std::this_thread::sleep_for(5us);
  std::this_thread::sleep_for(std::chrono::microseconds(50 + rng() % 100));
  last = sleeps();
}

struct summary {
  double p50, p90, p99, mean;
};
summary summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))]; };
  double sum = 0;
  for (double x : v) sum += x;
  return {at(0.50), at(0.90), at(0.99), sum / static_cast<double>(v.size())};
}

template <class LW>
struct lw_owner {
  LW lw;
  std::atomic<bool> stop{false};
  std::thread thread;
  explicit lw_owner(std::thread::id) {}
  void start() {
    thread = std::thread([this] {
      while (!stop.load()) lw.wait(1 << 30, 1s);
      lw.close();
    });
  }
  std::uint64_t sleeps() const { return lw.stats().sleeps; }
  void finish(mpscq::baseline::llist_work& kick) {
    stop.store(true);
    lw.add(kick, mpscq::wake::eager);
    thread.join();
  }
};

struct bare_owner {
  mpscq::detail::futex_word word{0};
  std::atomic<std::uint64_t> sleep_count{0};
  std::atomic<std::int64_t> woke_at{0};
  std::atomic<bool> stop{false};
  std::thread thread;
  void start() {
    thread = std::thread([this] {
      for (;;) {
        const int seq = word.load(std::memory_order_acquire);
        if (stop.load()) return;
        sleep_count.fetch_add(1);
        mpscq::detail::futex_wait(word, seq, std::chrono::nanoseconds::max());
        woke_at.store(now_ns());
      }
    });
  }
  std::uint64_t sleeps() const { return sleep_count.load(); }
  void wake() {
    word.fetch_add(1, std::memory_order_release);
    mpscq::detail::futex_wake(word, 1);
  }
  void finish() {
    stop.store(true);
    wake();
    thread.join();
  }
};

void eager_latency(int samples) {
  lw_owner<mpscq::local_work> fifo(std::this_thread::get_id());
  lw_owner<mpscq::baseline::llist_local_work> legacy(std::this_thread::get_id());
  bare_owner bare;
  fifo.start();
  legacy.start();
  bare.start();
  std::mt19937 rng(42);
  std::vector<double> lat[3], add_cost[3];
  probe p;
  std::uint64_t last[3] = {0, 0, 0};
  for (int i = 0; i < samples; ++i) {
    for (int kind = 0; kind < 3; ++kind) {
      std::int64_t t0 = 0, t_after = 0, t1 = 0;
      if (kind == 0) {
        wait_for_sleep([&] { return fifo.sleeps(); }, last[0], rng);
        p.ran_at.store(0);
        t0 = now_ns();
        fifo.lw.add(p, mpscq::wake::eager);
        t_after = now_ns();
        wait_until(p.ran_at);
        t1 = p.ran_at.load();
      } else if (kind == 1) {
        wait_for_sleep([&] { return legacy.sleeps(); }, last[1], rng);
        p.ran_at.store(0);
        t0 = now_ns();
        legacy.lw.add(p, mpscq::wake::eager);
        t_after = now_ns();
        wait_until(p.ran_at);
        t1 = p.ran_at.load();
      } else {
        wait_for_sleep([&] { return bare.sleeps(); }, last[2], rng);
        bare.woke_at.store(0);
        t0 = now_ns();
        bare.wake();
        t_after = now_ns();
        wait_until(bare.woke_at);
        t1 = bare.woke_at.load();
      }
      lat[kind].push_back(static_cast<double>(t1 - t0) / 1000.0);
      add_cost[kind].push_back(static_cast<double>(t_after - t0) / 1000.0);
    }
  }
  probe kick1, kick2;
  fifo.finish(kick1);
  legacy.finish(kick2);
  bare.finish();

  static const char* names[3] = {"local_work eager add", "baseline::llist_local_work eager add", "bare futex wake"};
  const summary base = summarize(lat[2]);
  std::printf("eager wake latency, %d samples each, interleaved (us: add() start -> item runs on the owner):\n",
              samples);
  for (int k = 0; k < 3; ++k) {
    const summary s = summarize(lat[k]);
    const summary c = summarize(add_cost[k]);
    std::printf("  %-30s median %7.1f  p90 %7.1f  p99 %7.1f  mean %7.1f  (median / bare %.2f)  producer pays median %5.1f\n",
                names[k], s.p50, s.p90, s.p99, s.mean, s.p50 / base.p50, c.p50);
  }
  const auto sf = fifo.lw.stats();
  const auto sl = legacy.lw.stats();
  std::printf("  wakes issued: local_work %llu, legacy %llu (one per sample + the final kick)\n",
              static_cast<unsigned long long>(sf.wakes), static_cast<unsigned long long>(sl.wakes));
}

template <class LW>
void lazy_wakes(const char* name, int items, int min_events) {
  LW lw;
  std::atomic<int> ran{0};
  std::atomic<bool> done{false};
  std::vector<probe> pool(static_cast<std::size_t>(items));
  std::thread owner([&] {
    while (!done.load() || ran.load() < items) ran.fetch_add(lw.wait(min_events, 1ms));
    lw.close();
  });
  std::mt19937 rng(7);
  for (int i = 0; i < items; ++i) {
    lw.add(pool[static_cast<std::size_t>(i)], mpscq::wake::lazy);
    // gaps of 0-20 us: the owner sleeps between batches
    const auto until = clock_type::now() + std::chrono::nanoseconds(rng() % 20000);
    while (clock_type::now() < until) {
    }
  }
  done.store(true);
  owner.join();
  const auto s = lw.stats();
  std::printf("  %-20s items %d  wait(%d): wakes %llu  wait_cycles %llu  sleeps %llu  timeouts %llu  "
              "wakes/sleep %.3f  wakes/item %.4f\n",
              name, items, min_events, static_cast<unsigned long long>(s.wakes),
              static_cast<unsigned long long>(s.wait_cycles), static_cast<unsigned long long>(s.sleeps),
              static_cast<unsigned long long>(s.timeouts),
              s.sleeps ? static_cast<double>(s.wakes) / static_cast<double>(s.sleeps) : 0.0,
              static_cast<double>(s.wakes) / items);
}

}  // namespace

int main(int argc, char** argv) {
  int samples = 10000, lazy_items = 200000, min_events = 32;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--samples") {
      samples = std::atoi(argv[i + 1]);
    } else if (arg == "--lazy-items") {
      lazy_items = std::atoi(argv[i + 1]);
    } else if (arg == "--min-events") {
      min_events = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: %s [--samples N] [--lazy-items N] [--min-events N]\n", argv[0]);
      return 2;
    }
  }
  std::printf("lazy traffic, wait(%d, 1 ms) in a loop, one producer, 0-20 us gaps:\n", min_events);
  lazy_wakes<mpscq::local_work>("local_work", lazy_items, min_events);
  lazy_wakes<mpscq::baseline::llist_local_work>("baseline::llist_local_work", lazy_items, min_events);
  eager_latency(std::max(samples, 1));
  return 0;
}
