// Unit tests of mpscq/coro.hpp's stop-token awaits (issue 21, item 3):
// resume_on(lw, std::stop_token[, mode]) and resume_on(tw[, ctx],
// std::stop_token). A token stopped before the await: nothing is queued, the
// coroutine goes on on the awaiting thread with resumed::stopped. A stop
// after the push is ignored: the coroutine resumes on the owner / target as
// usual (coro.hpp, STOP TOKENS).
#include <mpscq/coro.hpp>

#include <atomic>
#include <coroutine>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "test_coroutines.hpp"

#include "test_executors.hpp"

namespace {

#if MPSCQ_HAS_STOP_TOKEN

using mpscq::resumed;
using mpscq::resume_on;
using mpscq::task_work;
using mpscq::wake;
using mpscq_test::manual_executor;
using mpscq_test::spawned;

// std::this_thread::get_id() through a call the compiler cannot see into
// (clang 14 and pthread_self() across a co_await, llvm/llvm-project#47177).
std::thread::id (*volatile current_thread)() = [] { return std::this_thread::get_id(); };

struct probe {
  int resumes = 0;
  bool done = false;
  resumed outcome = resumed::on_target;
  std::thread::id thread;
  bool inside_context = false;
  int seen = -1;  // a plain variable the stopping thread wrote before request_stop()

  void record(resumed r) {
    outcome = r;
    thread = current_thread();
    ++resumes;
    done = true;
  }
};

spawned await_lw(mpscq::local_work& lw, std::stop_token stop, wake mode, probe& p, const int* shared = nullptr) {
  const resumed r = co_await resume_on(lw, std::move(stop), mode);
  if (shared != nullptr) p.seen = *shared;
  p.record(r);
}

spawned await_tw(task_work& tw, std::stop_token stop, probe& p) {
  const resumed r = co_await resume_on(tw, std::move(stop));
  p.record(r);
}

struct recording_context final : mpscq::task_context {
  bool inside = false;
  void enter() noexcept override { inside = true; }
  void leave() noexcept override { inside = false; }
};

spawned await_tw_in(task_work& tw, recording_context& ctx, std::stop_token stop, probe& p) {
  const resumed r = co_await resume_on(tw, ctx, std::move(stop));
  p.inside_context = ctx.inside;
  p.record(r);
}

// --- local_work -------------------------------------------------------------

TEST(CoroStopLocalWork, AStoppedTokenIsNotQueuedAndSaysStopped) {
  mpscq::local_work lw;
  std::stop_source src;
  src.request_stop();
  for (wake mode : {wake::eager, wake::lazy}) {
    probe p;
    await_lw(lw, src.get_token(), mode, p).start();
    ASSERT_TRUE(p.done) << "the coroutine suspended on a stopped token";
    EXPECT_EQ(p.outcome, resumed::stopped);
    EXPECT_EQ(p.thread, std::this_thread::get_id()) << "not on the awaiting thread";
    EXPECT_FALSE(lw.has_work()) << "a stopped await was queued";
    EXPECT_EQ(lw.run(8), 0);
    EXPECT_EQ(p.resumes, 1);
  }
  EXPECT_EQ(lw.stats().items_run, 0u);
}

// Stopped on another thread: what that thread wrote before request_stop()
// is visible to the coroutine that sees the stop (TSan checks the plain int).
TEST(CoroStopLocalWork, AStopFromAnotherThreadOrdersItsWrites) {
  mpscq::local_work lw;
  std::stop_source src;
  int shared = 0;
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    shared = 42;
    src.request_stop();
    stopped.store(true, std::memory_order_relaxed);  // relaxed on purpose: the token orders `shared`
  });
  while (!stopped.load(std::memory_order_relaxed)) std::this_thread::yield();
  probe p;
  await_lw(lw, src.get_token(), wake::eager, p, &shared).start();
  stopper.join();
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.outcome, resumed::stopped);
  EXPECT_EQ(p.seen, 42);
}

// A stop after the push cannot unlink the item: the coroutine resumes on the
// owner as usual, on_target, and the stop is ignored.
TEST(CoroStopLocalWork, AStopAfterThePushResumesOnTheOwner) {
  mpscq::local_work lw;
  std::stop_source src;
  probe p;
  await_lw(lw, src.get_token(), wake::eager, p).start();
  EXPECT_FALSE(p.done) << "queued, not resumed";
  src.request_stop();
  EXPECT_FALSE(p.done) << "the stop resumed the coroutine";
  std::thread owner([&] {
    EXPECT_EQ(lw.run(8), 1);
    EXPECT_TRUE(p.done);
    EXPECT_EQ(p.thread, std::this_thread::get_id()) << "not on the owner";
    lw.close();
  });
  owner.join();
  EXPECT_EQ(p.outcome, resumed::on_target);
  EXPECT_EQ(p.resumes, 1);
}

// After the push, close() resumes it cancelled, stop or not.
TEST(CoroStopLocalWork, AStopAfterThePushThenCloseIsCancelled) {
  mpscq::local_work lw;
  std::stop_source src;
  probe p;
  await_lw(lw, src.get_token(), wake::lazy, p).start();
  src.request_stop();
  lw.close();
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.outcome, resumed::cancelled);
  EXPECT_EQ(p.resumes, 1);
}

// A token that is never stopped (or has no stop state) is the plain await;
// after close() it is cancelled inline, as the plain await.
TEST(CoroStopLocalWork, AnUnstoppedTokenIsThePlainAwait) {
  mpscq::local_work lw;
  std::stop_source src;
  probe a, b;
  await_lw(lw, src.get_token(), wake::eager, a).start();
  await_lw(lw, std::stop_token{}, wake::lazy, b).start();
  EXPECT_EQ(lw.run(8), 2);
  EXPECT_EQ(a.outcome, resumed::on_target);
  EXPECT_EQ(b.outcome, resumed::on_target);
  lw.close();
  probe c;
  await_lw(lw, src.get_token(), wake::eager, c).start();
  ASSERT_TRUE(c.done);
  EXPECT_EQ(c.outcome, resumed::cancelled);
}

// --- task_work --------------------------------------------------------------

TEST(CoroStopTaskWork, AStoppedTokenIsNotQueuedAndSaysStopped) {
  int schedules = 0;
  manual_executor fallback;
  task_work tw(
      [&](task_work&) {
        ++schedules;
        return true;
      },
      fallback);
  std::stop_source src;
  src.request_stop();
  recording_context ctx;
  probe p[2];
  await_tw(tw, src.get_token(), p[0]).start();
  await_tw_in(tw, ctx, src.get_token(), p[1]).start();
  for (const probe& x : p) {
    ASSERT_TRUE(x.done);
    EXPECT_EQ(x.outcome, resumed::stopped);
    EXPECT_EQ(x.thread, std::this_thread::get_id());
    EXPECT_EQ(x.resumes, 1);
  }
  EXPECT_FALSE(p[1].inside_context);
  EXPECT_EQ(schedules, 0) << "a stopped await was added";
  EXPECT_EQ(fallback.run_all(), 0u);
}

TEST(CoroStopTaskWork, AStopAfterThePushResumesInsideTheTargetsRun) {
  int schedules = 0;
  manual_executor fallback;
  task_work tw(
      [&](task_work&) {
        ++schedules;
        return true;
      },
      fallback);
  std::stop_source src;
  recording_context ctx;
  probe p[2];
  await_tw(tw, src.get_token(), p[0]).start();
  await_tw_in(tw, ctx, src.get_token(), p[1]).start();
  src.request_stop();
  EXPECT_EQ(schedules, 1);
  std::thread::id target;
  std::thread([&] {
    target = std::this_thread::get_id();
    EXPECT_EQ(tw.run().ran, 2u);
  }).join();
  for (const probe& x : p) {
    ASSERT_TRUE(x.done);
    EXPECT_EQ(x.outcome, resumed::on_target);
    EXPECT_EQ(x.thread, target);
    EXPECT_EQ(x.resumes, 1);
  }
  EXPECT_TRUE(p[1].inside_context);
  EXPECT_EQ(fallback.run_all(), 0u);
}

#else

TEST(CoroStop, NoStopTokenInThisStandardLibrary) {
  GTEST_SKIP() << "no <stop_token> (MPSCQ_HAS_STOP_TOKEN 0): the stop-token overloads are absent";
}

#endif

}  // namespace
