// Stress test for mpscq::local_work (default) and mpscq::baseline::llist_local_work
// (--legacy).
//
//   local_work_stress [--legacy] [--teardown] [--producers P] [--seconds S]
//
// Default mode: P producers add items numbered 0, 1, 2, ... in bursts, each
// item randomly lazy or eager, with pauses in between (some long, right after
// an eager add: that is when a lost wake would leave the item waiting). The
// owner thread loops over random wait(min_events, timeout, min_wait) and
// run(cap) calls, some with long timeouts. It checks, per producer, that
// every item runs exactly once and in order. A watchdog (the main thread)
// fails the run when an eager item has waited more than `lost_wake_limit`
// since its add() returned while the owner sat inside one wait() call: a lost
// wake. At the end the owner calls close() while producers are still adding
// (their later adds run inline, cancelled); every item must still have run
// exactly once.
//
// --teardown: the upstream use-after-free. Rounds of: new local_work; P
// producers each add one item (lazy or eager); the owner waits until it ran
// them all and at once deletes the object (or closes, then deletes, or closes
// while a second round of adds is in flight). The destructor must wait out
// adds that are still touching wait_nr / the futex word. Run under ASan.
//
// The last line is a one-line summary ending in OK or FAIL; FAIL exits 1.
#include <mpscq/baseline/llist_local_work.hpp>
#include <mpscq/local_work.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::uint64_t ring_size = 1024;  // items a producer may be ahead of the owner
constexpr auto lost_wake_limit = 250ms;    // eager item unrun this long while the owner waits: lost wake
constexpr auto quiet_every = 700ms;        // the watchdog stops all producers this often ...
constexpr auto quiet_for = 400ms;          // ... for this long: a lost wake is then not masked by later adds
constexpr auto long_wait = 20s;            // the owner's long timeout: only a wake ends it early

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

struct failures {
  std::atomic<std::uint64_t> order{0};
  std::atomic<std::uint64_t> duplicate{0};
  std::atomic<std::uint64_t> lost{0};
  std::atomic<std::uint64_t> lost_wake{0};
  std::atomic<std::uint64_t> other{0};
  std::uint64_t total() const {
    return order.load() + duplicate.load() + lost.load() + lost_wake.load() + other.load();
  }
};
failures failed;

void report(const char* what, std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::fprintf(stderr, "FAIL: %s (%" PRIu64 ", %" PRIu64 ", %" PRIu64 ")\n", what, a, b, c);
}

// ---------------------------------------------------------------------------
// Default mode
// ---------------------------------------------------------------------------

struct producer_state;

struct item : mpscq::baseline::llist_work {
  producer_state* producer = nullptr;
  std::uint64_t seq = 0;
  bool eager = false;
  std::atomic<std::uint32_t> runs{0};
  item() { func = &item::run; }
  static void run(mpscq::work& w, mpscq::run_state st) noexcept;
};

struct alignas(64) producer_state {
  std::uint32_t index = 0;
  std::vector<item> ring = std::vector<item>(ring_size);
  std::atomic<std::uint64_t> completed{0};   // items run, any path (flow control)
  std::uint64_t next_expected = 0;           // owner only: the next seq to run normally
  std::atomic<std::uint64_t> added{0};       // items whose add() began
  std::atomic<std::uint64_t> eager_seq{0};   // 1 + seq of the last eager add that returned
  std::atomic<std::int64_t> eager_at{0};     // when it returned
  std::atomic<std::uint64_t> ran_up_to{0};   // 1 + highest seq run by the owner
  std::uint64_t eager = 0, lazy = 0, inline_cancelled = 0, drained = 0, normal = 0;
};

std::atomic<bool> owner_closing{false};
std::atomic<std::thread::id> owner_thread{};

void item::run(mpscq::work& w, mpscq::run_state st) noexcept {
  auto& self = static_cast<item&>(w);
  producer_state& p = *self.producer;
  if (self.runs.fetch_add(1) != 0) {
    failed.duplicate.fetch_add(1);
    report("item ran twice", p.index, self.seq, 0);
  }
  const bool on_owner = std::this_thread::get_id() == owner_thread.load(std::memory_order_relaxed);
  if (st.cancel && !owner_closing.load(std::memory_order_relaxed)) {
    failed.other.fetch_add(1);
    report("cancelled before close", p.index, self.seq, 0);
  }
  // Per-producer order holds for everything the owner runs (normal runs, then
  // close()'s drain). Items an add() after close ran inline are checked for
  // exactly-once only (they may overtake items close() is still draining).
  if (on_owner) {
    if (self.seq != p.next_expected) {
      failed.order.fetch_add(1);
      report("out of order (producer, got, expected)", p.index, self.seq, p.next_expected);
    }
    p.next_expected = self.seq + 1;
    p.ran_up_to.store(self.seq + 1, std::memory_order_release);
    if (st.cancel) {
      ++p.drained;
    } else {
      ++p.normal;
    }
  }
  p.completed.fetch_add(1, std::memory_order_release);
}

template <class LW>
struct default_mode {
  LW lw;
  std::vector<std::unique_ptr<producer_state>> producers;
  std::atomic<bool> stop_producers{false};
  std::atomic<bool> stop_owner{false};
  std::atomic<std::int64_t> owner_wait_since{0};  // 0: not inside wait()
  std::atomic<std::int64_t> quiet_until{0};       // producers add nothing before this time
  std::uint64_t owner_waits = 0, owner_runs = 0;
  item kick;  // the main thread's eager item that ends the owner's last wait

  explicit default_mode(int n) : lw(mpscq::local_work_options{}) {
    for (int i = 0; i < n; ++i) {
      producers.push_back(std::make_unique<producer_state>());
      producers.back()->index = static_cast<std::uint32_t>(i);
      for (auto& it : producers.back()->ring) it.producer = producers.back().get();
    }
  }

  void produce(producer_state& p, unsigned seed) {
    std::mt19937 rng(seed);
    std::uint64_t seq = 0;
    while (!stop_producers.load(std::memory_order_relaxed)) {
      const int burst = 1 + static_cast<int>(rng() % 48);
      for (int b = 0; b < burst; ++b) {
        // Flow control: reuse a ring slot only after its item ran.
        unsigned round = 0;
        while (seq - p.completed.load(std::memory_order_acquire) >= ring_size) {
          if (stop_producers.load(std::memory_order_relaxed)) return;
          if (++round < 16) {
            std::this_thread::yield();
          } else {
            std::this_thread::sleep_for(50us);
          }
        }
        // A quiet period: no add may wake the owner, so an eager item whose
        // wake was lost stays unrun, and the watchdog sees it.
        for (std::int64_t q = quiet_until.load(std::memory_order_relaxed); now_ns() < q;) {
          if (stop_producers.load(std::memory_order_relaxed)) return;
          std::this_thread::sleep_for(1ms);
        }
        item& it = p.ring[seq % ring_size];
        it.seq = seq;
        it.eager = rng() % 8 == 0;
        it.runs.store(0, std::memory_order_relaxed);
        p.added.store(seq + 1, std::memory_order_relaxed);
        lw.add(it, it.eager ? mpscq::wake::eager : mpscq::wake::lazy);
        if (it.eager) {
          ++p.eager;
          p.eager_at.store(now_ns(), std::memory_order_relaxed);
          p.eager_seq.store(seq + 1, std::memory_order_release);
        } else {
          ++p.lazy;
        }
        ++seq;
      }
      const unsigned pause = rng() % 100;
      if (pause < 60) continue;
      if (pause < 95) {
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 40));  // quiet: wakes matter
      }
    }
  }

  void own(unsigned seed) {
    owner_thread.store(std::this_thread::get_id());
    std::mt19937 rng(seed);
    static constexpr int min_events_choices[] = {1, 2, 4, 8, 32, 1000};
    while (!stop_owner.load(std::memory_order_relaxed)) {
      const unsigned op = rng() % 100;
      if (op < 30) {
        lw.run(1 + static_cast<int>(rng() % 32));
        ++owner_runs;
        continue;
      }
      const int min_events = min_events_choices[rng() % 6];
      std::chrono::nanoseconds timeout;
      const unsigned t = rng() % 100;
      if (t < 10) {
        timeout = 0ns;
      } else if (t < 40) {
        timeout = std::chrono::microseconds(rng() % 200);
      } else if (t < 70) {
        timeout = std::chrono::milliseconds(1 + rng() % 5);
      } else {
        timeout = long_wait;
      }
      std::chrono::nanoseconds min_wait{};
      if (rng() % 4 == 0) min_wait = std::chrono::microseconds(rng() % 1000);
      owner_wait_since.store(now_ns(), std::memory_order_release);
      lw.wait(min_events, timeout, min_wait);
      owner_wait_since.store(0, std::memory_order_release);
      ++owner_waits;
    }
    // Close while producers may still be adding: their later adds run inline.
    owner_closing.store(true);
    lw.close();
  }

  // Main thread: the lost-wake watchdog.
  void watch(std::chrono::nanoseconds duration) {
    const auto end = clock_type::now() + duration;
    auto next_quiet = clock_type::now() + quiet_every;
    while (clock_type::now() < end && failed.total() == 0) {
      std::this_thread::sleep_for(5ms);
      if (clock_type::now() >= next_quiet) {
        next_quiet += quiet_every;
        quiet_until.store(now_ns() + std::chrono::nanoseconds(quiet_for).count(), std::memory_order_relaxed);
      }
      const std::int64_t waiting_since = owner_wait_since.load(std::memory_order_acquire);
      if (waiting_since == 0) continue;
      for (auto& pp : producers) {
        producer_state& p = *pp;
        const std::uint64_t eager_seq = p.eager_seq.load(std::memory_order_acquire);
        const std::int64_t eager_at = p.eager_at.load(std::memory_order_relaxed);
        if (eager_seq == 0 || p.ran_up_to.load(std::memory_order_acquire) >= eager_seq) continue;
        const std::int64_t now = now_ns();
        // The eager add returned after the owner entered this wait() call, the
        // owner is still inside that call, and the item has not run.
        if (eager_at > waiting_since && owner_wait_since.load(std::memory_order_acquire) == waiting_since &&
            now - eager_at > std::chrono::nanoseconds(lost_wake_limit).count() &&
            p.ran_up_to.load(std::memory_order_acquire) < eager_seq) {
          failed.lost_wake.fetch_add(1);
          report("lost wake: eager item unrun while the owner waits (producer, seq, ms)", p.index, eager_seq - 1,
                 static_cast<std::uint64_t>((now - eager_at) / 1000000));
        }
      }
    }
  }

  int run(double seconds, const char* variant) {
    const auto start = clock_type::now();
    std::thread owner([&] { own(1234); });
    std::vector<std::thread> threads;
    for (auto& p : producers) threads.emplace_back([&, i = p->index] { produce(*producers[i], 100 + i); });
    watch(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds)));
    // End: stop the owner (kick it out of a long wait) while producers run on.
    stop_owner.store(true);
    kick.producer = nullptr;
    kick.func = [](mpscq::work&, mpscq::run_state) noexcept {};
    lw.add(kick, mpscq::wake::eager);
    owner.join();
    // Let every producer add into the closed object (inline, cancelled).
    std::vector<std::uint64_t> at_close;
    for (auto& p : producers) at_close.push_back(p->added.load());
    const auto give_up = clock_type::now() + 500ms;
    for (std::size_t i = 0; i < producers.size(); ++i) {
      while (producers[i]->added.load() < at_close[i] + 3 && clock_type::now() < give_up) std::this_thread::sleep_for(100us);
    }
    stop_producers.store(true);
    for (auto& t : threads) t.join();
    const auto took = std::chrono::duration<double>(clock_type::now() - start).count();

    // Exactly once: every ring slot's current item ran once; totals match.
    std::uint64_t added = 0, eager = 0, lazy = 0, completed = 0, normal = 0, drained = 0;
    for (auto& pp : producers) {
      producer_state& p = *pp;
      const std::uint64_t n = p.added.load();
      added += n;
      eager += p.eager;
      lazy += p.lazy;
      normal += p.normal;
      drained += p.drained;
      completed += p.completed.load();
      if (p.completed.load() != n) {
        failed.lost.fetch_add(n - p.completed.load());
        report("items lost (producer, added, ran)", p.index, n, p.completed.load());
      }
      for (std::uint64_t s = n > ring_size ? n - ring_size : 0; s < n; ++s) {
        if (p.ring[s % ring_size].runs.load() != 1) {
          failed.lost.fetch_add(1);
          report("item not run exactly once (producer, seq, runs)", p.index, s, p.ring[s % ring_size].runs.load());
        }
      }
    }
    const auto s = lw.stats();
    const std::uint64_t inline_cancelled = s.cancelled_inline;
    if (normal + drained + inline_cancelled != added) {
      failed.lost.fetch_add(1);
      report("accounting: normal + drained + inline != added", normal + drained, inline_cancelled, added);
    }
    const bool ok = failed.total() == 0;
    std::printf(
        "local_work_stress variant=%s producers=%zu seconds=%.2f added=%" PRIu64 " (eager %" PRIu64 ", lazy %" PRIu64
        ") ran=%" PRIu64 " (normal %" PRIu64 ", drained %" PRIu64 ", inline %" PRIu64 ") owner_waits=%" PRIu64
        " owner_runs=%" PRIu64 " wakes=%" PRIu64 " wait_cycles=%" PRIu64 " sleeps=%" PRIu64 " recheck_aborts=%" PRIu64
        " in_flight_backoffs=%" PRIu64 " timeouts=%" PRIu64 " order=%" PRIu64 " duplicate=%" PRIu64 " lost=%" PRIu64
        " lost_wake=%" PRIu64 " other=%" PRIu64 " %s\n",
        variant, producers.size(), took, added, eager, lazy, completed, normal, drained, inline_cancelled,
        owner_waits, owner_runs, s.wakes, s.wait_cycles, s.sleeps, s.recheck_aborts, s.in_flight_backoffs,
        s.timeouts, failed.order.load(), failed.duplicate.load(), failed.lost.load(), failed.lost_wake.load(),
        failed.other.load(), ok ? "OK" : "FAIL");
    return ok ? 0 : 1;
  }
};

// ---------------------------------------------------------------------------
// Teardown mode
// ---------------------------------------------------------------------------

struct round_item : mpscq::baseline::llist_work {
  std::atomic<int>* ran = nullptr;
  round_item() {
    func = [](mpscq::work& w, mpscq::run_state) noexcept { static_cast<round_item&>(w).ran->fetch_add(1); };
  }
};

template <class LW>
struct teardown_mode {
  int producers;
  std::atomic<std::uint64_t> round{0};
  std::atomic<LW*> current{nullptr};
  std::atomic<int> second_add{0};  // this round: add twice (the second races close())
  std::atomic<int> ran{0};
  std::atomic<bool> stop{false};
  std::vector<round_item> items;

  explicit teardown_mode(int n) : producers(n), items(static_cast<std::size_t>(2 * n)) {
    for (auto& it : items) it.ran = &ran;
  }

  void produce(int index) {
    std::uint64_t seen = 0;
    std::mt19937 rng(static_cast<unsigned>(7 + index));
    for (;;) {
      round.wait(seen, std::memory_order_acquire);
      seen = round.load(std::memory_order_acquire);
      if (stop.load()) return;
      LW* lw = current.load(std::memory_order_acquire);
      const bool twice = second_add.load(std::memory_order_relaxed) != 0;
      lw->add(items[static_cast<std::size_t>(2 * index)], rng() % 2 ? mpscq::wake::eager : mpscq::wake::lazy);
      if (twice) {
        if (rng() % 2) std::this_thread::yield();
        lw->add(items[static_cast<std::size_t>(2 * index + 1)], rng() % 2 ? mpscq::wake::eager : mpscq::wake::lazy);
      }
      // From here on this thread does not touch *lw.
    }
  }

  int run(double seconds, const char* variant) {
    std::vector<std::thread> threads;
    for (int i = 0; i < producers; ++i) threads.emplace_back([this, i] { produce(i); });
    std::mt19937 rng(99);
    const auto start = clock_type::now();
    const auto end = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    std::uint64_t rounds = 0, deleted_open = 0, closed_first = 0, raced_close = 0;
    mpscq::local_work_stats totals{};
    while (clock_type::now() < end && failed.total() == 0) {
      mpscq::local_work_options options;
      options.owner = std::this_thread::get_id();
      auto* lw = new LW(options);
      const unsigned kind = rng() % 4;
      const bool twice = kind == 3;
      ran.store(0);
      second_add.store(twice ? 1 : 0, std::memory_order_relaxed);
      current.store(lw, std::memory_order_release);
      round.fetch_add(1, std::memory_order_release);
      round.notify_all();
      // Wait until every first add's item ran: those adds have pushed, but may
      // still be reading wait_nr or waking us.
      int got = 0;
      const auto give_up = clock_type::now() + 10s;
      while (got < producers && clock_type::now() < give_up) got += lw->wait(producers - got, 100ms);
      if (got < producers) {
        failed.lost.fetch_add(1);
        report("teardown: items did not run (round, got, want)", rounds, static_cast<std::uint64_t>(got),
               static_cast<std::uint64_t>(producers));
        break;
      }
      if (twice) {
        // Close while the second adds are in flight; wait until each of them
        // ran (drained here, or inline on its producer) before deleting.
        lw->close();
        while (ran.load() < 2 * producers && clock_type::now() < give_up) std::this_thread::yield();
        if (ran.load() != 2 * producers) {
          failed.lost.fetch_add(1);
          report("teardown: second adds lost (round, ran, want)", rounds, static_cast<std::uint64_t>(ran.load()),
                 static_cast<std::uint64_t>(2 * producers));
          break;
        }
        ++raced_close;
      } else if (kind == 2) {
        lw->close();
        ++closed_first;
      } else {
        ++deleted_open;
      }
      const auto s = lw->stats();
      totals.wakes += s.wakes;
      totals.sleeps += s.sleeps;
      totals.cancelled_inline += s.cancelled_inline;
      delete lw;  // the destructor waits for adders still inside
      ++rounds;
    }
    stop.store(true);
    round.fetch_add(1, std::memory_order_release);
    round.notify_all();
    for (auto& t : threads) t.join();
    const bool ok = failed.total() == 0 && rounds > 0;
    std::printf("local_work_stress --teardown variant=%s producers=%d seconds=%.2f rounds=%" PRIu64
                " (deleted open %" PRIu64 ", closed first %" PRIu64 ", close raced adds %" PRIu64 ") wakes=%" PRIu64
                " sleeps=%" PRIu64 " inline=%" PRIu64 " lost=%" PRIu64 " %s\n",
                variant, producers, std::chrono::duration<double>(clock_type::now() - start).count(), rounds,
                deleted_open, closed_first, raced_close, totals.wakes, totals.sleeps, totals.cancelled_inline,
                failed.lost.load(), ok ? "OK" : "FAIL");
    return ok ? 0 : 1;
  }
};

template <class LW>
int run_variant(bool teardown, int producers, double seconds, const char* name) {
  if (teardown) return teardown_mode<LW>(producers).run(seconds, name);
  return default_mode<LW>(producers).run(seconds, name);
}

}  // namespace

int main(int argc, char** argv) {
  bool legacy = false, teardown = false;
  int producers = 2;
  double seconds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--legacy") {
      legacy = true;
    } else if (arg == "--teardown") {
      teardown = true;
    } else if (arg == "--producers" && i + 1 < argc) {
      producers = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--legacy] [--teardown] [--producers P] [--seconds S]\n", argv[0]);
      return 2;
    }
  }
  return legacy ? run_variant<mpscq::baseline::llist_local_work>(teardown, producers, seconds, "legacy")
                : run_variant<mpscq::local_work>(teardown, producers, seconds, "mpscq");
}
