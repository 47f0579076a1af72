// bench/handoff.cpp - S6: hand-off to a sleeping owner.
//
// Every contender has its own owner thread, all pinned to one CPU and all
// asleep in their own wait; one producer thread on the other CPU sends items
// to them in a shuffled order (items of all contenders interleaved), so every
// contender sees the same machine state.
//  (a) latency: after a random 50-150 us gap (long enough for every owner to
//      be asleep, moodycamel's ~10k spins included), the producer reads the
//      clock and makes one eager add; the owner reads the clock when the item
//      runs. Median and p99 of (run - send), per repetition.
//  (b) lazy traffic: the producer sends cycles of B lazy adds (a 2-5 us gap
//      between adds) to an owner waiting for B events; owner sleeps (its
//      voluntary context switches) per wait cycle. The countdown wait wakes
//      once per cycle; a wait that cannot count wakes up to B times.
//  (c) task-work cost per item, one thread, batches of 32, no wake: add +
//      run for local_work and legacy, and the kernel's own task work
//      (IORING_NOP_TW NOP minus plain NOP in a DEFER_TASKRUN ring).
#include <concurrentqueue/blockingconcurrentqueue.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmath>
#include <deque>
#include <mutex>

#include "driver.hpp"
#include "scenarios.hpp"
#include "sleepers.hpp"
#include "uring.hpp"

namespace bench {
namespace {

constexpr std::uint32_t quit_index = 0xffffffffu;
constexpr long owner_timeout_ns = 1'000'000'000;  // owners wait at most 1 s per call

// What an owner does with each item: record when it ran.
struct s6_sink {
  std::vector<std::uint64_t>* t_run = nullptr;
  std::vector<std::atomic<std::uint32_t>>* done = nullptr;
  bool quit = false;
  std::uint64_t ran = 0;
  void on(std::uint32_t index) {
    if (index == quit_index) {
      quit = true;
      return;
    }
    (*t_run)[index] = now_ns();
    ++ran;
    (*done)[index].store(1, std::memory_order_release);
  }
};

class handoff {
 public:
  virtual ~handoff() = default;
  virtual const char* name() const = 0;
  // On the owner thread: set up, then wait for batches of `batch` items and
  // run them until the quit item. Returns the number of wait cycles that
  // completed a batch.
  virtual void owner_main(int batch, s6_sink& sink, std::uint64_t& cycles) = 0;
  // Blocks until owner_main has set up (the producer may send after this).
  virtual bool ready(std::string& err) = 0;
  // On the producer thread.
  virtual bool producer_init(std::string& err) {
    (void)err;
    return true;
  }
  virtual void send(std::uint32_t index, bool lazy) = 0;
  virtual double wakes() const { return -1; }  // wake calls issued, if known
};

// Owners that are ready as soon as they are constructed.
class simple_ready : public handoff {
 public:
  bool ready(std::string&) override { return true; }
};

#if MPSCQ_BENCH_HAVE_LOCAL_WORK
thread_local s6_sink* tl_s6 = nullptr;

void s6_tramp(mpscq::work& w, mpscq::run_state st) noexcept {
  if (!st.cancel) tl_s6->on(static_cast<std::uint32_t>(hook_item(&w)->seq));
}

// S6c's item: the least an item can do (read its own sequence number into a
// sum), so add + run measures the machinery. The kernel figure it is set
// against (NOP_TW - NOP) subtracts the request's own completion the same
// way. (s6_tramp reads the clock per item, ~20 ns here: more than the
// machinery itself.)
std::uint64_t s6c_sum = 0;
void s6c_tramp(mpscq::work& w, mpscq::run_state st) noexcept {
  if (!st.cancel) s6c_sum += hook_item(&w)->seq;
}

template <class LW, class W>
class local_work_handoff final : public simple_ready {
 public:
  explicit local_work_handoff(const char* name, std::size_t n) : name_(name), items_(n + 1) {}
  const char* name() const override { return name_; }
  void owner_main(int batch, s6_sink& sink, std::uint64_t& cycles) override {
    tl_s6 = &sink;
    while (!sink.quit) {
      if (lw_.wait(batch, std::chrono::nanoseconds(owner_timeout_ns)) >= batch) ++cycles;
    }
    lw_.close();
  }
  void send(std::uint32_t index, bool lazy) override {
    item& it = items_[index == quit_index ? items_.n - 1 : index];
    it.seq = index;
    W* w = make_hook<W>(&it);
    w->func = &s6_tramp;
    lw_.add(*w, lazy ? mpscq::wake::lazy : mpscq::wake::eager);
  }
  double wakes() const override { return static_cast<double>(lw_.stats().wakes); }

 private:
  const char* name_;
  item_array items_;
  LW lw_;
};
#endif

class eventfd_handoff final : public simple_ready {
 public:
  eventfd_handoff() : efd_(eventfd(0, EFD_CLOEXEC)) {}
  ~eventfd_handoff() override { ::close(efd_); }
  const char* name() const override { return "eventfd+mutex+deque"; }
  void owner_main(int batch, s6_sink& sink, std::uint64_t& cycles) override {
    std::deque<std::uint32_t> local;
    int in_cycle = 0;
    while (!sink.quit) {
      {
        std::lock_guard<std::mutex> lock(m_);
        local.swap(d_);
      }
      for (std::uint32_t i : local) {
        sink.on(i);
        if (++in_cycle == batch) {
          ++cycles;
          in_cycle = 0;
        }
      }
      const bool got = !local.empty();
      local.clear();
      if (!got && !sink.quit) {
        std::uint64_t v;
        if (::read(efd_, &v, sizeof v) < 0) break;  // sleeps until a write
      }
    }
  }
  void send(std::uint32_t index, bool) override {
    {
      std::lock_guard<std::mutex> lock(m_);
      d_.push_back(index);
    }
    const std::uint64_t one = 1;
    if (::write(efd_, &one, sizeof one) == sizeof one) writes_.fetch_add(1, std::memory_order_relaxed);
  }
  double wakes() const override { return static_cast<double>(writes_.load()); }

 private:
  int efd_;
  std::mutex m_;
  std::deque<std::uint32_t> d_;
  std::atomic<std::uint64_t> writes_{0};
};

class moodycamel_handoff final : public simple_ready {
 public:
  const char* name() const override { return "moodycamel Blocking"; }
  void owner_main(int batch, s6_sink& sink, std::uint64_t& cycles) override {
    moodycamel::ConsumerToken c(q_);
    std::uint32_t buf[64];
    int in_cycle = 0;
    while (!sink.quit) {
      const std::size_t n = q_.wait_dequeue_bulk_timed(c, buf, 64, std::int64_t{owner_timeout_ns / 1000});
      for (std::size_t i = 0; i < n; ++i) {
        sink.on(buf[i]);
        if (buf[i] != quit_index && ++in_cycle == batch) {
          ++cycles;
          in_cycle = 0;
        }
      }
    }
  }
  bool producer_init(std::string&) override {
    tok_ = std::make_unique<moodycamel::ProducerToken>(q_);
    return true;
  }
  void send(std::uint32_t index, bool) override { q_.enqueue(*tok_, index); }

 private:
  moodycamel::BlockingConcurrentQueue<std::uint32_t> q_;
  std::unique_ptr<moodycamel::ProducerToken> tok_;
};

class uring_handoff final : public handoff {
 public:
  const char* name() const override { return "io_uring MSG_RING (DEFER_TASKRUN)"; }
  void owner_main(int batch, s6_sink& sink, std::uint64_t& cycles) override {
    std::string err;
    auto ring = uring::owner_ring::create(err);  // the owner thread creates its ring
    if (!ring) {
      {
        std::lock_guard<std::mutex> lock(m_);
        err_ = err;
      }
      fd_.store(-2, std::memory_order_release);
      return;
    }
    fd_.store(ring->fd(), std::memory_order_release);
    int in_cycle = 0;
    struct cb_ctx {
      s6_sink* sink;
      int* in_cycle;
      int batch;
      std::uint64_t* cycles;
    } ctx{&sink, &in_cycle, batch, &cycles};
    while (!sink.quit) {
      ring->wait(batch - in_cycle, owner_timeout_ns, [](void* p, std::uint64_t data) {
        auto& c = *static_cast<cb_ctx*>(p);
        const auto index = static_cast<std::uint32_t>(data);
        c.sink->on(index);
        if (index != quit_index && ++*c.in_cycle == c.batch) {
          ++*c.cycles;
          *c.in_cycle = 0;
        }
      }, &ctx);
    }
    fd_.store(-1, std::memory_order_release);
  }
  bool ready(std::string& err) override {
    while (fd_.load(std::memory_order_acquire) == -1) std::this_thread::yield();
    if (fd_.load(std::memory_order_acquire) == -2) {
      std::lock_guard<std::mutex> lock(m_);
      err = err_;
      return false;
    }
    return true;
  }
  bool producer_init(std::string& err) override {
    sender_ = uring::sender_ring::create(err);
    return sender_ != nullptr;
  }
  void send(std::uint32_t index, bool) override {
    if (!sender_->send(fd_.load(std::memory_order_acquire), index)) ++send_failures_;
  }
  std::uint64_t failures() const { return send_failures_ + (sender_ ? sender_->errors() : 0); }

 private:
  std::atomic<int> fd_{-1};
  std::mutex m_;
  std::string err_;
  std::unique_ptr<uring::sender_ring> sender_;
  std::uint64_t send_failures_ = 0;
};

struct s6_factory {
  std::string name;
  std::function<std::unique_ptr<handoff>(std::size_t n)> make;
};

// Spins (the producer's core only) for `ns`.
void spin_for(std::uint64_t ns) {
  const std::uint64_t until = now_ns() + ns;
  while (now_ns() < until) mpscq::detail::cpu_relax();
}

// One phase: an owner thread per contender, the producer on this thread.
struct phase_owner {
  std::unique_ptr<handoff> h;
  std::vector<std::uint64_t> t_run;
  std::vector<std::atomic<std::uint32_t>> done;
  s6_sink sink;
  std::uint64_t cycles = 0;
  long sleeps = 0;
  std::thread th;
  bool ok = true;
  explicit phase_owner(std::size_t n) : t_run(n), done(n) {}
};

void start_owners(std::vector<std::unique_ptr<phase_owner>>& owners, int batch) {
  for (auto& o : owners) {
    o->sink.t_run = &o->t_run;
    o->sink.done = &o->done;
    o->th = std::thread([&o = *o, batch] {
      pin_to(cpu_for(0));
      const long s0 = thread_voluntary_switches();
      o.h->owner_main(batch, o.sink, o.cycles);
      o.sleeps = thread_voluntary_switches() - s0;
    });
  }
}

void stop_owners(std::vector<std::unique_ptr<phase_owner>>& owners) {
  for (auto& o : owners)
    if (o->ok) o->h->send(quit_index, false);
  for (auto& o : owners) o->th.join();
}

#if MPSCQ_BENCH_HAVE_LOCAL_WORK
// Add `batch` items (eager; nobody waits, so no wake) then run them, on one
// thread: ns per item of the add + run machinery alone. Chained: the batch
// is one work_chain added with one add_batch() (mpscq::local_work only).
template <class LW, class W, bool Chained = false>
double add_run_cost(std::size_t items, int batch) {
  LW lw;
  const auto nb = static_cast<std::size_t>(batch);
  item_array storage(nb);
  std::vector<W*> ws(nb);
  auto block = [&](std::size_t count) {
    const std::uint64_t sum0 = s6c_sum;
    const std::uint64_t t0 = now_ns();
    for (std::size_t k = 0; k < count; k += nb) {
      if constexpr (Chained) {
        mpscq::work_chain chain;
        for (std::size_t j = 0; j < nb; ++j) {
          storage[j].seq = j;
          ws[j] = make_hook<W>(&storage[j]);
          ws[j]->func = &s6c_tramp;
          chain.append(*ws[j]);
        }
        lw.add_batch(chain, mpscq::wake::eager);
      } else {
        for (std::size_t j = 0; j < nb; ++j) {
          storage[j].seq = j;
          ws[j] = make_hook<W>(&storage[j]);
          ws[j]->func = &s6c_tramp;
          lw.add(*ws[j], mpscq::wake::eager);
        }
      }
      if (lw.run(batch) != batch) return -1.0;  // an item lost: reported by the caller
    }
    const std::uint64_t rounds = (count + nb - 1) / nb;
    const double ns = static_cast<double>(now_ns() - t0) / static_cast<double>(rounds * nb);
    // Every item ran once: the sum of 0..nb-1 per round.
    if (s6c_sum - sum0 != rounds * (nb * (nb - 1) / 2)) return -1.0;
    return ns;
  };
  block(nb * 64);  // warm-up
  std::vector<double> blocks;
  for (int b = 0; b < 8; ++b) {
    const double ns = block(std::max(nb, items / 8));
    if (ns < 0) {
      lw.close();
      return -1.0;
    }
    blocks.push_back(ns);
  }
  lw.close();
  return summarize(blocks).median;  // a preempted block does not move the median
}
#endif

}  // namespace

void scenario_s6(context& ctx) {
  const char* sc = "S6";
  const uring::probe_result pr = uring::probe();
  std::vector<s6_factory> fs;
  const std::size_t n = std::max<std::size_t>(ctx.sz.s6_samples, static_cast<std::size_t>(ctx.sz.s6_batch)) + 1;
#if MPSCQ_BENCH_HAVE_LOCAL_WORK
  fs.push_back({"mpscq::local_work", [](std::size_t k) -> std::unique_ptr<handoff> {
                  return std::make_unique<local_work_handoff<mpscq::local_work, mpscq::work>>("mpscq::local_work", k);
                }});
#endif
#if MPSCQ_BENCH_HAVE_LEGACY
  fs.push_back({"baseline::llist_local_work", [](std::size_t k) -> std::unique_ptr<handoff> {
                  return std::make_unique<local_work_handoff<mpscq::baseline::llist_local_work, mpscq::baseline::llist_work>>(
                      "baseline::llist_local_work", k);
                }});
#endif
  fs.push_back({"eventfd+mutex+deque", [](std::size_t) -> std::unique_ptr<handoff> {
                  return std::make_unique<eventfd_handoff>();
                }});
  fs.push_back({"moodycamel Blocking", [](std::size_t) -> std::unique_ptr<handoff> {
                  return std::make_unique<moodycamel_handoff>();
                }});
  if (pr.msg_ring) {
    fs.push_back({"io_uring MSG_RING (DEFER_TASKRUN)", [](std::size_t) -> std::unique_ptr<handoff> {
                    return std::make_unique<uring_handoff>();
                  }});
  } else {
    ctx.res.note("S6: io_uring MSG_RING left out: " + pr.msg_ring_why);
  }
  const std::string ref = fs.front().name;
  ctx.res.set_reference(sc, ref);
  ctx.res.set_reference("S6b", ref);
  ctx.res.set_reference("S6c", ref);
  for (const auto& f : fs) ctx.res.declare(f.name);

  pin_to(cpu_for(1));
  std::uniform_int_distribution<std::uint64_t> gap(50'000, 150'000), small_gap(2'000, 5'000);
  for (int rep = 0; rep < ctx.opt.reps; ++rep) {
    // (a) latency of an eager add to a sleeping owner.
    {
      std::vector<std::unique_ptr<phase_owner>> owners;
      for (const auto& f : fs) {
        owners.push_back(std::make_unique<phase_owner>(n));
        owners.back()->h = f.make(n);
      }
      start_owners(owners, 1);
      for (std::size_t i = 0; i < owners.size(); ++i) {
        std::string err;
        if (!owners[i]->h->ready(err) || !owners[i]->h->producer_init(err)) {
          owners[i]->ok = false;
          ctx.res.violation(sc, fs[i].name, "could not start: " + err);
        }
      }
      std::vector<std::size_t> seq;
      for (std::size_t i = 0; i < owners.size(); ++i)
        if (owners[i]->ok) seq.insert(seq.end(), ctx.sz.s6_samples, i);
      std::shuffle(seq.begin(), seq.end(), ctx.rng);
      std::vector<std::size_t> next(owners.size(), 0);
      std::vector<std::vector<double>> lat(owners.size());
      std::size_t step = 0;
      for (std::size_t ci : seq) {
        if ((++step & 255) == 0)
          progress("S6 rep %d/%d latency %zu/%zu", rep + 1, ctx.opt.reps, step, seq.size());
        phase_owner& o = *owners[ci];
        if (!o.ok) continue;
        const auto index = static_cast<std::uint32_t>(next[ci]++);
        spin_for(gap(ctx.rng));
        const std::uint64_t t0 = now_ns();
        o.h->send(index, false);
        const std::uint64_t deadline = t0 + 10'000'000'000ull;
        while (o.done[index].load(std::memory_order_acquire) == 0) {
          mpscq::detail::cpu_relax();
          if (now_ns() > deadline) break;
        }
        if (o.done[index].load(std::memory_order_acquire) == 0) {
          ctx.res.violation(sc, fs[ci].name, "an eager add did not run within 10 s (lost wake)");
          o.ok = false;
          continue;
        }
        lat[ci].push_back(static_cast<double>(o.t_run[index] - t0) / 1000.0);
      }
      stop_owners(owners);
      for (std::size_t i = 0; i < owners.size(); ++i) {
        if (lat[i].empty()) continue;
        const stats s = summarize(lat[i]);
        ctx.res.add(sc, "eager add -> runs", fs[i].name, "latency median us", "us, median", better::lower, rep,
                    s.median);
        ctx.res.add(sc, "eager add -> runs", fs[i].name, "latency p99 us", "us, p99", better::lower, rep, s.p99);
      }
    }
    // (b) lazy traffic, wait cycles of B.
    {
      const int batch = ctx.sz.s6_batch;
      std::vector<std::unique_ptr<phase_owner>> owners;
      for (const auto& f : fs) {
        owners.push_back(std::make_unique<phase_owner>(n));
        owners.back()->h = f.make(n);
      }
      start_owners(owners, batch);
      for (std::size_t i = 0; i < owners.size(); ++i) {
        std::string err;
        if (!owners[i]->h->ready(err) || !owners[i]->h->producer_init(err)) owners[i]->ok = false;
      }
      for (std::size_t cyc = 0; cyc < ctx.sz.s6_cycles; ++cyc) {
        if ((cyc & 15) == 0) progress("S6 rep %d/%d lazy cycles %zu/%zu", rep + 1, ctx.opt.reps, cyc, ctx.sz.s6_cycles);
        for (std::size_t ci : shuffled(owners.size(), ctx.rng)) {
          phase_owner& o = *owners[ci];
          if (!o.ok) continue;
          for (int j = 0; j < batch; ++j) o.done[static_cast<std::size_t>(j)].store(0, std::memory_order_relaxed);
          for (int j = 0; j < batch; ++j) {
            spin_for(small_gap(ctx.rng));
            o.h->send(static_cast<std::uint32_t>(j), true);
          }
          const std::uint64_t deadline = now_ns() + 10'000'000'000ull;
          for (int j = 0; j < batch && o.ok; ++j) {
            while (o.done[static_cast<std::size_t>(j)].load(std::memory_order_acquire) == 0) {
              mpscq::detail::cpu_relax();
              if (now_ns() > deadline) {
                ctx.res.violation(sc, fs[ci].name, "a cycle of lazy adds did not complete within 10 s (lost wake)");
                o.ok = false;
                break;
              }
            }
          }
        }
      }
      std::vector<double> wakes_before(owners.size());
      for (std::size_t i = 0; i < owners.size(); ++i) wakes_before[i] = owners[i]->h->wakes();
      stop_owners(owners);
      for (std::size_t i = 0; i < owners.size(); ++i) {
        phase_owner& o = *owners[i];
        if (!o.ok || o.cycles == 0) continue;
        const double cycles = static_cast<double>(ctx.sz.s6_cycles);
        // The quit item's own wake is not part of the traffic: -1.
        ctx.res.add("S6b", "B=" + std::to_string(batch) + " lazy", fs[i].name, "owner sleeps/cycle",
                    "owner sleeps (voluntary switches) per wait cycle of B lazy adds", better::lower, rep,
                    std::max(0.0, static_cast<double>(o.sleeps) - 1.0) / cycles);
        if (wakes_before[i] >= 0)
          ctx.res.add("S6b", "B=" + std::to_string(batch) + " lazy", fs[i].name, "wake calls/cycle",
                      "wake calls issued per wait cycle", better::lower, rep, wakes_before[i] / cycles);
      }
    }
    // (c) task-work cost per item, single thread, batches of 32.
    {
      progress("S6 rep %d/%d task-work cost", rep + 1, ctx.opt.reps);
      const std::size_t items = ctx.opt.smoke ? 4096 : 200000;
      const int batch = 32;
      for (std::size_t ci : shuffled(4, ctx.rng)) {
        if (ci == 3) {
#if MPSCQ_BENCH_HAVE_LOCAL_WORK
          // The batched add (work_chain.hpp): one push and one countdown
          // step per chain of 32, then run(32).
          const double ns = add_run_cost<mpscq::local_work, mpscq::work, true>(items, batch);
          if (ns < 0)
            ctx.res.violation("S6c", "mpscq::local_work", "chain add + run lost or repeated an item");
          else
            ctx.res.add("S6c", "add+run, chain 32", "mpscq::local_work", "ns/item", "ns per item", better::lower, rep,
                        ns);
#endif
        } else if (ci == 0) {
#if MPSCQ_BENCH_HAVE_LOCAL_WORK
          const double ns = add_run_cost<mpscq::local_work, mpscq::work>(items, batch);
          if (ns < 0)
            ctx.res.violation("S6c", "mpscq::local_work", "add + run lost or repeated an item");
          else
            ctx.res.add("S6c", "add+run, batch 32", "mpscq::local_work", "ns/item", "ns per item", better::lower, rep,
                        ns);
#endif
        } else if (ci == 1) {
#if MPSCQ_BENCH_HAVE_LEGACY
          const double ns = add_run_cost<mpscq::baseline::llist_local_work, mpscq::baseline::llist_work>(items, batch);
          if (ns < 0)
            ctx.res.violation("S6c", "baseline::llist_local_work", "add + run lost or repeated an item");
          else
            ctx.res.add("S6c", "add+run, batch 32", "baseline::llist_local_work", "ns/item", "ns per item",
                        better::lower, rep, ns);
#endif
        } else {
          const uring::nop_cost c = uring::measure_nop(items, batch, pr.nop_tw);
          if (c.ok) {
            ctx.res.add("S6c", "kernel NOP, batch 32", "io_uring NOP (plain)", "ns/item", "ns per item",
                        better::lower, rep, c.plain_ns);
            if (pr.nop_tw) {
              ctx.res.add("S6c", "kernel NOP, batch 32", "io_uring NOP_TW", "ns/item", "ns per item", better::lower,
                          rep, c.tw_ns);
              ctx.res.add("S6c", "add+run, batch 32", "kernel task work (NOP_TW - NOP)", "ns/item", "ns per item",
                          better::lower, rep, c.tw_ns - c.plain_ns);
            }
          } else {
            ctx.res.note("S6c: io_uring NOP cost not measured: " + c.why);
          }
        }
      }
    }
  }
  pin_to(-1);
  progress_done();
  if (!pr.nop_tw) ctx.res.note("S6: IORING_NOP_TW unsupported: " + pr.nop_tw_why);
  ctx.res.declare("io_uring NOP (plain)");
  ctx.res.declare("io_uring NOP_TW");
  ctx.res.declare("kernel task work (NOP_TW - NOP)");
  ctx.res.print_table(sc, "latency median us", ref,
                      "S6  hand-off to a sleeping owner: eager add -> item runs (us), items of every contender "
                      "shuffled through one producer (CPU " + std::to_string(cpu_for(1)) + ") and owners (CPU " +
                          std::to_string(cpu_for(0)) + "), 50-150 us gaps; median per repetition",
                      1);
  ctx.res.print_table(sc, "latency p99 us", ref, "    p99 per repetition", 1);
  ctx.res.print_table("S6b", "owner sleeps/cycle", ref,
                      "S6b wakes per wait cycle under lazy traffic: cycles of B lazy adds 2-5 us apart to an owner "
                      "waiting for B; owner sleeps per cycle (1 = one wake per cycle)");
  ctx.res.print_table("S6b", "wake calls/cycle", ref, "    wake calls issued per cycle (where counted)");
  ctx.res.print_table("S6c", "ns/item", ref,
                      "S6c task-work cost per item, one thread, batches of 32, no wake, an item that only reads its own field: add + run "
                      "(\"chain 32\": the 32 added as one work_chain, one add_batch), against the "
                      "kernel's own task work (IORING_NOP_TW NOP minus plain NOP, DEFER_TASKRUN ring)");
  std::printf("  IORING_NOP_TW: %s\n", pr.nop_tw ? "supported (probe echoed the injected result)"
                                                 : ("UNSUPPORTED: " + pr.nop_tw_why).c_str());
  std::fflush(stdout);
}

}  // namespace bench
