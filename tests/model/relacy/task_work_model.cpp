// Relacy models of mpscq::task_work, run on the real header
// (include/mpscq/task_work.hpp, and queue.hpp under it) through the detail/
// seam: with MPSCQ_MODEL_RELACY defined every atomic operation of the
// protocol is an rl::atomic operation with its real memory order.
//
//   task_work_model <model> [random N | bound K | full]   (default random 100000)
//
// Models (threads in brackets):
//
//  schedule_once [2 producers x 2 items, 1 target loop]
//  capped        [the same, with a cap drawn per run: 1 or unlimited]
//    The target loop takes a schedule token, then calls run() and runs again
//    while it returns `more`. Checks:
//     a. the scheduler callback asserts that no schedule is pending (taken by
//        no run yet): "second schedule while a run is pending". This is the
//        kernel's double task_work_add of one callback_head - the "Boom".
//     b. a run that returns `more` still owns the queue, so the queue cannot
//        be empty: "run() reported more after an emptying pop".
//     c. every item runs exactly once, each producer's items in order.
//    Catches TASK_NO_STOP_AFTER_EMPTIED in schedule_once (a: with no cap the
//    run pops on after the emptying pop while new cycles get scheduled), and
//    TASK_STOP_AFTER_CAP_CHECK in capped (b, or a: whichever interleaving the
//    search meets first - a cap-1 run whose pop emptied the queue says `more`).
//
//  handoff [1 producer x 3 items, 2 runner threads]
//    The scheduler posts a token that either runner may take, as on a thread
//    pool; a run that returns `more` posts a rerun token. Each item reads and
//    writes an rl::var (the actor's state): Relacy reports DATA RACE unless
//    every item happens-after the previous one. The last item of a cycle runs
//    after its emptying pop, when the next cycle may already be scheduled;
//    only the run slot's release (leave_run) / acquire (enter_run) orders it
//    before the next cycle's first item on the other runner. Also checks (a)
//    and (c).
//    Catches TASK_EMPTIED_RELAXED (DATA RACE on the item state): the emptied
//    decision itself is the consumer's plain state, read by the thread that
//    popped, so there is no order on it to weaken; what the decision hands
//    over - the end of this run's ownership - is published by the run slot,
//    and that is the order the mutant relaxes.
//
//  lifetime [1 producer x 2 items, 1 owner, 1 fallback thread]
//    The scheduler refuses (the target is exiting), so every cycle goes to
//    the fallback executor, run by the fallback thread. Once the producer is
//    done, the owner destroys the task_work; its memory is a test-owned slot
//    whose rl::atomics are destroyed with it, so any later access by a
//    fallback job is reported as ACCESS TO FREED MEMORY. That needs the
//    whole destructor (some twenty model steps) to run while the job sits
//    between its early release and its next access - too rare for the
//    search - so an observer in the executor checks the contract directly:
//    d. the destructor never returns while a job it handed over is running:
//       "destroyed while a fallback job it handed over was still running".
//    Also checks (c) and that every item ran cancelled.
//    Catches TASK_FALLBACK_DROPS_REF_EARLY (d; ACCESS TO FREED MEMORY where the
//    search meets the narrower interleaving first).
//
//  destroy_in_flight [1 producer x 1 item, 1 owner, 1 fallback thread]
//    As lifetime, but the owner destroys the task_work as soon as the item
//    ran - allowed: "an add whose item ran may still be returning". The
//    scheduling add is then still between its fallback hand-off and its
//    release fetch_sub on gate_, which the destructor must wait out.
//    The owner learns that the item ran from the item itself (a release
//    increment it acquires), as a real owner would.
//    Catches TASK_TEARDOWN_NO_WAIT_ADDERS (ACCESS TO FREED MEMORY: the add's
//    fetch_sub on the destroyed gate_; or d, where the job is still running).
//
//  close_in_flight [1 producer x 1 item, 1 closer]
//    The closer calls close() and then marks it returned; the scheduler
//    checks e. no scheduler call runs after close() returned: "scheduler
//    called after close() returned". The destructor (after()) runs the
//    accepted cycle cancelled.
//    Catches TASK_TEARDOWN_NO_WAIT_ADDERS (e).
//
//  unscheduled_run_destroy [1 producer x 1 item, 1 target]
//    The scheduler accepts and arranges nothing (a token nobody will take:
//    the target is on its way out). The target calls run() unprompted - a
//    spurious run, allowed by the header - until the item ran, learned from
//    the item itself (its release increment, acquired), and then destroys the
//    task_work: allowed, "every add() has returned or had its item run - by
//    any run, also one the scheduler did not arrange". The add may still be
//    between its push and its last access (the gate's leave(), the scheduler
//    call); the destructor must wait it out. Memory is a test-owned slot, so
//    an access after the destruction is ACCESS TO FREED MEMORY.
//    Also checks (c), that the item ran uncancelled, and that the scheduler
//    was called exactly once.
//    Catches TASK_GATE_AFTER_PUSH (the add enters the gate only after its
//    push found the queue empty: the run, the destructor and the free all fit
//    between the push and that enter - ACCESS TO FREED MEMORY on the gate).
//
//  fallback_requeue [1 producer x 2 items, 1 target, 1 fallback thread]
//    The scheduler refuses, so the first add queues a fallback job; the
//    target calls run() once anyway (a spurious run, allowed: it runs again
//    while it returns `more`) and may empty the queue before the job starts.
//    The second add then finds the queue empty and the job still queued
//    (fallback_queued_ true): it hands its cycle to that job and returns.
//    Only the job's acquire exchange(false), reading the add's release
//    exchange(true), makes that add's push visible to the job.
//    f. every item runs exactly once (c), checked before the destructor,
//       which would otherwise drain a lost item.
//    Catches TASK_FALLBACK_QUEUED_RELAXED (the job finds the queue empty:
//    "an item was lost").
//
//  inline_scheduler [2 producers x 1 item, each item adds a child item]
//    The scheduler runs inline: `while (t.run(cap).more) {}` on the adding
//    thread (cap drawn per call: 1 or unlimited), so the producers are the
//    runners. Each item, when it runs, adds its producer's next item to the
//    same task_work from inside itself: that add finds the queue empty (the
//    item's own pop emptied it) unless the other producer's add came first,
//    and its scheduler calls run() on the thread whose run is active - the
//    inline hand-off: that run() returns handed_off with its turn counted,
//    and the active run serves the new cycle after the item. Meanwhile the
//    other producer's run() may meet the active run across threads (the
//    ordinary hand-off). Checks:
//     g. items never overlap, also not nested on one thread: "items
//        overlapped" (a plain flag; across threads the item state's rl::var
//        reports a DATA RACE too);
//     h. no cycle is lost: once both producers' adds have returned, every
//        item has run ("an item was lost", checked before the destructor,
//        which would drain a lost one); plus (b) and (c).
//    Catches TASK_INLINE_RUN_REPORTED (the old rule: the nested run() is
//    misuse, "run() called from inside one of its own items") and
//    TASK_INLINE_HANDOFF_DROPS_TURN (the nested run() hands off without its
//    turn counted: the active run ends after the item and the child's cycle
//    is lost, h).
//
// Relacy's own headers warn under -Wall -Wextra; they are included as system
// headers, so the warnings target applies to this file's code only.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <mpscq/task_work.hpp>  // pulls in relacy through detail/relacy_seam.hpp

#include "model_cli.hpp"

namespace {

using mpscq::run_result;
using mpscq::run_state;
using mpscq::task_work;
using mpscq::work;
namespace detail = mpscq::detail;

// A failed check is the model's verdict: "USER ASSERT FAILED (<what>)".
void check(bool ok, const char* what) {
  if (!ok) rl::ctx().fail_test(what, rl::test_result_user_assert_failed, RL_INFO);
}

// Storage for one T at its own alignment (Relacy allocates test suites with
// malloc, which does not honour task_work's cache-line alignment). Destroying
// the object destroys its rl::atomics, so later accesses are reported.
template <class T>
class slot {
 public:
  template <class... Args>
  T& emplace(Args&&... args) {
    void* p = raw_;
    std::size_t space = sizeof(raw_);
    p = std::align(alignof(T), sizeof(T), p, space);
    object_ = new (p) T(static_cast<Args&&>(args)...);
    return *object_;
  }
  void destroy() {
    object_->~T();
    object_ = nullptr;
  }
  T* get() const { return object_; }
  ~slot() {
    if (object_ != nullptr) destroy();
  }

 private:
  alignas(std::max_align_t) unsigned char raw_[sizeof(T) + alignof(T)];
  T* object_ = nullptr;
};

// A model item: producer, sequence number, and what happened to it.
struct item {
  work tw{{}, &item::run};
  int producer = 0;
  int seq = 0;
  struct model_state* model = nullptr;
  static void run(work& w, run_state st) noexcept;
};

constexpr int max_producers = 2;
constexpr int max_items = 3;

// What every model shares: the items, the per-producer order check, the
// pending-schedule check, and the actor state.
struct model_state {
  item items[max_producers][max_items];
  int producers = 0;
  int per_producer = 0;
  // Plain memory: Relacy runs one thread at a time and switches only at
  // model operations, so these test-side counters are exact observers.
  int ran_count[max_producers][max_items] = {};
  int next_seq[max_producers] = {};
  int total_ran = 0;
  int cancelled = 0;
  // The actor's state: an rl::var, so unordered items are a DATA RACE.
  rl::var<int> state;
  // Where set, each item's run ends with a release increment here: how a
  // real owner learns that an item ran (destroy_in_flight).
  detail::atomic<int>* ran_signal = nullptr;
  // Where set, each item adds its producer's next item to this task_work
  // from inside itself (inline_scheduler).
  task_work* self_add = nullptr;
  // An item is between its start and its end. Plain memory: Relacy runs one
  // thread at a time, so this sees nesting on one thread and overlap across
  // threads alike.
  bool in_item = false;

  void init(int p, int n) {
    producers = p;
    per_producer = n;
    for (int i = 0; i < p; ++i)
      for (int j = 0; j < n; ++j) {
        items[i][j].producer = i;
        items[i][j].seq = j;
        items[i][j].model = this;
      }
    state($) = 0;
  }

  void on_run(item& it, run_state st) noexcept {
    check(!in_item, "items overlapped");
    in_item = true;
    const int v = state($);
    state($) = v + 1;
    check(ran_count[it.producer][it.seq] == 0, "an item ran twice");
    ++ran_count[it.producer][it.seq];
    check(next_seq[it.producer] == it.seq, "a producer's items ran out of order");
    ++next_seq[it.producer];
    ++total_ran;
    if (st.cancel) ++cancelled;
    if (self_add != nullptr && it.seq + 1 < per_producer) self_add->add(items[it.producer][it.seq + 1].tw);
    in_item = false;
    if (ran_signal != nullptr) ran_signal->fetch_add(1, std::memory_order_release);
  }

  bool all_ran() const { return total_ran == producers * per_producer; }

  void check_all_ran_once() {
    for (int i = 0; i < producers; ++i)
      for (int j = 0; j < per_producer; ++j) check(ran_count[i][j] == 1, "an item was lost");
    check(state($) == producers * per_producer, "the item state lost an update");
  }
};

void item::run(work& w, run_state st) noexcept {
  item& self = mpscq::container_of<&item::tw>(w);
  self.model->on_run(self, st);
}

// A fallback executor that must never be used (models whose target accepts).
class no_fallback final : public mpscq::fallback_executor {
 public:
  void execute(work&) noexcept override { check(false, "the fallback executor was used"); }
};

// The fallback executor of the lifetime model: job slots filled by
// execute(), run in order by the fallback thread.
class slot_executor final : public mpscq::fallback_executor {
 public:
  static constexpr int capacity = 4;
  void execute(work& job) noexcept override {
    // acq_rel on the index, release on the slot: pairs with the fallback
    // thread's acquire load of the slot.
    const int i = submitted_.fetch_add(1, std::memory_order_acq_rel);
    check(i < capacity, "more fallback jobs than the model expects");
    jobs_[i].store(&job, std::memory_order_release);
  }
  // Runs the next job if one is there; false otherwise.
  bool run_next() {
    if (taken_ == capacity) return false;
    work* job = jobs_[taken_].load(std::memory_order_acquire);
    if (job == nullptr) return false;
    ++taken_;
    running_ = true;
    (*job)(run_state{true});  // `job` may be gone once this returns
    running_ = false;
    return true;
  }
  // Observer: a job is between its start and its return. Plain memory: the
  // job's last model operation is its release of the target reference, and
  // Relacy switches threads only at model operations, so in the correct
  // protocol this is false again before any other thread can see that
  // release - the destructor can never return while it is true.
  bool running() const { return running_; }
  // Every job handed over so far has been run.
  bool idle() { return submitted_.load(std::memory_order_acquire) == taken_; }

 private:
  detail::atomic<int> submitted_{0};
  detail::atomic<work*> jobs_[capacity];
  int taken_ = 0;  // the fallback thread's own
  bool running_ = false;
};

// --- schedule_once ---------------------------------------------------------

template <bool Capped>
struct schedule_once_model : rl::test_suite<schedule_once_model<Capped>, 3> {
  static constexpr int producers = 2;
  static constexpr int per_producer = 2;

  model_state m;
  no_fallback fallback;
  detail::atomic<int> pending{0};  // schedules no run has taken yet
  slot<task_work> tw;

  void before() {
    m.init(producers, per_producer);
    tw.emplace(
        [this](task_work&) {
          // acq_rel: release publishes the add to the target loop, which
          // takes the token with an acquire; the check reads the counter's
          // own value.
          check(pending.fetch_add(1, std::memory_order_acq_rel) == 0, "second schedule while a run is pending");
          return true;
        },
        fallback);
  }

  void thread(unsigned index) {
    if (index < producers) {
      for (int j = 0; j < per_producer; ++j) tw.get()->add(m.items[index][j].tw);
      return;
    }
    // The target loop.
    bool owed = false;  // a `more` run: we still own the queue
    while (!m.all_ran()) {
      if (!owed) {
        if (pending.load(std::memory_order_acquire) == 0) {
          detail::yield_thread();
          continue;
        }
        pending.fetch_sub(1, std::memory_order_acq_rel);  // take the schedule
      }
      const std::size_t cap = Capped && rl::rand(2) == 0 ? 1 : task_work::unlimited;
      // run(cap) takes the batch consumer (serve_batch); the capped model
      // also tries run(cap, should_yield), one pop per item (serve_each).
      // (Only there: the extra branch multiplies the bounded searches.)
      const run_result r =
          Capped && rl::rand(2) == 0 ? tw.get()->run(cap, [] { return false; }) : tw.get()->run(cap);
      check(!r.handed_off, "a lone target run was handed off");
      owed = r.more;
      if (r.more) check(!tw.get()->empty(), "run() reported more after an emptying pop");
    }
  }

  void after() {
    m.check_all_ran_once();
    check(m.cancelled == 0, "an item was cancelled although the target accepted");
    tw.destroy();
  }
};

using schedule_once = schedule_once_model<false>;
using capped = schedule_once_model<true>;

// --- handoff ---------------------------------------------------------------

struct handoff : rl::test_suite<handoff, 3> {
  static constexpr int per_producer = 3;

  model_state m;
  no_fallback fallback;
  detail::atomic<int> pending{0};  // schedules no run has taken yet
  detail::atomic<int> reruns{0};   // `more` runs waiting for a runner
  slot<task_work> tw;

  void before() {
    m.init(1, per_producer);
    tw.emplace(
        [this](task_work&) {
          // acq_rel: release publishes the add to the runner that takes the
          // token (its acquire); the check reads the counter's own value.
          check(pending.fetch_add(1, std::memory_order_acq_rel) == 0, "second schedule while a run is pending");
          return true;
        },
        fallback);
  }

  static bool take(detail::atomic<int>& tokens) {
    int n = tokens.load(std::memory_order_acquire);
    // acq_rel: acquire pairs with the release of the token's poster.
    return n > 0 && tokens.compare_exchange_strong(n, n - 1, std::memory_order_acq_rel, std::memory_order_relaxed);
  }

  void thread(unsigned index) {
    if (index == 0) {
      for (int j = 0; j < per_producer; ++j) tw.get()->add(m.items[0][j].tw);
      return;
    }
    // Two runner threads, as a thread pool.
    while (!m.all_ran()) {
      if (!take(reruns) && !take(pending)) {
        detail::yield_thread();
        continue;
      }
      const run_result r = tw.get()->run(rl::rand(2) == 0 ? 1 : task_work::unlimited);
      if (r.more) {
        check(!tw.get()->empty(), "run() reported more after an emptying pop");
        reruns.fetch_add(1, std::memory_order_acq_rel);  // release: pairs with take()
      }
    }
  }

  void after() {
    m.check_all_ran_once();
    tw.destroy();
  }
};

// --- lifetime --------------------------------------------------------------

struct lifetime : rl::test_suite<lifetime, 3> {
  static constexpr int per_producer = 2;

  model_state m;
  slot_executor fallback;
  detail::atomic<int> producer_done{0};
  detail::atomic<int> destroyed{0};
  slot<task_work> tw;

  void before() {
    m.init(1, per_producer);
    tw.emplace([](task_work&) { return false; }, fallback);  // the target is exiting
  }

  void thread(unsigned index) {
    switch (index) {
      case 0:  // producer
        for (int j = 0; j < per_producer; ++j) tw.get()->add(m.items[0][j].tw);
        producer_done.store(1, std::memory_order_release);  // pairs with the owner's acquire
        break;
      case 1:  // owner: destroys the task_work once every add has returned
        while (producer_done.load(std::memory_order_acquire) == 0) detail::yield_thread();
        tw.destroy();
        check(!fallback.running(), "destroyed while a fallback job it handed over was still running");
        destroyed.store(1, std::memory_order_release);
        break;
      default:  // the fallback thread
        for (;;) {
          if (fallback.run_next()) continue;
          if (destroyed.load(std::memory_order_acquire) != 0 && fallback.idle()) break;
          detail::yield_thread();
        }
        break;
    }
  }

  void after() {
    m.check_all_ran_once();
    check(m.cancelled == m.total_ran, "a refused item ran without cancel");
  }
};

// --- destroy_in_flight -----------------------------------------------------

struct destroy_in_flight : rl::test_suite<destroy_in_flight, 3> {
  model_state m;
  slot_executor fallback;
  detail::atomic<int> ran{0};
  detail::atomic<int> destroyed{0};
  slot<task_work> tw;

  void before() {
    m.init(1, 1);
    m.ran_signal = &ran;
    tw.emplace([](task_work&) { return false; }, fallback);  // the target is exiting
  }

  // The producer is thread 1, not 0: the model build picks the adder gate's
  // shard from the thread index, so its add counts on shard 1 and a close()
  // that reaches only shard 0 shows (MUTANT gate_close_one_shard).
  void thread(unsigned index) {
    switch (index) {
      case 1:  // producer: its add may still be returning when the owner destroys
        tw.get()->add(m.items[0][0].tw);
        break;
      case 0:  // owner: destroys the task_work once the item ran
        // Acquire: pairs with the item's release (model_state::ran_signal).
        while (ran.load(std::memory_order_acquire) == 0) detail::yield_thread();
        tw.destroy();
        check(!fallback.running(), "destroyed while a fallback job it handed over was still running");
        destroyed.store(1, std::memory_order_release);
        break;
      default:  // the fallback thread
        for (;;) {
          if (fallback.run_next()) continue;
          if (destroyed.load(std::memory_order_acquire) != 0 && fallback.idle()) break;
          detail::yield_thread();
        }
        break;
    }
  }

  void after() {
    m.check_all_ran_once();
    check(m.cancelled == m.total_ran, "a refused item ran without cancel");
  }
};

// --- close_in_flight -------------------------------------------------------

struct close_in_flight : rl::test_suite<close_in_flight, 2> {
  model_state m;
  slot_executor fallback;
  // Set once close() returned. An atomic, not plain memory: the scheduler's
  // load of it is then a model operation, a point where Relacy may switch
  // threads (plain code runs on without one).
  detail::atomic<int> close_returned{0};
  slot<task_work> tw;

  void before() {
    m.init(1, 1);
    tw.emplace(
        [this](task_work&) {
          // Acquire/release: the correct close() makes this call
          // happen-before its return, so the load cannot read the store.
          check(close_returned.load(std::memory_order_acquire) == 0, "scheduler called after close() returned");
          return true;  // accepted: the destructor (after()) runs it, cancelled
        },
        fallback);
  }

  // The producer is thread 1 (shard 1 of the adder gate; see
  // destroy_in_flight).
  void thread(unsigned index) {
    if (index == 1) {
      tw.get()->add(m.items[0][0].tw);
      return;
    }
    tw.get()->close();
    close_returned.store(1, std::memory_order_release);
  }

  void after() {
    // A closed add hands its cycle to the fallback executor; no thread runs
    // its jobs here, so run them now (the destructor waits for them).
    while (fallback.run_next()) {
    }
    tw.destroy();
    m.check_all_ran_once();
    check(m.cancelled == m.total_ran, "an item ran without cancel after close()");
  }
};

// --- fallback_requeue ------------------------------------------------------

struct fallback_requeue : rl::test_suite<fallback_requeue, 3> {
  static constexpr int per_producer = 2;

  model_state m;
  slot_executor fallback;
  detail::atomic<int> done{0};  // producer and target finished
  slot<task_work> tw;

  void before() {
    m.init(1, per_producer);
    tw.emplace([](task_work&) { return false; }, fallback);  // refuses: every cycle goes to the fallback
  }

  void thread(unsigned index) {
    switch (index) {
      case 0:  // producer
        for (int j = 0; j < per_producer; ++j) tw.get()->add(m.items[0][j].tw);
        done.fetch_add(1, std::memory_order_acq_rel);  // release: pairs with the fallback thread's acquire
        break;
      case 1:  // the target: one spurious run (and its reruns while it owns the queue)
        while (tw.get()->run().more) {
        }
        done.fetch_add(1, std::memory_order_acq_rel);
        break;
      default:  // the fallback thread: runs jobs until nothing more can come
        for (;;) {
          if (fallback.run_next()) continue;
          if (done.load(std::memory_order_acquire) == 2 && fallback.idle()) break;
          detail::yield_thread();
        }
        break;
    }
  }

  void after() {
    m.check_all_ran_once();  // before the destructor, which would drain a lost item
    tw.destroy();
  }
};

// --- unscheduled_run_destroy -----------------------------------------------

struct unscheduled_run_destroy : rl::test_suite<unscheduled_run_destroy, 2> {
  model_state m;
  no_fallback fallback;
  detail::atomic<int> ran{0};
  // Scheduler calls. An atomic, so the call is a model operation (a point
  // where Relacy may switch threads), and it outlives the task_work.
  detail::atomic<int> scheduled{0};
  slot<task_work> tw;

  void before() {
    m.init(1, 1);
    m.ran_signal = &ran;
    tw.emplace(
        [this](task_work&) {
          // Accepted, and nothing arranged: the target's own spurious run is
          // the only run there will be.
          scheduled.fetch_add(1, std::memory_order_relaxed);
          return true;
        },
        fallback);
  }

  void thread(unsigned index) {
    if (index == 0) {  // producer: its add may still be returning when the target destroys
      tw.get()->add(m.items[0][0].tw);
      return;
    }
    // The target: runs unprompted until the item ran, then destroys.
    // Acquire: pairs with the item's release (model_state::ran_signal).
    while (ran.load(std::memory_order_acquire) == 0) {
      const run_result r = tw.get()->run();
      check(!r.handed_off, "a lone target run was handed off");
      if (r.ran == 0 && !r.busy) detail::yield_thread();  // nothing there yet (a busy run has backed off)
    }
    tw.destroy();
  }

  void after() {
    m.check_all_ran_once();
    check(m.cancelled == 0, "an item was cancelled although the target accepted");
    check(scheduled.load(std::memory_order_relaxed) == 1, "the scheduler was not called exactly once");
  }
};

// --- inline_scheduler ------------------------------------------------------

struct inline_scheduler : rl::test_suite<inline_scheduler, 2> {
  static constexpr int producers = 2;
  static constexpr int per_producer = 2;  // the item each producer adds, and its child

  model_state m;
  no_fallback fallback;
  slot<task_work> tw;

  void before() {
    m.init(producers, per_producer);
    tw.emplace(
        [](task_work& t) {
          // The target is the adding thread: run inline until the run no
          // longer owns the queue (or handed its turn to the active run).
          const std::size_t cap = rl::rand(2) == 0 ? 1 : task_work::unlimited;
          for (;;) {
            const run_result r = t.run(cap);
            if (!r.more) break;
            check(!t.empty(), "run() reported more after an emptying pop");
          }
          return true;
        },
        fallback);
    m.self_add = tw.get();
  }

  void thread(unsigned index) { tw.get()->add(m.items[index][0].tw); }

  void after() {
    m.check_all_ran_once();  // h: before the destructor, which would drain a lost item
    check(m.cancelled == 0, "an item was cancelled although the target accepted");
    tw.destroy();
  }
};

template <class Model>
bool simulate(const rl::test_params& base) {
  rl::test_params params = base;
  return rl::simulate<Model>(params);
}

int usage() {
  std::fputs("usage: task_work_model schedule_once|capped|handoff|lifetime|destroy_in_flight|close_in_flight|fallback_requeue|unscheduled_run_destroy|inline_scheduler|all [random N | bound K | full]\n", stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string model = argv[1];
  rl::test_params params = model_cli::defaults(100000);
  const char* scheduler = nullptr;
  if (!model_cli::parse_scheduler(argc, argv, 2, params, scheduler)) return usage();
  bool ok = true;
  bool known = false;
  if (model == "schedule_once" || model == "all") {
    known = true;
    ok = simulate<schedule_once>(params) && ok;
  }
  if (model == "capped" || model == "all") {
    known = true;
    ok = simulate<capped>(params) && ok;
  }
  if (model == "handoff" || model == "all") {
    known = true;
    ok = simulate<handoff>(params) && ok;
  }
  if (model == "lifetime" || model == "all") {
    known = true;
    ok = simulate<lifetime>(params) && ok;
  }
  if (model == "destroy_in_flight" || model == "all") {
    known = true;
    ok = simulate<destroy_in_flight>(params) && ok;
  }
  if (model == "close_in_flight" || model == "all") {
    known = true;
    ok = simulate<close_in_flight>(params) && ok;
  }
  if (model == "fallback_requeue" || model == "all") {
    known = true;
    ok = simulate<fallback_requeue>(params) && ok;
  }
  if (model == "unscheduled_run_destroy" || model == "all") {
    known = true;
    ok = simulate<unscheduled_run_destroy>(params) && ok;
  }
  if (model == "inline_scheduler" || model == "all") {
    known = true;
    ok = simulate<inline_scheduler>(params) && ok;
  }
  if (!known) return usage();
  std::puts(ok ? "task_work_model: all checks passed" : "task_work_model: FAILED");
  return ok ? 0 : 1;
}
