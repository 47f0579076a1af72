// Unit tests of a task_work whose scheduler runs inline (issue 18, item 5):
// `task_work tw([](task_work& t) { while (t.run().more) {} return true; })`
// and an item that adds to its own task_work. The add from inside the item
// starts a new cycle and calls the scheduler, which calls run() on the
// thread whose run is active: that run() hands its turn to the active run
// (run_result::handed_off), which serves the new cycle after the current
// item - exactly once, never nested inside the item, with caps and
// should_yield counted across the hand-off. Also: chains of self-adding
// items (no stack growth), an item adding several items, capped and yielding
// inline schedulers, the fallback job and an inline fallback executor (also
// its own job) as the enclosing run, the destructor's drain, a coroutine that awaits its own
// target from inside a run, two threads adding at once, and the misuse that
// stays reported: run() called directly from an item or a context's enter().
//
// Every test here but the drain and the death tests aborted on the old code
// ("run() called from inside one of its own items").
#include <mpscq/coro.hpp>
#include <mpscq/task_work.hpp>

#include <gtest/gtest.h>

#include "test_executors.hpp"
#include "test_coroutines.hpp"

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using mpscq_test::spawned;

using mpscq::run_result;
using mpscq::run_state;
using mpscq::task_work;
using mpscq::work;

using mpscq_test::inline_executor;
using mpscq_test::manual_executor;

using log_t = std::vector<std::string>;

// An item that logs "<id>" (or "<id>c" when cancelled), checks that no other
// item of the test is running (items never nest), records the depth of its
// stack, and runs `also` (which may add to the task_work).
struct step {
  std::string id;
  log_t* log = nullptr;
  bool* in_item = nullptr;
  const char** stack = nullptr;  // where the first item's stack was; later ones compare
  bool* stack_grew = nullptr;
  std::function<void()> also;
  work tw{{}, &step::run};

  static void run(work& w, run_state st) noexcept {
    step& self = mpscq::container_of<&step::tw>(w);
    self.log->push_back(st.cancel ? self.id + "c" : self.id);
    if (self.in_item != nullptr) {
      if (*self.in_item) self.log->push_back("NESTED");
      *self.in_item = true;
    }
    if (self.stack != nullptr) {
      const char here = 0;
      if (*self.stack == nullptr) *self.stack = &here;
      else if (*self.stack != &here) *self.stack_grew = true;
    }
    if (self.also) self.also();
    if (self.in_item != nullptr) *self.in_item = false;
  }
};

std::vector<std::unique_ptr<step>> make_steps(int n, log_t& log, bool& in_item) {
  std::vector<std::unique_ptr<step>> steps;
  for (int i = 0; i < n; ++i) {
    auto s = std::make_unique<step>();
    s->id = std::to_string(i);
    s->log = &log;
    s->in_item = &in_item;
    steps.push_back(std::move(s));
  }
  return steps;
}

log_t numbers(int n) {
  log_t l;
  for (int i = 0; i < n; ++i) l.push_back(std::to_string(i));
  return l;
}

// The scheduler of the issue, recording what each of its run() calls did.
struct inline_target {
  std::vector<run_result> runs;
  int schedules = 0;
  mpscq::task_work_scheduler scheduler() {
    return [this](task_work& t) {
      ++schedules;
      runs.push_back(t.run());
      return true;
    };
  }
};

// The scenario: an item adds to its own task_work, whose scheduler
// runs inline. The nested run() hands its turn to the active run, which
// serves the new cycle after the item.
TEST(InlineScheduler, AnItemThatAddsToItsOwnTaskWorkHandsTheCycleToTheActiveRun) {
  manual_executor fallback;
  inline_target target;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  bool in_item = false;
  auto s = make_steps(2, log, in_item);
  s[0]->also = [&] {
    tw.add(s[1]->tw);
    log.push_back("added");
  };
  tw.add(s[0]->tw);
  const log_t expected = {"0", "added", "1"};
  EXPECT_EQ(log, expected) << "the new cycle ran after the item that started it, not inside it";
  EXPECT_EQ(target.schedules, 2);
  ASSERT_EQ(target.runs.size(), 2u);
  // runs[0] is the nested call (it returned first).
  EXPECT_TRUE(target.runs[0].handed_off);
  EXPECT_EQ(target.runs[0].ran, 0u);
  EXPECT_FALSE(target.runs[0].more);
  EXPECT_FALSE(target.runs[1].handed_off);
  EXPECT_EQ(target.runs[1].ran, 2u);
  EXPECT_EQ(target.runs[1].cycles_ended, 2u);
  EXPECT_FALSE(target.runs[1].more);
  EXPECT_EQ(tw.cycles_ended(), 2u);
  EXPECT_TRUE(tw.empty());
  EXPECT_EQ(fallback.run_all(), 0u);
}

// A chain: each item adds the next. Every item runs once, in order, from the
// one enclosing run: never nested, and at the same stack depth (no growth
// with the length of the chain).
TEST(InlineScheduler, AChainOfSelfAddingItemsRunsFlat) {
  manual_executor fallback;
  inline_target target;
  task_work tw(target.scheduler(), fallback);
  constexpr int n = 1000;
  log_t log;
  bool in_item = false;
  const char* stack = nullptr;
  bool stack_grew = false;
  auto s = make_steps(n, log, in_item);
  for (int i = 0; i < n; ++i) {
    s[static_cast<std::size_t>(i)]->stack = &stack;
    s[static_cast<std::size_t>(i)]->stack_grew = &stack_grew;
    if (i + 1 < n) s[static_cast<std::size_t>(i)]->also = [&tw, next = s[static_cast<std::size_t>(i) + 1].get()] {
      tw.add(next->tw);
    };
  }
  tw.add(s[0]->tw);
  EXPECT_EQ(log, numbers(n));
  EXPECT_FALSE(stack_grew) << "an item ran nested inside another's add";
  EXPECT_EQ(target.schedules, n);
  EXPECT_EQ(tw.cycles_ended(), static_cast<std::uint64_t>(n));
  std::size_t handed = 0;
  for (const run_result& r : target.runs) handed += r.handed_off ? 1 : 0;
  EXPECT_EQ(handed, static_cast<std::size_t>(n - 1));
}

// An item adds three: the first add starts the cycle (and hands it over), the
// others join it; all run after the item, in order.
TEST(InlineScheduler, AnItemAddingSeveralItems) {
  manual_executor fallback;
  inline_target target;
  task_work tw(target.scheduler(), fallback);
  log_t log;
  bool in_item = false;
  auto s = make_steps(5, log, in_item);
  s[0]->also = [&] {
    for (std::size_t i = 1; i <= 3; ++i) tw.add(s[i]->tw);
  };
  s[2]->also = [&] { tw.add(s[4]->tw); };  // joins the cycle (1 2 3 still queued)
  tw.add(s[0]->tw);
  EXPECT_EQ(log, numbers(5));
  EXPECT_EQ(target.schedules, 2);
  EXPECT_TRUE(tw.empty());
}

// Capped inline schedulers: every run() call runs at most its cap, also
// across the hand-off; a run that returns `more` has absorbed the handed
// turn and its caller (the scheduler's loop) serves it. Nothing is lost.
TEST(InlineScheduler, CappedRunsCountTheHandedTurnsAndLoseNothing) {
  for (std::size_t cap : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
    manual_executor fallback;
    std::vector<run_result> runs;
    task_work tw(
        [&runs, cap](task_work& t) {
          for (;;) {
            const run_result r = t.run(cap);
            runs.push_back(r);
            if (!r.more) break;
          }
          return true;
        },
        fallback);
    log_t log;
    bool in_item = false;
    constexpr int n = 40;
    auto s = make_steps(n, log, in_item);
    // Item i adds i+1, and every fifth item also adds the two after that
    // first (several items per cycle).
    for (int i = 0; i + 1 < n; ++i) {
      const auto at = static_cast<std::size_t>(i);
      if (i % 5 == 0 && i + 3 < n) {
        s[at]->also = [&tw, &s, at] {
          tw.add(s[at + 1]->tw);
          tw.add(s[at + 2]->tw);
          tw.add(s[at + 3]->tw);
        };
      } else if (i % 5 == 1 || i % 5 == 2) {
        // added by the fifth item before them
      } else {
        s[at]->also = [&tw, &s, at] { tw.add(s[at + 1]->tw); };
      }
    }
    tw.add(s[0]->tw);
    EXPECT_EQ(log, numbers(n)) << "cap " << cap;
    for (const run_result& r : runs) EXPECT_LE(r.ran, cap) << "cap " << cap;
    EXPECT_TRUE(tw.empty());
  }
}

// The same, with should_yield() asking to yield after every item.
TEST(InlineScheduler, ShouldYieldIsAskedAcrossTheHandOff) {
  manual_executor fallback;
  std::vector<run_result> runs;
  int asked = 0;
  task_work tw(
      [&](task_work& t) {
        for (;;) {
          const run_result r = t.run(task_work::unlimited, [&] {
            ++asked;
            return true;
          });
          runs.push_back(r);
          if (!r.more) break;
        }
        return true;
      },
      fallback);
  log_t log;
  bool in_item = false;
  constexpr int n = 10;
  auto s = make_steps(n, log, in_item);
  for (int i = 0; i + 1 < n; ++i)
    s[static_cast<std::size_t>(i)]->also = [&tw, next = s[static_cast<std::size_t>(i) + 1].get()] { tw.add(next->tw); };
  tw.add(s[0]->tw);
  EXPECT_EQ(log, numbers(n));
  for (const run_result& r : runs) EXPECT_LE(r.ran, 1u);
  EXPECT_GT(asked, 0);
}

// A run the target calls itself (not through the scheduler), capped: the
// item's add hands its cycle to it; it returns `more`, and the next run()
// serves the cycle.
TEST(InlineScheduler, ADirectCappedRunAbsorbsTheHandedTurn) {
  manual_executor fallback;
  bool inline_runs = false;
  task_work tw(
      [&](task_work& t) {
        if (inline_runs) {
          while (t.run().more) {
          }
        }
        return true;  // before inline_runs: accepted, the test runs it
      },
      fallback);
  log_t log;
  bool in_item = false;
  auto s = make_steps(2, log, in_item);
  s[0]->also = [&] { tw.add(s[1]->tw); };
  tw.add(s[0]->tw);
  inline_runs = true;
  const run_result first = tw.run(1);
  EXPECT_EQ(first.ran, 1u);
  EXPECT_TRUE(first.more) << "the handed cycle is owed to this caller";
  EXPECT_FALSE(tw.empty());
  const run_result second = tw.run(1);
  EXPECT_EQ(second.ran, 1u);
  EXPECT_FALSE(second.more);
  const log_t expected = {"0", "1"};
  EXPECT_EQ(log, expected);
}

// The fallback job is the enclosing run: a refused cycle runs cancelled on
// the fallback; its item adds, the scheduler now accepts and runs inline on
// the fallback's thread: its turn goes to the fallback's run, which serves
// the new cycle in its own mode (cancelled).
TEST(InlineScheduler, TheFallbackJobServesTheHandedCycle) {
  manual_executor fallback;
  int schedules = 0;
  std::vector<run_result> runs;
  task_work tw(
      [&](task_work& t) {
        if (++schedules == 1) return false;  // the first cycle: refused
        runs.push_back(t.run());
        return true;
      },
      fallback);
  log_t log;
  bool in_item = false;
  auto s = make_steps(2, log, in_item);
  s[0]->also = [&] { tw.add(s[1]->tw); };
  tw.add(s[0]->tw);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(fallback.run_all(), 1u);  // this thread is the fallback's
  const log_t expected = {"0c", "1c"};
  EXPECT_EQ(log, expected);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].handed_off);
  EXPECT_EQ(fallback.run_all(), 0u);
  EXPECT_TRUE(tw.empty());
}

// After close(), an item's add hands its cycle to the fallback executor,
// which runs the job inline (inside execute(), on the item's thread): the
// job's run hands its turn to the active run, which serves the cycle.
TEST(InlineScheduler, AnInlineFallbackExecutorHandsOffToo) {
  inline_executor fallback;
  task_work tw([](task_work&) { return true; }, fallback);  // the test runs the first cycle
  log_t log;
  bool in_item = false;
  auto s = make_steps(3, log, in_item);
  s[0]->also = [&] {
    tw.close();
    tw.add(s[1]->tw);  // closed: the fallback, run inline
    tw.add(s[2]->tw);
  };
  tw.add(s[0]->tw);
  const run_result r = tw.run();
  EXPECT_EQ(r.ran, 3u);
  EXPECT_FALSE(r.more);
  const log_t expected = {"0", "1c", "2c"};
  EXPECT_EQ(log, expected);
  EXPECT_TRUE(tw.empty());
}

// After close(), with an inline fallback executor, the fallback job itself
// is the enclosing run (inside the first add): its item adds, the add hands
// its cycle to the fallback again, which runs the job inline once more - that
// job's run hands its turn to the job already running.
TEST(InlineScheduler, AnInlineFallbackJobIsTheEnclosingRun) {
  inline_executor fallback;
  int schedules = 0;
  task_work tw(
      [&](task_work&) {
        ++schedules;
        return true;
      },
      fallback);
  tw.close();
  log_t log;
  bool in_item = false;
  auto s = make_steps(3, log, in_item);
  s[0]->also = [&] { tw.add(s[1]->tw); };
  s[1]->also = [&] { tw.add(s[2]->tw); };
  tw.add(s[0]->tw);  // closed: the fallback job runs inline, inside this add
  const log_t expected = {"0c", "1c", "2c"};
  EXPECT_EQ(log, expected);
  EXPECT_EQ(schedules, 0);
  EXPECT_TRUE(tw.empty());
}

// The destructor's drain is the enclosing run: an item it runs adds to the
// task_work; the scheduler is not called (the drain owns every cycle) and
// the drain runs the item.
TEST(InlineScheduler, TheDestructorsDrainRunsWhatItsItemsAdd) {
  manual_executor fallback;
  bool inline_runs = false;
  int schedules = 0;
  log_t log;
  bool in_item = false;
  auto s = make_steps(2, log, in_item);
  {
    task_work tw(
        [&](task_work& t) {
          ++schedules;
          if (inline_runs) t.run();
          return true;  // first: accepted and dropped
        },
        fallback);
    s[0]->also = [&] { tw.add(s[1]->tw); };
    tw.add(s[0]->tw);
    inline_runs = true;
    tw.close();
  }
  const log_t expected = {"0c", "1c"};
  EXPECT_EQ(log, expected);
  EXPECT_EQ(schedules, 1);
}

// Two threads add chains at once through the inline scheduler: their runs
// hand turns to each other across threads and inline. Every item runs once,
// never two at a time.
TEST(InlineScheduler, TwoThreadsAddingChainsAtOnce) {
  manual_executor fallback;
  task_work tw(
      [](task_work& t) {
        while (t.run(8).more) {
        }
        return true;
      },
      fallback);
  struct link {
    task_work* tw = nullptr;
    link* next = nullptr;
    std::atomic<int>* inside = nullptr;
    int* overlaps = nullptr;  // plain: written only inside items, which run one at a time
    int ran = 0;              // the same
    work w{{}, &link::run};
    static void run(work& w, run_state) noexcept {
      link& self = mpscq::container_of<&link::w>(w);
      if (self.inside->fetch_add(1, std::memory_order_relaxed) != 0) ++*self.overlaps;
      ++self.ran;
      if (self.next != nullptr) self.tw->add(self.next->w);
      self.inside->fetch_sub(1, std::memory_order_relaxed);
    }
  };
  constexpr int chains = 300, length = 3;
  std::atomic<int> inside{0};
  int overlaps = 0;
  std::vector<link> links(2 * chains * length);
  for (std::size_t i = 0; i < links.size(); ++i) {
    links[i].tw = &tw;
    links[i].inside = &inside;
    links[i].overlaps = &overlaps;
    if (i % length + 1 < length) links[i].next = &links[i + 1];
  }
  auto producer = [&](std::size_t first) {
    for (std::size_t c = 0; c < chains; ++c) tw.add(links[first + c * length].w);
  };
  std::thread a(producer, 0), b(producer, std::size_t{chains} * length);
  a.join();
  b.join();
  EXPECT_TRUE(tw.empty());
  int total = 0;
  for (const link& l : links) {
    EXPECT_EQ(l.ran, 1);
    total += l.ran;
  }
  EXPECT_EQ(total, 2 * chains * length);
  EXPECT_EQ(overlaps, 0);
}

// --- a coroutine that awaits its own target from inside a run --------------------

struct recording_context final : mpscq::task_context {
  int enters = 0, leaves = 0;
  bool inside = false;
  void enter() noexcept override {
    ++enters;
    inside = true;
  }
  void leave() noexcept override {
    ++leaves;
    inside = false;
  }
};

spawned hops(task_work& tw, recording_context& ctx, int n, int& on_target, int& inside, bool& finished) {
  for (int i = 0; i < n; ++i) {
    const mpscq::resumed r = co_await mpscq::resume_on(tw, ctx);
    if (r == mpscq::resumed::on_target) ++on_target;
    if (ctx.inside) ++inside;
  }
  finished = true;
}

// The coroutine is resumed by the target's run; each further await adds to
// tw from inside that run: the inline scheduler's run() hands the cycle to
// the run, the coroutine suspends, and the run resumes it after the item.
TEST(InlineScheduler, ACoroutineAwaitingItsOwnTargetInsideARun) {
  manual_executor fallback;
  bool inline_runs = false;
  std::vector<run_result> runs;
  task_work tw(
      [&](task_work& t) {
        if (inline_runs) runs.push_back(t.run());
        return true;
      },
      fallback);
  recording_context ctx;
  constexpr int n = 1000;
  int on_target = 0, inside = 0;
  bool finished = false;
  hops(tw, ctx, n, on_target, inside, finished).start();  // first await: queued
  EXPECT_FALSE(finished);
  inline_runs = true;
  const run_result r = tw.run();
  EXPECT_TRUE(finished);
  EXPECT_EQ(on_target, n);
  EXPECT_EQ(inside, n);
  EXPECT_EQ(r.ran, static_cast<std::size_t>(n));
  EXPECT_EQ(r.cycles_ended, static_cast<std::size_t>(n));
  EXPECT_FALSE(r.more);
  EXPECT_EQ(runs.size(), static_cast<std::size_t>(n - 1));
  for (const run_result& x : runs) EXPECT_TRUE(x.handed_off);
  EXPECT_EQ(ctx.enters, ctx.leaves);
}

// --- what stays misuse -----------------------------------------------------------

class InlineSchedulerDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// run() called directly from an item - here inside a run the inline
// scheduler started - is still reported: it is not a scheduler's run.
TEST_F(InlineSchedulerDeathTest, ADirectRunFromAnItemOfAnInlineRunIsReported) {
  EXPECT_DEATH(
      {
        manual_executor fallback;
        task_work tw(
            [](task_work& t) {
              t.run();
              return true;
            },
            fallback);
        log_t log;
        bool in_item = false;
        auto s = make_steps(1, log, in_item);
        s[0]->also = [&] { tw.run(); };
        tw.add(s[0]->tw);
      },
      "run\\(\\) called from inside one of its own items");
}

struct running_context final : mpscq::task_context {
  task_work* tw = nullptr;
  void enter() noexcept override { tw->run(); }
};

TEST_F(InlineSchedulerDeathTest, RunFromAContextsEnterIsReported) {
  EXPECT_DEATH(
      {
        manual_executor fallback;
        task_work tw([](task_work&) { return true; }, fallback);
        running_context ctx;
        ctx.tw = &tw;
        mpscq::context_work cw(&ctx, [](mpscq::context_work&, run_state) noexcept {});
        tw.add(cw);
        tw.run();
      },
      "run\\(\\) called from inside one of its own items \\(or a context's enter\\(\\)/leave\\(\\)\\)");
}

}  // namespace
