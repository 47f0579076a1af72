// Unit tests of mpscq::task_work: FIFO, one schedule per empty -> non-empty
// cycle, capped runs, the stop right after an emptying pop, contexts,
// should_yield, the in-flight window, the run-slot hand-off, the fallback
// (refused, closed), close() and the destructor, and misuse reports.
#include <mpscq/task_work.hpp>

#include <gtest/gtest.h>

#include "test_executors.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using mpscq::run_result;
using mpscq::run_state;
using mpscq::task_work;
using mpscq::work;

using mpscq_test::manual_executor;

// A target that only counts schedules; the test calls run() itself.
struct counting_target {
  int schedules = 0;
  bool accept = true;
  mpscq::task_work_scheduler scheduler() {
    return [this](task_work&) {
      ++schedules;
      return accept;
    };
  }
};

// A work item that logs "<id>" (or "<id>c" when cancelled) into a shared log.
struct logged_item {
  std::string id;
  std::vector<std::string>* log = nullptr;
  std::function<void()> also;  // optional extra action inside func
  work tw{{}, &logged_item::run};

  static void run(work& w, run_state st) noexcept {
    logged_item& self = mpscq::container_of<&logged_item::tw>(w);
    self.log->push_back(st.cancel ? self.id + "c" : self.id);
    if (self.also) self.also();
  }
};

std::vector<std::unique_ptr<logged_item>> make_items(std::vector<std::string>& log, int n, const char* prefix = "") {
  std::vector<std::unique_ptr<logged_item>> items;
  for (int i = 0; i < n; ++i) {
    auto item = std::make_unique<logged_item>();
    item->id = prefix + std::to_string(i);
    item->log = &log;
    items.push_back(std::move(item));
  }
  return items;
}

using log_t = std::vector<std::string>;

TEST(TaskWork, RunsInFifoOrder) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  auto items = make_items(log, 5);
  for (auto& item : items) tw.add(item->tw);
  const run_result r = tw.run();
  EXPECT_EQ(r.ran, 5u);
  EXPECT_EQ(r.cycles_ended, 1u);
  EXPECT_FALSE(r.more);
  EXPECT_FALSE(r.handed_off);
  EXPECT_EQ(log, (log_t{"0", "1", "2", "3", "4"}));
  EXPECT_TRUE(tw.empty());
}

TEST(TaskWork, SchedulesOncePerEmptyToNonEmptyCycle) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  auto items = make_items(log, 4);
  EXPECT_EQ(target.schedules, 0);
  tw.add(items[0]->tw);
  EXPECT_EQ(target.schedules, 1);
  tw.add(items[1]->tw);
  EXPECT_EQ(target.schedules, 1) << "a non-empty queue already has a run coming";
  EXPECT_EQ(tw.run().ran, 2u);
  tw.add(items[2]->tw);
  EXPECT_EQ(target.schedules, 2) << "the run ended on an emptying pop: a new cycle";
  tw.add(items[3]->tw);
  EXPECT_EQ(target.schedules, 2);
  EXPECT_EQ(tw.run().ran, 2u);
  EXPECT_EQ(tw.cycles_ended(), 2u);
  EXPECT_EQ(fallback.pending(), 0u);
}

TEST(TaskWork, CappedRunReportsMoreAndOwnsTheQueue) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  auto items = make_items(log, 6);
  for (int i = 0; i < 5; ++i) tw.add(items[i]->tw);
  run_result r = tw.run(2);
  EXPECT_EQ(r.ran, 2u);
  EXPECT_TRUE(r.more);
  EXPECT_EQ(r.cycles_ended, 0u);
  tw.add(items[5]->tw);
  EXPECT_EQ(target.schedules, 1) << "the capped runner still owns the queue: nobody schedules it";
  r = tw.run(2);
  EXPECT_EQ(r.ran, 2u);
  EXPECT_TRUE(r.more);
  r = tw.run(2);
  EXPECT_EQ(r.ran, 2u);
  EXPECT_FALSE(r.more) << "the cap and the emptying pop coincide: the stop comes first";
  EXPECT_EQ(r.cycles_ended, 1u);
  EXPECT_EQ(log, (log_t{"0", "1", "2", "3", "4", "5"}));
}

TEST(TaskWork, StopsRightAfterAnEmptyingPop) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  auto items = make_items(log, 2);
  // Item 0 is the only one queued, so its pop empties the queue; it adds
  // item 1, which therefore starts a new cycle and schedules again.
  items[0]->also = [&] { tw.add(items[1]->tw); };
  tw.add(items[0]->tw);
  run_result r = tw.run();
  EXPECT_EQ(r.ran, 1u) << "the run must not pop on after the emptying pop";
  EXPECT_FALSE(r.more);
  EXPECT_EQ(target.schedules, 2);
  r = tw.run();
  EXPECT_EQ(r.ran, 1u);
  EXPECT_EQ(log, (log_t{"0", "1"}));
}

TEST(TaskWork, AnAddBehindQueuedItemsJoinsTheCurrentRun) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  auto items = make_items(log, 3);
  items[0]->also = [&] { tw.add(items[2]->tw); };  // item 1 still queued: no new cycle
  tw.add(items[0]->tw);
  tw.add(items[1]->tw);
  const run_result r = tw.run();
  EXPECT_EQ(r.ran, 3u);
  EXPECT_EQ(target.schedules, 1);
  EXPECT_EQ(log, (log_t{"0", "1", "2"}));
}

struct recording_context final : mpscq::task_context {
  std::string name;
  log_t* log = nullptr;
  void enter() noexcept override { log->push_back("enter " + name); }
  void leave() noexcept override { log->push_back("leave " + name); }
};

struct context_item {
  std::string id;
  log_t* log = nullptr;
  mpscq::context_work tw;
  static void run(mpscq::context_work& w, run_state) noexcept {
    context_item& self = mpscq::container_of<&context_item::tw>(w);
    self.log->push_back(self.id);
  }
};

TEST(TaskWork, GroupsConsecutiveItemsOfOneContext) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  recording_context x, y;
  x.name = "x";
  x.log = &log;
  y.name = "y";
  y.log = &log;
  mpscq::task_context* plan[] = {&x, &x, &y, &y, &x, nullptr, &y};
  std::vector<std::unique_ptr<context_item>> items;
  for (int i = 0; i < 7; ++i) {
    auto item = std::make_unique<context_item>();
    item->id = std::to_string(i);
    item->log = &log;
    item->tw.context = plan[i];
    item->tw.handler = &context_item::run;
    tw.add(item->tw);
    items.push_back(std::move(item));
  }
  // A plain work item between them has no context.
  EXPECT_EQ(tw.run().ran, 7u);
  EXPECT_EQ(log, (log_t{"enter x", "0", "1", "leave x", "enter y", "2", "3", "leave y", "enter x", "4", "leave x",
                        "5", "enter y", "6", "leave y"}));
}

TEST(TaskWork, LeavesTheContextAtTheCapAndOnShouldYield) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  recording_context x;
  x.name = "x";
  x.log = &log;
  std::vector<std::unique_ptr<context_item>> items;
  for (int i = 0; i < 4; ++i) {
    auto item = std::make_unique<context_item>();
    item->id = std::to_string(i);
    item->log = &log;
    item->tw.context = &x;
    item->tw.handler = &context_item::run;
    tw.add(item->tw);
    items.push_back(std::move(item));
  }
  run_result r = tw.run(2);
  EXPECT_TRUE(r.more);
  int yields_asked = 0;
  r = tw.run(task_work::unlimited, [&] { return ++yields_asked == 1; });
  EXPECT_TRUE(r.more) << "should_yield ends the run, still owning the queue";
  EXPECT_EQ(r.ran, 1u);
  r = tw.run();
  EXPECT_FALSE(r.more);
  EXPECT_EQ(r.ran, 1u);
  EXPECT_EQ(log, (log_t{"enter x", "0", "1", "leave x", "enter x", "2", "leave x", "enter x", "3", "leave x"}));
  EXPECT_EQ(yields_asked, 1) << "should_yield is not asked after the emptying pop";
}

TEST(TaskWork, ContextWorkRunsOutsideTaskWorkToo) {
  log_t log;
  context_item item;
  item.id = "solo";
  item.log = &log;
  item.tw.handler = &context_item::run;
  item.tw(run_state{});
  EXPECT_EQ(log, (log_t{"solo"}));
  EXPECT_EQ(mpscq::context_work::from(item.tw), &item.tw);
  work plain{{}, [](work&, run_state) noexcept {}};
  EXPECT_EQ(mpscq::context_work::from(plain), nullptr);
}

TEST(TaskWork, InFlightPushMakesTheRunReportMoreWithoutSpinning) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  auto items = make_items(log, 2);
  tw.add(items[0]->tw);
  // A second producer stops inside its push: exchanged, not yet linked.
  mpscq::queue& q = mpscq::detail::task_work_access::raw_queue(tw);
  mpscq::node* prev = mpscq::detail::queue_access::publish(q, &items[1]->tw.hook, &items[1]->tw.hook);
  EXPECT_EQ(prev, &items[0]->tw.hook);
  const auto start = std::chrono::steady_clock::now();
  run_result r = tw.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(r.ran, 0u) << "item 0 cannot be handed out while a producer links behind it";
  EXPECT_TRUE(r.more) << "the runner still owns the queue";
  EXPECT_FALSE(tw.empty());
  mpscq::detail::queue_access::link(prev, &items[1]->tw.hook);
  r = tw.run();
  EXPECT_EQ(r.ran, 2u);
  EXPECT_FALSE(r.more);
  EXPECT_EQ(target.schedules, 1);
  EXPECT_EQ(log, (log_t{"0", "1"}));
}

TEST(TaskWork, ARunThatFindsAnotherActiveHandsItsTurnOver) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  auto items = make_items(log, 2);
  run_result second;
  // Item 0 runs after its emptying pop; it adds item 1 (a new cycle,
  // scheduled now), and that schedule's run starts on another thread while
  // item 0 is still running - as on a thread pool.
  items[0]->also = [&] {
    tw.add(items[1]->tw);
    std::thread other([&] { second = tw.run(); });
    other.join();
  };
  tw.add(items[0]->tw);
  const run_result first = tw.run();
  EXPECT_TRUE(second.handed_off);
  EXPECT_EQ(second.ran, 0u);
  EXPECT_FALSE(second.more);
  EXPECT_EQ(first.ran, 2u) << "the finishing run serves the turn handed to it";
  EXPECT_EQ(first.cycles_ended, 2u);
  EXPECT_EQ(target.schedules, 2);
  EXPECT_EQ(log, (log_t{"0", "1"}));
}

TEST(TaskWork, RefusedScheduleGoesToTheFallbackCancelled) {
  counting_target target;
  target.accept = false;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  auto items = make_items(log, 3);
  tw.add(items[0]->tw);
  tw.add(items[1]->tw);
  EXPECT_EQ(target.schedules, 1);
  EXPECT_EQ(fallback.pending(), 1u);
  EXPECT_TRUE(log.empty()) << "the fallback runs later, on its own thread";
  EXPECT_EQ(fallback.run_all(), 1u);
  EXPECT_EQ(log, (log_t{"0c", "1c"}));
  // Not closed: the next cycle asks the target again.
  target.accept = true;
  tw.add(items[2]->tw);
  EXPECT_EQ(target.schedules, 2);
  EXPECT_EQ(fallback.pending(), 0u);
  EXPECT_EQ(tw.run().ran, 1u);
  EXPECT_EQ(log.back(), "2");
  EXPECT_EQ(tw.cycles_ended(), 2u);
}

TEST(TaskWork, CloseSendsLaterAddsToTheFallbackAndKeepsOwedRuns) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  auto items = make_items(log, 4);
  tw.add(items[0]->tw);  // accepted: a run is owed to the target
  EXPECT_FALSE(tw.closed());
  tw.close();
  EXPECT_TRUE(tw.closed());
  tw.add(items[1]->tw);  // joins the owed cycle
  EXPECT_EQ(target.schedules, 1);
  // The owed run still comes; the target is gone, so its items are cancelled.
  EXPECT_EQ(tw.run().ran, 2u);
  tw.add(items[2]->tw);
  tw.add(items[3]->tw);
  EXPECT_EQ(target.schedules, 1) << "after close() the scheduler is never called";
  EXPECT_EQ(fallback.pending(), 1u);
  fallback.run_all();
  EXPECT_EQ(log, (log_t{"0c", "1c", "2c", "3c"}));
  tw.close();  // idempotent
}

TEST(TaskWork, DestructorWaitsForFallbackRuns) {
  counting_target target;
  target.accept = false;
  manual_executor fallback;
  log_t log;
  auto items = make_items(log, 2);
  auto tw = std::make_unique<task_work>(target.scheduler(), fallback);
  tw->add(items[0]->tw);
  tw->add(items[1]->tw);
  std::atomic<bool> destroyed{false};
  std::thread destroyer([&] {
    tw.reset();
    destroyed.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(destroyed.load()) << "the destructor must wait for the pending fallback job";
  EXPECT_EQ(fallback.run_all(), 1u);
  destroyer.join();
  EXPECT_TRUE(destroyed.load());
  EXPECT_EQ(log, (log_t{"0c", "1c"}));
}

TEST(TaskWork, DestructorRunsACycleWhoseScheduleWasDropped) {
  counting_target target;
  manual_executor fallback;
  log_t log;
  auto items = make_items(log, 2);
  {
    task_work tw(target.scheduler(), fallback);
    tw.add(items[0]->tw);
    tw.add(items[1]->tw);
    // The target accepted, then went away without running it.
  }
  EXPECT_EQ(log, (log_t{"0c", "1c"}));
}

TEST(TaskWork, DefaultFallbackExecutorRunsRefusedWork) {
  std::mutex mutex;
  std::condition_variable done;
  int ran = 0;
  bool cancelled = true;
  struct item_t {
    work tw;
    std::mutex* mutex;
    std::condition_variable* done;
    int* ran;
    bool* cancelled;
  };
  auto fn = [](work& w, run_state st) noexcept {
    item_t& self = mpscq::container_of<&item_t::tw>(w);
    std::lock_guard<std::mutex> lock(*self.mutex);
    ++*self.ran;
    *self.cancelled = *self.cancelled && st.cancel;
    self.done->notify_all();
  };
  item_t a{{{}, fn}, &mutex, &done, &ran, &cancelled};
  item_t b{{{}, fn}, &mutex, &done, &ran, &cancelled};
  {
    task_work tw([](task_work&) { return false; });
    tw.add(a.tw);
    tw.add(b.tw);
    std::unique_lock<std::mutex> lock(mutex);
    EXPECT_TRUE(done.wait_for(lock, std::chrono::seconds(10), [&] { return ran == 2; }));
  }
  EXPECT_EQ(ran, 2);
  EXPECT_TRUE(cancelled);
}

// --- misuse ----------------------------------------------------------------

class TaskWorkDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(TaskWorkDeathTest, RunZeroIsAnError) {
  EXPECT_DEATH(
      {
        manual_executor fallback;
        task_work tw([](task_work&) { return true; }, fallback);
        tw.run(0);
      },
      "run\\(0\\)");
}

TEST_F(TaskWorkDeathTest, RunFromInsideAnItemIsAnError) {
  EXPECT_DEATH(
      {
        manual_executor fallback;
        task_work tw([](task_work&) { return true; }, fallback);
        log_t log;
        auto items = make_items(log, 1);
        items[0]->also = [&] { tw.run(); };
        tw.add(items[0]->tw);
        tw.run();
      },
      "run\\(\\) called from inside one of its own items");
}

TEST_F(TaskWorkDeathTest, DestroyingFromInsideAnItemIsAnError) {
  EXPECT_DEATH(
      {
        manual_executor fallback;
        auto* tw = new task_work([](task_work&) { return true; }, fallback);
        log_t log;
        auto items = make_items(log, 1);
        items[0]->also = [&] { delete tw; };
        tw->add(items[0]->tw);
        tw->run();
      },
      "destroyed from inside one of its own items");
}

TEST_F(TaskWorkDeathTest, EmptySchedulerIsAnError) {
  EXPECT_DEATH(
      {
        manual_executor fallback;
        task_work tw(nullptr, fallback);
      },
      "empty scheduler");
}

TEST_F(TaskWorkDeathTest, WorkWithoutFuncIsAnError) {
  EXPECT_DEATH(
      {
        manual_executor fallback;
        task_work tw([](task_work&) { return true; }, fallback);
        work w;
        tw.add(w);
      },
      "no func");
}

}  // namespace
