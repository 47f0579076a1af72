// bench/main.cpp - mpscq-bench: the command line, the handoff probe, the
// queue scenarios S1-S4 and S7, the tables, the CSV and the plot.
//
// Usage: mpscq-bench [--full | --smoke] [--only S1,S4] [--reps N] [--csv FILE]
//                    [--plot FILE.png] [--producers P] [--seed N] [--load N]
//                    [--contenders a,b]
//        mpscq-bench --valgrind callgrind|cachegrind   (used by scripts/callgrind.sh,
//                                                      scripts/cachegrind.sh)
#include <sys/utsname.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "driver.hpp"
#include "scenarios.hpp"
#include "valgrind.hpp"

#ifndef MPSCQ_BENCH_PLOT_SCRIPT
#define MPSCQ_BENCH_PLOT_SCRIPT "scripts/plot_bench.py"
#endif

namespace bench {

// ---------------------------------------------------------------------------
// Shared helpers defined here

item* scattered_arena(std::size_t mib, std::size_t& slots) {
  static std::unique_ptr<item[]> arena;
  static std::size_t arena_slots = 0;
  const std::size_t want = mib * 1024 * 1024 / sizeof(item);
  if (arena_slots < want) {
    arena.reset(new item[want]);
    arena_slots = want;
  }
  slots = arena_slots;
  return arena.get();
}

double clock_pair_overhead_ns() {
  static double cached = [] {
    std::vector<double> v;
    for (int i = 0; i < 20001; ++i) {
      const std::uint64_t t0 = now_ns();
      const std::uint64_t t1 = now_ns();
      v.push_back(static_cast<double>(t1 - t0));
    }
    return summarize(v).low_mean;
  }();
  return cached;
}

namespace {

// The build the figures come from. An unoptimised build measures the compiler,
// not the queues (S1, N=8: 302 ns per item at -O0 against 25.8 ns at -O2), and
// without NDEBUG MPSCQ_DEBUG's checks run in every push and pop. Such a build
// still runs (a debug smoke run is useful), but says so on stderr and in the
// output's header, where a pasted table carries it along.
#if !defined(__OPTIMIZE__)
constexpr const char* build_warning =
    "built WITHOUT OPTIMISATION: the figures below are meaningless (S1 runs ~12x slower at -O0); rebuild with "
    "scripts/bench.sh, the release preset, or -DCMAKE_BUILD_TYPE=RelWithDebInfo";
#elif MPSCQ_DEBUG
constexpr const char* build_warning =
    "built with MPSCQ_DEBUG on (no -DNDEBUG): every push and pop runs the debug checks, the figures are not "
    "the library's; rebuild with scripts/bench.sh, the release preset, or -DCMAKE_BUILD_TYPE=RelWithDebInfo";
#else
constexpr const char* build_warning = nullptr;
#endif

void warn_about_build() {
  if (build_warning != nullptr) std::fprintf(stderr, "mpscq-bench: WARNING: %s\n", build_warning);
}

const char* usage =
    "usage: mpscq-bench [options]\n"
    "  (no option)        quick run: every scenario, 5 repetitions (~3 min on 2 cores)\n"
    "  --full             longer measurements, more samples (~10+ min)\n"
    "  --smoke            every scenario with a few thousand items; exit 1 on any violation\n"
    "  --only S1,S4       run only these scenarios (S1..S7)\n"
    "  --reps N           repetitions (default 5; at least 1)\n"
    "  --csv FILE         write every measurement (one row per repetition)\n"
    "  --plot FILE.png    plot the results (python3 + matplotlib; writes a CSV next to it if --csv is absent)\n"
    "  --producers P      S7's largest producer count (default: cores - 1, at least 1, at most 15)\n"
    "  --seed N           seed of the shuffles and scattered layouts\n"
    "  --load N           run N busy threads (unpinned, normal priority, CPU-burning loops touching no shared\n"
    "                     memory) from before the first case to after the last: figures on a loaded machine\n"
    "                     (default 0: none; the header and the CSV's meta rows say which)\n"
    "  --contenders a,b   run only the contenders whose names contain one of these (case-insensitive\n"
    "                     substrings, e.g. \"mpscq::queue,llist\"); in S1-S4, S7 and S2's sleeping table\n"
    "                     (S5, S6 always run their own fixed sets); for quick iteration\n"
    "  --inject-fault     add a deliberately broken (LIFO) contender: the run must report violations\n"
    "  --valgrind MODE    deterministic single-thread loops for valgrind (MODE: callgrind or cachegrind);\n"
    "                     run through scripts/callgrind.sh or scripts/cachegrind.sh\n";

bool parse(int argc, char** argv, options& o) {
  o.seed = static_cast<std::uint64_t>(now_ns());
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* what) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mpscq-bench: %s needs a value\n%s", what, usage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--full") {
      o.full = true;
    } else if (a == "--smoke") {
      o.smoke = true;
    } else if (a == "--only") {
      std::stringstream ss(value("--only"));
      std::string s;
      while (std::getline(ss, s, ',')) {
        for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (s.size() != 2 || s[0] != 'S' || s[1] < '1' || s[1] > '7') {
          std::fprintf(stderr, "mpscq-bench: unknown scenario '%s' (S1..S7)\n", s.c_str());
          return false;
        }
        o.only.insert(s);
      }
    } else if (a == "--reps") {
      o.reps = std::atoi(value("--reps").c_str());
      if (o.reps < 1) {
        std::fprintf(stderr, "mpscq-bench: --reps must be at least 1\n");
        return false;
      }
    } else if (a == "--csv") {
      o.csv = value("--csv");
    } else if (a == "--plot") {
      o.plot = value("--plot");
    } else if (a == "--producers") {
      o.producers = std::atoi(value("--producers").c_str());
      if (o.producers < 1 || o.producers > 15) {
        std::fprintf(stderr, "mpscq-bench: --producers must be 1..15\n");
        return false;
      }
    } else if (a == "--seed") {
      o.seed = std::strtoull(value("--seed").c_str(), nullptr, 0);
    } else if (a == "--load") {
      const std::string v = value("--load");
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != 0 || n < 0 || n > 256) {
        std::fprintf(stderr, "mpscq-bench: --load takes a thread count, 0..256\n");
        return false;
      }
      o.load = static_cast<int>(n);
    } else if (a == "--contenders") {
      std::stringstream ss(value("--contenders"));
      std::string s;
      while (std::getline(ss, s, ',')) {
        for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (!s.empty()) o.contenders.push_back(s);
      }
      if (o.contenders.empty()) {
        std::fprintf(stderr, "mpscq-bench: --contenders needs at least one name\n");
        return false;
      }
    } else if (a == "--valgrind") {
      o.valgrind = value("--valgrind");
      if (o.valgrind != "callgrind" && o.valgrind != "cachegrind") {
        std::fprintf(stderr, "mpscq-bench: --valgrind takes callgrind or cachegrind\n");
        return false;
      }
    } else if (a == "--inject-fault") {
      o.inject_fault = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "mpscq-bench: unknown option '%s'\n%s", a.c_str(), usage);
      return false;
    }
  }
  if (o.smoke && o.full) {
    std::fprintf(stderr, "mpscq-bench: --smoke and --full exclude each other\n");
    return false;
  }
  if (o.smoke && o.reps == 5) o.reps = 2;
  return true;
}

std::vector<queue_contender> all_queue_contenders(bool inject_fault = false) {
  std::vector<queue_contender> v;
  register_mpscq(v);
  register_moodycamel(v);
  register_boost(v);
  register_urcu(v);
  register_atomic_queue(v);
  register_xenium(v);
  if (inject_fault) register_fault(v);
  return v;
}

// The polled local_work contenders (S2, S3): only when --contenders names
// them, so that a default run's tables stay as they were.
std::vector<queue_contender> local_work_contenders(const options& o) {
  std::vector<queue_contender> v;
  if (o.contenders.empty()) return v;
  register_local_work(v);
  v.erase(std::remove_if(v.begin(), v.end(), [&](const queue_contender& c) { return !o.wants_contender(c.name); }),
          v.end());
  return v;
}

// The contenders --contenders selects (all without it).
std::vector<queue_contender> selected(std::vector<queue_contender> v, const options& o) {
  v.erase(std::remove_if(v.begin(), v.end(), [&](const queue_contender& c) { return !o.wants_contender(c.name); }),
          v.end());
  return v;
}

const char* reference = "mpscq::queue";

void report_check(context& ctx, const std::string& scenario, const std::string& contender, const measured& m) {
  if (!m.chk.clean()) ctx.res.violation(scenario, contender, m.chk.describe());
}

// ---------------------------------------------------------------------------
// Core-to-core handoff probe: two pinned threads bounce a counter through two
// cache lines (store, the other side's load sees it, answers). One-way ns.

void handoff_probe(context& ctx) {
  const auto& cpus = allowed_cpus();
  if (cpus.size() < 2) {
    std::printf("\nHandoff probe: only one CPU allowed; two-thread scenarios share it (not pinned apart)\n");
    return;
  }
  struct alignas(64) line {
    std::atomic<std::uint64_t> v{0};
  };
  line ping, pong;
  const std::uint64_t trips = ctx.opt.smoke ? 200 : 2000;
  std::vector<double> one_way;
  for (std::size_t t = 0; t < ctx.sz.handoff_trials; ++t) {
    ping.v.store(0);
    pong.v.store(0);
    std::thread echo([&] {
      pin_to(cpu_for(1));
      for (std::uint64_t i = 1; i <= trips; ++i) {
        while (ping.v.load(std::memory_order_acquire) != i) mpscq::detail::cpu_relax();
        pong.v.store(i, std::memory_order_release);
      }
    });
    pin_to(cpu_for(0));
    // Let the echo thread reach its loop before timing.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const std::uint64_t t0 = now_ns();
    for (std::uint64_t i = 1; i <= trips; ++i) {
      ping.v.store(i, std::memory_order_release);
      while (pong.v.load(std::memory_order_acquire) != i) mpscq::detail::cpu_relax();
    }
    const std::uint64_t t1 = now_ns();
    echo.join();
    one_way.push_back(static_cast<double>(t1 - t0) / static_cast<double>(2 * trips));
  }
  pin_to(-1);
  stats s = summarize(one_way);
  std::printf("\nHandoff probe (CPU %d <-> CPU %d, store -> load ping-pong, one way, %zu trials x %llu round trips):\n"
              "  median %.0f ns, min %.0f ns, max %.0f ns%s\n",
              cpu_for(0), cpu_for(1), one_way.size(), static_cast<unsigned long long>(trips), s.median, s.min,
              s.max,
              s.max > 2 * s.min ? "   <- the machine is noisy: trust the per-repetition ratios, not absolutes"
                                : "");
  for (std::size_t i = 0; i < one_way.size(); ++i)
    ctx.res.add("probe", "handoff", "core-to-core", "one-way ns", "ns", better::lower, static_cast<int>(i),
                one_way[i]);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------

void legend(const std::vector<queue_contender>& qs) {
  std::printf("\nContenders (queue scenarios S1-S4, S7): FIFO order promised / bound / intrusive / progress\n");
  for (const auto& c : qs)
    std::printf("  %-32s %-38s %-44s %-13s %s\n", c.name.c_str(), c.traits.fifo, c.traits.bound,
                c.traits.intrusive ? "intrusive" : "moves pointers", c.traits.progress);
  std::printf("  (none of these blocks: consumers poll; S2's second table and S6 add the sleeping ones)\n");
  std::printf("\nItem layouts (S2 both tables, S3, S7; every contender runs in both, interleaved in each "
              "repetition):\n"
              "  ring       each producer recycles N items of one array in address order (consecutive pushes, "
              "consecutive lines:\n"
              "             the prefetchers' best case)\n"
              "  scattered  each producer recycles N lines drawn at random from a %zux larger buffer, in that "
              "random order\n"
              "             (consecutive pushes touch unrelated lines and pages, as heap nodes do)\n"
              "  Ratios compare contenders within one layout; 'vs ring' is a contender's own scattered / ring "
              "figure.\n",
              scattered_spread);
  legend_blocking();
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------
// S1

void scenario_s1(context& ctx, const std::vector<queue_contender>& qs) {
  const char* sc = "S1";
  ctx.res.set_reference(sc, reference);
  const double target_ns = ctx.sz.s1_ms * 1e6;
  std::map<std::pair<std::size_t, std::size_t>, std::uint64_t> rounds;  // (contender, n) -> rounds
  for (std::size_t ci = 0; ci < qs.size(); ++ci) {
    for (std::size_t n : ctx.sz.s1_n) {
      progress("S1 calibrating %s N=%zu", qs[ci].name.c_str(), n);
      std::uint64_t r = std::max<std::uint64_t>(1, 20000 / n);
      measured m = qs[ci].s1(n, r, ctx.sz.capacity);
      const double per_round = std::max(1.0, m.value * static_cast<double>(n));
      rounds[{ci, n}] = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(target_ns / per_round));
    }
  }
  for (int rep = 0; rep < ctx.opt.reps; ++rep) {
    for (std::size_t n : ctx.sz.s1_n) {
      for (std::size_t ci : shuffled(qs.size(), ctx.rng)) {
        const auto& c = qs[ci];
        progress("S1 rep %d/%d N=%zu %s", rep + 1, ctx.opt.reps, n, c.name.c_str());
        measured m = c.s1(n, rounds[{ci, n}], ctx.sz.capacity);
        report_check(ctx, sc, c.name, m);
        ctx.res.add(sc, "N=" + std::to_string(n), c.name, "ns/item", "ns per item (push + pop)", better::lower,
                    rep, m.value);
      }
    }
  }
  progress_done();
  ctx.res.print_table(sc, "ns/item", reference,
                      "S1  single thread: push N then pop N, 64-byte items written by the producer and read by "
                      "the consumer (instructions: scripts/callgrind.sh)");
}

// ---------------------------------------------------------------------------
// Threaded queue scenarios: S2 (1P1C pinned), S3 (oversubscribed), S7 (scaling)

std::size_t ring_for(const context& ctx, int producers) {
  return std::max<std::size_t>(64, std::min(ctx.sz.ring, ctx.sz.capacity / static_cast<std::size_t>(producers)));
}

void run_mt_case(context& ctx, const std::vector<queue_contender>& qs, const char* sc, const std::string& case_name,
                 mt_config cfg, int rep, bool with_exchange_ceiling);

const char* stall_count_metric = "stalls>100us/run";
const char* stall_share_metric = "stall share";
const char* stall_in_flight_metric = "stalls in flight/run";
const char* consumer_cpu_metric = "consumer CPU share";
const char* refused_metric = "refused/1k items";

// The bare exchange ceiling: `threads` threads (pinned like producers) doing
// nothing but an exchange on one shared word. Exchanges per second.
double exchange_ceiling(int threads, double ms, bool pin) {
  alignas(64) std::atomic<std::uint64_t> word{0};
  std::atomic<bool> stop{false};
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(threads) * 8, 0);
  start_line start;
  std::vector<std::thread> ts;
  std::uint64_t t0 = 0;
  for (int i = 0; i < threads; ++i) {
    ts.emplace_back([&, i] {
      if (pin) pin_to(cpu_for(i + 1));
      start.arrive_and_wait();
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int j = 0; j < 64; ++j) word.exchange(n + static_cast<std::uint64_t>(j), std::memory_order_acq_rel);
        n += 64;
      }
      counts[static_cast<std::size_t>(i) * 8] = n;
    });
  }
  start.release_when(threads);
  t0 = now_ns();
  std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(ms * 1000)));
  stop.store(true);
  for (auto& t : ts) t.join();
  const std::uint64_t t1 = now_ns();
  std::uint64_t total = 0;
  for (int i = 0; i < threads; ++i) total += counts[static_cast<std::size_t>(i) * 8];
  return static_cast<double>(total) / (static_cast<double>(t1 - t0) / 1e9);
}

// One repetition of one case: every contender in both item layouts, all
// (contender, layout) runs in one shuffled order, and the exchange ceiling
// once per layout (it touches no item, but each layout's rows then hold their
// own ceiling from the same repetition, and its ratio to that layout's
// reference). Every run of the repetition draws its scattered slots with the
// same seed.
void run_mt_case(context& ctx, const std::vector<queue_contender>& qs, const char* sc, const std::string& case_name,
                 mt_config cfg, int rep, bool with_exchange_ceiling) {
  std::vector<const queue_contender*> active;
  for (const auto& c : qs)
    if (c.mt != nullptr) active.push_back(&c);
  const std::size_t per_layout = active.size() + (with_exchange_ceiling ? 1 : 0);
  const std::size_t nlayouts = std::size(item_layouts);
  cfg.seed = ctx.rng();
  for (std::size_t i : shuffled(per_layout * nlayouts, ctx.rng)) {
    const item_layout layout = item_layouts[i / per_layout];
    const char* lname = layout_name(layout);
    const std::size_t ci = i % per_layout;
    if (ci == active.size()) {
      progress("%s rep %d/%d %s %s bare exchange", sc, rep + 1, ctx.opt.reps, case_name.c_str(), lname);
      const double v = exchange_ceiling(cfg.producers, cfg.ms, cfg.pin);
      ctx.res.add(sc, case_name, "bare exchange (ceiling)", "M items/s", "M items/s", better::higher, rep, v / 1e6,
                  lname);
      continue;
    }
    const auto& c = *active[ci];
    progress("%s rep %d/%d %s %s %s", sc, rep + 1, ctx.opt.reps, case_name.c_str(), lname, c.name.c_str());
    cfg.layout = layout;
    measured m = c.mt(cfg);
    report_check(ctx, sc, c.name + " " + case_name + " " + lname, m);
    ctx.res.add(sc, case_name, c.name, "M items/s", "M items/s", better::higher, rep, m.value / 1e6, lname);
    const stall_report& st = m.stalls;
    ctx.res.add(sc, case_name, c.name, stall_count_metric, "consumer stalls > 100 us per run", better::lower, rep,
                static_cast<double>(st.count), lname);
    ctx.res.add(sc, case_name, c.name, stall_share_metric, "share of the run's wall time in those stalls",
                better::lower, rep, st.share(), lname);
    ctx.res.add(sc, case_name, c.name, consumer_cpu_metric, "the consumer thread's CPU time / the run's wall time",
                better::higher, rep, st.consumer_cpu_share(), lname);
    if (st.knows_in_flight)
      ctx.res.add(sc, case_name, c.name, stall_in_flight_metric,
                  "stalls > 100 us per run that began with a push in flight", better::lower, rep,
                  static_cast<double>(st.in_flight), lname);
    if (!std::isnan(m.refused_per_k))
      ctx.res.add(sc, case_name, c.name, refused_metric, "try_add calls refused (full) per 1000 items",
                  better::lower, rep, m.refused_per_k, lname);
  }
}

// The polled local_work rows' own ratios (contenders_local_work.cpp): the
// same runs again, each row over mpscq::local_work (no limit) in the same
// repetition and layout - what a limit costs. Only when that row ran.
const char* lw_reference = "mpscq::local_work (no limit)";
void print_local_work_ratios(const context& ctx, const std::vector<queue_contender>& qs, const char* sc) {
  if (std::none_of(qs.begin(), qs.end(), [](const queue_contender& c) { return c.name == lw_reference; })) return;
  ctx.res.print_table(sc, "M items/s", lw_reference,
                      std::string(sc) + "  the same runs, ratios to " + lw_reference +
                          " (the cost of a limit: add() on a bounded object, try_add, try_add + try_add_for)");
}

// The stall diagnostic of one polling scenario (S2, S3), under its table.
void print_stalls(const context& ctx, const char* sc) {
  ctx.res.print_medians(
      sc,
      {{"stalls/run", stall_count_metric, 1}, {"% of wall", stall_share_metric, 100},
       {"push in flight", stall_in_flight_metric, 1}, {"consumer CPU %", consumer_cpu_metric, 100}},
      "  consumer stalls (same runs): idle stretches > 100 us, from the first empty poll (timed from ~2 us in) to "
      "the next item;\n  median per run over repetitions; 'push in flight': of those, begun with a node queued "
      "that the consumer\n  cannot reach yet (a producer between its tail exchange and its link; '-': the "
      "contender cannot tell);\n  consumer CPU %: the consumer thread's CPU time over the run's wall time (what "
      "the scheduler gave it)");
  // The bounded local_work rows (contenders_local_work.cpp), when selected.
  ctx.res.print_medians(sc, {{"refused/1k", refused_metric, 1}},
                        "  limit reached (same runs; bounded local_work try_add rows): try_add calls refused (full) "
                        "per 1000 items, median per run;\n  the producer then retried (try_add) or slept for room "
                        "(try_add_for)");
}

mt_config mt_for(const context& ctx, int producers, bool pin) {
  mt_config cfg;
  cfg.producers = producers;
  cfg.pin = pin;
  cfg.own_cpu = pin && static_cast<std::size_t>(producers) + 1 <= allowed_cpus().size();
  cfg.ms = ctx.sz.mt_ms;
  cfg.max_items = ctx.sz.mt_max_items;
  cfg.ring = ring_for(ctx, producers);
  cfg.capacity = ctx.sz.capacity;
  return cfg;
}

void scenario_s2(context& ctx, const std::vector<queue_contender>& qs) {
  const char* sc = "S2";
  ctx.res.set_reference(sc, reference);
  for (int rep = 0; rep < ctx.opt.reps; ++rep)
    run_mt_case(ctx, qs, sc, "1P1C spin", mt_for(ctx, 1, true), rep, false);
  progress_done();
  ctx.res.print_table(sc, "M items/s", reference,
                      "S2  1 producer, 1 consumer pinned to different cores, the consumer polls (pause-spins, "
                      "one yield per 16k pauses); items in the ring and the scattered layout");
  print_local_work_ratios(ctx, qs, sc);
  print_stalls(ctx, sc);
  scenario_s2_blocking(ctx);
}

void scenario_s3(context& ctx, const std::vector<queue_contender>& qs) {
  const char* sc = "S3";
  ctx.res.set_reference(sc, reference);
  const int ncpu = static_cast<int>(allowed_cpus().size());
  for (int rep = 0; rep < ctx.opt.reps; ++rep) {
    for (int p : {2, 8}) {
      char name[64];
      std::snprintf(name, sizeof name, "%dP1C (%d thr/%d cpu)", p, p + 1, ncpu);
      run_mt_case(ctx, qs, sc, name, mt_for(ctx, p, false), rep, false);
    }
  }
  progress_done();
  ctx.res.print_table(sc, "M items/s", reference,
                      "S3  2 and 8 producers, 1 consumer, threads unpinned and oversubscribed (pause-spins, one "
                      "yield per 64 pauses); items in the ring and the scattered layout");
  print_local_work_ratios(ctx, qs, sc);
  print_stalls(ctx, sc);
}

void scenario_s7(context& ctx, const std::vector<queue_contender>& qs) {
  const char* sc = "S7";
  ctx.res.set_reference(sc, reference);
  int pmax = ctx.opt.producers;
  if (pmax == 0) pmax = std::clamp(static_cast<int>(allowed_cpus().size()) - 1, 1, 15);
  // Every count up to 4, then 6, 8, 12 (powers of two and 1.5 times them:
  // no gap wider than 1.5x on a 16-core machine's 1..15), and P itself.
  std::vector<int> counts;
  for (int p = 1; p <= pmax; p = p < 4 ? p + 1 : (p & (p - 1)) == 0 ? p + p / 2 : p / 3 * 4) counts.push_back(p);
  if (counts.back() != pmax) counts.push_back(pmax);
  for (int rep = 0; rep < ctx.opt.reps; ++rep)
    for (int p : counts) run_mt_case(ctx, qs, sc, "P=" + std::to_string(p), mt_for(ctx, p, true), rep, true);
  progress_done();
  char title[384];
  std::snprintf(title, sizeof title,
                "S7  producer scaling 1..%d (consumer on CPU %d, producers round-robin over the others), with "
                "the bare-exchange ceiling on one shared word measured in the same repetitions; items in the "
                "ring and the scattered layout (%zu slots per producer at P=%d)",
                pmax, cpu_for(0), ring_for(ctx, pmax), pmax);
  ctx.res.print_table(sc, "M items/s", reference, title);
}

// ---------------------------------------------------------------------------
// S4

void scenario_s4(context& ctx, const std::vector<queue_contender>& qs) {
  const char* sc = "S4";
  ctx.res.set_reference(sc, reference);
  for (int rep = 0; rep < ctx.opt.reps; ++rep) {
    for (std::size_t k : {std::size_t{8}, std::size_t{1024}}) {
      for (bool scattered : {false, true}) {
        const std::string case_name = "K=" + std::to_string(k) + (scattered ? " scattered" : " contiguous");
        for (std::size_t ci : shuffled(qs.size(), ctx.rng)) {
          const auto& c = qs[ci];
          progress("S4 rep %d/%d %s %s", rep + 1, ctx.opt.reps, case_name.c_str(), c.name.c_str());
          drain_config cfg;
          cfg.k = k;
          cfg.scattered = scattered;
          cfg.drains = std::max<std::size_t>(20, ctx.sz.s4_warm_drains * 8 / k);
          cfg.rounds = ctx.sz.s4_cold_rounds;
          cfg.arena_mib = ctx.sz.s4_arena_mib;
          cfg.flush_mib = ctx.sz.s4_flush_mib;
          cfg.capacity = 1024;
          cfg.seed = ctx.rng();
          measured m = c.drain(cfg);
          report_check(ctx, sc, c.name + " " + case_name, m);
          ctx.res.add(sc, case_name, c.name, "consumer ns/item", "consumer ns per item", better::lower, rep,
                      m.value);
        }
      }
    }
  }
  progress_done();
  char title[320];
  std::snprintf(title, sizeof title,
                "S4  the seed's drain: K items pushed while the consumer is idle, then drained in FIFO order and "
                "read (mpscq::queue pop loop vs llist del_all+reverse+walk); contiguous = items in one array, "
                "just written; scattered = over %zu MiB, caches flushed (%zu MiB touched) before the drains "
                "(cache misses: scripts/cachegrind.sh)",
                ctx.sz.s4_arena_mib, ctx.sz.s4_flush_mib);
  ctx.res.print_table(sc, "consumer ns/item", reference, title);
  const std::string llist = "mpscq::llist (del_all+reverse)";
  std::printf("  seed's claim (patch 2/3): the reverse pass grows with pending depth; llist / queue here:");
  for (const char* c : {"K=8 contiguous", "K=1024 contiguous", "K=8 scattered", "K=1024 scattered"})
    std::printf("  %s %.2f", c, ctx.res.ratio_median(sc, c, llist, "consumer ns/item", reference));
  std::printf("\n");
}

// ---------------------------------------------------------------------------
// valgrind mode

int run_valgrind(const options& o) {
  if (!vg::available()) {
    std::fprintf(stderr, "mpscq-bench: built without <valgrind/callgrind.h>; install valgrind and rebuild\n");
    return 2;
  }
  if (!vg::running())
    std::fprintf(stderr, "mpscq-bench: --valgrind is meant to run under valgrind (scripts/%s.sh); running "
                         "the loops natively\n", o.valgrind.c_str());
  auto qs = selected(all_queue_contenders(), o);
  // local_work's add path (L1, contenders_local_work.cpp): with S1, unless
  // --contenders leaves it out.
  if (o.valgrind == "callgrind" && o.wants("S1") && (o.contenders.empty() || o.wants_contender("mpscq::local_work")))
    valgrind_local_work();
  if (o.valgrind == "callgrind") {
    for (const auto& c : qs)
      for (std::size_t n : {std::size_t{8}, std::size_t{1024}, std::size_t{65536}})
        if (o.wants("S1")) c.valgrind_s1(n, 65536);
  }
  for (const auto& c : qs) {
    for (std::size_t k : {std::size_t{8}, std::size_t{1024}}) {
      for (bool scattered : {false, true}) {
        if (!o.wants("S4")) continue;
        drain_config cfg;
        cfg.k = k;
        cfg.scattered = scattered;
        cfg.rounds = 4;
        cfg.arena_mib = 64;
        cfg.flush_mib = 96;
        cfg.capacity = 1024;
        cfg.seed = 12345;  // fixed: the counts must repeat exactly
        c.valgrind_drain(cfg);
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  context ctx;
  if (!parse(argc, argv, ctx.opt)) return 2;
  warn_about_build();
  if (!ctx.opt.valgrind.empty()) return run_valgrind(ctx.opt);
  ctx.sz = sizes_for(ctx.opt);
  ctx.rng.seed(ctx.opt.seed);
  const std::uint64_t t_start = now_ns();

  utsname u{};
  uname(&u);
  std::printf("mpscq-bench: %s run, %d repetitions, seed %llu\n",
              ctx.opt.smoke ? "smoke" : ctx.opt.full ? "full" : "quick", ctx.opt.reps,
              static_cast<unsigned long long>(ctx.opt.seed));
  std::printf("machine: %zu CPUs allowed (", allowed_cpus().size());
  for (std::size_t i = 0; i < allowed_cpus().size(); ++i) std::printf("%s%d", i ? "," : "", allowed_cpus()[i]);
  std::printf("), %s %s, compiler %s\n", u.sysname, u.release, __VERSION__);
  if (build_warning != nullptr)
    std::printf("build: WARNING: %s\n", build_warning);
  else
    std::printf("build: optimised, MPSCQ_DEBUG off\n");
  if (ctx.opt.load > 0)
    std::printf("load: %d busy thread%s (unpinned, normal priority), running from before the first case to after "
                "the last\n",
                ctx.opt.load, ctx.opt.load == 1 ? "" : "s");
  else
    std::printf("load: none (--load 0)\n");
  std::printf("method: every contender runs in every repetition, in a new shuffled order each time; tables give\n"
              "        median/min/max over repetitions and the median of per-repetition ratios to the reference.\n"
              "        Absolute two-thread numbers drift a lot on shared VMs; the ratios are what holds.\n");

  auto qs = selected(all_queue_contenders(ctx.opt.inject_fault), ctx.opt);
  // S2 and S3 also run the polled local_work rows that --contenders selects.
  auto mt_qs = qs;
  for (auto& c : local_work_contenders(ctx.opt)) mt_qs.push_back(c);
  if (!ctx.opt.contenders.empty()) {
    std::printf("contenders: --contenders selects %zu queue contender%s", qs.size(), qs.size() == 1 ? "" : "s");
    const std::size_t lw_rows = mt_qs.size() - qs.size();
    if (lw_rows > 0) std::printf(" and %zu polled local_work row%s (S2, S3 only)", lw_rows, lw_rows == 1 ? "" : "s");
    bool has_ref = false;
    for (const auto& c : qs) has_ref = has_ref || c.name == reference;
    if (!has_ref) std::printf(" (not the reference %s: the queue tables' ratio columns show -)", reference);
    std::printf("\n");
  }
  for (const auto& c : mt_qs) ctx.res.declare(c.name);
  ctx.res.declare("bare exchange (ceiling)");
  legend(mt_qs);

  const auto& o = ctx.opt;
  // The load runs from here (before the probe and the first case) to after
  // the last case: a machine that stays loaded, as one with other builds on
  // it; starting it per case would add thread start-up to every case and
  // leave the cases' first milliseconds unloaded.
  busy_load load;
  load.start(o.load);
  ctx.res.add("meta", "load", "busy threads (unpinned; normal priority)", "threads", "threads", better::lower, 0,
              o.load);
  if (o.wants("S2") || o.wants("S3") || o.wants("S5") || o.wants("S6") || o.wants("S7")) handoff_probe(ctx);
  if (o.wants("S1")) scenario_s1(ctx, qs);
  if (o.wants("S2")) scenario_s2(ctx, mt_qs);
  if (o.wants("S3")) scenario_s3(ctx, mt_qs);
  if (o.wants("S4")) scenario_s4(ctx, qs);
  if (o.wants("S5")) scenario_s5(ctx);
  if (o.wants("S6")) scenario_s6(ctx);
  if (o.wants("S7")) scenario_s7(ctx, qs);
  progress_done();
  if (load.threads() > 0) {
    const double cpu = load.stop();
    const double wall = load.wall_s();
    char line[256];
    std::snprintf(line, sizeof line,
                  "load: %d busy threads got %.1f CPU-s in %.1f s (%.2f CPUs' worth of the %zu allowed)", o.load,
                  cpu, wall, wall > 0 ? cpu / wall : 0.0, allowed_cpus().size());
    ctx.res.note(line);
    ctx.res.add("meta", "load", "busy threads (unpinned; normal priority)", "CPUs' worth", "CPUs", better::lower, 0,
                wall > 0 ? cpu / wall : 0.0);
  }

  ctx.res.print_summary();
  std::string csv = o.csv;
  if (csv.empty() && !o.plot.empty()) csv = o.plot + ".csv";
  if (!csv.empty()) {
    if (ctx.res.write_csv(csv))
      std::printf("CSV: %s\n", csv.c_str());
    else
      std::printf("CSV: could not write %s\n", csv.c_str());
  }
  int rc = ctx.res.violations() == 0 ? 0 : 1;
  if (!o.plot.empty()) {
    // Debian's python3-matplotlib belongs to /usr/bin/python3, which a pyenv
    // or venv python3 on PATH may hide: use the first one that has it.
    std::string cmd = std::string("for py in /usr/bin/python3 python3; do if \"$py\" -c 'import matplotlib' "
                                  "2>/dev/null; then exec \"$py\" '") +
                      MPSCQ_BENCH_PLOT_SCRIPT + "' '" + csv + "' '" + o.plot +
                      "'; fi; done; echo 'plot: no python3 with matplotlib (apt-get install python3-matplotlib)' "
                      ">&2; exit 1";
    const int prc = std::system(cmd.c_str());
    if (prc != 0) {
      std::printf("plot: '%s' failed (status %d)\n", cmd.c_str(), prc);
      if (rc == 0) rc = 3;
    } else {
      std::printf("plot: %s\n", o.plot.c_str());
    }
  }
  std::printf("total time: %.1f s\n", static_cast<double>(now_ns() - t_start) / 1e9);
  warn_about_build();  // again, under the tables
  return rc;
}
