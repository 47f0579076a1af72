// Relacy models of the batched adds (mpscq/work_chain.hpp): local_work's
// add_batch (one push for the chain, one countdown subtraction of its length,
// countdown_wake::claim_batch [W9]) and task_work's add_batch (one add for
// schedule-exactly-once), on the real headers through the detail/ seam. Every
// add in these scenarios that carries the property under check is a chain
// add, so the orders and rules it relies on are checked through the chain's
// path.
//
//   work_chain_model <scenario> [random N | bound K | full]
//
// Scenarios (owners wait untimed: only a wake ends a sleep, and rl_futex
// reports DEADLOCK when none comes):
//   lazy_chain   owner wait(2); one producer adds one lazy chain of 2. The
//                chain must count 2 with its one subtraction and wake the
//                owner (or be found by the owner's re-check). Catches
//                LOCAL_CHAIN_COUNTS_ONE (the count is left at 1: DEADLOCK),
//                and, through the chain's push-vs-arm pair,
//                LOCAL_PUSH_ARM_RELAXED, LOCAL_READ_ACQUIRE and
//                LOCAL_ARM_WITHOUT_RECHECK (DEADLOCK).
//   chain_race   owner wait(2); producer 1 adds a lazy chain of 2, producer 2
//                one lazy item. The single decrement can land between the
//                chain's read of the count and its subtraction, so the chain
//                meets 1 where it read 2 and must still wake: catches
//                LOCAL_CHAIN_WAKE_EXACT (DEADLOCK). Every item runs exactly
//                once (in the wait or cancelled in close()).
//   chain_fifo   two producers, each a chain of 2 and a single add (lazy and
//                eager mixed); the owner waits for all 6. Each item runs once,
//                per producer in order, each chain's items back to back, and
//                the payload written before the append is visible (rl::var:
//                DATA RACE otherwise). Catches QUEUE_LINK_RELAXED (DATA RACE:
//                the chain's inner links and payloads are published only by
//                the push's release link store).
//   close_race   owner wait(1) then close() while two producers each add a
//                chain of 2 (lazy, eager); chains that find the object closed
//                run their items themselves, cancelled. Every item runs
//                exactly once. Catches LOCAL_TEARDOWN_NO_WAIT_ADDERS ("item
//                lost": close() drains before a chain's push lands).
//   task_once    task_work: two producers each add a chain of 2 and then one
//                item; a target loop runs what the scheduler asks. The scheduler is never
//                called while a schedule is pending (a chain is one add for
//                schedule-exactly-once), items run once, in order, chains
//                back to back. Catches TASK_NO_STOP_AFTER_EMPTIED ("second
//                schedule while a run is pending").
//
// Relacy's headers are system headers, so the project's warnings apply to
// this file only.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include <mpscq/local_work.hpp>  // pulls in relacy through detail/relacy_seam.hpp
#include <mpscq/task_work.hpp>
#include <mpscq/work_chain.hpp>

#include "model_cli.hpp"

namespace {

constexpr auto forever = std::chrono::nanoseconds::max();
namespace detail = mpscq::detail;

// A failed check is the model's verdict: "USER ASSERT FAILED (<what>)".
void check(bool ok, const char* what) {
  if (!ok) rl::ctx().fail_test(what, rl::test_result_user_assert_failed, RL_INFO);
}

constexpr int max_producers = 3;
constexpr int max_items = 3;

// What the items of one scenario share: who ran, in which order.
struct run_log {
  int order[max_producers * max_items * 2] = {};  // producer * 10 + seq, in run order
  int count = 0;
  int next_seq[max_producers] = {};
  bool check_order = true;
};

struct model_item : mpscq::work {
  rl::var<int> payload;  // written by the producer before append()/add(), read when run
  int producer = 0;
  int seq = 0;
  int runs = 0;  // plain: Relacy runs one thread at a time
  bool cancelled = false;
  run_log* log = nullptr;

  model_item() { func = &model_item::run; }

  void prepare(run_log& l, int p, int s) {
    log = &l;
    producer = p;
    seq = s;
    payload($) = p * 100 + s;
  }

  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = static_cast<model_item&>(w);
    const int value = self.payload($);  // DATA RACE if not ordered after the producer's write
    check(value == self.producer * 100 + self.seq, "payload not the producer's");
    ++self.runs;
    check(self.runs == 1, "item ran twice");
    self.cancelled = st.cancel;
    run_log& l = *self.log;
    l.order[l.count++] = self.producer * 10 + self.seq;
    if (l.check_order && !st.cancel) {
      check(self.seq == l.next_seq[self.producer], "per-producer order broken");
      l.next_seq[self.producer] = self.seq + 1;
    }
  }
};

// Items `a` and `a + 1` of producer p form one chain: they ran back to back
// (when both ran in a run, not cancelled apart).
void check_contiguous(const run_log& l, int p, int a) {
  for (int i = 0; i < l.count; ++i) {
    if (l.order[i] == p * 10 + a) {
      check(i + 1 < l.count && l.order[i + 1] == p * 10 + a + 1, "a chain was split");
      return;
    }
  }
}

// A local_work on Relacy's heap, owned by thread 0 (as local_work_model.cpp):
// aligned storage from ::operator new, so a late access is ACCESS TO FREED
// MEMORY.
class heap_local_work {
  detail::model_thread_identities<4> identities_;

 public:
  mpscq::local_work* create() {
    constexpr std::size_t align = alignof(mpscq::local_work);
    base_ = ::operator new(sizeof(mpscq::local_work) + align);
    void* p = base_;
    std::size_t space = sizeof(mpscq::local_work) + align;
    std::align(align, sizeof(mpscq::local_work), p, space);
    mpscq::local_work_options options;
    options.owner = 0u;
    return lw_ = new (p) mpscq::local_work(options);
  }
  void destroy() {
    if (lw_ == nullptr) return;
    lw_->~local_work();
    ::operator delete(base_);
    lw_ = nullptr;
  }

 private:
  void* base_ = nullptr;
  mpscq::local_work* lw_ = nullptr;
};

void add_chain(mpscq::local_work& lw, model_item* first, int n, mpscq::wake mode) {
  mpscq::work_chain chain;
  for (int i = 0; i < n; ++i) chain.append(first[i]);
  lw.add_batch(chain, mode);
}

// --- lazy_chain ----------------------------------------------------------------
struct lazy_chain : rl::test_suite<lazy_chain, 2> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  run_log log;
  model_item items[2];
  int ran = 0;

  void before() { lw = heap.create(); }
  void thread(unsigned index) {
    if (index == 0) {
      ran = lw->wait(2, forever);
      lw->close();
    } else {
      for (int s = 0; s < 2; ++s) items[s].prepare(log, 1, s);
      add_chain(*lw, items, 2, mpscq::wake::lazy);
    }
  }
  void after() {
    check(ran == 2, "wait(2) returned without the chain");
    for (auto& it : items) check(it.runs == 1 && !it.cancelled, "item lost");
    heap.destroy();
  }
};

// --- chain_race ----------------------------------------------------------------
struct chain_race : rl::test_suite<chain_race, 3> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  run_log log;
  model_item chained[2];
  model_item single;
  int ran = 0;

  void before() { lw = heap.create(); }
  void thread(unsigned index) {
    if (index == 0) {
      ran = lw->wait(2, forever);
      lw->close();
    } else if (index == 1) {
      for (int s = 0; s < 2; ++s) chained[s].prepare(log, 1, s);
      add_chain(*lw, chained, 2, mpscq::wake::lazy);
    } else {
      single.prepare(log, 2, 0);
      lw->add(single, mpscq::wake::lazy);
    }
  }
  void after() {
    check(ran >= 2, "wait(2) returned early");
    for (auto& it : chained) check(it.runs == 1, "item lost");
    check(single.runs == 1, "item lost");
    check_contiguous(log, 1, 0);
    heap.destroy();
  }
};

// --- chain_fifo ----------------------------------------------------------------
struct chain_fifo : rl::test_suite<chain_fifo, 3> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  run_log log;
  model_item items[3][3];  // [producer][seq]; producers 1 and 2
  int ran = 0;

  void before() { lw = heap.create(); }
  void thread(unsigned index) {
    if (index == 0) {
      while (ran < 6) ran += lw->wait(6 - ran, forever);
      lw->close();
      return;
    }
    const int p = static_cast<int>(index);
    for (int s = 0; s < 3; ++s) items[p][s].prepare(log, p, s);
    if (p == 1) {
      add_chain(*lw, &items[p][0], 2, mpscq::wake::eager);  // seq 0, 1
      lw->add(items[p][2], mpscq::wake::lazy);
    } else {
      lw->add(items[p][0], mpscq::wake::lazy);
      add_chain(*lw, &items[p][1], 2, mpscq::wake::lazy);  // seq 1, 2
    }
  }
  void after() {
    check(ran == 6, "items lost");
    for (int p = 1; p <= 2; ++p)
      for (int s = 0; s < 3; ++s) check(items[p][s].runs == 1 && !items[p][s].cancelled, "item lost or cancelled");
    check_contiguous(log, 1, 0);
    check_contiguous(log, 2, 1);
    check(!lw->has_work(), "work left");
    heap.destroy();
  }
};

// --- close_race ----------------------------------------------------------------
struct close_race : rl::test_suite<close_race, 3> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  run_log log;
  model_item items[3][2];

  void before() {
    lw = heap.create();
    log.check_order = false;  // chains after close() run cancelled on their producer
  }
  void thread(unsigned index) {
    if (index == 0) {
      lw->wait(1, forever);
      lw->close();
      return;
    }
    const int p = static_cast<int>(index);
    for (int s = 0; s < 2; ++s) items[p][s].prepare(log, p, s);
    add_chain(*lw, items[p], 2, p == 1 ? mpscq::wake::lazy : mpscq::wake::eager);
  }
  void after() {
    for (int p = 1; p <= 2; ++p) {
      for (auto& it : items[p]) check(it.runs == 1, "item lost");
      check_contiguous(log, p, 0);
    }
    heap.destroy();
  }
};

// --- task_once -----------------------------------------------------------------
// Storage for a task_work at its own alignment (Relacy allocates test suites
// with malloc).
class task_slot {
 public:
  template <class... Args>
  mpscq::task_work& emplace(Args&&... args) {
    void* p = raw_;
    std::size_t space = sizeof(raw_);
    p = std::align(alignof(mpscq::task_work), sizeof(mpscq::task_work), p, space);
    object_ = new (p) mpscq::task_work(static_cast<Args&&>(args)...);
    return *object_;
  }
  void destroy() {
    object_->~task_work();
    object_ = nullptr;
  }
  mpscq::task_work* get() const { return object_; }

 private:
  alignas(std::max_align_t) unsigned char raw_[sizeof(mpscq::task_work) + alignof(mpscq::task_work)];
  mpscq::task_work* object_ = nullptr;
};

class no_fallback final : public mpscq::fallback_executor {
 public:
  void execute(mpscq::work&) noexcept override { check(false, "the fallback executor was used"); }
};

struct task_once : rl::test_suite<task_once, 3> {
  run_log log;
  model_item items[3][3];  // producers 0 and 1: a chain of 2, then one item
  no_fallback fallback;
  detail::atomic<int> pending{0};  // schedules no run has taken yet
  task_slot tw;

  void before() {
    tw.emplace(
        [this](mpscq::task_work&) {
          // acq_rel: release publishes the add to the target loop (its
          // acquire load); the check reads the counter's own value.
          check(pending.fetch_add(1, std::memory_order_acq_rel) == 0, "second schedule while a run is pending");
          return true;
        },
        fallback);
  }
  void thread(unsigned index) {
    if (index < 2) {
      const int p = static_cast<int>(index);
      mpscq::work_chain chain;
      for (int s = 0; s < 3; ++s) items[p][s].prepare(log, p, s);
      chain.append(items[p][0]);
      chain.append(items[p][1]);
      tw.get()->add_batch(chain);
      tw.get()->add(items[p][2]);
      return;
    }
    bool owed = false;  // a `more` run: we still own the queue
    while (log.count < 6) {
      if (!owed) {
        if (pending.load(std::memory_order_acquire) == 0) {
          detail::yield_thread();
          continue;
        }
        pending.fetch_sub(1, std::memory_order_acq_rel);  // take the schedule
      }
      const mpscq::run_result r = tw.get()->run();
      check(!r.handed_off, "a lone target run was handed off");
      owed = r.more;
    }
  }
  void after() {
    for (int p = 0; p < 2; ++p) {
      for (auto& it : items[p]) check(it.runs == 1 && !it.cancelled, "item lost or cancelled");
      check_contiguous(log, p, 0);
    }
    tw.destroy();
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s lazy_chain|chain_race|chain_fifo|close_race|task_once [random N | bound K | full]\n",
                 argv[0]);
    return 2;
  }
  const char* scenario = argv[1];
  rl::test_params params = model_cli::defaults(100000);
  const char* scheduler = nullptr;
  if (!model_cli::parse_scheduler(argc, argv, 2, params, scheduler)) {
    std::fprintf(stderr, "unknown scheduler %s\n", argv[2]);
    return 2;
  }
  model_cli::quiet_progress quiet;
  quiet.attach(params);

  std::printf("work-chain-model: scenario=%s", scenario);
  model_cli::print_scheduler(params, scheduler);
  std::printf("\n");
  std::fflush(stdout);

  const auto start = std::chrono::steady_clock::now();
  bool ok = false;
  if (std::strcmp(scenario, "lazy_chain") == 0) {
    ok = rl::simulate<lazy_chain>(params);
  } else if (std::strcmp(scenario, "chain_race") == 0) {
    ok = rl::simulate<chain_race>(params);
  } else if (std::strcmp(scenario, "chain_fifo") == 0) {
    ok = rl::simulate<chain_fifo>(params);
  } else if (std::strcmp(scenario, "close_race") == 0) {
    ok = rl::simulate<close_race>(params);
  } else if (std::strcmp(scenario, "task_once") == 0) {
    ok = rl::simulate<task_once>(params);
  } else {
    std::fprintf(stderr, "unknown scenario %s\n", scenario);
    return 2;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("work-chain-model: %s %s after %llu iterations in %.2f s\n", scenario, ok ? "PASS" : "FAIL",
              static_cast<unsigned long long>(params.stop_iteration), seconds);
  return ok ? 0 : 1;
}
