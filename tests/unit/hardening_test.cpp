// Regression tests for the hardening commit ("gate before push in task_work,
// noexcept items, caps across hand-offs, busy runs back off, misuse aborts").
// One group per fault kind:
//   1. Lifetime    task_work add() racing an unscheduled run() + destroy (and
//                  the same race on local_work: add vs close + destroy).
//   2. Exceptions  items and context hooks are noexcept; a throwing scheduler
//                  is reported; a throwing item ends in std::terminate at
//                  every entry point.
//   3. Hangs       close() from inside wait()/run(); a held push does not
//                  make a run loop spin.
//   4. Caps        run(max) and should_yield hold across handed-off turns.
//   5. Misuse      double pushes, no func, close/destroy/disown from inside.
//   6. wait()      extreme min_events and timeouts: no UB, sensible returns.
//
// MPSCQ_DEBUG is forced on, so the "still queued" re-push check runs in the
// release preset too (this file is its own executable: no ODR mix-up).
#define MPSCQ_DEBUG 1

#include <mpscq/local_work.hpp>
#include <mpscq/queue.hpp>
#include <mpscq/task_work.hpp>
#include <mpscq/work.hpp>

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "test_executors.hpp"

// Test access to the queue inside local_work (as in local_work_test.cpp), to
// hold a producer inside its push's in-flight window.
struct mpscq::detail::local_work_access {
  static mpscq::queue& queue_of(mpscq::local_work& lw) { return lw.queue_; }
};

namespace {

using namespace std::chrono_literals;
using mpscq::local_work;
using mpscq::run_result;
using mpscq::run_state;
using mpscq::task_work;
using mpscq::work;
using std::chrono::nanoseconds;
using steady = std::chrono::steady_clock;
using qa = mpscq::detail::queue_access;

// --- helpers -----------------------------------------------------------------

// Throws from a frame the compiler cannot see through, so that a noexcept
// item calling it is not a -Wterminate warning but still throws at run time.
[[noreturn]] __attribute__((noinline)) void throw_now() { throw std::runtime_error("hardening_test: item threw"); }

// An item whose body is any callable (the body runs inside a noexcept func).
struct fn_item : work {
  std::function<void(run_state)> body;
  std::atomic<int> runs{0};
  std::atomic<int> cancels{0};
  fn_item() { func = &fn_item::call; }
  explicit fn_item(std::function<void(run_state)> b) : body(std::move(b)) { func = &fn_item::call; }
  static void call(work& w, run_state st) noexcept {
    auto& self = static_cast<fn_item&>(w);
    if (self.body) self.body(st);
    if (st.cancel) self.cancels.fetch_add(1, std::memory_order_relaxed);
    // Last: a waiter that sees the count may free whatever the item used.
    self.runs.fetch_add(1, std::memory_order_release);
  }
};

using mpscq_test::inline_executor;

mpscq::task_work_scheduler accept_all() {
  return [](task_work&) { return true; };
}
mpscq::task_work_scheduler refuse_all() {
  return [](task_work&) { return false; };
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// run_result::busy (added by the hardening), read so that the file also
// compiles against headers that lack it (then: never reported).
template <class R>
bool busy_of(const R& r) {
  if constexpr (requires { r.busy; }) {
    return r.busy;
  } else {
    return false;
  }
}

// Runs `f` on a thread and waits at most `bound`. A regression that hangs
// must fail the run, not hang it: on timeout, report and abort.
template <class F>
void within(std::chrono::seconds bound, const char* what, F f) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  std::thread t([&] {
    f();
    done.set_value();
  });
  if (finished.wait_for(bound) != std::future_status::ready) {
    ADD_FAILURE() << what << ": still running after " << bound.count() << " s (hang)";
    std::fprintf(stderr, "hardening_test: %s hung for %lld s; aborting\n", what,
                 static_cast<long long>(bound.count()));
    std::fflush(stderr);
    std::abort();
  }
  t.join();
}

// Inside a death test's statement: a regression that hangs instead of
// aborting dies of SIGALRM, whose (empty) message matches no expectation.
void arm_watchdog() { alarm(20); }

class DeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// ============================================================================
// 1. Lifetime: add() vs a run() the scheduler did not arrange + destroy.
// ============================================================================
//
// Thread X adds an item to an empty object; the target thread, calling run()
// on its own (not because the scheduler asked), pops and runs the item and at
// once destroys the object. The add may still be between its push and its
// last access. Before the fix task_work::add registered in the adder gate only
// after its push, so the destructor could miss it and X then touched freed
// memory (ASan: heap-use-after-free).
//
// The window is a few instructions wide. To hit it often, X arms a one-shot
// timer on itself a random 0.05..4 us before each add (and a poker thread
// also signals it at random moments); the handler holds X for ~50 us, long
// enough for the target to run the item and free the object when the signal
// lands inside the window.

std::atomic<long> g_pokes_delivered{0};

extern "C" void hold_thread_briefly(int) {
  const int saved = errno;
  timespec ts{0, 50'000};
  nanosleep(&ts, nullptr);
  g_pokes_delivered.fetch_add(1, std::memory_order_relaxed);
  errno = saved;
}

// Installs the handler for SIGUSR2 and pokes the registered threads every
// ~30..130 us until stopped. The caller stops it before the poked threads end.
class poker {
 public:
  poker() {
    struct sigaction sa {};
    sa.sa_handler = &hold_thread_briefly;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, &old_);
  }
  ~poker() {
    stop();
    sigaction(SIGUSR2, &old_, nullptr);
  }
  void start(std::vector<pthread_t> targets) {
    targets_ = std::move(targets);
    thread_ = std::thread([this] {
      unsigned seed = 12345;
      while (!stop_.load(std::memory_order_relaxed)) {
        for (pthread_t t : targets_) pthread_kill(t, SIGUSR2);
        seed = seed * 1103515245u + 12345u;
        timespec ts{0, static_cast<long>(30'000 + (seed >> 16) % 100'000)};
        nanosleep(&ts, nullptr);
      }
    });
  }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct sigaction old_ {};
  std::vector<pthread_t> targets_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

// A one-shot timer that sends SIGUSR2 to the thread that created it.
class self_timer {
 public:
  self_timer() {
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  // as precise as the kernel allows
    sigevent sev{};
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGUSR2;
    sev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    ok_ = timer_create(CLOCK_MONOTONIC, &sev, &id_) == 0;
  }
  ~self_timer() {
    if (ok_) timer_delete(id_);
  }
  self_timer(const self_timer&) = delete;
  self_timer& operator=(const self_timer&) = delete;
  void arm(long ns) {
    if (!ok_) return;
    itimerspec its{};
    its.it_value.tv_nsec = ns;
    timer_settime(id_, 0, &its, nullptr);
  }

 private:
  timer_t id_{};
  bool ok_ = false;
};

// One adder/target pair over objects of type T, created and destroyed by the
// target, one per iteration. `make`, `drive` and `destroy` are the target's
// parts: `drive` runs the object until the items ran, unprompted.
template <class T>
struct lifetime_pair {
  std::atomic<T*> offered{nullptr};
  fn_item items[2];
  int items_per_round = 1;
  std::atomic<bool> stop_adder{false};
  std::atomic<long> rounds{0};
};

template <class T, class Make, class Drive, class Add, class Destroy>
long lifetime_race(int pairs, std::chrono::milliseconds duration, long min_rounds, Make make, Drive drive, Add add,
                   Destroy destroy) {
  std::vector<std::unique_ptr<lifetime_pair<T>>> state;
  for (int p = 0; p < pairs; ++p) {
    state.push_back(std::make_unique<lifetime_pair<T>>());
    state.back()->items_per_round = 1 + p % 2;
  }
  std::atomic<bool> stop_targets{false};
  poker pk;
  std::vector<std::thread> adders;
  std::vector<std::thread> targets;
  for (int p = 0; p < pairs; ++p) {
    lifetime_pair<T>& s = *state[static_cast<std::size_t>(p)];
    adders.emplace_back([&s, &add, p] {
      int round = 0;
      self_timer timer;
      unsigned seed = 777u + static_cast<unsigned>(p);
      while (!s.stop_adder.load(std::memory_order_acquire)) {
        T* obj = s.offered.exchange(nullptr, std::memory_order_acq_rel);
        if (obj == nullptr) {
          std::this_thread::yield();
          continue;
        }
        // After the last add returns (or its item ran) the target may free
        // `obj`: touch nothing of it here.
        seed = seed * 1103515245u + 12345u;
        timer.arm(50 + static_cast<long>((seed >> 8) % 4000));
        for (int i = 0; i < s.items_per_round; ++i) add(*obj, s.items[i], p + round + i);
        ++round;
      }
    });
    targets.emplace_back([&s, &stop_targets, &make, &drive, &destroy, p] {
      while (!stop_targets.load(std::memory_order_acquire)) {
        for (int i = 0; i < s.items_per_round; ++i) s.items[i].runs.store(0, std::memory_order_relaxed);
        T* obj = make(p);
        s.offered.store(obj, std::memory_order_release);
        auto all_ran = [&] {
          for (int i = 0; i < s.items_per_round; ++i)
            if (s.items[i].runs.load(std::memory_order_acquire) == 0) return false;
          return true;
        };
        while (!all_ran()) {
          drive(*obj, p);
          std::this_thread::yield();
        }
        destroy(obj);  // the items ran: the adds may still be returning
        s.rounds.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::vector<pthread_t> handles;
  for (auto& t : adders) handles.push_back(t.native_handle());
  pk.start(handles);

  const auto start = steady::now();
  for (;;) {
    std::this_thread::sleep_for(10ms);
    long total = 0;
    for (auto& s : state) total += s->rounds.load(std::memory_order_relaxed);
    if (steady::now() - start >= duration && total >= min_rounds) break;
    if (steady::now() - start >= 8 * duration) break;  // slow machine: enough
  }
  stop_targets.store(true, std::memory_order_release);
  for (auto& t : targets) t.join();
  pk.stop();  // before the adders end: no signal to a thread that is gone
  for (auto& s : state) s->stop_adder.store(true, std::memory_order_release);
  for (auto& t : adders) t.join();
  long total = 0;
  for (auto& s : state) total += s->rounds;
  return total;
}

TEST(Lifetime, TaskWorkAddRacingAnUnscheduledRunAndDestroy) {
  // Pair 0: the scheduler accepts (and never calls run()); pair 1: it refuses,
  // so the add hands the cycle to the fallback, which races the target's run.
  // Odd pairs add two items a round (the second add is not the scheduling one).
  const long rounds = lifetime_race<task_work>(
      4, 1500ms, 2000,
      [](int p) {
        return new task_work(p % 4 < 2 ? accept_all() : refuse_all(), mpscq::default_fallback_executor());
      },
      [](task_work& tw, int) {
        run_result r = tw.run();
        (void)r;
      },
      [](task_work& tw, fn_item& it, int) { tw.add(it); }, [](task_work* tw) { delete tw; });
  EXPECT_GE(rounds, 100);
  RecordProperty("rounds", static_cast<int>(rounds));
}

TEST(Lifetime, LocalWorkAddRacingCloseAndDestroyAfterTheItemRan) {
  // Even pairs: eager adds, owner polls run(); odd pairs: lazy adds, owner
  // waits (a lazy add for a wait of 1 completes the count and wakes it).
  const long rounds = lifetime_race<local_work>(
      4, 1000ms, 2000, [](int) { return new local_work(); },
      [](local_work& lw, int p) {
        if (p % 2 == 0) {
          lw.run(64);
        } else {
          lw.wait(1, 2ms);
        }
      },
      [](local_work& lw, fn_item& it, int salt) { lw.add(it, salt % 2 == 0 ? mpscq::wake::eager : mpscq::wake::lazy); },
      [](local_work* lw) {
        lw->close();
        delete lw;
      });
  EXPECT_GE(rounds, 100);
}

// ============================================================================
// 2. Exceptions
// ============================================================================

using throwing_func = void (*)(work&, run_state);
using nothrow_func = void (*)(work&, run_state) noexcept;
using throwing_handler = void (*)(mpscq::context_work&, run_state);
using nothrow_handler = void (*)(mpscq::context_work&, run_state) noexcept;

template <class F>
concept assignable_to_func = requires(work w, F f) { w.func = f; };
template <class F>
concept assignable_to_handler = requires(mpscq::context_work w, F f) { w.handler = f; };

// An item whose function may throw does not compile.
static_assert(!std::is_assignable_v<decltype(work::func)&, throwing_func>,
              "work::func must be a pointer to a noexcept function");
static_assert(!assignable_to_func<throwing_func>);
static_assert(assignable_to_func<nothrow_func>);
static_assert(!std::is_assignable_v<decltype(mpscq::context_work::handler)&, throwing_handler>,
              "context_work::handler_type must be noexcept too");
static_assert(!assignable_to_handler<throwing_handler>);
static_assert(assignable_to_handler<nothrow_handler>);
static_assert(std::is_nothrow_invocable_v<mpscq::context_work::handler_type, mpscq::context_work&, run_state>);
// Running an item, and every runner's entry point, is noexcept.
static_assert(noexcept(std::declval<work&>()(run_state{})));
static_assert(noexcept(std::declval<local_work&>().run(1)));
static_assert(noexcept(std::declval<local_work&>().wait(1, std::declval<nanoseconds>(), std::declval<nanoseconds>())));
static_assert(noexcept(std::declval<local_work&>().close()));
static_assert(noexcept(std::declval<local_work&>().add(std::declval<work&>())));
static_assert(noexcept(std::declval<task_work&>().run(1)));
static_assert(noexcept(std::declval<task_work&>().add(std::declval<work&>())));
// task_context::enter/leave: noexcept virtuals (an override that is not
// noexcept does not compile).
static_assert(noexcept(std::declval<mpscq::task_context&>().enter()));
static_assert(noexcept(std::declval<mpscq::task_context&>().leave()));
static_assert(std::is_polymorphic_v<mpscq::task_context>);

struct throwing_enter final : mpscq::task_context {
  void enter() noexcept override { throw_now(); }
};
struct throwing_leave final : mpscq::task_context {
  void leave() noexcept override { throw_now(); }
};

// std::terminate's message: libstdc++'s, or libc++abi's (the libcxx preset).
constexpr const char* terminated =
    "(terminate called after throwing an instance of 'std::runtime_error'"
    "|libc\\+\\+abi: terminating with uncaught exception of type std::runtime_error)";

void throwing_body(run_state) { throw_now(); }

TEST_F(DeathTest, ASchedulerThatThrowsIsReported) {
  auto std_exception = [] {
    arm_watchdog();
    task_work tw([](task_work&) -> bool { throw std::runtime_error("no loop"); }, mpscq::default_fallback_executor());
    fn_item it;
    tw.add(it);
  };
  EXPECT_DEATH(std_exception(), "the scheduler threw; a scheduler must not throw \\(return false to refuse\\)\\. what\\(\\): no loop");
  auto other_exception = [] {
    arm_watchdog();
    task_work tw([](task_work&) -> bool { throw 42; }, mpscq::default_fallback_executor());
    fn_item it;
    tw.add(it);
  };
  EXPECT_DEATH(other_exception(), "the scheduler threw; .*what\\(\\): an exception not derived from std::exception");
}

TEST_F(DeathTest, AThrowingItemTerminatesInLocalWork) {
  auto in_run = [] {
    arm_watchdog();
    local_work lw;
    fn_item it(&throwing_body);
    lw.add(it);
    lw.run(1);
  };
  EXPECT_DEATH(in_run(), terminated);
  auto in_wait = [] {
    arm_watchdog();
    local_work lw;
    fn_item it(&throwing_body);
    lw.add(it, mpscq::wake::lazy);
    lw.wait(1, 1s);
  };
  EXPECT_DEATH(in_wait(), terminated);
  auto in_close = [] {
    arm_watchdog();
    local_work lw;
    fn_item it(&throwing_body);
    lw.add(it);
    lw.close();  // drains: runs it cancelled
  };
  EXPECT_DEATH(in_close(), terminated);
  auto in_destructor = [] {
    arm_watchdog();
    fn_item it(&throwing_body);
    local_work lw;
    lw.add(it);
  };
  EXPECT_DEATH(in_destructor(), terminated);
  auto in_add_after_close = [] {
    arm_watchdog();
    local_work lw;
    lw.close();
    fn_item it(&throwing_body);
    lw.add(it);  // runs it inline, cancelled
  };
  EXPECT_DEATH(in_add_after_close(), terminated);
}

TEST_F(DeathTest, AThrowingItemTerminatesInTaskWork) {
  auto in_run = [] {
    arm_watchdog();
    task_work tw(accept_all(), mpscq::default_fallback_executor());
    fn_item it(&throwing_body);
    tw.add(it);
    tw.run();
  };
  EXPECT_DEATH(in_run(), terminated);
  auto in_fallback_thread = [] {
    arm_watchdog();
    task_work tw(refuse_all(), mpscq::default_fallback_executor());
    fn_item it(&throwing_body);
    tw.add(it);  // refused: the fallback thread runs it; ~task_work waits for it
  };
  EXPECT_DEATH(in_fallback_thread(), terminated);
  auto in_inline_fallback = [] {
    arm_watchdog();
    inline_executor fallback;
    task_work tw(refuse_all(), fallback);
    fn_item it(&throwing_body);
    tw.add(it);
  };
  EXPECT_DEATH(in_inline_fallback(), terminated);
  auto in_destructor_drain = [] {
    arm_watchdog();
    fn_item it(&throwing_body);
    task_work tw(accept_all(), mpscq::default_fallback_executor());
    tw.add(it);  // accepted, never run: the destructor drains it
  };
  EXPECT_DEATH(in_destructor_drain(), terminated);
  auto in_context_enter = [] {
    arm_watchdog();
    throwing_enter ctx;
    mpscq::context_work cw(&ctx, [](mpscq::context_work&, run_state) noexcept {});
    task_work tw(accept_all(), mpscq::default_fallback_executor());
    tw.add(cw);
    tw.run();
  };
  EXPECT_DEATH(in_context_enter(), terminated);
  auto in_context_leave = [] {
    arm_watchdog();
    throwing_leave ctx;
    mpscq::context_work cw(&ctx, [](mpscq::context_work&, run_state) noexcept {});
    task_work tw(accept_all(), mpscq::default_fallback_executor());
    tw.add(cw);
    tw.run();
  };
  EXPECT_DEATH(in_context_leave(), terminated);
}

// ============================================================================
// 3. Hangs
// ============================================================================

// close() from inside an item of wait(): wait() must return at once. Before
// the fix it slept out its timeout (2 s), or forever with nanoseconds::max().
void close_inside_wait(int min_events, nanoseconds timeout, bool from_other_thread) {
  nanoseconds took{};
  int ran = -1;
  int later_runs = -1;
  int later_cancels = -1;
  within(10s, "close() inside wait()", [&] {
    local_work lw;
    fn_item closer([&lw](run_state) { lw.close(); });
    fn_item later;
    std::thread adder;
    if (from_other_thread) {
      // The owner is asleep in wait() when the closer arrives (eager: wakes it).
      adder = std::thread([&] {
        std::this_thread::sleep_for(20ms);
        lw.add(closer);
        lw.add(later);
      });
    } else {
      lw.add(closer, mpscq::wake::lazy);
      lw.add(later, mpscq::wake::lazy);
    }
    const auto start = steady::now();
    // The closer runs in wait()'s pass; the item behind it may be drained
    // cancelled by close() or (if it is added after close()) run inline.
    ran = lw.wait(min_events, timeout);
    took = steady::now() - start;
    if (adder.joinable()) adder.join();
    later_runs = later.runs.load();
    later_cancels = later.cancels.load();
  });
  EXPECT_EQ(ran, 1) << "only the closer ran as work; the rest was cancelled";
  EXPECT_EQ(later_runs, 1);
  EXPECT_EQ(later_cancels, 1);
  const auto bound = from_other_thread ? 1020ms : 1000ms;
  EXPECT_LT(took, bound) << "wait(" << min_events << ", " << timeout.count()
                         << " ns) did not end when an item closed the local_work";
}

TEST(Hangs, CloseFromInsideWaitEndsTheWait) {
  close_inside_wait(2, 2s, false);
  close_inside_wait(2, nanoseconds::max(), false);
  close_inside_wait(INT_MAX, nanoseconds::max(), false);
  close_inside_wait(2, nanoseconds::max(), true);
  close_inside_wait(3, 2s, true);
}

TEST(Hangs, CloseFromInsideRunEndsTheRun) {
  within(10s, "close() inside run()", [] {
    local_work lw;
    fn_item closer([&lw](run_state) { lw.close(); });
    fn_item b;
    fn_item c;
    lw.add(closer);
    lw.add(b);
    lw.add(c);
    const auto start = steady::now();
    EXPECT_EQ(lw.run(10), 1) << "run() stops after the item that closed";
    EXPECT_EQ(b.runs.load(), 1);
    EXPECT_EQ(b.cancels.load(), 1);
    EXPECT_EQ(c.runs.load(), 1);
    EXPECT_EQ(c.cancels.load(), 1);
    EXPECT_FALSE(lw.has_work()) << "nothing left to announce after close()";
    EXPECT_EQ(lw.run(10), 0);
    EXPECT_EQ(lw.wait(1, nanoseconds::max()), 0) << "wait() after close() returns at once";
    EXPECT_LT(steady::now() - start, 1s);
    // A loop driven by has_work() ends too.
    int calls = 0;
    while (lw.has_work() && calls < 1000) {
      lw.run(64);
      ++calls;
    }
    EXPECT_EQ(calls, 0);
  });
}

// A producer held inside its push for `hold` while the owner loops on run():
// the loop must back off (bounded CPU, bounded number of calls).
constexpr auto held_for = 100ms;
constexpr double max_cpu_ms = 30.0;
constexpr int max_calls = 2000;

TEST(Hangs, TaskWorkRunLoopDoesNotSpinOnAHeldPush) {
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant == 0 ? "held push behind one item" : "held push behind two items");
    int schedules = 0;
    task_work tw(
        [&schedules](task_work&) {
          ++schedules;
          return true;
        },
        mpscq::default_fallback_executor());
    fn_item a0;
    fn_item a1;
    fn_item held;
    tw.add(a0);
    if (variant == 1) tw.add(a1);
    mpscq::queue& q = mpscq::detail::task_work_access::raw_queue(tw);
    mpscq::node* prev = qa::publish(q, &held.hook, &held.hook);  // exchanged, not linked
    ASSERT_EQ(prev, variant == 0 ? &a0.hook : &a1.hook);
    std::thread producer([&] {
      std::this_thread::sleep_for(held_for);
      qa::link(prev, &held.hook);  // the producer runs again
    });
    const double cpu_before = thread_cpu_ms();
    int calls = 0;
    bool saw_busy = false;
    std::size_t ran = 0;
    run_result r;
    do {
      r = tw.run(64);
      ++calls;
      ran += r.ran;
      saw_busy = saw_busy || busy_of(r);
    } while (r.more && calls < 10'000'000);
    const double cpu = thread_cpu_ms() - cpu_before;
    producer.join();
    EXPECT_EQ(ran, variant == 0 ? 2u : 3u);
    EXPECT_EQ(held.runs.load(), 1);
    EXPECT_EQ(schedules, 1);
    EXPECT_TRUE(saw_busy) << "a run that met the in-flight push reports busy";
    EXPECT_LT(calls, max_calls) << "'while (tw.run(64).more) {}' spun";
    EXPECT_LT(cpu, max_cpu_ms) << "the run loop burned CPU while the push was held";
    RecordProperty(variant == 0 ? "task_calls_0" : "task_calls_1", calls);
  }
}

TEST(Hangs, LocalWorkRunLoopDoesNotSpinOnAHeldPush) {
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant == 0 ? "held push behind one item" : "held push behind two items");
    local_work lw;
    fn_item a0;
    fn_item a1;
    fn_item held;
    lw.add(a0);
    if (variant == 1) lw.add(a1);
    mpscq::queue& q = mpscq::detail::local_work_access::queue_of(lw);
    mpscq::node* prev = qa::publish(q, &held.hook, &held.hook);
    ASSERT_EQ(prev, variant == 0 ? &a0.hook : &a1.hook);
    std::thread producer([&] {
      std::this_thread::sleep_for(held_for);
      qa::link(prev, &held.hook);
    });
    const double cpu_before = thread_cpu_ms();
    int calls = 0;
    int ran = 0;
    while (lw.has_work() && calls < 10'000'000) {
      ran += lw.run(64);
      ++calls;
    }
    const double cpu = thread_cpu_ms() - cpu_before;
    producer.join();
    EXPECT_EQ(ran, variant == 0 ? 2 : 3);
    EXPECT_EQ(held.runs.load(), 1);
    EXPECT_GT(lw.stats().in_flight_backoffs, 0u);
    EXPECT_LT(calls, max_calls) << "'while (lw.has_work()) lw.run(64)' spun";
    EXPECT_LT(cpu, max_cpu_ms) << "the run loop burned CPU while the push was held";
  }
}

// ============================================================================
// 4. Caps across hand-offs
// ============================================================================
//
// A chain: item i runs (on the thread in run()), adds item i+1 - a new cycle,
// scheduled now - and while it is still running, thread B calls run(), finds
// the run slot taken and hands its turn over (handed_off). The running run
// then serves that turn. Before the fix it ran the handed-over items without
// looking at its cap or at should_yield: run(1) ran the whole chain.
struct chain {
  struct link_item : work {
    chain* owner = nullptr;
    int id = 0;
    link_item() { func = &link_item::call; }
    static void call(work& w, run_state) noexcept {
      auto& self = static_cast<link_item&>(w);
      chain& c = *self.owner;
      c.log.push_back(self.id);
      if (self.id + 1 < static_cast<int>(c.items.size())) {
        c.tw.add(c.items[static_cast<std::size_t>(self.id) + 1]);
        run_result other;
        std::thread b([&] { other = c.tw.run(1); });
        b.join();
        c.handed_off.push_back(other.handed_off && other.ran == 0 && !other.more);
      }
    }
  };

  explicit chain(int n)
      : items(static_cast<std::size_t>(n)),
        tw(
            [this](task_work&) {
              ++schedules;
              return true;
            },
            mpscq::default_fallback_executor()) {
    for (int i = 0; i < n; ++i) {
      items[static_cast<std::size_t>(i)].owner = this;
      items[static_cast<std::size_t>(i)].id = i;
    }
  }
  void start() { tw.add(items[0]); }

  int schedules = 0;
  std::vector<int> log;
  std::vector<bool> handed_off;
  std::vector<link_item> items;  // before tw: outlive it
  task_work tw;
};

std::vector<int> iota(int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

TEST(Caps, RunOneRunsOneItemAcrossAHandOff) {
  chain c(2);
  c.start();
  run_result r = c.tw.run(1);
  EXPECT_EQ(r.ran, 1u) << "run(1) ran more than one item through a handed-off turn";
  EXPECT_TRUE(r.more) << "item 1 is still owed: the caller owns the queue";
  EXPECT_FALSE(r.handed_off);
  ASSERT_EQ(c.handed_off.size(), 1u);
  EXPECT_TRUE(c.handed_off[0]) << "thread B's run() must return handed_off";
  r = c.tw.run(1);
  EXPECT_EQ(r.ran, 1u);
  EXPECT_FALSE(r.more);
  EXPECT_EQ(c.log, iota(2));
  EXPECT_EQ(c.schedules, 2);
}

TEST(Caps, AChainOfHandOffsNeverBreaksTheCap) {
  constexpr int n = 12;
  for (std::size_t cap : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
    SCOPED_TRACE(testing::Message() << "run(" << cap << ")");
    chain c(n);
    c.start();
    std::size_t total = 0;
    int calls = 0;
    run_result r;
    do {
      r = c.tw.run(cap);
      ++calls;
      EXPECT_LE(r.ran, cap);
      EXPECT_FALSE(r.handed_off);
      total += r.ran;
      if (r.more) {
        EXPECT_EQ(r.ran, cap) << "a run that stopped with more stopped at its cap";
      }
    } while (r.more && calls < 1000);
    EXPECT_EQ(total, static_cast<std::size_t>(n));
    EXPECT_EQ(calls, static_cast<int>((n + cap - 1) / cap));
    EXPECT_EQ(c.log, iota(n));
    EXPECT_EQ(c.handed_off, std::vector<bool>(n - 1, true));
  }
}

TEST(Caps, AnUncappedRunServesTheWholeChain) {
  // The hand-off itself still works: one run serves every handed-over turn.
  constexpr int n = 8;
  chain c(n);
  c.start();
  run_result r = c.tw.run();
  EXPECT_EQ(r.ran, static_cast<std::size_t>(n));
  EXPECT_EQ(r.cycles_ended, static_cast<std::size_t>(n));
  EXPECT_FALSE(r.more);
  EXPECT_EQ(c.log, iota(n));
}

TEST(Caps, ShouldYieldIsConsultedBetweenAnyTwoItems) {
  constexpr int n = 6;
  {
    SCOPED_TRACE("should_yield() always false: asked between every two items");
    chain c(n);
    c.start();
    int asked = 0;
    run_result r = c.tw.run(task_work::unlimited, [&] {
      ++asked;
      return false;
    });
    EXPECT_EQ(r.ran, static_cast<std::size_t>(n));
    EXPECT_GE(asked, n - 1) << "should_yield() was skipped between items of handed-over turns";
  }
  {
    SCOPED_TRACE("should_yield() always true: one item per run");
    chain c(n);
    c.start();
    int calls = 0;
    run_result r;
    do {
      r = c.tw.run(task_work::unlimited, [] { return true; });
      ++calls;
      EXPECT_EQ(r.ran, 1u);
    } while (r.more && calls < 1000);
    EXPECT_EQ(calls, n);
    EXPECT_EQ(c.log, iota(n));
  }
  {
    SCOPED_TRACE("within one cycle (no hand-off) too");
    task_work tw(accept_all(), mpscq::default_fallback_executor());
    fn_item it[4];
    for (auto& i : it) tw.add(i);
    int asked = 0;
    run_result r = tw.run(task_work::unlimited, [&] {
      ++asked;
      return asked == 2;  // yield after the second item
    });
    EXPECT_EQ(r.ran, 2u);
    EXPECT_TRUE(r.more);
    r = tw.run();
    EXPECT_EQ(r.ran, 2u);
    EXPECT_FALSE(r.more);
  }
}

// ============================================================================
// 5. Misuse
// ============================================================================

TEST_F(DeathTest, PushingTheTailAgainAborts) {
  auto lone = [] {
    arm_watchdog();
    mpscq::queue q;
    mpscq::node n;
    q.push(&n);
    q.push(&n);
  };
  EXPECT_DEATH(lone(), "already the queue's tail");
  auto behind_another = [] {
    arm_watchdog();
    mpscq::queue q;
    mpscq::node a;
    mpscq::node n;
    q.push(&a);
    q.push(&n);
    q.push(&n);
  };
  EXPECT_DEATH(behind_another(), "already the queue's tail|still queued");
}

TEST_F(DeathTest, RePushingAQueuedNodeAbortsInADebugBuild) {
  static_assert(MPSCQ_DEBUG == 1);
  auto on_queue = [] {
    arm_watchdog();
    mpscq::queue q;
    mpscq::node a;
    mpscq::node b;
    q.push(&a);
    q.push(&b);
    q.push(&a);
  };
  EXPECT_DEATH(on_queue(), "still queued");
  auto on_local_work = [] {
    arm_watchdog();
    local_work lw;
    fn_item a;
    fn_item b;
    lw.add(a);
    lw.add(b);
    lw.add(a);
  };
  EXPECT_DEATH(on_local_work(), "still queued");
  auto on_local_work_tail = [] {
    arm_watchdog();
    local_work lw;
    fn_item a;
    lw.add(a);
    lw.add(a);
  };
  EXPECT_DEATH(on_local_work_tail(), "already the queue's tail|still queued");
  auto on_task_work = [] {
    arm_watchdog();
    task_work tw(accept_all(), mpscq::default_fallback_executor());
    fn_item a;
    fn_item b;
    tw.add(a);
    tw.add(b);
    tw.add(a);
  };
  EXPECT_DEATH(on_task_work(), "still queued");
  auto on_task_work_tail = [] {
    arm_watchdog();
    task_work tw(accept_all(), mpscq::default_fallback_executor());
    fn_item a;
    tw.add(a);
    tw.add(a);
  };
  EXPECT_DEATH(on_task_work_tail(), "already the queue's tail|still queued");
}

TEST(Misuse, APoppedNodeMayBePushedAgainInADebugBuild) {
  // The debug check must not fire on a correct re-push: pop() clears next.
  mpscq::queue q;
  mpscq::consumer c(q);
  mpscq::node a;
  mpscq::node b;
  for (int round = 0; round < 3; ++round) {
    q.push(&a);
    q.push(&b);
    EXPECT_EQ(c.pop(), &a);
    q.push(&a);  // a was handed out: fine
    EXPECT_EQ(c.pop(), &b);
    EXPECT_EQ(c.pop(), &a);
    EXPECT_EQ(c.pop(), nullptr);
  }
}

TEST_F(DeathTest, AddingAnItemWithNoFuncAborts) {
  auto to_local_work = [] {
    arm_watchdog();
    local_work lw;
    work w;
    lw.add(w);
  };
  EXPECT_DEATH(to_local_work(), "mpscq::local_work: add\\(\\): the work item has no func");
  auto to_local_work_lazy_after_close = [] {
    arm_watchdog();
    local_work lw;
    lw.close();
    work w;
    lw.add(w, mpscq::wake::lazy);
  };
  EXPECT_DEATH(to_local_work_lazy_after_close(), "no func");
  auto to_task_work = [] {
    arm_watchdog();
    task_work tw(accept_all(), mpscq::default_fallback_executor());
    work w;
    tw.add(w);
  };
  EXPECT_DEATH(to_task_work(), "no func");
}

TEST_F(DeathTest, CloseOrDestroyFromInsideTheSchedulerAborts) {
  auto close_in_scheduler = [] {
    arm_watchdog();
    task_work tw(
        [](task_work& self) {
          self.close();
          return true;
        },
        mpscq::default_fallback_executor());
    fn_item it;
    tw.add(it);
  };
  EXPECT_DEATH(close_in_scheduler(), "close\\(\\) called from inside its scheduler");
  auto destroy_in_scheduler = [] {
    arm_watchdog();
    auto* tw = new task_work(
        [](task_work& self) {
          delete &self;
          return true;
        },
        mpscq::default_fallback_executor());
    fn_item it;
    tw->add(it);
  };
  EXPECT_DEATH(destroy_in_scheduler(), "destroyed from inside its scheduler");
  auto close_in_inline_fallback = [] {
    arm_watchdog();
    inline_executor fallback;
    task_work* self = nullptr;
    task_work tw(refuse_all(), fallback);
    self = &tw;
    fn_item it([&self](run_state) { self->close(); });
    tw.add(it);  // refused: the fallback runs the item inside the add
  };
  EXPECT_DEATH(close_in_inline_fallback(), "close\\(\\) called from inside its scheduler or fallback hand-off");
  auto scheduler_runs_inline_and_closes = [] {
    arm_watchdog();
    task_work* self = nullptr;
    fn_item it([&self](run_state) { self->close(); });
    task_work tw(
        [](task_work& t) {
          t.run();  // the scheduler runs the item inline
          return true;
        },
        mpscq::default_fallback_executor());
    self = &tw;
    tw.add(it);
  };
  EXPECT_DEATH(scheduler_runs_inline_and_closes(), "from inside its scheduler");
}

TEST_F(DeathTest, DestroyingALocalWorkFromInsideItsOwnItemAborts) {
  auto in_run = [] {
    arm_watchdog();
    auto* lw = new local_work();
    fn_item it([lw](run_state) { delete lw; });
    lw->add(it);
    lw->run(1);
  };
  EXPECT_DEATH(in_run(), "local_work: destroyed from inside one of its own items");
  auto in_wait = [] {
    arm_watchdog();
    auto* lw = new local_work();
    fn_item it([lw](run_state) { delete lw; });
    lw->add(it);
    lw->wait(1, 1s);
  };
  EXPECT_DEATH(in_wait(), "local_work: destroyed from inside one of its own items");
  auto in_close_drain = [] {
    arm_watchdog();
    auto* lw = new local_work();
    fn_item it([lw](run_state) { delete lw; });
    lw->add(it);
    lw->close();
  };
  EXPECT_DEATH(in_close_drain(), "local_work: destroyed from inside one of its own items");
}

TEST_F(DeathTest, DisownFromInsideAnItemAborts) {
  auto in_run = [] {
    arm_watchdog();
    local_work lw;
    fn_item it([&lw](run_state) { lw.disown(); });
    lw.add(it);
    lw.run(1);
  };
  EXPECT_DEATH(in_run(), "disown\\(\\) called from inside one of its own items");
  auto in_wait = [] {
    arm_watchdog();
    local_work lw;
    fn_item it([&lw](run_state) { lw.disown(); });
    lw.add(it);
    lw.wait(1, 1s);
  };
  EXPECT_DEATH(in_wait(), "disown\\(\\) called from inside one of its own items");
}

TEST(Misuse, DisownOutsideItemsStillWorks) {
  local_work lw;
  fn_item it;
  lw.add(it);
  EXPECT_EQ(lw.run(1), 1);
  lw.disown();
  std::thread([&] { lw.close(); }).join();
}

// ============================================================================
// 6. wait() arguments at the extremes
// ============================================================================

struct wait_case {
  int min_events;
  nanoseconds timeout;
  nanoseconds min_wait;
};

// With `queued` items already there, wait() runs them and returns; it sleeps
// at most until its timeout (here at most `bounded`).
int wait_with(const wait_case& c, int queued, nanoseconds* took) {
  int ran = -1;
  within(10s, "wait() with extreme arguments", [&] {
    local_work lw;
    std::vector<std::unique_ptr<fn_item>> items;
    for (int i = 0; i < queued; ++i) {
      items.push_back(std::make_unique<fn_item>());
      lw.add(*items.back(), mpscq::wake::lazy);
    }
    const auto start = steady::now();
    ran = lw.wait(c.min_events, c.timeout, c.min_wait);
    *took = steady::now() - start;
    for (auto& it : items) EXPECT_EQ(it->runs.load(), 1);
  });
  return ran;
}

TEST(WaitArguments, ExtremeMinEventsAndTimeoutsAreSafe) {
  const nanoseconds nmin = nanoseconds::min();
  const nanoseconds nmax = nanoseconds::max();
  // Returns at once: min_events <= 0 (run what is there), or a timeout that
  // has already passed.
  const wait_case prompt[] = {
      {INT_MIN, nmax, {}},         {INT_MIN, nmin, nmin},   {INT_MIN + 1, nmax, nmax}, {-1, nmax, {}},
      {0, nmax, nmax},             {INT_MAX, -1ns, {}},     {INT_MAX, nmin, {}},       {INT_MAX - 1, nmin, nmin},
      {INT_MAX, 0ns, -1ns},        {INT_MAX, -1s, -1s},     {INT_MAX - 1, 0ns, 0ns},   {3, nmax, nmax},
      {INT_MIN, 0ns, nmin},        {2, nmax, {}},
  };
  for (int queued : {0, 3}) {
    for (const wait_case& c : prompt) {
      if (queued == 0 && c.min_events > 0 && c.timeout > 0ns) continue;  // would sleep forever
      SCOPED_TRACE(testing::Message() << "queued " << queued << ", wait(" << c.min_events << ", "
                                      << c.timeout.count() << " ns, " << c.min_wait.count() << " ns)");
      nanoseconds took{};
      const int ran = wait_with(c, queued, &took);
      EXPECT_EQ(ran, queued);
      EXPECT_LT(took, 1s);
    }
  }
  // Sleeps until a short timeout, whatever min_events says. (A min_wait
  // longer than the timeout extends the wait to min_wait, as the kernel's
  // does: see min_timeout_test.cpp.)
  const wait_case timed[] = {
      {INT_MAX, 5ms, {}}, {INT_MAX - 1, 5ms, 5ms}, {INT_MAX, 5ms, nmin}, {INT_MAX, 5ms, 1ms}, {4, 5ms, 2ms},
  };
  for (int queued : {0, 3}) {
    for (const wait_case& c : timed) {
      SCOPED_TRACE(testing::Message() << "queued " << queued << ", wait(" << c.min_events << ", "
                                      << c.timeout.count() << " ns, " << c.min_wait.count() << " ns)");
      nanoseconds took{};
      const int ran = wait_with(c, queued, &took);
      EXPECT_EQ(ran, queued);
      const bool min_wait_ends_it = c.min_wait > 0ns && c.min_wait < c.timeout && queued > 0;
      if (!min_wait_ends_it) {
        EXPECT_GE(took, 5ms);
      }
      EXPECT_LT(took, 1s);
    }
  }
}

TEST(WaitArguments, HugeFiniteTimeoutsSleepAndWake) {
  // Timeouts just short of "never": the deadline saturates, the sleep's
  // remaining time stays positive and finite; an eager add wakes the owner,
  // and an item that closes ends the wait.
  const nanoseconds huge[] = {nanoseconds::max() - 1ns, nanoseconds::max() / 2, std::chrono::hours(24 * 365 * 200)};
  for (nanoseconds timeout : huge) {
    for (nanoseconds min_wait : {nanoseconds{}, nanoseconds::max(), nanoseconds::max() - 1ns, nanoseconds::min()}) {
      SCOPED_TRACE(testing::Message() << "timeout " << timeout.count() << " ns, min_wait " << min_wait.count() << " ns");
      int ran = -1;
      nanoseconds took{};
      within(10s, "wait() with a huge timeout", [&] {
        local_work lw;
        fn_item closer([&lw](run_state) { lw.close(); });
        std::thread adder([&] {
          std::this_thread::sleep_for(5ms);
          lw.add(closer);
        });
        const auto start = steady::now();
        ran = lw.wait(INT_MAX, timeout, min_wait);
        took = steady::now() - start;
        adder.join();
      });
      EXPECT_EQ(ran, 1);
      EXPECT_LT(took, 1s);
    }
  }
  // min_wait past: one item is enough, even with min_events INT_MAX.
  {
    int ran = -1;
    within(10s, "wait() with min_wait", [&] {
      local_work lw;
      fn_item it;
      std::thread adder([&] {
        std::this_thread::sleep_for(10ms);
        lw.add(it);
      });
      ran = lw.wait(INT_MAX, nanoseconds::max() - 1ns, 1ms);
      adder.join();
      lw.close();
    });
    EXPECT_EQ(ran, 1);
  }
}

TEST(WaitArguments, RunWithNonPositiveMaxRunsNothing) {
  local_work lw;
  fn_item it;
  lw.add(it);
  EXPECT_EQ(lw.run(0), 0);
  EXPECT_EQ(lw.run(-1), 0);
  EXPECT_EQ(lw.run(INT_MIN), 0);
  EXPECT_TRUE(lw.has_work());
  EXPECT_EQ(lw.run(INT_MAX), 1);
  EXPECT_EQ(it.runs.load(), 1);
}

}  // namespace
