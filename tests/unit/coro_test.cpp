// Unit tests of mpscq/coro.hpp: co_await resume_on(local_work&, wake) and
// resume_on(task_work&[, task_context&]). Where a coroutine resumes (thread,
// inside which run), the lazy/eager wake, every cancel path (an await after
// close(), close()'s drain, the destructor's drain, a refused cycle on the
// fallback, a run owed after close()), the inline runs inside await_suspend
// (no suspension, no stack growth, nested awaits), and thousands of
// coroutines hopping between owner threads and a task_work target, none lost
// and none resumed twice.
#include <mpscq/coro.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "test_coroutines.hpp"

#include "test_executors.hpp"

namespace {

using mpscq_test::spawned;

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using mpscq::resumed;
using mpscq::resume_on;
using mpscq::run_state;
using mpscq::task_work;
using mpscq::wake;
using mpscq::work;

// std::this_thread::get_id() through a call the compiler cannot see into:
// clang 14 reuses pthread_self() (declared const) from before a co_await in a
// coroutine that resumed on another thread (llvm/llvm-project#47177).
std::thread::id (*volatile current_thread)() = [] { return std::this_thread::get_id(); };

// What one await saw. Written by the coroutine after it resumed; `done`
// (release) publishes the rest.
struct probe {
  std::atomic<int> resumes{0};
  std::atomic<bool> done{false};
  resumed outcome = resumed::on_target;
  std::thread::id thread;
  bool inside_context = false;

  void record(resumed r) {
    outcome = r;
    thread = current_thread();
    resumes.fetch_add(1);
    done.store(true, std::memory_order_release);
  }
  bool finished() const { return done.load(std::memory_order_acquire); }
};

spawned await_lw(mpscq::local_work& lw, wake mode, probe& p) {
  const resumed r = co_await resume_on(lw, mode);
  p.record(r);
}

spawned await_tw(task_work& tw, probe& p) {
  const resumed r = co_await resume_on(tw);
  p.record(r);
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 20000ms) {
  const auto end = clock_type::now() + limit;
  while (!pred()) {
    if (clock_type::now() > end) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

using mpscq_test::inline_executor;
using mpscq_test::manual_executor;

// --- local_work -------------------------------------------------------------

TEST(CoroLocalWork, ResumesOnTheOwnerInsideRun) {
  mpscq::local_work lw;
  probe p;
  await_lw(lw, wake::eager, p).start();
  EXPECT_FALSE(p.finished()) << "the coroutine is queued, not resumed";
  EXPECT_TRUE(lw.has_work());
  EXPECT_EQ(lw.run(8), 1);
  ASSERT_TRUE(p.finished());
  EXPECT_EQ(p.outcome, resumed::on_target);
  EXPECT_EQ(p.thread, std::this_thread::get_id());
  EXPECT_EQ(lw.stats().items_run, 1u);
  EXPECT_EQ(lw.run(8), 0);
  EXPECT_EQ(p.resumes.load(), 1);
}

TEST(CoroLocalWork, ResumesOnTheOwnerThreadFromAnotherThread) {
  mpscq::local_work lw;
  std::atomic<bool> stop{false};
  std::thread owner([&] {
    while (!stop.load()) lw.wait(1, 1ms);
    lw.close();
  });
  const std::thread::id owner_id = owner.get_id();
  constexpr int n = 64;
  std::vector<probe> p(n);
  for (int i = 0; i < n; ++i) await_lw(lw, i % 2 ? wake::lazy : wake::eager, p[static_cast<std::size_t>(i)]).start();
  EXPECT_TRUE(eventually([&] {
    for (const probe& x : p)
      if (!x.finished()) return false;
    return true;
  }));
  stop.store(true);
  owner.join();
  for (const probe& x : p) {
    EXPECT_EQ(x.resumes.load(), 1);
    EXPECT_EQ(x.outcome, resumed::on_target);
    EXPECT_EQ(x.thread, owner_id);
  }
}

TEST(CoroLocalWork, LazyAwaitCountsTowardsTheOwnersMinEvents) {
  mpscq::local_work lw;
  probe p[2];
  std::thread producer([&] {
    ASSERT_TRUE(eventually([&] { return lw.stats().sleeps >= 1; }));
    await_lw(lw, wake::lazy, p[0]).start();  // returns once its add() returned
    EXPECT_EQ(lw.stats().wakes, 0u) << "a lazy await into wait(2) must not wake the owner";
    await_lw(lw, wake::lazy, p[1]).start();  // completes the count
  });
  EXPECT_EQ(lw.wait(2, 30s), 2);
  producer.join();
  EXPECT_EQ(lw.stats().wakes, 1u) << "only the await that completes the count wakes";
  for (const probe& x : p) {
    ASSERT_TRUE(x.finished());
    EXPECT_EQ(x.outcome, resumed::on_target);
    EXPECT_EQ(x.thread, std::this_thread::get_id());
  }
}

TEST(CoroLocalWork, EagerAwaitWakesASleepingOwnerAtOnce) {
  mpscq::local_work lw;
  probe p[2];
  std::thread producer([&] {
    ASSERT_TRUE(eventually([&] { return lw.stats().sleeps >= 1; }));
    await_lw(lw, wake::eager, p[0]).start();
    // The owner is still inside wait(2, ...) but must have resumed it.
    EXPECT_TRUE(eventually([&] { return p[0].finished(); }, 10000ms));
    await_lw(lw, wake::lazy, p[1]).start();  // completes the wait
  });
  EXPECT_EQ(lw.wait(2, 60s), 2);
  producer.join();
  EXPECT_GE(lw.stats().wakes, 1u);
  for (const probe& x : p) {
    ASSERT_TRUE(x.finished());
    EXPECT_EQ(x.outcome, resumed::on_target);
    EXPECT_EQ(x.thread, std::this_thread::get_id());
  }
}

TEST(CoroLocalWork, AwaitAfterCloseDoesNotSuspendAndIsCancelled) {
  mpscq::local_work lw;
  lw.close();
  probe p;
  await_lw(lw, wake::eager, p).start();
  // The add ran the item inline: the coroutine went on inside start().
  ASSERT_TRUE(p.finished());
  EXPECT_EQ(p.outcome, resumed::cancelled);
  EXPECT_EQ(p.thread, std::this_thread::get_id());
  EXPECT_EQ(p.resumes.load(), 1);
  EXPECT_EQ(lw.stats().cancelled_inline, 1u);
}

spawned await_many(mpscq::local_work& lw, int n, int& cancelled, bool& finished) {
  for (int i = 0; i < n; ++i) {
    // Bound first: g++ 12 miscompiles a co_await in an if condition (api.md 9).
    const resumed r = co_await resume_on(lw, i % 2 ? wake::lazy : wake::eager);
    if (r == resumed::cancelled) ++cancelled;
  }
  finished = true;
}

TEST(CoroLocalWork, AwaitsOnAClosedOwnerDoNotGrowTheStack) {
  // Resuming inside await_suspend would nest one frame per await: 200000 of
  // them overflow an 8 MiB stack. Continuing without suspending does not.
  mpscq::local_work lw;
  lw.close();
  constexpr int n = 200000;
  int cancelled = 0;
  bool finished = false;
  await_many(lw, n, cancelled, finished).start();
  EXPECT_TRUE(finished);
  EXPECT_EQ(cancelled, n);
  EXPECT_EQ(lw.stats().cancelled_inline, static_cast<std::uint64_t>(n));
}

// Awaits `lw` until cancelled, then once more (after close(): inline).
spawned await_until_cancelled(mpscq::local_work& lw, probe& first_cancel, probe& after) {
  for (;;) {
    const resumed r = co_await resume_on(lw);
    if (r == resumed::cancelled) {
      first_cancel.record(r);
      break;
    }
  }
  after.record(co_await resume_on(lw));
}

TEST(CoroLocalWork, CloseResumesQueuedCoroutinesCancelledOnTheOwner) {
  constexpr int n = 100;
  mpscq::local_work lw;
  std::vector<probe> p(n);
  std::vector<probe> first(4), after(4);
  std::atomic<bool> owned{false};
  std::atomic<bool> queued{false};
  std::atomic<int> drained_on_owner{0};
  std::thread owner([&] {
    lw.run(1);  // become the owner; nothing queued yet
    owned.store(true);
    while (!queued.load()) std::this_thread::yield();
    lw.close();  // the drain resumes every queued coroutine, cancelled, here
    for (const probe& x : p) drained_on_owner += x.finished() && x.thread == std::this_thread::get_id() ? 1 : 0;
  });
  const std::thread::id owner_id = owner.get_id();
  while (!owned.load()) std::this_thread::yield();
  for (int i = 0; i < n; ++i) await_lw(lw, wake::lazy, p[static_cast<std::size_t>(i)]).start();
  for (int i = 0; i < 4; ++i)
    await_until_cancelled(lw, first[static_cast<std::size_t>(i)], after[static_cast<std::size_t>(i)]).start();
  queued.store(true);
  owner.join();
  EXPECT_EQ(drained_on_owner.load(), n) << "all resumed inside close(), on the owner";
  for (const probe& x : p) {
    EXPECT_EQ(x.resumes.load(), 1);
    EXPECT_EQ(x.outcome, resumed::cancelled);
  }
  for (int i = 0; i < 4; ++i) {
    const probe& f = first[static_cast<std::size_t>(i)];
    const probe& a = after[static_cast<std::size_t>(i)];
    ASSERT_TRUE(f.finished() && a.finished());
    EXPECT_EQ(f.thread, owner_id);
    // Resumed in close()'s drain, it awaited again: that await ran inline
    // (closed), on the same thread, without suspending.
    EXPECT_EQ(a.outcome, resumed::cancelled);
    EXPECT_EQ(a.thread, owner_id);
  }
  EXPECT_EQ(lw.stats().items_cancelled, static_cast<std::uint64_t>(n + 4));
  EXPECT_EQ(lw.stats().cancelled_inline, 4u);
}

TEST(CoroLocalWork, TheDestructorResumesQueuedCoroutinesCancelled) {
  probe p[3];
  {
    mpscq::local_work lw;
    lw.run(1);  // this thread is the owner
    for (probe& x : p) await_lw(lw, wake::eager, x).start();
    for (const probe& x : p) EXPECT_FALSE(x.finished());
  }
  for (const probe& x : p) {
    ASSERT_TRUE(x.finished());
    EXPECT_EQ(x.outcome, resumed::cancelled);
    EXPECT_EQ(x.thread, std::this_thread::get_id());
    EXPECT_EQ(x.resumes.load(), 1);
  }
}

// --- task_work --------------------------------------------------------------

// A context that records whether a resumed coroutine runs inside it.
struct recording_context final : mpscq::task_context {
  bool inside = false;
  int enters = 0;
  void enter() noexcept override {
    inside = true;
    ++enters;
  }
  void leave() noexcept override { inside = false; }
};

spawned await_tw_in(task_work& tw, recording_context& ctx, probe& p) {
  const resumed r = co_await resume_on(tw, ctx);
  p.inside_context = ctx.inside;
  p.record(r);
}

TEST(CoroTaskWork, ResumesInsideTheTargetsRun) {
  int schedules = 0;
  manual_executor fallback;
  task_work tw(
      [&](task_work&) {
        ++schedules;
        return true;
      },
      fallback);
  recording_context ctx;
  probe p[3];
  await_tw(tw, p[0]).start();
  await_tw_in(tw, ctx, p[1]).start();
  await_tw_in(tw, ctx, p[2]).start();
  EXPECT_EQ(schedules, 1);
  for (const probe& x : p) EXPECT_FALSE(x.finished());
  std::thread::id target;
  std::thread([&] {
    target = std::this_thread::get_id();
    const mpscq::run_result r = tw.run();
    EXPECT_EQ(r.ran, 3u);
    EXPECT_FALSE(r.more);
  }).join();
  for (const probe& x : p) {
    ASSERT_TRUE(x.finished());
    EXPECT_EQ(x.outcome, resumed::on_target);
    EXPECT_EQ(x.thread, target);
    EXPECT_EQ(x.resumes.load(), 1);
  }
  EXPECT_FALSE(p[0].inside_context);
  EXPECT_TRUE(p[1].inside_context && p[2].inside_context) << "resumed between enter() and leave()";
  EXPECT_EQ(ctx.enters, 1) << "consecutive items of one context: one enter()";
  EXPECT_EQ(fallback.run_all(), 0u);
}

TEST(CoroTaskWork, ARefusedCycleResumesCancelledOnTheFallback) {
  manual_executor fallback;
  task_work tw([](task_work&) { return false; }, fallback);  // the target is exiting
  probe p[2];
  for (probe& x : p) await_tw(tw, x).start();
  for (const probe& x : p) EXPECT_FALSE(x.finished());
  std::thread::id fallback_thread;
  std::thread([&] {
    fallback_thread = current_thread();
    EXPECT_EQ(fallback.run_all(), 1u);
  }).join();
  for (const probe& x : p) {
    ASSERT_TRUE(x.finished());
    EXPECT_EQ(x.outcome, resumed::cancelled);
    EXPECT_EQ(x.thread, fallback_thread);
  }
}

TEST(CoroTaskWork, AClosedTargetResumesCancelledOnTheDefaultFallbackThread) {
  task_work tw([](task_work&) { return true; });  // never runs: close() comes first
  tw.close();
  probe p;
  await_tw(tw, p).start();
  ASSERT_TRUE(eventually([&] { return p.finished(); }));
  EXPECT_EQ(p.outcome, resumed::cancelled);
  EXPECT_NE(p.thread, std::this_thread::get_id()) << "on the default fallback thread";
  EXPECT_EQ(p.resumes.load(), 1);
}

TEST(CoroTaskWork, ARunOwedAfterCloseResumesCancelledOnTheTarget) {
  manual_executor fallback;
  task_work tw([](task_work&) { return true; }, fallback);
  probe p[2];
  await_tw(tw, p[0]).start();  // accepted: a run is owed
  tw.close();
  await_tw(tw, p[1]).start();  // joins the owed cycle
  std::thread::id target;
  std::thread([&] {
    target = std::this_thread::get_id();
    EXPECT_EQ(tw.run().ran, 2u);
  }).join();
  for (const probe& x : p) {
    ASSERT_TRUE(x.finished());
    EXPECT_EQ(x.outcome, resumed::cancelled);
    EXPECT_EQ(x.thread, target);
  }
  EXPECT_EQ(fallback.run_all(), 0u);
}

TEST(CoroTaskWork, TheDestructorResumesADroppedCycleCancelled) {
  manual_executor fallback;
  probe p[2];
  {
    task_work tw([](task_work&) { return true; }, fallback);  // accepted, then dropped
    for (probe& x : p) await_tw(tw, x).start();
    tw.close();
    for (const probe& x : p) EXPECT_FALSE(x.finished());
  }
  for (const probe& x : p) {
    ASSERT_TRUE(x.finished());
    EXPECT_EQ(x.outcome, resumed::cancelled);
    EXPECT_EQ(x.thread, std::this_thread::get_id());
  }
}

TEST(CoroTaskWork, AnInlineSchedulerRunDoesNotSuspend) {
  manual_executor fallback;
  int runs = 0;
  task_work tw(
      [&](task_work& t) {
        ++runs;
        EXPECT_EQ(t.run().ran, 1u);  // the target is this thread: run inline
        return true;
      },
      fallback);
  probe p;
  await_tw(tw, p).start();
  ASSERT_TRUE(p.finished()) << "the item ran inside the add: the coroutine went on";
  EXPECT_EQ(p.outcome, resumed::on_target);
  EXPECT_EQ(p.thread, std::this_thread::get_id());
  EXPECT_EQ(p.resumes.load(), 1);
  EXPECT_EQ(runs, 1);
}

TEST(CoroTaskWork, AnInlineFallbackAfterCloseDoesNotSuspend) {
  inline_executor fallback;
  task_work tw([](task_work&) { return true; }, fallback);
  tw.close();
  probe p;
  await_tw(tw, p).start();
  ASSERT_TRUE(p.finished());
  EXPECT_EQ(p.outcome, resumed::cancelled);
  EXPECT_EQ(p.thread, std::this_thread::get_id());
  EXPECT_EQ(p.resumes.load(), 1);
}

spawned await_tw_many(task_work& tw, int n, int& on_target, bool& finished) {
  for (int i = 0; i < n; ++i) {
    const resumed r = co_await resume_on(tw);  // bound first (api.md 9)
    if (r == resumed::on_target) ++on_target;
  }
  finished = true;
}

TEST(CoroTaskWork, InlineRunsDoNotGrowTheStack) {
  manual_executor fallback;
  task_work tw(
      [](task_work& t) {
        t.run();
        return true;
      },
      fallback);
  constexpr int n = 200000;
  int on_target = 0;
  bool finished = false;
  await_tw_many(tw, n, on_target, finished).start();
  EXPECT_TRUE(finished);
  EXPECT_EQ(on_target, n);
}

// The nesting case of INLINE RUNS: A's add calls the scheduler, which starts
// B (B queues itself behind A, its await_suspend nested in A's) and then runs
// inline: A's item must only record (A is still in await_suspend), B's item
// must resume B, and B's own awaits inside that run nest once more.
spawned nested_b(task_work& tw, mpscq::local_work& closed, std::vector<std::string>& log) {
  log.push_back("B start");
  log.push_back(co_await resume_on(tw) == resumed::on_target ? "B tw" : "B tw cancelled");
  log.push_back(co_await resume_on(closed) == resumed::cancelled ? "B lw cancelled" : "B lw?");
  log.push_back(co_await resume_on(tw) == resumed::on_target ? "B tw" : "B tw cancelled");
  log.push_back("B end");
}

spawned nested_a(task_work& tw, std::vector<std::string>& log) {
  log.push_back("A start");
  log.push_back(co_await resume_on(tw) == resumed::on_target ? "A tw" : "A tw cancelled");
  log.push_back("A end");
}

TEST(CoroTaskWork, AwaitsNestedInsideAnInlineRunResumeOnceEach) {
  std::vector<std::string> log;
  mpscq::local_work closed;
  closed.close();
  std::optional<spawned> b;
  manual_executor fallback;
  // The target is this thread: the scheduler runs inline. A schedule that
  // comes from inside one of tw's items (B awaiting tw again) must not call
  // run() there (task_work: misuse); it is owed and served after the run.
  bool running = false;
  bool owed = false;
  task_work tw(
      [&](task_work& t) {
        if (running) {
          owed = true;
          return true;
        }
        running = true;
        if (b) {
          spawned start_me = std::move(*b);
          b.reset();
          std::move(start_me).start();  // B awaits tw: queued behind A
        }
        do {
          owed = false;
          t.run();
        } while (owed);
        running = false;
        return true;
      },
      fallback);
  b.emplace(nested_b(tw, closed, log));
  nested_a(tw, log).start();
  const std::vector<std::string> expected = {"A start", "B start", "B tw",  "B lw cancelled",
                                             "B tw",    "B end",   "A tw", "A end"};
  EXPECT_EQ(log, expected);
  EXPECT_TRUE(tw.empty());
}

// --- many coroutines hopping between threads ---------------------------------

// An owner thread that waits on its local_work until told to stop, and
// optionally closes it once `close_after` items ran (then goes on until stop).
struct owner_thread {
  explicit owner_thread(std::uint64_t close_after = 0) : close_after_(close_after), t_([this] { loop(); }) {}
  ~owner_thread() { stop(); }
  void stop() {
    stop_.store(true);
    if (t_.joinable()) t_.join();
  }
  std::thread::id id() const { return t_.get_id(); }

  mpscq::local_work lw;

 private:
  void loop() {
    while (!stop_.load()) {
      if (close_after_ != 0 && lw.stats().items_run >= close_after_) break;
      lw.wait(8, 2ms, 200us);  // a batch, or one after 200 us, or whatever by 2 ms
    }
    lw.close();  // cancels what is still queued, here
    while (!stop_.load()) std::this_thread::sleep_for(1ms);
  }
  std::uint64_t close_after_;
  std::atomic<bool> stop_{false};
  std::thread t_;
};

// A task_work target: a thread woken by the scheduler, running capped runs.
struct target_thread {
  target_thread() : t_([this] { loop(); }) {}
  ~target_thread() { stop(); }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    cv_.notify_one();
    if (t_.joinable()) t_.join();
  }
  std::thread::id id() const { return t_.get_id(); }

  task_work tw{[this](task_work&) {
    {
      std::lock_guard<std::mutex> lock(m_);
      scheduled_ = true;
    }
    cv_.notify_one();
    return true;
  }};

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      cv_.wait(lock, [this] { return scheduled_ || stop_; });
      if (scheduled_) {  // an accepted schedule is honoured, also after close()
        scheduled_ = false;
        lock.unlock();
        while (tw.run(64).more) {
        }
        lock.lock();
        continue;
      }
      return;
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  bool scheduled_ = false;
  bool stop_ = false;
  std::thread t_;
};

std::thread::id default_fallback_thread_id() {
  task_work refused([](task_work&) { return false; });
  probe p;
  await_tw(refused, p).start();
  EXPECT_TRUE(eventually([&] { return p.finished(); }));
  return p.thread;
}

struct hop_world {
  static constexpr int owners = 3;
  std::vector<std::unique_ptr<owner_thread>> o;
  std::unique_ptr<target_thread> target;
  std::thread::id fallback_id;
  int hops = 0;
  std::atomic<int> completed{0};
  std::atomic<int> resumptions{0};
  std::atomic<int> on_target{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> wrong_thread{0};
  std::atomic<int> double_resume{0};
  std::atomic<int> bad_cancel{0};
};

struct hop_slot {
  std::atomic<bool> running{false};
  int hops_done = 0;
};

spawned hopper(hop_world& w, hop_slot& s, int id) {
  if (s.running.exchange(true)) w.double_resume.fetch_add(1);
  std::thread::id here = current_thread();
  for (int hop = 0; hop < w.hops; ++hop) {
    const int t = (id * 7 + hop * 3 + hop / 5) % (hop_world::owners + 1);
    s.running.store(false);
    resumed r;
    if (t < hop_world::owners) {
      r = co_await resume_on(w.o[static_cast<std::size_t>(t)]->lw, (id + hop) % 2 ? wake::lazy : wake::eager);
    } else {
      r = co_await resume_on(w.target->tw);
    }
    if (s.running.exchange(true)) w.double_resume.fetch_add(1);
    ++s.hops_done;
    w.resumptions.fetch_add(1);
    const std::thread::id now = current_thread();
    const std::thread::id expected = t < hop_world::owners ? w.o[static_cast<std::size_t>(t)]->id() : w.target->id();
    if (r == resumed::on_target) {
      w.on_target.fetch_add(1);
      if (now != expected) w.wrong_thread.fetch_add(1);
    } else {
      w.cancelled.fetch_add(1);
      // lw: in close()'s drain on the owner, or inline on the awaiting
      // thread; tw: a run after close() on the target, or the fallback.
      const bool allowed = t < hop_world::owners ? (now == expected || now == here)
                                                 : (now == expected || now == w.fallback_id);
      if (!allowed) w.bad_cancel.fetch_add(1);
    }
    here = now;
  }
  s.running.store(false);
  w.completed.fetch_add(1);
}

void run_hoppers(int n, int hops, std::uint64_t close_owner0_after, bool close_target_midway) {
  hop_world w;
  w.hops = hops;
  w.fallback_id = default_fallback_thread_id();
  for (int i = 0; i < hop_world::owners; ++i)
    w.o.push_back(std::make_unique<owner_thread>(i == 0 ? close_owner0_after : 0));
  w.target = std::make_unique<target_thread>();
  auto slots = std::make_unique<hop_slot[]>(static_cast<std::size_t>(n));
  // Two starters: coroutines begin on more than one thread.
  std::thread starter([&] {
    for (int i = 0; i < n; i += 2) hopper(w, slots[static_cast<std::size_t>(i)], i).start();
  });
  for (int i = 1; i < n; i += 2) {
    hopper(w, slots[static_cast<std::size_t>(i)], i).start();
    if (close_target_midway && i == n / 2) w.target->tw.close();
  }
  starter.join();
  const bool all = eventually([&] { return w.completed.load() == n; }, 120000ms);
  EXPECT_TRUE(all) << "completed " << w.completed.load() << " of " << n;
  if (!all) std::abort();  // frames still queued would outlive the owners
  for (auto& x : w.o) x->stop();
  w.target->tw.close();
  w.target->stop();
  EXPECT_EQ(w.resumptions.load(), n * hops) << "every await resumed exactly once";
  EXPECT_EQ(w.on_target.load() + w.cancelled.load(), n * hops);
  EXPECT_EQ(w.double_resume.load(), 0);
  EXPECT_EQ(w.wrong_thread.load(), 0) << "on_target: resumed on the target's thread";
  EXPECT_EQ(w.bad_cancel.load(), 0) << "cancelled: only where WHERE IT RESUMES allows";
  for (int i = 0; i < n; ++i) EXPECT_EQ(slots[static_cast<std::size_t>(i)].hops_done, hops);
  if (close_owner0_after == 0 && !close_target_midway) {
    EXPECT_EQ(w.cancelled.load(), 0);
  } else {
    EXPECT_GT(w.cancelled.load(), 0) << "the closes must have cancelled some awaits";
  }
}

TEST(CoroStress, ThousandsOfCoroutinesHopBetweenOwnersAndATarget) {
  run_hoppers(2000, 16, 0, false);
}

TEST(CoroStress, OwnersAndTheTargetCloseWhileCoroutinesHop) {
  // Owner 0 closes after 2000 items; the target closes half way through the
  // starts. Every await still resumes once, cancelled ones where allowed.
  run_hoppers(2000, 16, 2000, true);
}

}  // namespace
