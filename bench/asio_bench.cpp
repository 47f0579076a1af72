// bench/asio_bench.cpp - mpscq-asio-bench: mpscq's Asio pieces (work_thread,
// io_thread, task_strand; mpscq/asio_thread.hpp, mpscq/asio_strand.hpp)
// against what an Asio user runs today (asio::io_context, asio::thread_pool,
// asio::strand), in mpscq-bench's method: every contender in every
// repetition, in a new shuffled order, medians over repetitions and the
// median of per-repetition ratios to the Asio contender each row replaces.
//
// Usage: mpscq-asio-bench [--quick] [--reps N] [--only A1,A3] [--csv FILE]
//                         [--load N] [--seed N]
//
// Cases (bench/README.md, "mpscq-asio-bench", has the details):
//   A1  post on one thread: the executor's own thread posts N handlers to
//       itself, chained (each posts the next) and as a burst (N, then run).
//   A2  cross-thread post: 1, 2, 8 producers -> one consumer thread.
//   A3  threadring (Asio's cpp14/executors/actor.cpp shape): 503 actors over
//       16 single-thread executors, T tokens passed H hops in all.
//   A4  echo round trip over loopback TCP (Asio's cpp17 coroutine
//       echo_server shape on the server; one blocking client).
//
// Every handler of A2 carries (producer, sequence): the consumer checks
// count and per-producer order; A3 checks every token's hop count; A4 checks
// every echoed byte. A violation is printed and makes the exit status 1.
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp misses it (asio.hpp, WHICH ASIO)

#include <asio/co_spawn.hpp>
#include <asio/defer.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <mpscq/asio.hpp>
#include <mpscq/asio_strand.hpp>
#include <mpscq/asio_thread.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>

#include "bench.hpp"

namespace {

using bench::better;
using bench::now_ns;

// ---------------------------------------------------------------------------
// Options and sizes

struct opts {
  bool quick = false;
  int reps = 5;
  std::set<std::string> only;
  std::string csv;
  int load = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> contenders;  // --contenders: lower-case name substrings; empty: all
  bool wants_contender(const std::string& name) const {
    if (contenders.empty()) return true;
    std::string lower = name;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const std::string& c : contenders)
      if (lower.find(c) != std::string::npos) return true;
    return false;
  }
  std::vector<std::string> cases;  // --cases: exact case names (A1-A3); empty: all
  bool wants_case(const std::string& name) const {
    return cases.empty() || std::find(cases.begin(), cases.end(), name) != cases.end();
  }
  bool wants(const std::string& c) const { return only.empty() || only.count(c) != 0; }
};

struct run_sizes {
  std::uint64_t a1_n;        // handlers per A1 measurement
  std::uint64_t a2_n;        // handlers per A2 run (all producers together)
  std::uint64_t a3_hops;     // hops per A3 run (all tokens together)
  std::size_t a4_round_trips;
  std::size_t a4_warmup;
};

run_sizes sizes_of(const opts& o) {
  if (o.quick) return {20000, 20000, 20000, 200, 20};
  return {1000000, 2000000, 2000000, 20000, 500};
}

// Completion signal from the thread that ran the last handler to the
// thread that waits for it: C++20 atomic wait (a futex), outside every timed
// stretch (the time is taken by the last handler itself). wait() returns
// only once set() has returned, so the waiter may destroy the flag (and
// whatever holds it) at once: set()'s notify_all still touches the flag
// after the store that wait() sees first.
struct done_flag {
  std::atomic<int> v{0};
  std::atomic<bool> out{false};
  void set() noexcept {
    v.store(1, std::memory_order_release);  // pairs with wait()'s acquire load
    v.notify_all();
    out.store(true, std::memory_order_release);  // pairs with wait()'s last acquire load
  }
  void wait() noexcept {
    while (v.load(std::memory_order_acquire) == 0) v.wait(0, std::memory_order_acquire);
    while (!out.load(std::memory_order_acquire)) std::this_thread::yield();
  }
};

// --contenders: keeps the contenders whose names contain one of the
// substrings (a table whose reference was filtered out shows "-" for ratios).
template <class C>
void filter(const opts& o, std::vector<C>& cs) {
  cs.erase(std::remove_if(cs.begin(), cs.end(), [&](const C& c) { return !o.wants_contender(c.name); }), cs.end());
}

// ---------------------------------------------------------------------------
// A1: post on one thread

// The chain: each handler posts the next one to the same executor.
template <class Ex>
struct chain {
  Ex ex;
  std::uint64_t left;
  std::uint64_t start = 0, end = 0;
  done_flag done;
  chain(Ex e, std::uint64_t n) : ex(std::move(e)), left(n) {}
  static void step(chain* c) {
    if (--c->left == 0) {
      c->end = now_ns();
      c->done.set();
      return;
    }
    asio::post(c->ex, [c] { step(c); });
  }
  // Post n handlers (the burst); the last one to run records the end.
  static void burst(chain* c, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i)
      asio::post(c->ex, [c] {
        if (--c->left == 0) {
          c->end = now_ns();
          c->done.set();
        }
      });
  }
};

// ns per handler, the executor run by this thread (io_context::run, or an
// mpscq::local_work's run loop).
double a1_io_context(bool chained, std::uint64_t n) {
  asio::io_context io(1);
  chain<asio::io_context::executor_type> c(io.get_executor(), n);
  c.start = now_ns();
  if (chained)
    asio::post(c.ex, [p = &c] { chain<asio::io_context::executor_type>::step(p); });
  else
    chain<asio::io_context::executor_type>::burst(&c, n);
  io.run();
  return static_cast<double>(c.end - c.start) / static_cast<double>(n);
}

double a1_local_work_here(bool chained, std::uint64_t n) {
  mpscq::local_work lw;
  mpscq::asio::local_work_context ctx(lw);
  using ex_t = mpscq::asio::local_work_executor;
  chain<ex_t> c(ctx.get_executor(), n);
  c.start = now_ns();
  if (chained)
    asio::post(c.ex, [p = &c] { chain<ex_t>::step(p); });
  else
    chain<ex_t>::burst(&c, n);
  while (c.left != 0) lw.run(INT_MAX);
  return static_cast<double>(c.end - c.start) / static_cast<double>(n);
}

// work_thread / io_thread: the first handler (posted from this thread) takes
// the start time on the owner thread, then chains or bursts from there.
template <class Owner>
double a1_owner(bool chained, std::uint64_t n) {
  Owner t;
  using ex_t = typename Owner::executor_type;
  chain<ex_t> c(t.get_executor(), n);
  asio::post(c.ex, [p = &c, chained, n] {
    p->start = now_ns();
    if (chained)
      chain<ex_t>::step(p);
    else
      chain<ex_t>::burst(p, n);
  });
  c.done.wait();
  return static_cast<double>(c.end - c.start) / static_cast<double>(n);
}

void run_a1(const opts& o, const run_sizes& sz, bench::results& res, std::mt19937_64& rng) {
  struct contender {
    std::string name;
    double (*fn)(bool, std::uint64_t);
  };
  std::vector<contender> cs = {
      {"asio::io_context (run here)", a1_io_context},
      {"mpscq local_work (run here)", a1_local_work_here},
      {"mpscq work_thread", a1_owner<mpscq::asio::work_thread>},
      {"mpscq io_thread", a1_owner<mpscq::asio::io_thread>},
  };
  const std::string ref = cs[0].name;
  filter(o, cs);
  for (const auto& c : cs) res.declare(c.name);
  res.set_reference("A1", ref);
  for (int rep = 0; rep < o.reps; ++rep) {
    struct job {
      std::size_t c;
      bool chained;
    };
    std::vector<job> jobs;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      if (o.wants_case("chained")) jobs.push_back({i, true});
      if (o.wants_case("burst (post N, run)")) jobs.push_back({i, false});
    }
    // Run in a shuffled order; rows added in the jobs' order (tables and
    // CSV list cases in the order rows first appear).
    std::vector<double> v(jobs.size());
    for (std::size_t k : bench::shuffled(jobs.size(), rng)) {
      const job& j = jobs[k];
      bench::progress("A1 rep %d/%d: %s %s", rep + 1, o.reps, cs[j.c].name.c_str(), j.chained ? "chained" : "burst");
      v[k] = cs[j.c].fn(j.chained, sz.a1_n);
    }
    for (std::size_t k = 0; k < jobs.size(); ++k)
      res.add("A1", jobs[k].chained ? "chained" : "burst (post N, run)", cs[jobs[k].c].name, "ns/handler", "ns",
              better::lower, rep, v[k]);
  }
  bench::progress_done();
  res.print_table("A1", "ns/handler", ref,
                  "A1: post on one thread (the thread that runs the executor posts " + std::to_string(sz.a1_n) +
                      " handlers to itself)");
}

// ---------------------------------------------------------------------------
// A2: cross-thread post, P producers -> one consumer thread

// A fixed footprint (as mpscq-bench's recycled slots): a producer runs at
// most a2_window / P handlers ahead of the consumer, so every contender
// holds about the same number of queued handlers and allocations, and none
// grows its heap (page faults) for a backlog the others do not build. The
// consumer publishes each producer's progress once per 64 of its handlers.
// Not smaller: with 8192, under --load a producer at the window yielded its
// CPU to a busy thread for a whole time slice, and every contender read
// ~2 M handlers/s (8192 per slice).
constexpr std::uint64_t a2_window = 65536;
constexpr std::uint64_t a2_publish_every = 64;

struct alignas(64) a2_progress {
  std::atomic<std::uint64_t> done{0};  // handlers of this producer run (a multiple of 64, or all)
};

// What the consumer's handlers touch: on the consumer thread only (but the
// progress words, which the producers read).
struct a2_state {
  std::vector<std::uint64_t> next;  // per producer: the sequence expected next
  std::unique_ptr<a2_progress[]> progress;
  std::uint64_t left;
  std::uint64_t bad = 0;
  std::uint64_t end = 0;
  done_flag done;
  a2_state(int producers, std::uint64_t n)
      : next(static_cast<std::size_t>(producers), 0), progress(new a2_progress[static_cast<std::size_t>(producers)]),
        left(n) {}
  void on(std::uint32_t p, std::uint64_t s) noexcept {
    if (next[p] != s) ++bad;
    next[p] = s + 1;
    // Release: pairs with the producer's acquire load; the handler's memory
    // was freed before it ran (asio.hpp ALLOCATION), so nothing else to order.
    if ((s + 1) % a2_publish_every == 0) progress[p].done.store(s + 1, std::memory_order_release);
    if (--left == 0) {
      end = now_ns();
      done.set();
    }
  }
};

// M handlers/s from the release of the producers to the last handler run;
// the consumer thread is already running (and idle) when they start.
template <class Ex>
double a2_run(Ex ex, int producers, std::uint64_t n, bench::results& res, const std::string& name) {
  a2_state st(producers, n);
  bench::start_line line;
  std::vector<std::thread> ts;
  const std::uint64_t per = n / static_cast<std::uint64_t>(producers);
  const std::uint64_t window = a2_window / static_cast<std::uint64_t>(producers);
  for (int p = 0; p < producers; ++p) {
    const std::uint64_t count = p + 1 == producers ? n - per * static_cast<std::uint64_t>(producers - 1) : per;
    ts.emplace_back([&, p, count] {
      line.arrive_and_wait();
      const auto pid = static_cast<std::uint32_t>(p);
      std::atomic<std::uint64_t>& done = st.progress[p].done;
      std::uint64_t seen = 0;  // the consumer's progress as last read
      bench::backoff b(false);
      for (std::uint64_t s = 0; s < count; ++s) {
        if (s - seen >= window) {
          // Acquire: pairs with the consumer's release store.
          while (s - (seen = done.load(std::memory_order_acquire)) >= window) b.pause();
          b.reset();
        }
        asio::post(ex, [stp = &st, pid, s] { stp->on(pid, s); });
      }
    });
  }
  // The clock starts when every producer is at the line (not while threads
  // are still starting).
  while (line.ready.load(std::memory_order_acquire) < producers) std::this_thread::yield();
  const std::uint64_t t0 = now_ns();
  line.go.store(true, std::memory_order_release);  // pairs with arrive_and_wait()'s acquire
  for (auto& t : ts) t.join();
  st.done.wait();
  if (st.bad != 0)
    res.violation("A2", name, std::to_string(st.bad) + " handlers out of per-producer order");
  return static_cast<double>(n) / (static_cast<double>(st.end - t0) / 1e3);  // per us = M/s
}

double a2_io_context(int producers, std::uint64_t n, bench::results& res, const std::string& name) {
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);
  std::thread t([&] { io.run(); });
  const double r = a2_run(io.get_executor(), producers, n, res, name);
  guard.reset();
  t.join();
  return r;
}

double a2_thread_pool(int producers, std::uint64_t n, bench::results& res, const std::string& name) {
  asio::thread_pool pool(1);
  const double r = a2_run(pool.get_executor(), producers, n, res, name);
  pool.join();
  return r;
}

template <class Owner>
double a2_owner(int producers, std::uint64_t n, bench::results& res, const std::string& name) {
  Owner t;
  return a2_run(t.get_executor(), producers, n, res, name);
}

std::string a2_case(int p) { return std::to_string(p) + " producer" + (p == 1 ? "" : "s"); }

void run_a2(const opts& o, const run_sizes& sz, bench::results& res, std::mt19937_64& rng) {
  struct contender {
    std::string name;
    double (*fn)(int, std::uint64_t, bench::results&, const std::string&);
  };
  std::vector<contender> cs = {
      {"asio::io_context (1 thread)", a2_io_context},
      {"asio::thread_pool(1)", a2_thread_pool},
      {"mpscq work_thread", a2_owner<mpscq::asio::work_thread>},
      {"mpscq io_thread", a2_owner<mpscq::asio::io_thread>},
  };
  const std::string ref = cs[0].name, ref_pool = cs[1].name;
  filter(o, cs);
  for (const auto& c : cs) res.declare(c.name);
  res.set_reference("A2", ref);
  const int pcounts[] = {1, 2, 8};
  for (int rep = 0; rep < o.reps; ++rep) {
    struct job {
      std::size_t c;
      int p;
    };
    std::vector<job> jobs;
    for (std::size_t i = 0; i < cs.size(); ++i)
      for (int p : pcounts)
        if (o.wants_case(a2_case(p))) jobs.push_back({i, p});
    std::vector<double> v(jobs.size());
    for (std::size_t k : bench::shuffled(jobs.size(), rng)) {
      const job& j = jobs[k];
      bench::progress("A2 rep %d/%d: %s, %d producers", rep + 1, o.reps, cs[j.c].name.c_str(), j.p);
      v[k] = cs[j.c].fn(j.p, sz.a2_n, res, cs[j.c].name);
    }
    for (std::size_t k = 0; k < jobs.size(); ++k)
      res.add("A2", a2_case(jobs[k].p), cs[jobs[k].c].name,
              "M handlers/s", "M handlers/s", better::higher, rep, v[k]);
  }
  bench::progress_done();
  const std::string title = "A2: cross-thread post, P producers -> one consumer thread (" + std::to_string(sz.a2_n) +
                            " handlers per run, first post to last handler, at most " +
                            std::to_string(a2_window) + " in flight)";
  res.print_table("A2", "M handlers/s", ref, title + ", ratio to io_context");
  res.print_table("A2", "M handlers/s", ref_pool, "A2 again, ratio to thread_pool(1)");
}

// ---------------------------------------------------------------------------
// A3: threadring (Asio's cpp14/executors/actor.cpp shape)

constexpr std::size_t ring_actors = 503;
constexpr std::size_t ring_threads = 16;

struct ring_shared {
  std::atomic<std::size_t> finished{0};
  std::size_t tokens = 0;
  std::atomic<std::uint64_t> bad{0};
  std::uint64_t end = 0;
  done_flag done;
};

// One actor: its executor (a strand, or a single-thread executor) and the
// next actor in the ring. A token of value v > 0 goes on to `next` as v - 1
// (Asio's tail_send: defer from inside the handler); at 0 it is finished.
template <class Ex>
struct actor {
  Ex ex;
  actor* next = nullptr;
  ring_shared* sh = nullptr;
  std::uint64_t hops = 0;  // hops this actor handled (only ever touched under its executor)

  explicit actor(Ex e) : ex(std::move(e)) {}

  static void handle(actor* a, std::uint64_t v) {
    ++a->hops;
    if (v > 0) {
      actor* to = a->next;
      asio::defer(to->ex, [to, v] { handle(to, v - 1); });
      return;
    }
    ring_shared* sh = a->sh;
    if (sh->finished.fetch_add(1, std::memory_order_acq_rel) + 1 == sh->tokens) {
      sh->end = now_ns();
      sh->done.set();
    }
  }
};

// Runs one ring: actors built by make(i) (i = actor index); returns the
// time (ms) from the first token's post to the last token's end.
template <class Ex, class Make>
double ring_run(Make&& make, std::size_t tokens, std::uint64_t hops, bench::results& res, const std::string& name) {
  ring_shared sh;
  sh.tokens = tokens;
  std::vector<std::unique_ptr<actor<Ex>>> actors;
  actors.reserve(ring_actors);
  for (std::size_t i = 0; i < ring_actors; ++i) {
    actors.push_back(std::make_unique<actor<Ex>>(make(i)));
    actors.back()->sh = &sh;
  }
  for (std::size_t i = 0; i < ring_actors; ++i) actors[i]->next = actors[(i + 1) % ring_actors].get();
  // Asio's example: every token the same value, rounded up (ceil(H / T)).
  const std::uint64_t value = (hops + tokens - 1) / tokens;
  const std::uint64_t t0 = now_ns();
  for (std::size_t k = 0; k < tokens; ++k) {
    actor<Ex>* a = actors[k * ring_actors / tokens].get();
    asio::post(a->ex, [a, value] { actor<Ex>::handle(a, value); });
  }
  sh.done.wait();
  const double ms = static_cast<double>(sh.end - t0) / 1e6;
  // Each token is handled value + 1 times (value hops, then its end).
  std::uint64_t total = 0;
  for (auto& a : actors) total += a->hops;  // after done: every handler has run (the fetch_add chain orders them)
  if (total != (value + 1) * tokens)
    res.violation("A3", name, "handled " + std::to_string(total) + " tokens, expected " +
                                  std::to_string((value + 1) * tokens));
  return ms;
}

// Asio's actor.cpp: actors_per_thread consecutive actors per executor.
inline std::size_t ring_thread_of(std::size_t i) {
  return (i / (ring_actors / ring_threads)) % ring_threads;
}

// After the last token: the thread that passed it on may still be inside
// its post into the executor that ran it (Asio's scheduler signals its
// condition variable after the handler could already have run), so every
// executor's threads end before any executor is destroyed.
template <class Pool>
void join_all(Pool* pools) {
  for (std::size_t i = 0; i < ring_threads; ++i) pools[i].stop();
  for (std::size_t i = 0; i < ring_threads; ++i) pools[i].join();
}

struct single_thread_pool : asio::thread_pool {
  single_thread_pool() : asio::thread_pool(1) {}
};

double a3_asio_strand(std::size_t tokens, std::uint64_t hops, bench::results& res, const std::string& name) {
  single_thread_pool pools[ring_threads];
  using ex_t = asio::strand<asio::thread_pool::executor_type>;
  const double ms = ring_run<ex_t>(
      [&](std::size_t i) { return asio::make_strand(pools[ring_thread_of(i)].get_executor()); }, tokens, hops, res,
      name);
  join_all(pools);
  return ms;
}

double a3_asio_direct(std::size_t tokens, std::uint64_t hops, bench::results& res, const std::string& name) {
  single_thread_pool pools[ring_threads];
  using ex_t = asio::thread_pool::executor_type;
  const double ms =
      ring_run<ex_t>([&](std::size_t i) { return pools[ring_thread_of(i)].get_executor(); }, tokens, hops, res, name);
  join_all(pools);
  return ms;
}

double a3_task_strand(std::size_t tokens, std::uint64_t hops, bench::results& res, const std::string& name) {
  std::unique_ptr<mpscq::asio::work_thread[]> ts(new mpscq::asio::work_thread[ring_threads]);
  using strand_t = mpscq::asio::task_strand<mpscq::asio::local_work_executor>;
  std::vector<strand_t> strands;
  strands.reserve(ring_actors);
  for (std::size_t i = 0; i < ring_actors; ++i) strands.emplace_back(ts[ring_thread_of(i)].get_executor());
  const double ms = ring_run<mpscq::asio::task_work_executor>(
      [&](std::size_t i) { return strands[i].get_executor(); }, tokens, hops, res, name);
  join_all(ts.get());
  return ms;
}

double a3_work_thread(std::size_t tokens, std::uint64_t hops, bench::results& res, const std::string& name) {
  std::unique_ptr<mpscq::asio::work_thread[]> ts(new mpscq::asio::work_thread[ring_threads]);
  const double ms = ring_run<mpscq::asio::local_work_executor>(
      [&](std::size_t i) { return ts[ring_thread_of(i)].get_executor(); }, tokens, hops, res, name);
  join_all(ts.get());
  return ms;
}

std::string a3_case(std::size_t t) { return std::to_string(t) + " token" + (t == 1 ? "" : "s"); }

void run_a3(const opts& o, const run_sizes& sz, bench::results& res, std::mt19937_64& rng) {
  struct contender {
    std::string name;
    double (*fn)(std::size_t, std::uint64_t, bench::results&, const std::string&);
  };
  std::vector<contender> cs = {
      {"asio pool(1) x16 + asio::strand", a3_asio_strand},
      {"asio pool(1) x16, no strand", a3_asio_direct},
      {"work_thread x16 + task_strand", a3_task_strand},
      {"work_thread x16, no strand", a3_work_thread},
  };
  const std::string ref = cs[0].name;
  filter(o, cs);
  for (const auto& c : cs) res.declare(c.name);
  res.set_reference("A3", ref);
  const std::size_t token_counts[] = {1, 16, ring_actors};
  for (int rep = 0; rep < o.reps; ++rep) {
    struct job {
      std::size_t c;
      std::size_t t;
    };
    std::vector<job> jobs;
    for (std::size_t i = 0; i < cs.size(); ++i)
      for (std::size_t t : token_counts)
        if (o.wants_case(a3_case(t))) jobs.push_back({i, t});
    std::vector<double> v(jobs.size());
    for (std::size_t k : bench::shuffled(jobs.size(), rng)) {
      const job& j = jobs[k];
      bench::progress("A3 rep %d/%d: %s, %zu tokens", rep + 1, o.reps, cs[j.c].name.c_str(), j.t);
      v[k] = cs[j.c].fn(j.t, sz.a3_hops, res, cs[j.c].name);
    }
    for (std::size_t k = 0; k < jobs.size(); ++k)
      res.add("A3", a3_case(jobs[k].t), cs[jobs[k].c].name, "ms", "ms", better::lower, rep, v[k]);
  }
  bench::progress_done();
  res.print_table("A3", "ms", ref,
                  "A3: threadring, " + std::to_string(ring_actors) + " actors over " + std::to_string(ring_threads) +
                      " single-thread executors, " + std::to_string(sz.a3_hops) +
                      " hops in all (tokens x value), total time");
}

// ---------------------------------------------------------------------------
// A4: echo round trip over loopback TCP

using tcp = asio::ip::tcp;
constexpr std::size_t echo_bytes = 32;

struct echo_status {
  std::atomic<int> sessions_ended{0};
  std::atomic<bool> listener_ended{false};
};

// Asio's cpp17 coroutine echo_server, shape for shape.
asio::awaitable<void> echo(tcp::socket socket, echo_status* st) {
  try {
    char data[1024];
    for (;;) {
      const std::size_t n = co_await socket.async_read_some(asio::buffer(data), asio::use_awaitable);
      co_await asio::async_write(socket, asio::buffer(data, n), asio::use_awaitable);
    }
  } catch (const std::exception&) {
  }
  st->sessions_ended.fetch_add(1, std::memory_order_release);
}

template <class SpawnEx>
asio::awaitable<void> listener(tcp::acceptor& acceptor, SpawnEx ex, echo_status* st) {
  try {
    for (;;) {
      tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
      socket.set_option(tcp::no_delay(true));
      asio::co_spawn(ex, echo(std::move(socket), st), asio::detached);
    }
  } catch (const std::exception&) {
  }
  st->listener_ended.store(true, std::memory_order_release);
}

// The client (same for every server): a blocking socket on its own
// io_context, on this thread; write 32 bytes, read 32 back, repeat.
// Returns the measured round trips (ns); checks every byte.
std::vector<double> echo_client(unsigned short port, const run_sizes& sz, bench::results& res,
                                const std::string& name) {
  asio::io_context cio(1);
  tcp::socket s(cio);
  s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  s.set_option(tcp::no_delay(true));
  std::vector<double> rtt;
  rtt.reserve(sz.a4_round_trips);
  char out[echo_bytes], in[echo_bytes];
  std::uint64_t bad = 0;
  for (std::size_t i = 0; i < sz.a4_warmup + sz.a4_round_trips; ++i) {
    for (std::size_t b = 0; b < echo_bytes; ++b) out[b] = static_cast<char>(i * 31 + b);
    const std::uint64_t t0 = now_ns();
    asio::write(s, asio::buffer(out));
    asio::read(s, asio::buffer(in));
    const std::uint64_t t1 = now_ns();
    if (std::memcmp(in, out, echo_bytes) != 0) ++bad;
    if (i >= sz.a4_warmup) rtt.push_back(static_cast<double>(t1 - t0));
  }
  if (bad != 0) res.violation("A4", name, std::to_string(bad) + " echoes differed from what was sent");
  s.close();
  return rtt;
}

// After the client closed: close the acceptor on the server's thread (through
// its own executor) and wait until the session and the listener ended.
void echo_shutdown(tcp::acceptor& acceptor, echo_status& st) {
  asio::post(acceptor.get_executor(), [&acceptor] {
    std::error_code ec;
    acceptor.close(ec);
  });
  while (st.sessions_ended.load(std::memory_order_acquire) < 1 || !st.listener_ended.load(std::memory_order_acquire))
    std::this_thread::sleep_for(std::chrono::microseconds(200));
}

template <class Ctx>
tcp::acceptor make_acceptor(Ctx& ctx) {
  tcp::acceptor a(ctx, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  return a;
}

std::vector<double> a4_io_context(const run_sizes& sz, bench::results& res, const std::string& name) {
  asio::io_context io(1);
  echo_status st;
  std::vector<double> r;
  {
    tcp::acceptor acc = make_acceptor(io);
    asio::co_spawn(io, listener(acc, io.get_executor(), &st), asio::detached);
    std::thread t([&] { io.run(); });
    r = echo_client(acc.local_endpoint().port(), sz, res, name);
    echo_shutdown(acc, st);
    io.stop();
    t.join();
  }
  return r;
}

// io_thread; co_spawn on get_executor() (through the local_work) or on
// io_context().get_executor() (Asio's own scheduler).
template <bool OnLocalWork>
std::vector<double> a4_io_thread(const run_sizes& sz, bench::results& res, const std::string& name) {
  mpscq::asio::io_thread io;
  echo_status st;
  tcp::acceptor acc = make_acceptor(io.io_context());
  if constexpr (OnLocalWork)
    asio::co_spawn(io.get_executor(), listener(acc, io.get_executor(), &st), asio::detached);
  else
    asio::co_spawn(io.io_context(), listener(acc, io.io_context().get_executor(), &st), asio::detached);
  std::vector<double> r = echo_client(acc.local_endpoint().port(), sz, res, name);
  echo_shutdown(acc, st);
  io.stop();
  io.join();
  return r;  // acc goes before io (declared after it)
}

// The shape: sockets on a local_work_context (work_thread::context()):
// Asio runs their reactor on a hidden scheduler thread, and every completion
// hops to the owner through the local_work.
std::vector<double> a4_work_thread_hop(const run_sizes& sz, bench::results& res, const std::string& name) {
  mpscq::asio::work_thread wt;
  echo_status st;
  tcp::acceptor acc = make_acceptor(wt.context());
  asio::co_spawn(wt.get_executor(), listener(acc, wt.get_executor(), &st), asio::detached);
  std::vector<double> r = echo_client(acc.local_endpoint().port(), sz, res, name);
  echo_shutdown(acc, st);
  wt.stop();
  wt.join();
  return r;
}

void run_a4(const opts& o, const run_sizes& sz, bench::results& res, std::mt19937_64& rng) {
  struct contender {
    std::string name;
    std::vector<double> (*fn)(const run_sizes&, bench::results&, const std::string&);
  };
  std::vector<contender> cs = {
      {"asio::io_context (1 thread)", a4_io_context},
      {"io_thread, spawn on get_executor", a4_io_thread<true>},
      {"io_thread, spawn on io_context", a4_io_thread<false>},
      {"work_thread, I/O on context() hop", a4_work_thread_hop},
  };
  const std::string ref = cs[0].name;
  filter(o, cs);
  for (const auto& c : cs) res.declare(c.name);
  res.set_reference("A4", ref);
  for (int rep = 0; rep < o.reps; ++rep) {
    std::vector<bench::stats> v(cs.size());
    for (std::size_t k : bench::shuffled(cs.size(), rng)) {
      bench::progress("A4 rep %d/%d: %s", rep + 1, o.reps, cs[k].name.c_str());
      v[k] = bench::summarize(cs[k].fn(sz, res, cs[k].name));
    }
    for (std::size_t k = 0; k < cs.size(); ++k)
      res.add("A4", "median", cs[k].name, "round trip us", "us", better::lower, rep, v[k].median / 1e3);
    for (std::size_t k = 0; k < cs.size(); ++k)
      res.add("A4", "p99", cs[k].name, "round trip us", "us", better::lower, rep, v[k].p99 / 1e3);
  }
  bench::progress_done();
  res.print_table("A4", "round trip us", ref,
                  "A4: echo round trip over loopback TCP, " + std::to_string(echo_bytes) + " bytes, " +
                      std::to_string(sz.a4_round_trips) +
                      " round trips per run (blocking client; per run median and p99, then the median over runs)");
}

// ---------------------------------------------------------------------------
// Command line

const char* usage =
    "usage: mpscq-asio-bench [options]\n"
    "  (no option)      every case, 5 repetitions (~2 min on 2 cores)\n"
    "  --quick          tiny sizes (CTest's asio_bench_smoke; figures meaningless)\n"
    "  --reps N         repetitions (default 5; each runs every contender, shuffled)\n"
    "  --only A1,A3     a subset of A1 (post, one thread), A2 (cross-thread post), A3 (threadring),\n"
    "                   A4 (echo round trip)\n"
    "  --csv FILE       one row per contender, case, metric and repetition (mpscq-bench's columns)\n"
    "  --load N         N busy threads (unpinned, normal priority) from before the first case to\n"
    "                   after the last, as mpscq-bench --load\n"
    "  --contenders a,b only the contenders whose names contain one of these (case-insensitive)\n"
    "  --cases a,b      only these cases of A1-A3, by their table names (\"chained\", \"2 producers\",\n"
    "                   \"1 token\", ...)\n"
    "  --seed N         the shuffles' seed (default: from the clock)\n";

bool parse(int argc, char** argv, opts& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* what) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mpscq-asio-bench: %s needs a value\n%s", what, usage);
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&](const char* what, long lo, long hi) {
      const std::string v = value(what);
      char* e = nullptr;
      const long n = std::strtol(v.c_str(), &e, 10);
      if (e == v.c_str() || *e != 0 || n < lo || n > hi) {
        std::fprintf(stderr, "mpscq-asio-bench: %s takes a number in %ld..%ld\n", what, lo, hi);
        std::exit(2);
      }
      return n;
    };
    if (a == "--quick" || a == "--smoke") {
      o.quick = true;
    } else if (a == "--reps") {
      o.reps = static_cast<int>(number("--reps", 1, 1000));
    } else if (a == "--only") {
      std::stringstream ss(value("--only"));
      std::string s;
      while (std::getline(ss, s, ',')) {
        for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (s != "A1" && s != "A2" && s != "A3" && s != "A4") {
          std::fprintf(stderr, "mpscq-asio-bench: --only: unknown case '%s' (A1..A4)\n", s.c_str());
          return false;
        }
        o.only.insert(s);
      }
    } else if (a == "--contenders") {
      std::stringstream ss(value("--contenders"));
      std::string c;
      while (std::getline(ss, c, ',')) {
        for (auto& ch : c) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (!c.empty()) o.contenders.push_back(c);
      }
    } else if (a == "--cases") {
      std::stringstream ss(value("--cases"));
      std::string c;
      while (std::getline(ss, c, ',')) o.cases.push_back(c);
    } else if (a == "--csv") {
      o.csv = value("--csv");
    } else if (a == "--load") {
      o.load = static_cast<int>(number("--load", 0, 256));
    } else if (a == "--seed") {
      o.seed = static_cast<std::uint64_t>(number("--seed", 0, LONG_MAX));
    } else if (a == "--help" || a == "-h") {
      std::printf("%s", usage);
      std::exit(0);
    } else {
      std::fprintf(stderr, "mpscq-asio-bench: unknown option '%s'\n%s", a.c_str(), usage);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  opts o;
  if (!parse(argc, argv, o)) return 2;
#if !defined(__OPTIMIZE__)
  std::fprintf(stderr, "mpscq-asio-bench: WARNING: built without optimisation: the figures are meaningless\n");
  std::printf("WARNING: built without optimisation: the figures are meaningless\n");
#endif
  if (o.seed == 0) o.seed = now_ns();
  std::mt19937_64 rng(o.seed);
  const run_sizes sz = sizes_of(o);
  bench::results res;

  utsname u{};
  uname(&u);
  std::printf("mpscq-asio-bench: %s %s, %zu CPUs allowed, compiler %s, Asio %d.%d.%d, %s, %d repetitions, seed %llu\n",
              u.nodename, u.release, bench::allowed_cpus().size(), __VERSION__, ASIO_VERSION / 100000,
              ASIO_VERSION / 100 % 1000, ASIO_VERSION % 100,
              o.quick ? "--quick sizes (figures meaningless)" : "default sizes", o.reps,
              static_cast<unsigned long long>(o.seed));
  std::printf("command:");
  for (int i = 0; i < argc; ++i) std::printf(" %s", argv[i]);
  std::printf("\n");
  if (o.load > 0)
    std::printf("load: %d busy thread%s (unpinned, normal priority), running from before the first case to after "
                "the last\n",
                o.load, o.load == 1 ? "" : "s");
  else
    std::printf("load: none (--load 0)\n");
  std::fflush(stdout);

  bench::busy_load load;
  load.start(o.load);
  res.add("meta", "load", "busy threads (unpinned; normal priority)", "threads", "threads", better::lower, 0, o.load);
  // Tables list contenders in declared order, one order for the program:
  // A2's Asio pair first, so A1's and A2's mpscq rows both come after them.
  res.declare("asio::io_context (1 thread)");
  res.declare("asio::thread_pool(1)");
  const std::uint64_t t0 = now_ns();
  if (o.wants("A1")) run_a1(o, sz, res, rng);
  if (o.wants("A2")) run_a2(o, sz, res, rng);
  if (o.wants("A3")) run_a3(o, sz, res, rng);
  if (o.wants("A4")) run_a4(o, sz, res, rng);
  if (load.threads() > 0) {
    const double cpu = load.stop();
    const double wall = load.wall_s();
    char buf[200];
    std::snprintf(buf, sizeof buf, "load: %d busy threads got %.1f CPU-s in %.1f s (%.2f CPUs' worth of the %zu allowed)",
                  o.load, cpu, wall, wall > 0 ? cpu / wall : 0.0, bench::allowed_cpus().size());
    res.note(buf);
    res.add("meta", "load", "busy threads (unpinned; normal priority)", "CPUs' worth", "CPUs", better::lower, 0,
            wall > 0 ? cpu / wall : 0.0);
  }
  char buf[100];
  std::snprintf(buf, sizeof buf, "total run time %.1f s", static_cast<double>(now_ns() - t0) / 1e9);
  res.note(buf);
  res.print_summary();
  if (!o.csv.empty()) {
    if (!res.write_csv(o.csv)) {
      std::fprintf(stderr, "mpscq-asio-bench: cannot write %s\n", o.csv.c_str());
      return 1;
    }
    std::printf("CSV: %s\n", o.csv.c_str());
  }
  return res.violations() == 0 ? 0 : 1;
}
