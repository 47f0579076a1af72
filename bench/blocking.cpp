// bench/blocking.cpp - S2's second table: 1 producer, 1 consumer pinned apart,
// and the consumer sleeps when it finds nothing (each contender with its own
// wait: mpscq::local_work's wait(), the bench's mpscq::queue + futex,
// moodycamel's BlockingConcurrentQueue, a mutex + condition variable).
#include <concurrentqueue/blockingconcurrentqueue.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "driver.hpp"
#include "scenarios.hpp"
#include "sleepers.hpp"

namespace bench {
namespace {

constexpr long owner_timeout_ns = 50'000'000;  // every owner wait wakes at least this often

// An adaptor B: B(capacity); producer_t(B&); push(producer_t&, item*);
// owner_loop(on_item, stop): calls on_item(item&) for each item, sleeping
// when idle, until stop is set; wakes() (-1 when the contender does not say).

struct futex_blocking {
  static constexpr const char* name = "mpscq::queue+futex";
  mpscq_futex_queue q;
  explicit futex_blocking(std::size_t) {}
  struct producer_t {
    explicit producer_t(futex_blocking&) {}
  };
  void push(producer_t&, item* it) { q.push(it); }
  template <class F>
  void owner_loop(F&& on_item, const std::atomic<bool>& stop) {
    while (!stop.load(std::memory_order_relaxed))
      if (item* it = q.pop_wait(owner_timeout_ns)) on_item(*it);
  }
  double wakes() const { return static_cast<double>(q.wakes()); }
};

struct condvar_blocking {
  static constexpr const char* name = "mutex+condvar+deque";
  std::mutex m;
  std::condition_variable cv;
  std::deque<item*> d;
  bool waiting = false;
  std::uint64_t notifies = 0;
  explicit condvar_blocking(std::size_t) {}
  struct producer_t {
    explicit producer_t(condvar_blocking&) {}
  };
  void push(producer_t&, item* it) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(m);
      d.push_back(it);
      wake = waiting;
      waiting = false;
      if (wake) ++notifies;
    }
    if (wake) cv.notify_one();
  }
  template <class F>
  void owner_loop(F&& on_item, const std::atomic<bool>& stop) {
    std::deque<item*> batch;
    while (!stop.load(std::memory_order_relaxed)) {
      {
        std::unique_lock<std::mutex> lock(m);
        if (d.empty()) {
          waiting = true;
          cv.wait_for(lock, std::chrono::nanoseconds(owner_timeout_ns), [&] { return !d.empty(); });
          waiting = false;
        }
        batch.swap(d);
      }
      for (item* it : batch) on_item(*it);
      batch.clear();
    }
  }
  double wakes() const { return static_cast<double>(notifies); }
};

struct moodycamel_blocking {
  static constexpr const char* name = "moodycamel Blocking (tokens)";
  moodycamel::BlockingConcurrentQueue<item*> q;
  explicit moodycamel_blocking(std::size_t) : q(4096) {}
  struct producer_t {
    moodycamel::ProducerToken t;
    explicit producer_t(moodycamel_blocking& b) : t(b.q) {}
  };
  void push(producer_t& p, item* it) { q.enqueue(p.t, it); }
  template <class F>
  void owner_loop(F&& on_item, const std::atomic<bool>& stop) {
    moodycamel::ConsumerToken c(q);
    item* buf[64];
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t n = q.wait_dequeue_bulk_timed(c, buf, 64, std::int64_t{owner_timeout_ns / 1000});
      for (std::size_t i = 0; i < n; ++i) on_item(*buf[i]);
    }
  }
  double wakes() const { return -1; }
};

#if MPSCQ_BENCH_HAVE_LOCAL_WORK
thread_local work_sink tl_sink;

inline void run_item_tramp(mpscq::work& w, mpscq::run_state st) noexcept {
  // Only the owner thread installs a sink. The one other thread that can run
  // an item is a producer whose add() finds the local_work closed (it runs
  // the item there, cancelled): that happens only after a stall made the
  // owner give up, and the item then counts as lost instead of crashing.
  if (tl_sink.fn != nullptr) tl_sink.fn(tl_sink.ctx, *hook_item(&w), st.cancel);
}

template <class LW, class W, const char* Name>
struct local_work_blocking {
  static constexpr const char* name = Name;
  LW lw;
  explicit local_work_blocking(std::size_t) {}
  struct producer_t {
    explicit producer_t(local_work_blocking&) {}
  };
  void push(producer_t&, item* it) {
    W* w = make_hook<W>(it);
    w->func = &run_item_tramp;
    lw.add(*w, mpscq::wake::eager);
  }
  template <class F>
  void owner_loop(F&& on_item, const std::atomic<bool>& stop) {
    tl_sink.ctx = &on_item;
    tl_sink.fn = [](void* ctx, item& it, bool) { (*static_cast<std::remove_reference_t<F>*>(ctx))(it); };
    while (!stop.load(std::memory_order_relaxed)) lw.wait(1, std::chrono::nanoseconds(owner_timeout_ns));
    lw.close();  // on the owner thread; nothing is left to cancel
  }
  double wakes() const { return static_cast<double>(lw.stats().wakes); }
};
constexpr char local_work_name[] = "mpscq::local_work";
using local_work_b = local_work_blocking<mpscq::local_work, mpscq::work, local_work_name>;
#endif
#if MPSCQ_BENCH_HAVE_LEGACY
constexpr char legacy_name[] = "baseline::llist_local_work";
using legacy_b = local_work_blocking<mpscq::baseline::llist_local_work, mpscq::baseline::llist_work, legacy_name>;
#endif

struct blocking_out {
  measured m;
  double sleeps_per_k = 0;
  double wakes_per_k = -1;
};

template <class B>
blocking_out blocking_run(const mt_config& cfg) {
  blocking_out out;
  auto b = std::make_unique<B>(cfg.capacity);
  const int np = cfg.producers;
  std::vector<std::unique_ptr<producer_pool>> pools = make_pools(cfg);
  const std::uint64_t cap = std::max<std::uint64_t>(2, cfg.max_items / static_cast<std::uint64_t>(np));
  const std::uint64_t ring = cfg.ring;
  std::atomic<bool> stop{false}, owner_stop{false}, owner_done{false};
  start_line start;
  order_check chk(static_cast<std::size_t>(np));
  int ends = 0;
  std::uint64_t t_begin = 0, t_end = 0;
  long sleeps = 0;

  std::vector<std::thread> threads;
  for (int pi = 0; pi < np; ++pi) {
    threads.emplace_back([&, pi] {
      if (cfg.pin) pin_to(cpu_for(pi + 1));
      typename B::producer_t tok(*b);
      producer_pool& pool = *pools[static_cast<std::size_t>(pi)];
      start.arrive_and_wait();
      std::uint64_t seq = 0;
      for (;; ++seq) {
        const bool last = seq + 1 >= cap || stop.load(std::memory_order_relaxed);
        if (seq >= ring) {
          backoff bo(cfg.own_cpu);
          while (pool.consumed.load(std::memory_order_acquire) < seq - ring + 1) {
            if (owner_stop.load(std::memory_order_relaxed)) return;  // aborted
            bo.pause();
          }
        }
        item* it = &pool.slots[seq % ring];
        fill(*it, static_cast<std::uint32_t>(pi), seq);
        if (last) {
          it->flags = item_end;
          pool.produced = seq + 1;  // published by the push below
        }
        b->push(tok, it);
        if (last) break;
      }
    });
  }
  threads.emplace_back([&] {
    if (cfg.pin) pin_to(cpu_for(0));
    start.arrive_and_wait();
    t_begin = now_ns();
    const long s0 = thread_voluntary_switches();
    auto on_item = [&](item& it) {
      chk.on(it);
      // Read everything needed from the item *before* publishing `consumed`:
      // from that store on, its producer may refill the slot (in either
      // layout), so a later read of it.flags would race with the producer's
      // fill() (it did: issue 12). Every contender's owner_loop calls on_item
      // once per item, and neither it nor the contender's own pop/run path
      // touches the item after on_item returns (checked per contender:
      // bench/README.md, "Hand-back").
      const bool end = (it.flags & item_end) != 0;
      if (it.producer < pools.size()) pools[it.producer]->consumed.store(it.seq + 1, std::memory_order_release);
      if (end && ++ends == np) {
        t_end = now_ns();
        owner_stop.store(true, std::memory_order_relaxed);
      }
    };
    b->owner_loop(on_item, owner_stop);
    sleeps = thread_voluntary_switches() - s0;
    if (t_end == 0) t_end = now_ns();
    owner_done.store(true, std::memory_order_release);
  });
  start.release_when(np + 1);
  sleep_until_or(cfg.ms, [&] { return owner_done.load(std::memory_order_acquire); });
  stop.store(true, std::memory_order_relaxed);
  const std::uint64_t deadline = now_ns() + 10'000'000'000ull;
  while (!owner_done.load(std::memory_order_acquire) && now_ns() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!owner_done.load(std::memory_order_acquire)) {
    out.m.chk.stalled = true;
    owner_stop.store(true);
  }
  for (auto& t : threads) t.join();
  std::uint64_t total = 0;
  for (auto& pp : pools) total += pp->produced;
  out.m.chk.expected = total;
  out.m.chk.take(chk);
  const double n = static_cast<double>(chk.received);
  out.m.value = n / (static_cast<double>(t_end - t_begin) / 1e9);
  out.sleeps_per_k = static_cast<double>(sleeps) * 1000.0 / std::max(1.0, n);
  const double w = b->wakes();
  out.wakes_per_k = w < 0 ? -1 : w * 1000.0 / std::max(1.0, n);
  return out;
}

struct blocking_contender {
  std::string name;
  blocking_out (*run)(const mt_config&);
};

std::vector<blocking_contender> blocking_contenders() {
  std::vector<blocking_contender> v;
#if MPSCQ_BENCH_HAVE_LOCAL_WORK
  v.push_back({local_work_b::name, &blocking_run<local_work_b>});
#endif
#if MPSCQ_BENCH_HAVE_LEGACY
  v.push_back({legacy_b::name, &blocking_run<legacy_b>});
#endif
  v.push_back({futex_blocking::name, &blocking_run<futex_blocking>});
  v.push_back({moodycamel_blocking::name, &blocking_run<moodycamel_blocking>});
  v.push_back({condvar_blocking::name, &blocking_run<condvar_blocking>});
  return v;
}

}  // namespace

bool have_local_work(std::string& why) {
#if MPSCQ_BENCH_HAVE_LOCAL_WORK && MPSCQ_BENCH_HAVE_LEGACY
  why.clear();
  return true;
#else
  why = "include/mpscq/local_work.hpp and include/mpscq/baseline/llist_local_work.hpp were not in the tree when "
        "mpscq-bench was built";
  return false;
#endif
}

void legend_blocking() {
  std::printf("\nContenders whose owner sleeps (S2 second table, S5, S6):\n");
#if MPSCQ_BENCH_HAVE_LOCAL_WORK
  std::printf("  %-32s %s\n", "mpscq::local_work",
              "global FIFO, unbounded, intrusive; wait(min_events) countdown, lazy/eager wake, one futex");
#endif
#if MPSCQ_BENCH_HAVE_LEGACY
  std::printf("  %-32s %s\n", "baseline::llist_local_work",
              "global FIFO after reverse, unbounded, intrusive; llist + nr_tw counting (the pre-seed scheme)");
#endif
  std::printf("  %-32s %s\n", "mpscq::queue+futex",
              "global FIFO, unbounded, intrusive; the bench's own minimal sleeping consumer (Dekker + futex)");
  std::printf("  %-32s %s\n", "moodycamel Blocking (tokens)",
              "per-producer FIFO, unbounded, pointers; lightweight semaphore (spins ~10k, then sleeps)");
  std::printf("  %-32s %s\n", "mutex+condvar+deque", "global FIFO, unbounded, pointers; notify when the owner waits");
  std::printf("  %-32s %s\n", "eventfd+mutex+deque (S6)",
              "global FIFO, unbounded, pointers; every add writes the eventfd, the owner reads it to sleep");
  std::printf("  %-32s %s\n", "io_uring MSG_RING (S6)",
              "CQEs posted into a SINGLE_ISSUER|DEFER_TASKRUN ring the owner waits on (kernel task work)");
#if !(MPSCQ_BENCH_HAVE_LOCAL_WORK && MPSCQ_BENCH_HAVE_LEGACY)
  std::string why;
  have_local_work(why);
  std::printf("  (local_work contenders left out: %s)\n", why.c_str());
#endif
}

void scenario_s2_blocking(context& ctx) {
  const char* sc = "S2";
  auto bs = blocking_contenders();
  const std::string ref = bs.front().name;  // the reference even when --contenders leaves it out (ratios: -)
  bs.erase(std::remove_if(bs.begin(), bs.end(),
                          [&](const blocking_contender& c) { return !ctx.opt.wants_contender(c.name); }),
           bs.end());
  if (bs.empty()) return;
  const std::string case_name = "1P1C sleeping";
  for (const auto& c : bs) ctx.res.declare(c.name);
  mt_config cfg;
  cfg.producers = 1;
  cfg.pin = true;
  cfg.own_cpu = allowed_cpus().size() >= 2;
  cfg.ms = ctx.sz.mt_ms;
  cfg.max_items = ctx.sz.mt_max_items;
  cfg.ring = std::min(ctx.sz.ring, ctx.sz.capacity);
  cfg.capacity = ctx.sz.capacity;
  // Every (contender, layout) run of a repetition in one shuffled order, as
  // the polling table does; one seed per repetition for the scattered slots.
  const std::size_t nlayouts = std::size(item_layouts);
  for (int rep = 0; rep < ctx.opt.reps; ++rep) {
    cfg.seed = ctx.rng();
    for (std::size_t i : shuffled(bs.size() * nlayouts, ctx.rng)) {
      const auto& c = bs[i % bs.size()];
      cfg.layout = item_layouts[i / bs.size()];
      const char* lname = layout_name(cfg.layout);
      progress("S2 rep %d/%d sleeping consumer %s %s", rep + 1, ctx.opt.reps, lname, c.name.c_str());
      blocking_out o = c.run(cfg);
      if (!o.m.chk.clean()) ctx.res.violation(sc, c.name + " " + case_name + " " + lname, o.m.chk.describe());
      ctx.res.add("S2b", case_name, c.name, "M items/s", "M items/s", better::higher, rep, o.m.value / 1e6, lname);
      ctx.res.add("S2b", case_name, c.name, "owner sleeps/1k items", "owner sleeps (voluntary switches) per 1000 items",
                  better::lower, rep, o.sleeps_per_k, lname);
      if (o.wakes_per_k >= 0)
        ctx.res.add("S2b", case_name, c.name, "wakes/1k items", "wake calls issued per 1000 items", better::lower,
                    rep, o.wakes_per_k, lname);
    }
  }
  progress_done();
  ctx.res.set_reference("S2b", ref);
  ctx.res.print_table("S2b", "M items/s", ref,
                      "S2  (second table) 1P1C pinned, the consumer sleeps when idle (each contender's own wait; "
                      "producer adds eagerly); items in the ring and the scattered layout");
  ctx.res.print_table("S2b", "owner sleeps/1k items", ref, "    owner sleeps per 1000 items (same runs)", 1);
  ctx.res.print_table("S2b", "wakes/1k items", ref, "    wake calls issued per 1000 items (where the contender counts them)", 1);
}

}  // namespace bench
