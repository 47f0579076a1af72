// bench/scenarios.hpp - the queue scenarios (S1, S2 spinning, S3, S4, S7 and
// the valgrind loops) as templates over a contender adaptor, and the registry
// entry that holds one contender's instantiations.
//
// An adaptor C provides:
//   explicit C(std::size_t capacity);        // capacity: bounded ones' size
//   struct producer_t { explicit producer_t(C&); };   // per producer (tokens)
//   struct consumer_t { explicit consumer_t(C&); };   // the one consumer
//   bool try_push(producer_t&, item*);       // false only when full
//   item* try_pop(consumer_t&);              // nullptr: nothing to pop now
//   static constexpr const char* name;
//   static constexpr guarantees traits;
// and may provide (batch_pop_adaptor, in_flight_adaptor, refusal_adaptor below):
//   template <class F> int try_pop_batch(consumer_t&, int max, F&& f);
//     hands out up to `max` items (max >= 1), oldest first, calling f(item*)
//     for each, and returns how many; 0: nothing to pop now (as try_pop's
//     nullptr). After f(it) returns, the adaptor must not touch `it` again
//     (f may hand the slot back to its producer). Every consumer loop below
//     (s1_run, mt_run, drain_run, valgrind_s1, valgrind_drain) then pops
//     through it, with the same checks, per item inside f, as its try_pop
//     loop; adaptors without it are measured through try_pop, unchanged.
#ifndef MPSCQ_BENCH_SCENARIOS_HPP
#define MPSCQ_BENCH_SCENARIOS_HPP

#include "bench.hpp"
#include "valgrind.hpp"

#include <algorithm>
#include <cmath>
#include <concepts>
#include <string>
#include <thread>
#include <vector>

namespace bench {

struct check_report {
  std::uint64_t expected = 0, received = 0, out_of_order = 0, corrupt = 0;
  bool stalled = false;
  bool clean() const noexcept { return !stalled && received == expected && out_of_order == 0 && corrupt == 0; }
  std::string describe() const {
    char buf[256];
    std::snprintf(buf, sizeof buf, "expected %llu items, received %llu, out of order %llu, corrupt %llu%s",
                  static_cast<unsigned long long>(expected), static_cast<unsigned long long>(received),
                  static_cast<unsigned long long>(out_of_order), static_cast<unsigned long long>(corrupt),
                  stalled ? ", STALLED (no progress for 5 s)" : "");
    return buf;
  }
  void take(const order_check& c) noexcept {
    received = c.received;
    out_of_order = c.out_of_order;
    corrupt = c.corrupt;
  }
};

struct mt_config {
  int producers = 1;
  bool pin = true;             // consumer on cpu_for(0), producer i on cpu_for(i + 1)
  bool own_cpu = true;         // every thread has a CPU to itself: spin long before yielding
  double ms = 100;             // producers stop after this long (or at max_items)
  std::uint64_t max_items = 1000000;
  std::size_t ring = 8192;     // per-producer recycling ring (slots)
  std::size_t capacity = 65536;
  item_layout layout = item_layout::ring;  // where those slots lie (bench.hpp)
  std::uint64_t seed = 1;      // scattered: each producer draws its slots from seed and its index
};

struct drain_config {
  std::size_t k = 8;
  bool scattered = false;
  std::size_t drains = 1000;   // contiguous: timed drains
  std::size_t rounds = 3;      // scattered: flush + drain rounds
  std::size_t arena_mib = 64;
  std::size_t flush_mib = 96;
  std::size_t capacity = 65536;
  std::uint64_t seed = 1;
};

// Consumer stalls of one threaded polling run (mt_run): idle stretches -
// from the consumer's first empty poll to the next item it receives - that
// lasted longer than stall_threshold_ns. Counted on the empty-poll path only:
// the clock is read once a stretch has lasted stall_probe_pauses pauses
// (~2 us; shorter stretches cost nothing and are far below the threshold,
// and a stall is timed from there, so it reads up to that much short) and
// once when its item arrives. Where the adaptor can tell (push_in_flight,
// below), `in_flight` counts the stalls that began with a push in flight:
// the queue holds a node the consumer cannot reach yet, because a producer
// is between its tail exchange and its link store (descheduled there, under
// load). The rest are stretches in which no producer pushed at all.
inline constexpr std::uint64_t stall_threshold_ns = 100'000;
inline constexpr unsigned stall_probe_pauses = 64;

struct stall_report {
  std::uint64_t count = 0;      // stalls > stall_threshold_ns
  std::uint64_t ns = 0;         // their total length
  std::uint64_t in_flight = 0;  // of those, begun with a push in flight (knows_in_flight only)
  bool knows_in_flight = false;
  double wall_ns = 0;           // the run's length (consumer start to end)
  double consumer_cpu_ns = 0;   // the consumer thread's CPU time in it (what the scheduler gave it)
  double share() const noexcept { return wall_ns > 0 ? static_cast<double>(ns) / wall_ns : std::nan(""); }
  double consumer_cpu_share() const noexcept { return wall_ns > 0 ? consumer_cpu_ns / wall_ns : std::nan(""); }
};

struct measured {
  double value = std::nan("");
  check_report chk;
  stall_report stalls;  // mt_run only
  double refused_per_k = std::nan("");  // mt_run, refusal_adaptor only: refused adds per 1000 items
};

struct queue_contender {
  std::string name;
  guarantees traits;
  measured (*s1)(std::size_t n, std::uint64_t rounds, std::size_t capacity) = nullptr;
  measured (*mt)(const mt_config&) = nullptr;
  measured (*drain)(const drain_config&) = nullptr;
  void (*valgrind_s1)(std::size_t n, std::size_t capacity) = nullptr;
  void (*valgrind_drain)(const drain_config&) = nullptr;
};

// The recycling pool of one producer: a ring of `ring` slots it reuses in
// sequence order (seq uses slot seq % ring) once the consumer has reported
// them consumed (so runs have a fixed memory footprint, and no contender's
// queue grows past the ring). The slots lie as cfg.layout says; the reuse
// rule, and so every check, is the same in both layouts.
struct alignas(64) producer_pool {
  item_slots slots;
  alignas(64) std::atomic<std::uint64_t> consumed{0};  // written by the consumer
  alignas(64) std::uint64_t produced = 0;              // written by the producer when done
};

// The producers' pools of one threaded run, built before any thread starts
// (allocation, first touch and the shuffle stay out of the timing).
inline std::vector<std::unique_ptr<producer_pool>> make_pools(const mt_config& cfg) {
  std::vector<std::unique_ptr<producer_pool>> pools;
  for (int i = 0; i < cfg.producers; ++i) {
    pools.push_back(std::make_unique<producer_pool>());
    pools.back()->slots =
        item_slots(cfg.ring, cfg.layout, cfg.seed + static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ull);
  }
  return pools;
}

// The optional batch hook (see the top of this file).
template <class C>
concept batch_pop_adaptor = requires(C& q, typename C::consumer_t& k, void (*f)(item*)) {
  { q.try_pop_batch(k, 1, f) } -> std::same_as<int>;
};

// The optional in-flight hook: true when the queue holds a pushed node that
// the consumer cannot take yet (called only after a pop came back empty, on
// the stall diagnostic's path). Adaptors whose push has no such window
// (a CAS or a lock publishes the item whole) or that cannot tell leave it out.
template <class C>
concept in_flight_adaptor = requires(C& q, typename C::consumer_t& k) {
  { q.push_in_flight(k) } -> std::same_as<bool>;
};

// The optional refusal hook: how many try_push calls the contender refused
// since it was built (a bounded local_work's stats().refused: the limit was
// reached and the producer retried or waited). Read once, after the run.
template <class C>
concept refusal_adaptor = requires(const C& q) {
  { q.refused() } -> std::convertible_to<std::uint64_t>;
};

// `max` for try_pop_batch: 64, the figure in queue.hpp's pop_batch example -
// what a real consumer passes when it does not know how much is queued (a
// cap that keeps one call's latency bounded). Its per-call cost (a call, the
// cap's compare, the first `next` load) is spread over up to 64 items, well
// under one instruction per item, and a larger cap would change nothing
// per item: the checks and the hand-back store run per item inside f either
// way, so producers see no later hand-back. The loops that pop a known count
// (S1, S4, the valgrind loops) pass min(64, items still to pop), so they never
// take more than the per-item loop's n try_pop calls would.
inline constexpr int pop_batch_max = 64;
inline int pop_batch_cap(std::size_t remaining) noexcept {
  return remaining < static_cast<std::size_t>(pop_batch_max) ? static_cast<int>(remaining) : pop_batch_max;
}

// Arena for scattered items (shared by every contender, allocated once).
item* scattered_arena(std::size_t mib, std::size_t& slots);
// Clock overhead of an empty now_ns() pair, median of many (ns).
double clock_pair_overhead_ns();

// ---------------------------------------------------------------------------
// S1: push n then pop n, `rounds` times, single thread. Returns ns per item.

template <class C>
measured s1_run(std::size_t n, std::uint64_t rounds, std::size_t capacity) {
  measured out;
  auto q = std::make_unique<C>(capacity);
  typename C::producer_t p(*q);
  typename C::consumer_t k(*q);
  item_array items(n);
  order_check chk(1);
  std::uint64_t seq = 0;
  auto round = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      fill(items[i], 0, seq++);
      if (!q->try_push(p, &items[i])) return false;
    }
    if constexpr (batch_pop_adaptor<C>) {
      // As the loop below: exactly n items, a stall if the contender comes
      // back empty (or hands out more than asked) before that.
      for (std::size_t got = 0; got < n;) {
        const int want = pop_batch_cap(n - got);
        const int c = q->try_pop_batch(k, want, [&](item* it) noexcept { chk.on(*it); });
        if (c <= 0 || c > want) return false;
        got += static_cast<std::size_t>(c);
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        item* it = q->try_pop(k);
        if (it == nullptr) return false;
        chk.on(*it);
      }
    }
    return true;
  };
  bool ok = round();  // warm-up: first allocations, first touches
  const std::uint64_t t0 = now_ns();
  for (std::uint64_t r = 0; r < rounds && ok; ++r) ok = round();
  const std::uint64_t t1 = now_ns();
  out.chk.expected = (rounds + 1) * n;
  out.chk.take(chk);
  if (!ok) out.chk.stalled = true;  // a push failed or a pop came back empty
  out.value = static_cast<double>(t1 - t0) / static_cast<double>(rounds * n);
  return out;
}

// ---------------------------------------------------------------------------
// Threaded: `producers` producers, one consumer, fixed duration. Items/s.

template <class C>
measured mt_run(const mt_config& cfg) {
  measured out;
  const int np = cfg.producers;
  auto q = std::make_unique<C>(cfg.capacity);
  std::vector<std::unique_ptr<producer_pool>> pools = make_pools(cfg);
  const std::uint64_t cap = std::max<std::uint64_t>(1, cfg.max_items / static_cast<std::uint64_t>(np));
  const std::uint64_t ring = cfg.ring;
  std::atomic<bool> stop{false};
  std::atomic<int> producers_done{0};
  start_line start;
  std::uint64_t t_begin = 0, t_end = 0;
  order_check chk(static_cast<std::size_t>(np));
  bool stalled = false;

  std::vector<std::thread> threads;
  for (int pi = 0; pi < np; ++pi) {
    threads.emplace_back([&, pi] {
      if (cfg.pin) pin_to(cpu_for(pi + 1));
      typename C::producer_t tok(*q);
      producer_pool& pool = *pools[static_cast<std::size_t>(pi)];
      std::uint64_t known_consumed = 0;
      std::uint64_t seq = 0;
      start.arrive_and_wait();
      for (; seq < cap; ++seq) {
        if ((seq & 63) == 0 && stop.load(std::memory_order_relaxed)) break;
        if (seq >= ring && known_consumed < seq - ring + 1) {
          // Wait for the slot; ask for some slack so we do not poll the
          // consumer's line once per item.
          const std::uint64_t need = seq - ring + 1;
          const std::uint64_t want = std::min(seq, need + ring / 8);
          (void)need;
          backoff b(cfg.own_cpu);
          while ((known_consumed = pool.consumed.load(std::memory_order_acquire)) < want) {
            if (stop.load(std::memory_order_relaxed)) goto done;
            b.pause();
          }
        }
        {
          item* it = &pool.slots[seq % ring];
          fill(*it, static_cast<std::uint32_t>(pi), seq);
          backoff b(cfg.own_cpu);
          while (!q->try_push(tok, it)) {
            if (stop.load(std::memory_order_relaxed)) goto done;
            b.pause();
          }
        }
      }
    done:
      pool.produced = seq;
      producers_done.fetch_add(1, std::memory_order_release);
    });
  }
  stall_report stalls;
  stalls.knows_in_flight = in_flight_adaptor<C>;
  threads.emplace_back([&] {
    if (cfg.pin) pin_to(cpu_for(0));
    typename C::consumer_t k(*q);
    start.arrive_and_wait();
    t_begin = now_ns();
    const std::uint64_t cpu_begin = thread_cpu_ns();
    backoff b(cfg.own_cpu);
    // One poll: hands out what the contender has now; false: nothing.
    auto poll = [&]() -> bool {
      if constexpr (batch_pop_adaptor<C>) {
        // Per item, inside f, exactly what the try_pop branch does per item:
        // the check, then the hand-back store as the item's last access (the
        // adaptor does not touch an item after f returns).
        return q->try_pop_batch(k, pop_batch_max, [&](item* it) noexcept {
          chk.on(*it);
          pools[it->producer < pools.size() ? it->producer : 0]->consumed.store(it->seq + 1,
                                                                                std::memory_order_release);
        }) > 0;
      } else {
        item* it = q->try_pop(k);
        if (it == nullptr) return false;
        chk.on(*it);
        // The store hands the slot back: the producer may refill it at once,
        // so its operands (producer, seq) are the last reads of the item.
        pools[it->producer < pools.size() ? it->producer : 0]->consumed.store(it->seq + 1,
                                                                              std::memory_order_release);
        return true;
      }
    };
    for (;;) {
      if (poll()) continue;  // the hot path: nothing else per item (or batch)
      // An idle stretch, from this empty poll to the next item: spin with
      // the backoff (bench.hpp: pauses, a rare yield), watch for the end of
      // the run, time the stretch for the stall diagnostic once it has
      // lasted stall_probe_pauses pauses, and give up after 5 s without an
      // item (a contender that lost one would otherwise hang the run).
      b.reset();
      std::uint64_t t0 = 0;  // clock at the probe (0: the stretch is still short)
      bool in_flight = false;
      bool got = false;
      for (;;) {
        if (producers_done.load(std::memory_order_acquire) == np) {
          std::uint64_t total = 0;
          for (auto& pp : pools) total += pp->produced;
          if (chk.received >= total) break;
        }
        b.pause();
        if (b.n == stall_probe_pauses) {
          t0 = now_ns();
          if constexpr (in_flight_adaptor<C>) in_flight = q->push_in_flight(k);
        } else if (t0 != 0 && (b.n & 1023) == 0 && now_ns() - t0 > 5'000'000'000ull) {
          stalled = true;
          break;
        }
        if (poll()) {
          got = true;
          break;
        }
      }
      if (!got) break;
      if (t0 != 0) {
        const std::uint64_t d = now_ns() - t0;
        if (d > stall_threshold_ns) {
          ++stalls.count;
          stalls.ns += d;
          if (in_flight) ++stalls.in_flight;
        }
      }
    }
    t_end = now_ns();
    stalls.consumer_cpu_ns = static_cast<double>(thread_cpu_ns() - cpu_begin);
  });
  start.release_when(np + 1);
  sleep_until_or(cfg.ms, [&] { return producers_done.load(std::memory_order_acquire) == np; });
  stop.store(true, std::memory_order_relaxed);
  for (auto& t : threads) t.join();
  std::uint64_t total = 0;
  for (auto& pp : pools) total += pp->produced;
  out.chk.expected = total;
  out.chk.take(chk);
  out.chk.stalled = stalled;
  out.value = static_cast<double>(chk.received) / (static_cast<double>(t_end - t_begin) / 1e9);
  if constexpr (refusal_adaptor<C>)
    out.refused_per_k =
        static_cast<double>(q->refused()) * 1000.0 / static_cast<double>(std::max<std::uint64_t>(1, chk.received));
  stalls.wall_ns = static_cast<double>(t_end - t_begin);
  out.stalls = stalls;
  // Anything the contender still holds is a loss the count above shows.
  return out;
}

// ---------------------------------------------------------------------------
// S4: drain k items pushed while the consumer was idle. Consumer ns/item.

template <class C>
measured drain_run(const drain_config& cfg) {
  measured out;
  const std::size_t k = cfg.k;
  const double overhead = clock_pair_overhead_ns();
  order_check chk(1);
  std::uint64_t seq = 0;
  std::uint64_t expected = 0;
  bool ok = true;
  auto drain = [&](C& q, typename C::consumer_t& c) {
    if constexpr (batch_pop_adaptor<C>) {
      // As the loop below: exactly k items, a stall if it comes back empty
      // (or hands out more than asked) first.
      for (std::size_t got = 0; got < k;) {
        const int want = pop_batch_cap(k - got);
        const int n = q.try_pop_batch(c, want, [&](item* it) noexcept { chk.on(*it); });
        if (n <= 0 || n > want) {
          ok = false;
          return;
        }
        got += static_cast<std::size_t>(n);
      }
    } else {
      for (std::size_t i = 0; i < k; ++i) {
        item* it = q.try_pop(c);
        if (it == nullptr) {
          ok = false;
          return;
        }
        chk.on(*it);
      }
    }
  };
  if (!cfg.scattered) {
    auto q = std::make_unique<C>(cfg.capacity);
    typename C::producer_t p(*q);
    typename C::consumer_t c(*q);
    item_array items(k);
    std::vector<double> samples;
    samples.reserve(cfg.drains);
    for (std::size_t d = 0; d < cfg.drains + 2 && ok; ++d) {
      for (std::size_t i = 0; i < k; ++i) {
        fill(items[i], 0, seq++);
        if (!q->try_push(p, &items[i])) ok = false;
      }
      expected += k;
      const std::uint64_t t0 = now_ns();
      drain(*q, c);
      const std::uint64_t t1 = now_ns();
      if (d >= 2) samples.push_back(static_cast<double>(t1 - t0));  // two warm-up drains
    }
    out.value = (summarize(samples).low_mean - overhead) / static_cast<double>(k);
  } else {
    std::size_t slots = 0;
    item* arena = scattered_arena(cfg.arena_mib, slots);
    const std::size_t groups = std::max<std::size_t>(1, 512 / k);
    std::mt19937_64 rng(cfg.seed);
    std::uniform_int_distribution<std::size_t> pick(0, slots - 1);
    double total_ns = 0;
    std::size_t drained = 0;
    for (std::size_t r = 0; r < cfg.rounds && ok; ++r) {
      std::vector<std::unique_ptr<C>> qs;
      std::vector<std::unique_ptr<typename C::consumer_t>> cs;
      std::set<std::size_t> used;
      for (std::size_t g = 0; g < groups; ++g) {
        qs.push_back(std::make_unique<C>(cfg.capacity));
        cs.push_back(std::make_unique<typename C::consumer_t>(*qs.back()));
        typename C::producer_t p(*qs.back());
        for (std::size_t i = 0; i < k; ++i) {
          std::size_t s;
          do s = pick(rng);
          while (!used.insert(s).second);
          fill(arena[s], 0, seq++);
          if (!qs.back()->try_push(p, &arena[s])) ok = false;
        }
        expected += k;
      }
      flush_caches(cfg.flush_mib);
      for (std::size_t g = 0; g < groups; ++g) {
        const std::uint64_t t0 = now_ns();
        drain(*qs[g], *cs[g]);
        const std::uint64_t t1 = now_ns();
        total_ns += static_cast<double>(t1 - t0) - overhead;
        drained += k;
      }
    }
    out.value = total_ns / static_cast<double>(std::max<std::size_t>(1, drained));
  }
  out.chk.expected = expected;
  out.chk.take(chk);
  if (!ok) out.chk.stalled = true;
  return out;
}

// ---------------------------------------------------------------------------
// valgrind loops: the same code paths, with only the measured region collected
// (callgrind --collect-atstart=no) and one dump per region, named for the
// scripts that read them.

template <class C>
void valgrind_s1(std::size_t n, std::size_t capacity) {
  auto q = std::make_unique<C>(capacity);
  typename C::producer_t p(*q);
  typename C::consumer_t k(*q);
  item_array items(n);
  order_check chk(1);
  std::uint64_t seq = 0;
  auto round = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      fill(items[i], 0, seq++);
      (void)q->try_push(p, &items[i]);
    }
    if constexpr (batch_pop_adaptor<C>) {
      // Up to n items, as the n try_pop calls below; a shortfall shows in
      // the received count checked after the run.
      for (std::size_t got = 0; got < n;) {
        const int c = q->try_pop_batch(k, pop_batch_cap(n - got), [&](item* it) noexcept { chk.on(*it); });
        if (c <= 0) break;
        got += static_cast<std::size_t>(c);
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        item* it = q->try_pop(k);
        if (it != nullptr) chk.on(*it);
      }
    }
  };
  round();
  round();  // two warm-up rounds: allocations done, steady state reached
  vg::toggle_collect();
  round();
  vg::toggle_collect();
  vg::dump(("S1 " + std::string(C::name) + " N=" + std::to_string(n) + " items=" + std::to_string(n)).c_str());
  if (!chk.clean() || chk.received != 3 * n)
    std::printf("VIOLATION valgrind S1 %s N=%zu: %llu received\n", C::name, n,
                static_cast<unsigned long long>(chk.received));
}

template <class C>
void valgrind_drain(const drain_config& cfg) {
  const std::size_t k = cfg.k;
  order_check chk(1);
  std::uint64_t seq = 0;
  const std::string label = "S4 " + std::string(C::name) + " K=" + std::to_string(k) +
                            (cfg.scattered ? " scattered" : " contiguous");
  auto q = std::make_unique<C>(cfg.capacity);
  typename C::producer_t p(*q);
  typename C::consumer_t c(*q);
  std::size_t slots = 0;
  item* arena = cfg.scattered ? scattered_arena(cfg.arena_mib, slots) : nullptr;
  item_array items(cfg.scattered ? 0 : k);
  std::mt19937_64 rng(cfg.seed);
  std::size_t total = 0;
  for (std::size_t r = 0; r < cfg.rounds + 1; ++r) {
    std::set<std::size_t> used;
    for (std::size_t i = 0; i < k; ++i) {
      item* it;
      if (cfg.scattered) {
        std::size_t s;
        do s = static_cast<std::size_t>(rng() % slots);
        while (!used.insert(s).second);
        it = &arena[s];
      } else {
        it = &items[i];
      }
      fill(*it, 0, seq++);
      (void)q->try_push(p, it);
    }
    if (cfg.scattered) flush_caches(cfg.flush_mib);  // simulated caches see the flush too
    if (r > 0) vg::toggle_collect();                 // round 0 warms up
    if constexpr (batch_pop_adaptor<C>) {
      // Up to k items, as the k try_pop calls below (the count is checked
      // after the run).
      for (std::size_t got = 0; got < k;) {
        const int n = q->try_pop_batch(c, pop_batch_cap(k - got), [&](item* it) noexcept { chk.on(*it); });
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
      }
    } else {
      for (std::size_t i = 0; i < k; ++i) {
        item* it = q->try_pop(c);
        if (it != nullptr) chk.on(*it);
      }
    }
    if (r > 0) {
      vg::toggle_collect();
      total += k;
    }
  }
  vg::dump((label + " items=" + std::to_string(total)).c_str());
  if (!chk.clean() || chk.received != (cfg.rounds + 1) * k)
    std::printf("VIOLATION valgrind %s\n", label.c_str());
}

template <class C>
queue_contender make_contender() {
  queue_contender c;
  c.name = C::name;
  c.traits = C::traits;
  c.s1 = &s1_run<C>;
  c.mt = &mt_run<C>;
  c.drain = &drain_run<C>;
  c.valgrind_s1 = &valgrind_s1<C>;
  c.valgrind_drain = &valgrind_drain<C>;
  return c;
}

// Registration, one function per translation unit (each holds its peer's
// headers, so they compile in parallel and never meet).
void register_mpscq(std::vector<queue_contender>& out);
void register_moodycamel(std::vector<queue_contender>& out);
void register_boost(std::vector<queue_contender>& out);
void register_urcu(std::vector<queue_contender>& out);
void register_atomic_queue(std::vector<queue_contender>& out);
void register_xenium(std::vector<queue_contender>& out);
void register_fault(std::vector<queue_contender>& out);
// mpscq::local_work polled, unbounded and bounded (contenders_local_work.cpp):
// S2 and S3 only, and only when --contenders selects them.
void register_local_work(std::vector<queue_contender>& out);
// The L1 callgrind loops of local_work's add path (--valgrind callgrind).
void valgrind_local_work();

}  // namespace bench

#endif  // MPSCQ_BENCH_SCENARIOS_HPP
