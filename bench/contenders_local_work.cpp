// bench/contenders_local_work.cpp - mpscq::local_work as a polled queue (S2,
// S3), unbounded and with a limit (issue 21's bounded admission), and the
// callgrind loops of local_work's add path (`--valgrind callgrind`, L1).
//
// The polled rows put local_work's add() and run() where the queue
// contenders' push and pop are: producers add, the consumer (the owner)
// calls run(max) in the scenarios' poll loop, and each item's func hands
// it to the loop's per-item check and hand-back (one indirect call, as
// every task-work item pays). Nobody sleeps: the owner never waits, so the
// wake rule reads wait_nr once per add and does nothing. The rows differ
// only in how the producers add:
//
//   mpscq::local_work (no limit)          add() on an unbounded object: the
//                                         reference of the rows below
//   mpscq::local_work (limit N)           add() on a bounded object: never
//                                         refused; each add takes room (one
//                                         RMW on the admission line), each
//                                         run() pass gives it back (one RMW)
//   mpscq::local_work try_add (limit N)   try_add(): refused when full; the
//                                         producer retries as every polling
//                                         loop of the bench waits (backoff:
//                                         pauses, a rare yield) - a logger
//                                         that spins rather than drops
//   mpscq::local_work try_add_for (limit N)  try_add() first, then, when
//                                         full, try_add_for() without a
//                                         deadline: the producer sleeps on
//                                         the admission futex until a pass
//                                         makes room (logger_backend.cpp's
//                                         block mode)
//
// N = 1024: reached in S2/S3 whenever the consumer falls behind (the rows'
// "refused/1k items" says how often); N = 2^20: never reached (each
// producer has at most `ring` <= 16384 items out), so the row is the pure
// bookkeeping cost. Only with --contenders naming them (e.g.
// "mpscq::local_work"), and only in S2 and S3: a default run's tables are
// unchanged.
#include "scenarios.hpp"

#if __has_include(<mpscq/local_work.hpp>)
#include <mpscq/local_work.hpp>
#include <mpscq/work_chain.hpp>
#define MPSCQ_BENCH_HAVE_LW 1
#else
#define MPSCQ_BENCH_HAVE_LW 0
#endif
#if MPSCQ_BENCH_HAVE_LW && __has_include(<mpscq/bounded.hpp>)
#include <mpscq/bounded.hpp>
#define MPSCQ_BENCH_HAVE_LIMIT 1
#else
#define MPSCQ_BENCH_HAVE_LIMIT 0
#endif

#include <cstdint>
#include <type_traits>

namespace bench {

#if MPSCQ_BENCH_HAVE_LW
namespace {

// How a row's producers add (see the top of the file).
enum class admit { add, try_add, try_add_for };

// The consumer's per-item function for the pass in progress (the owner's
// thread): set by try_pop_batch before run(), read by each item's func.
struct pass_sink {
  void* ctx = nullptr;
  void (*fn)(void* ctx, item* it) = nullptr;
};
thread_local pass_sink tl_pass;

void polled_item(mpscq::work& w, mpscq::run_state) noexcept {
  // Only the owner runs items here (nobody closes during a run; the
  // destructor runs after every producer has stopped and the queue is
  // empty): the sink is the consumer loop's f.
  tl_pass.fn(tl_pass.ctx, hook_item(&w));
}

template <std::uint32_t Limit, admit How, const char* Name>
struct local_work_polled {
  static constexpr const char* name = Name;
  static constexpr guarantees traits{"global (exchange order)", Limit == 0 ? "unbounded" : "bounded (limit)", true,
                                     How == admit::try_add_for ? "add: try_add, then sleeps for room (futex)"
                                                               : "wait-free add (unbounded); run() by the owner"};
  mpscq::local_work lw;
  static mpscq::local_work_options options() {
    mpscq::local_work_options o;
#if MPSCQ_BENCH_HAVE_LIMIT
    o.limit = Limit;
#endif
    return o;
  }
  explicit local_work_polled(std::size_t) : lw(options()) {}
  struct producer_t {
    explicit producer_t(local_work_polled&) {}
  };
  struct consumer_t {
    explicit consumer_t(local_work_polled&) {}
  };
  // The wake mode does not matter here (the owner never waits: wait_nr
  // reads NO_WAITER); lazy is what a logger passes.
  bool try_push(producer_t&, item* it) noexcept {
    mpscq::work* w = make_hook<mpscq::work>(it);
    w->func = &polled_item;
    if constexpr (How == admit::add) {
      lw.add(*w, mpscq::wake::lazy);
      return true;
    } else {
#if MPSCQ_BENCH_HAVE_LIMIT
      mpscq::add_status s = lw.try_add(*w, mpscq::wake::lazy);
      if constexpr (How == admit::try_add_for) {
        if (s == mpscq::add_status::full) s = lw.try_add_for(*w, std::chrono::nanoseconds::max(), mpscq::wake::lazy);
      }
      return s == mpscq::add_status::added;  // full: the harness retries with its backoff
#else
      lw.add(*w, mpscq::wake::lazy);
      return true;
#endif
    }
  }
  template <class F>
  int try_pop_batch(consumer_t&, int max, F&& f) noexcept {
    static_assert(std::is_nothrow_invocable_v<F&, item*>, "items run inside run(): f must not throw");
    tl_pass.ctx = &f;
    tl_pass.fn = [](void* ctx, item* it) { (*static_cast<std::remove_reference_t<F>*>(ctx))(it); };
    return lw.run(max);
  }
  item* try_pop(consumer_t& k) noexcept {
    item* out = nullptr;
    try_pop_batch(k, 1, [&out](item* it) noexcept { out = it; });
    return out;
  }
#if MPSCQ_BENCH_HAVE_LIMIT
  // The refusal hook (scenarios.hpp): try_add* calls that came back without
  // adding (full: the producer then retried or waited).
  std::uint64_t refused() const noexcept
    requires(How != admit::add)
  {
    return lw.stats().refused;
  }
#endif
};

constexpr char n_unbounded[] = "mpscq::local_work (no limit)";
#if MPSCQ_BENCH_HAVE_LIMIT
constexpr std::uint32_t small_limit = 1024;
constexpr std::uint32_t large_limit = 1u << 20;
constexpr char n_add_small[] = "mpscq::local_work (limit 1024)";
constexpr char n_add_large[] = "mpscq::local_work (limit 2^20)";
constexpr char n_try_small[] = "mpscq::local_work try_add (limit 1024)";
constexpr char n_try_large[] = "mpscq::local_work try_add (limit 2^20)";
constexpr char n_wait_small[] = "mpscq::local_work try_add_for (limit 1024)";
#endif

// ---------------------------------------------------------------------------
// L1: callgrind loops of the add path, single thread (the owner adds and
// runs), exact to the instruction. Only the adds are collected: the items
// are built (func set, chain appended) before collection starts, and the
// run() that empties the queue comes after it stops. A region's label is
// "L1 <what> N=<adds> items=<divisor>", items being adds (add, try_add) or
// add_batch calls (add_batch K=...: per call, each call pushing K items).

void l1_noop(mpscq::work&, mpscq::run_state) noexcept {}

void drain(mpscq::local_work& lw) {
  while (lw.run(1 << 20) > 0) {
  }
}

template <class Add>
void l1_adds(const char* what, mpscq::local_work& lw, std::size_t n, Add&& add_one) {
  std::vector<mpscq::work> items(n);
  for (auto& w : items) w.func = &l1_noop;
  for (int warm = 0; warm < 2; ++warm) {
    for (auto& w : items) add_one(w);
    drain(lw);
  }
  vg::toggle_collect();
  for (auto& w : items) add_one(w);
  vg::toggle_collect();
  drain(lw);
  vg::dump((std::string("L1 ") + what + " N=" + std::to_string(n) + " items=" + std::to_string(n)).c_str());
}

void l1_batches(const char* what, mpscq::local_work& lw, std::size_t k, std::size_t calls, mpscq::wake mode) {
  std::vector<mpscq::work> items(k * calls);
  for (auto& w : items) w.func = &l1_noop;
  std::vector<mpscq::work_chain> chains(calls);
  auto build = [&] {
    for (std::size_t c = 0; c < calls; ++c)
      for (std::size_t i = 0; i < k; ++i) chains[c].append(items[c * k + i]);
  };
  for (int warm = 0; warm < 2; ++warm) {
    build();
    for (auto& ch : chains) lw.add_batch(ch, mode);
    drain(lw);
  }
  build();
  vg::toggle_collect();
  for (auto& ch : chains) lw.add_batch(ch, mode);
  vg::toggle_collect();
  drain(lw);
  vg::dump((std::string("L1 ") + what + " K=" + std::to_string(k) + " items=" + std::to_string(calls)).c_str());
}

}  // namespace

void valgrind_local_work() {
  for (std::size_t n : {std::size_t{8}, std::size_t{1024}}) {
    {
      mpscq::local_work lw;
      l1_adds("mpscq::local_work add(lazy)", lw, n, [&](mpscq::work& w) { lw.add(w, mpscq::wake::lazy); });
    }
    {
      mpscq::local_work lw;
      l1_adds("mpscq::local_work add(eager)", lw, n, [&](mpscq::work& w) { lw.add(w, mpscq::wake::eager); });
    }
#if MPSCQ_BENCH_HAVE_LIMIT
    {
      mpscq::local_work lw(local_work_polled<large_limit, admit::add, n_add_large>::options());
      l1_adds("mpscq::local_work add(lazy) limit 2^20", lw, n, [&](mpscq::work& w) { lw.add(w, mpscq::wake::lazy); });
    }
    {
      mpscq::local_work lw(local_work_polled<large_limit, admit::add, n_add_large>::options());
      l1_adds("mpscq::local_work try_add(lazy) limit 2^20", lw, n,
              [&](mpscq::work& w) { (void)lw.try_add(w, mpscq::wake::lazy); });
    }
#endif
  }
  for (std::size_t k : {std::size_t{8}, std::size_t{64}}) {
    mpscq::local_work lw;
    l1_batches("mpscq::local_work add_batch(lazy)", lw, k, 128, mpscq::wake::lazy);
    mpscq::local_work lw2;
    l1_batches("mpscq::local_work add_batch(eager)", lw2, k, 128, mpscq::wake::eager);
#if MPSCQ_BENCH_HAVE_LIMIT
    mpscq::local_work lw3(local_work_polled<large_limit, admit::add, n_add_large>::options());
    l1_batches("mpscq::local_work add_batch(lazy) limit 2^20", lw3, k, 128, mpscq::wake::lazy);
#endif
  }
}

void register_local_work(std::vector<queue_contender>& out) {
  out.push_back(make_contender<local_work_polled<0, admit::add, n_unbounded>>());
#if MPSCQ_BENCH_HAVE_LIMIT
  out.push_back(make_contender<local_work_polled<small_limit, admit::add, n_add_small>>());
  out.push_back(make_contender<local_work_polled<large_limit, admit::add, n_add_large>>());
  out.push_back(make_contender<local_work_polled<small_limit, admit::try_add, n_try_small>>());
  out.push_back(make_contender<local_work_polled<large_limit, admit::try_add, n_try_large>>());
  out.push_back(make_contender<local_work_polled<small_limit, admit::try_add_for, n_wait_small>>());
#endif
}
#else
void valgrind_local_work() {}
void register_local_work(std::vector<queue_contender>&) {}
#endif

}  // namespace bench
