// Relacy models of mpscq::local_work's wake protocol, on the real header
// (include/mpscq/local_work.hpp + detail/local_work_core.hpp) through the
// detail/ seam: the queue, the countdown, the gate and the pending flag are
// rl::atomic operations with their real memory orders, and the owner sleeps
// in rl::rl_futex (detail/futex.hpp), which reports DEADLOCK when the owner
// sleeps untimed and no wake ever comes - a lost wake.
//
//   local_work_model <scenario> [random N | bound K | full]   (default: random 100000)
//
// Scenarios (each owner waits with an unbounded timeout, so only a wake ends
// its sleep):
//   eager_lazy  owner wait(2); one lazy and one eager producer. The lazy
//               decrement can land between the eager add's read of wait_nr
//               and its claim: with the v2 compare-exchange claim
//               (LOCAL_EAGER_WAKE_CAS) the eager add gives up, the count
//               stays at 1 and the owner sleeps for ever: DEADLOCK.
//   recheck     owner wait(1); one lazy producer. An add that reads wait_nr
//               before the owner arms sees "no waiter"; only the owner's
//               re-check finds its item. Without the re-check
//               (LOCAL_ARM_WITHOUT_RECHECK), or with the push / wait_nr read
//               and the arm / re-check no longer ordered
//               (LOCAL_PUSH_ARM_RELAXED: the re-check may read a stale empty
//               tail while the add reads a stale "no waiter"): DEADLOCK.
//   fifo        2 producers x 2 items (lazy, eager mixed), owner wait(4):
//               every item runs once, per-producer order, payload written
//               before add() is visible in the item's function (rl::var: DATA
//               RACE otherwise), and the in-flight window is crossed by
//               yielding, never by spinning (LIVELOCK otherwise).
//   teardown    the local_work is heap-allocated (Relacy's allocator). One
//               eager producer; the owner waits for its item and deletes the
//               object at once. close() must wait until the add has left
//               (it still reads wait_nr and wakes the futex after its push).
//               Without that (LOCAL_TEARDOWN_NO_WAIT_ADDERS): ACCESS TO FREED
//               MEMORY.
//   close_race  owner wait(1) then close() while 2 producers each add 2
//               items; adds after close run inline. Every item runs exactly
//               once (LOCAL_TEARDOWN_NO_WAIT_ADDERS: close() drains before an
//               in-flight push lands - "item lost").
//   interrupt   the owner waits untimed with nothing queued; another thread
//               calls interrupt(); the owner's wait() must return, and the
//               owner deletes the object at once. Flag read before the futex
//               snapshot (LOCAL_INTERRUPT_CHECK_BEFORE_SNAPSHOT): the owner
//               sleeps through it, DEADLOCK. interrupt() outside the adder
//               gate (LOCAL_INTERRUPT_OUTSIDE_GATE): its FUTEX_WAKE after the
//               free, ACCESS TO FREED MEMORY.
//   interrupt_countdown  owner wait(2) (untimed); one lazy producer, one
//               interrupter that first writes a plain stop variable. The
//               wait returns with 0 or 1 items, and then the owner must see
//               the stop variable (rl::var: DATA RACE if the interrupt did not
//               order it); the item runs exactly once (in a later wait or
//               close()'s drain). The interrupt meets the countdown (a lazy
//               decrement landing on the armed count), the push-vs-arm
//               re-check and the in-flight window.
//   stop        wait(..., stop token)'s window (issue 21): the owner waits
//               untimed with nothing queued, on the core's real loop
//               (wait_loop<Stop>) with a model stop token (model_stop below:
//               std::stop_callback's contract on Relacy atomics - std's own
//               cannot run under Relacy); another thread writes a plain
//               note and requests the stop. The wait must return (0), and
//               the note must be visible (rl::var: DATA RACE otherwise).
//               Stop read before the futex snapshot
//               (LOCAL_STOP_CHECK_BEFORE_SNAPSHOT), or no callback registered
//               (LOCAL_STOP_NO_CALLBACK): the owner sleeps through the stop,
//               DEADLOCK.
//   stop_countdown  owner wait(2, stop token); one lazy producer, one
//               stopper: the stop meets the countdown, the re-check and the
//               in-flight window; the wait returns 0 or 1, the item runs
//               exactly once (later in close()'s drain if not in the wait).
//
// Relacy's headers are system headers, so the project's warnings apply to
// this file only.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <sstream>

#include <mpscq/local_work.hpp>  // pulls in relacy through detail/relacy_seam.hpp

#include "model_cli.hpp"

// The core's loop with a stop token of the model's own (see model_stop).
struct mpscq::detail::local_work_access {
  template <class Stop>
  static int wait_stop(mpscq::local_work& lw, int min_events, const typename Stop::token& stop) {
    mpscq::detail::local_work_core<mpscq::local_work>& core = lw;
    return core.template wait_loop<Stop>(min_events, std::chrono::steady_clock::now(),
                                         std::chrono::steady_clock::time_point::max(), true,
                                         std::chrono::nanoseconds::zero(), stop);
  }
};

namespace {

constexpr auto forever = std::chrono::nanoseconds::max();

struct model_item : mpscq::work {
  rl::var<int> payload;  // written by the producer before add(), read when run
  int producer = 0;
  int seq = 0;
  int runs = 0;       // plain: Relacy runs one thread at a time
  bool cancelled = false;
  int* next_seq = nullptr;  // the owner's expectation for this producer (null: no order check)

  model_item() { func = &model_item::run; }

  void prepare(int p, int s) {
    producer = p;
    seq = s;
    payload($) = p * 100 + s;
  }

  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = static_cast<model_item&>(w);
    const int value = self.payload($);  // DATA RACE if not ordered after the producer's write
    RL_ASSERT(value == self.producer * 100 + self.seq && "payload not the producer's");
    ++self.runs;
    RL_ASSERT(self.runs == 1 && "item ran twice");
    self.cancelled = st.cancel;
    if (self.next_seq != nullptr && !st.cancel) {
      RL_ASSERT(self.seq == self.next_seq[self.producer] && "per-producer order broken");
      self.next_seq[self.producer] = self.seq + 1;
    }
  }
};

// A local_work on Relacy's heap, owned by thread 0. Relacy replaces the plain
// global operator new, not the aligned one that `new local_work` would call
// (it is cache-line aligned), so the storage comes from ::operator new and is
// aligned here; Relacy then sees the free, and an rl::atomic touched after it
// reports ACCESS TO FREED MEMORY.
class heap_local_work {
  // Records for the owner slot (detail/thread_identity.hpp, MODEL BUILDS):
  // Relacy threads 0-3 get one each, with their index as their id.
  mpscq::detail::model_thread_identities<4> identities_;

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

// --- eager_lazy --------------------------------------------------------------
struct eager_lazy : rl::test_suite<eager_lazy, 3> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item items[2];
  int ran = 0;

  void before() { lw = heap.create(); }
  void thread(unsigned index) {
    if (index == 0) {
      ran = lw->wait(2, forever);
      lw->close();
    } else {
      model_item& it = items[index - 1];
      it.prepare(static_cast<int>(index), 0);
      lw->add(it, index == 1 ? mpscq::wake::lazy : mpscq::wake::eager);
    }
  }
  void after() {
    RL_ASSERT(ran == 2 && "wait(2) returned early");
    for (auto& it : items) RL_ASSERT(it.runs == 1 && "item lost");
    heap.destroy();
  }
};

// --- recheck -----------------------------------------------------------------
struct recheck : rl::test_suite<recheck, 2> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item item;
  int ran = 0;

  void before() { lw = heap.create(); }
  void thread(unsigned index) {
    if (index == 0) {
      ran = lw->wait(1, forever);
      lw->close();
    } else {
      item.prepare(1, 0);
      lw->add(item, mpscq::wake::lazy);
    }
  }
  void after() {
    RL_ASSERT(ran == 1 && "wait(1) returned without the item");
    RL_ASSERT(item.runs == 1 && !item.cancelled && "item lost");
    heap.destroy();
  }
};

// --- fifo --------------------------------------------------------------------
struct fifo : rl::test_suite<fifo, 3> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item items[2][2];
  int next_seq[3] = {0, 0, 0};
  int ran = 0;

  void before() { lw = heap.create(); }
  void thread(unsigned index) {
    if (index == 0) {
      while (ran < 4) ran += lw->wait(4 - ran, forever);
      lw->close();
    } else {
      for (int s = 0; s < 2; ++s) {
        model_item& it = items[index - 1][s];
        it.next_seq = next_seq;
        it.prepare(static_cast<int>(index), s);
        // Producer 1: lazy, eager. Producer 2: eager, lazy.
        const bool eager = (s == 0) == (index == 2);
        lw->add(it, eager ? mpscq::wake::eager : mpscq::wake::lazy);
      }
    }
  }
  void after() {
    RL_ASSERT(ran == 4 && "items lost");
    for (auto& row : items) {
      for (auto& it : row) RL_ASSERT(it.runs == 1 && !it.cancelled && "item lost or cancelled");
    }
    RL_ASSERT(!lw->has_work());
    heap.destroy();
  }
};

// --- teardown ----------------------------------------------------------------
struct teardown : rl::test_suite<teardown, 2> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item item;

  void before() { lw = heap.create(); }
  void thread(unsigned index) {
    if (index == 0) {
      int ran = 0;
      while (ran < 1) ran += lw->wait(1, forever);
      heap.destroy();  // the add may still be inside: the destructor must wait
    } else {
      item.prepare(1, 0);
      lw->add(item, mpscq::wake::eager);
    }
  }
  void after() { RL_ASSERT(item.runs == 1 && "item lost"); }
};

// --- close_race --------------------------------------------------------------
struct close_race : rl::test_suite<close_race, 3> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item items[2][2];

  void before() { lw = heap.create(); }
  void thread(unsigned index) {
    if (index == 0) {
      lw->wait(1, forever);
      lw->close();
    } else {
      for (int s = 0; s < 2; ++s) {
        model_item& it = items[index - 1][s];
        it.prepare(static_cast<int>(index), s);
        lw->add(it, s == 0 ? mpscq::wake::eager : mpscq::wake::lazy);
      }
    }
  }
  void after() {
    for (auto& row : items) {
      for (auto& it : row) RL_ASSERT(it.runs == 1 && "item lost");
    }
    heap.destroy();
  }
};

// --- the model stop token -------------------------------------------------------
// std::stop_source / stop_token / stop_callback's contract (what wait_loop
// relies on), on Relacy atomics: request_stop() is an RMW on the state, then
// runs the registered callback on the requesting thread; a callback
// constructed after the request runs at once in its constructor; a
// callback's destructor waits for one that is running (here: the lock is held
// while it runs, as libstdc++ makes the destructor wait on a semaphore).
// The lock (a spin lock, yielding) orders the registration against the
// request; stop_requested() is an acquire load, as std's (a request that
// returns true synchronizes with a stop_requested() that returns true).
struct model_stop_state {
  struct callback_base {
    virtual void invoke() noexcept = 0;

   protected:
    ~callback_base() = default;
  };
  mpscq::detail::atomic<bool> requested{false};
  mpscq::detail::atomic<bool> locked{false};
  rl::var<callback_base*> registered;  // under the lock

  void lock() {
    while (locked.exchange(true, std::memory_order_acquire)) mpscq::detail::yield_thread();
  }
  void unlock() { locked.store(false, std::memory_order_release); }
  void request_stop() {
    lock();
    requested.exchange(true, std::memory_order_acq_rel);
    callback_base* cb = registered($);
    registered($) = nullptr;
    if (cb != nullptr) cb->invoke();
    unlock();
  }
};

struct model_stop {
  struct token {
    model_stop_state* state = nullptr;
    bool stop_possible() const noexcept { return state != nullptr; }
    bool stop_requested() const noexcept {
      return state != nullptr && state->requested.load(std::memory_order_acquire);
    }
  };
  template <class F>
  class callback final : model_stop_state::callback_base {
   public:
    callback(const token& t, F f) : state_(t.state), f_(f) {
      state_->lock();
      if (state_->requested.load(std::memory_order_acquire)) {
        state_->unlock();
        f_();  // already stopped: on this thread, in the constructor
        return;
      }
      state_->registered($) = this;
      state_->unlock();
    }
    ~callback() {
      state_->lock();  // waits for a running invoke(): it holds the lock
      if (state_->registered($) == this) state_->registered($) = nullptr;
      state_->unlock();
    }
    callback(const callback&) = delete;
    callback& operator=(const callback&) = delete;
    void invoke() noexcept override { f_(); }

   private:
    model_stop_state* state_;
    F f_;
  };
};

// --- stop ---------------------------------------------------------------------
struct stop : rl::test_suite<stop, 2> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_stop_state source;
  rl::var<int> note;  // written before request_stop(), read by the owner after the wait
  int ran = -1;

  void before() {
    lw = heap.create();
    source.registered($) = nullptr;
    note($) = 0;
  }
  void thread(unsigned index) {
    if (index == 0) {
      // Nothing is ever added: only the stop ends it.
      ran = mpscq::detail::local_work_access::wait_stop<model_stop>(*lw, 1, model_stop::token{&source});
      RL_ASSERT(note($) == 1 && "wait() returned before the stop, or the stopper's writes are not visible");
      heap.destroy();  // the callback's destructor ran inside wait(): nothing touches lw after it
    } else {
      note($) = 1;
      source.request_stop();
    }
  }
  void after() { RL_ASSERT(ran == 0 && "wait() ran an item nobody added"); }
};

// --- stop_countdown ---------------------------------------------------------------
struct stop_countdown : rl::test_suite<stop_countdown, 3> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item item;
  model_stop_state source;
  rl::var<int> note;
  int first = -1;

  void before() {
    lw = heap.create();
    source.registered($) = nullptr;
    note($) = 0;
  }
  void thread(unsigned index) {
    if (index == 0) {
      // One lazy add can never satisfy 2: the stop ends it.
      first = mpscq::detail::local_work_access::wait_stop<model_stop>(*lw, 2, model_stop::token{&source});
      RL_ASSERT(note($) == 1 && "wait() returned before the stop, or the stopper's writes are not visible");
      lw->close();  // runs the item cancelled if it was not run yet
    } else if (index == 1) {
      item.prepare(1, 0);
      lw->add(item, mpscq::wake::lazy);
    } else {
      note($) = 1;
      source.request_stop();
    }
  }
  void after() {
    RL_ASSERT((first == 0 || first == 1) && "wait(2) ran more than there was");
    RL_ASSERT(item.runs == 1 && "item lost or run twice");
    RL_ASSERT(item.cancelled == (first == 0) && "item ran in the wait and again, or never");
    heap.destroy();
  }
};

// --- interrupt ----------------------------------------------------------------
struct interrupt : rl::test_suite<interrupt, 2> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  int ran = -1;

  void before() { lw = heap.create(); }
  void thread(unsigned index) {
    if (index == 0) {
      ran = lw->wait(1, forever);  // nothing is ever added: only the interrupt ends it
      heap.destroy();              // the interrupter may still be inside: waited out
    } else {
      lw->interrupt();
    }
  }
  void after() { RL_ASSERT(ran == 0 && "wait() ran an item nobody added"); }
};

// --- interrupt_countdown --------------------------------------------------------
struct interrupt_countdown : rl::test_suite<interrupt_countdown, 3> {
  heap_local_work heap;
  mpscq::local_work* lw = nullptr;
  model_item item;
  rl::var<int> stop;  // written before interrupt(), read by the owner after the wait
  int first = -1;
  int total = 0;

  void before() {
    lw = heap.create();
    stop($) = 0;
  }
  void thread(unsigned index) {
    if (index == 0) {
      first = lw->wait(2, forever);  // one lazy add can never satisfy 2: the interrupt ends it
      RL_ASSERT(stop($) == 1 && "wait() returned before the interrupt, or its writes are not visible");
      total = first;
      lw->close();  // runs the item cancelled if it was not run yet
    } else if (index == 1) {
      item.prepare(1, 0);
      lw->add(item, mpscq::wake::lazy);
    } else {
      stop($) = 1;
      lw->interrupt();
    }
  }
  void after() {
    RL_ASSERT((first == 0 || first == 1) && "wait(2) ran more than there was");
    RL_ASSERT(item.runs == 1 && "item lost or run twice");
    RL_ASSERT(item.cancelled == (first == 0) && "item ran in the wait and again, or never");
    heap.destroy();
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s eager_lazy|recheck|fifo|teardown|close_race|interrupt|interrupt_countdown|stop|stop_countdown [random N | bound K | full]\n",
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

  std::printf("local-work-model: scenario=%s", scenario);
  model_cli::print_scheduler(params, scheduler);
  std::printf("\n");
  std::fflush(stdout);

  const auto start = std::chrono::steady_clock::now();
  bool ok = false;
  if (std::strcmp(scenario, "eager_lazy") == 0) {
    ok = rl::simulate<eager_lazy>(params);
  } else if (std::strcmp(scenario, "recheck") == 0) {
    ok = rl::simulate<recheck>(params);
  } else if (std::strcmp(scenario, "fifo") == 0) {
    ok = rl::simulate<fifo>(params);
  } else if (std::strcmp(scenario, "teardown") == 0) {
    ok = rl::simulate<teardown>(params);
  } else if (std::strcmp(scenario, "close_race") == 0) {
    ok = rl::simulate<close_race>(params);
  } else if (std::strcmp(scenario, "interrupt") == 0) {
    ok = rl::simulate<interrupt>(params);
  } else if (std::strcmp(scenario, "interrupt_countdown") == 0) {
    ok = rl::simulate<interrupt_countdown>(params);
  } else if (std::strcmp(scenario, "stop") == 0) {
    ok = rl::simulate<stop>(params);
  } else if (std::strcmp(scenario, "stop_countdown") == 0) {
    ok = rl::simulate<stop_countdown>(params);
  } else {
    std::fprintf(stderr, "unknown scenario %s\n", scenario);
    return 2;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("local-work-model: %s %s after %llu iterations in %.2f s\n", scenario, ok ? "PASS" : "FAIL",
              static_cast<unsigned long long>(params.stop_iteration), seconds);
  return ok ? 0 : 1;
}
