// Unit tests of a task_context's lifetime inside task_work's runs (issue 18,
// item 1): a context may be ended by one of its own items - deleted, or the
// coroutine frame that holds it ended - while the run has it entered, and
// the run then touches it no more: no leave() on the dead object, and a new
// context allocated at its address is entered, not mistaken for the old one.
// Every path that runs a context's items: run() (the batch consumer),
// run(n, should_yield) (one pop per item), capped runs, the fallback job,
// the destructor's drain, a nested run of another task_work, resume_on(tw,
// ctx), and a local_work running a context_work. Also: destruction from the
// context's own leave(), a context shared by two task_works' runs on two
// threads, destruction on another thread after leave() (allowed) and while a
// run there has it entered (reported).
//
// The tests that reuse a context's address (placement new into one buffer)
// fail on the old run loop in every build: it compared the next item's
// context with the dangling pointer, so the new context was never entered,
// and it called leave() on whatever lived there. The heap ones are the
// issue's own scenario: ASan reports the old loop's leave() on freed memory
// (a release build may survive it by chance).
#include <mpscq/coro.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/task_work.hpp>

#include <gtest/gtest.h>

#include "test_executors.hpp"
#include "test_coroutines.hpp"

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using mpscq_test::spawned;

using mpscq::context_work;
using mpscq::run_result;
using mpscq::run_state;
using mpscq::task_context;
using mpscq::task_work;

using mpscq_test::manual_executor;

using log_t = std::vector<std::string>;

// A context that logs "+<name>" on enter(), "-<name>" on leave() and
// "~<name>" when destroyed, into a log that outlives it.
struct named_context final : task_context {
  named_context(std::string n, log_t& l) : name(std::move(n)), log(&l) {}
  ~named_context() { log->push_back("~" + name); }
  void enter() noexcept override { log->push_back("+" + name); }
  void leave() noexcept override {
    log->push_back("-" + name);
    if (on_leave) on_leave(this);
  }
  std::string name;
  log_t* log;
  void (*on_leave)(named_context*) = nullptr;
};

// Derived contexts stay copyable (the base's entry count is not copied).
static_assert(std::is_copy_constructible_v<named_context>);
static_assert(std::is_copy_assignable_v<named_context>);

// An item that names a context. It logs "i:<id>@<context it expects to run
// inside>", counts a cancelled run, then runs `then` (which may end the
// context).
struct ctx_item {
  std::string id;
  std::string expect;
  log_t* log = nullptr;
  int* cancelled = nullptr;
  std::function<void()> then;
  context_work cw{nullptr, &ctx_item::handle};

  static void handle(context_work& w, run_state st) noexcept {
    ctx_item& self = mpscq::container_of<&ctx_item::cw>(w);
    self.log->push_back("i:" + self.id + "@" + self.expect);
    if (st.cancel && self.cancelled != nullptr) ++*self.cancelled;
    if (self.then) self.then();
  }
};

// Storage where one context ends and another begins at the same address.
struct context_buffer {
  alignas(named_context) unsigned char raw[sizeof(named_context)];
  named_context* make(std::string name, log_t& log) { return new (raw) named_context(std::move(name), log); }
  named_context* get() { return std::launder(reinterpret_cast<named_context*>(raw)); }
  // Ends the context living here and begins `next` at the same address. The
  // bytes are cleared in between: a call through the old object crashes.
  void replace(std::string next, log_t& log) {
    get()->~named_context();
    std::memset(raw, 0, sizeof raw);
    make(std::move(next), log);
  }
};

// Checks a log: every item ran inside the context it expects, every enter()
// is matched by a leave() or by the context's end, nothing entered or left a
// context after its end, and nothing is left entered.
::testing::AssertionResult well_nested(const log_t& log) {
  std::set<std::string> entered, ended;
  for (std::size_t i = 0; i < log.size(); ++i) {
    const std::string& e = log[i];
    const std::string what = e.substr(1);
    auto fail = [&](const char* why) {
      std::string all;
      for (const std::string& x : log) all += x + " ";
      return ::testing::AssertionFailure() << why << " at entry " << i << " (" << e << "); log: " << all;
    };
    switch (e[0]) {
      case '+':
        if (ended.count(what) != 0) return fail("entered after its end");
        if (!entered.insert(what).second) return fail("entered twice");
        break;
      case '-':
        if (ended.count(what) != 0) return fail("left after its end");
        if (entered.erase(what) == 0) return fail("left, never entered");
        break;
      case '~':
        ended.insert(what);
        entered.erase(what);
        break;
      default: {  // "i:<id>@<context>"
        const std::string ctx = e.substr(e.find('@') + 1);
        if (!ctx.empty() && entered.count(ctx) == 0) return fail("an item ran outside its context");
        break;
      }
    }
  }
  if (!entered.empty()) return ::testing::AssertionFailure() << "a context is still entered: " << *entered.begin();
  return ::testing::AssertionSuccess();
}

int count(const log_t& log, const std::string& entry) {
  int n = 0;
  for (const std::string& e : log) n += e == entry ? 1 : 0;
  return n;
}

// --- every runner path ----------------------------------------------------------

enum class path { batch, each, capped, fallback, destructor };

const char* path_name(path p) {
  switch (p) {
    case path::batch: return "batch";
    case path::each: return "each";
    case path::capped: return "capped";
    case path::fallback: return "fallback";
    case path::destructor: return "destructor";
  }
  return "?";
}

// Adds `items` to a task_work and runs them on this thread through path `p`,
// then destroys the task_work.
void run_through(path p, std::vector<std::unique_ptr<ctx_item>>& items) {
  manual_executor fallback;
  const bool accept = p != path::fallback;
  auto tw = std::make_unique<task_work>([accept](task_work&) { return accept; }, fallback);
  for (auto& it : items) tw->add(it->cw);
  switch (p) {
    case path::batch:
      EXPECT_FALSE(tw->run().more);
      break;
    case path::each:
      EXPECT_FALSE(tw->run(task_work::unlimited, [] { return false; }).more);
      break;
    case path::capped:
      while (tw->run(1).more) {
      }
      break;
    case path::fallback:
      EXPECT_EQ(fallback.run_all(), 1u);
      break;
    case path::destructor:
      tw->close();  // the accepted schedule is dropped: the destructor drains it
      break;
  }
  tw.reset();
  EXPECT_EQ(fallback.run_all(), 0u);
}

class ContextEndedByItsItem : public ::testing::TestWithParam<path> {};

// The issue's scenario: a heap context, three items naming it, the last one
// deletes it. The old loop called leave() on the freed context.
TEST_P(ContextEndedByItsItem, TheLastItemDeletesIt) {
  log_t log;
  int cancelled = 0;
  auto* a = new named_context("A", log);
  std::vector<std::unique_ptr<ctx_item>> items;
  for (int i = 0; i < 3; ++i) {
    auto it = std::make_unique<ctx_item>();
    it->id = std::to_string(i);
    it->expect = "A";
    it->log = &log;
    it->cancelled = &cancelled;
    it->cw.context = a;
    items.push_back(std::move(it));
  }
  items[2]->then = [a] { delete a; };
  run_through(GetParam(), items);
  EXPECT_TRUE(well_nested(log));
  EXPECT_EQ(count(log, "~A"), 1);
  EXPECT_EQ(count(log, "i:2@A"), 1);
  EXPECT_EQ(log.back(), "~A") << "nothing touched A after its end";
  const bool cancelling = GetParam() == path::fallback || GetParam() == path::destructor;
  EXPECT_EQ(cancelled, cancelling ? 3 : 0);
}

// Item k of a stretch ends context A and begins B at the same address; the
// items after it name that address, now B. B must be entered before them and
// left after them; A must not be left. (Old loop: B never entered, and
// leave() called on B - or on the cleared bytes, a crash.)
void end_and_reuse(path p, int k) {
  log_t log;
  context_buffer buf;
  buf.make("A", log);
  std::vector<std::unique_ptr<ctx_item>> items;
  for (int i = 0; i < 3; ++i) {
    auto it = std::make_unique<ctx_item>();
    it->id = std::to_string(i);
    it->expect = i <= k ? "A" : "B";
    it->log = &log;
    it->cw.context = buf.get();
    items.push_back(std::move(it));
  }
  items[static_cast<std::size_t>(k)]->then = [&buf, &log] { buf.replace("B", log); };
  run_through(p, items);
  buf.get()->~named_context();  // B
  EXPECT_TRUE(well_nested(log)) << "k = " << k;
  // A is left only where a capped run ended before item k; never after its end.
  EXPECT_EQ(count(log, "-A"), p == path::capped ? k : 0) << "k = " << k;
  EXPECT_EQ(count(log, "+B"), k < 2 ? (p == path::capped ? 2 - k : 1) : 0) << "k = " << k;
}

TEST_P(ContextEndedByItsItem, TheFirstItemEndsItAndTheNextItemsNameANewContextAtItsAddress) {
  end_and_reuse(GetParam(), 0);
}
TEST_P(ContextEndedByItsItem, AMiddleItemEndsItAndTheNextItemNamesANewContextAtItsAddress) {
  end_and_reuse(GetParam(), 1);
}
TEST_P(ContextEndedByItsItem, TheLastItemEndsItAndANewContextBeginsAtItsAddress) { end_and_reuse(GetParam(), 2); }

// A stretch of A whose second item deletes A, followed by a stretch of B:
// B is entered (and A is not left).
TEST_P(ContextEndedByItsItem, TheNextItemNamesAnotherContext) {
  log_t log;
  auto* a = new named_context("A", log);
  named_context b("B", log);
  std::vector<std::unique_ptr<ctx_item>> items;
  for (int i = 0; i < 4; ++i) {
    auto it = std::make_unique<ctx_item>();
    it->id = std::to_string(i);
    it->expect = i < 2 ? "A" : "B";
    it->log = &log;
    it->cw.context = i < 2 ? static_cast<task_context*>(a) : &b;
    items.push_back(std::move(it));
  }
  items[1]->then = [a] { delete a; };
  run_through(GetParam(), items);
  EXPECT_TRUE(well_nested(log));
  EXPECT_EQ(count(log, "-A"), GetParam() == path::capped ? 1 : 0);  // capped: after item 0's run
  EXPECT_GE(count(log, "+B"), 1);
}

// A context deleted from its own leave(): leave() is the run's last access,
// then the next context is entered. (A guarantee the old loop also kept.)
TEST_P(ContextEndedByItsItem, ItsOwnLeaveDeletesIt) {
  log_t log;
  auto* a = new named_context("A", log);
  a->on_leave = [](named_context* self) { delete self; };
  named_context b("B", log);
  std::vector<std::unique_ptr<ctx_item>> items;
  for (int i = 0; i < 2; ++i) {
    auto it = std::make_unique<ctx_item>();
    it->id = std::to_string(i);
    it->expect = i == 0 ? "A" : "B";
    it->log = &log;
    it->cw.context = i == 0 ? static_cast<task_context*>(a) : &b;
    items.push_back(std::move(it));
  }
  run_through(GetParam(), items);
  EXPECT_TRUE(well_nested(log));
  EXPECT_EQ(count(log, "~A"), 1);
}

INSTANTIATE_TEST_SUITE_P(Paths, ContextEndedByItsItem,
                         ::testing::Values(path::batch, path::each, path::capped, path::fallback, path::destructor),
                         [](const ::testing::TestParamInfo<path>& info) { return path_name(info.param); });

// --- nested runs, coroutines, local_work ----------------------------------------

// tw1's item (in A) runs tw2, whose item (in A too: one thread, two runs have
// it entered) deletes A. Both runs forget it.
TEST(ContextEndedInANestedRun, BothRunsOfTheThreadForgetIt) {
  log_t log;
  manual_executor fallback;
  task_work tw1([](task_work&) { return true; }, fallback);
  task_work tw2([](task_work&) { return true; }, fallback);
  auto* a = new named_context("A", log);
  ctx_item inner;
  inner.id = "inner";
  inner.log = &log;
  inner.cw.context = a;
  inner.then = [a] { delete a; };
  ctx_item outer;
  outer.id = "outer";
  outer.log = &log;
  outer.cw.context = a;
  outer.then = [&] {
    tw2.add(inner.cw);
    EXPECT_EQ(tw2.run().ran, 1u);
  };
  tw1.add(outer.cw);
  EXPECT_EQ(tw1.run().ran, 1u);
  const log_t expected = {"+A", "i:outer@", "+A", "i:inner@", "~A"};
  EXPECT_EQ(log, expected);
}

// tw1's item (in A) runs tw2, whose item (in B) deletes A: tw1's run forgets
// A, tw2's run leaves B.
TEST(ContextEndedInANestedRun, TheOuterRunForgetsItsContext) {
  log_t log;
  manual_executor fallback;
  task_work tw1([](task_work&) { return true; }, fallback);
  task_work tw2([](task_work&) { return true; }, fallback);
  auto* a = new named_context("A", log);
  named_context b("B", log);
  ctx_item inner;
  inner.id = "inner";
  inner.log = &log;
  inner.cw.context = &b;
  inner.then = [a] { delete a; };
  ctx_item outer;
  outer.id = "outer";
  outer.log = &log;
  outer.cw.context = a;
  outer.then = [&] {
    tw2.add(inner.cw);
    EXPECT_EQ(tw2.run().ran, 1u);
  };
  tw1.add(outer.cw);
  EXPECT_EQ(tw1.run().ran, 1u);
  const log_t expected = {"+A", "i:outer@", "+B", "i:inner@", "~A", "-B"};
  EXPECT_EQ(log, expected);
}

// The coroutine's frame owns the context: it resumes inside the run, between
// enter() and leave(), and ends there - the frame, and the context, die
// inside the run.
spawned owns_its_context(task_work& tw, log_t& log) {
  named_context ctx("C", log);
  const mpscq::resumed r = co_await mpscq::resume_on(tw, ctx);
  log.push_back(r == mpscq::resumed::on_target ? "i:coro@C" : "i:coro cancelled@C");
}

TEST(ContextEndedByACoroutine, TheFrameEndsInsideTheRun) {
  log_t log;
  manual_executor fallback;
  task_work tw([](task_work&) { return true; }, fallback);
  owns_its_context(tw, log).start();
  EXPECT_TRUE(log.empty()) << "queued, not resumed";
  const run_result r = tw.run();
  EXPECT_EQ(r.ran, 1u);
  const log_t expected = {"+C", "i:coro@C", "~C"};
  EXPECT_EQ(log, expected);
}

TEST(ContextEndedByACoroutine, TheFrameEndsInsideTheDestructorsDrain) {
  log_t log;
  manual_executor fallback;
  {
    task_work tw([](task_work&) { return true; }, fallback);
    owns_its_context(tw, log).start();
    tw.close();
  }
  const log_t expected = {"+C", "i:coro cancelled@C", "~C"};
  EXPECT_EQ(log, expected);
}

// local_work runs a context_work by calling its handler: no enter()/leave(),
// and nothing touches the context after the handler.
TEST(ContextEndedInALocalWork, NothingTouchesItAfterTheHandler) {
  log_t log;
  auto* a = new named_context("A", log);
  ctx_item it;
  it.id = "x";
  it.log = &log;
  it.cw.context = a;
  it.then = [a] { delete a; };
  mpscq::local_work lw;
  lw.add(it.cw);
  EXPECT_EQ(lw.run(8), 1);
  const log_t expected = {"i:x@", "~A"};
  EXPECT_EQ(log, expected);
}

// --- other threads --------------------------------------------------------------

// A context whose leave() tells another thread, which then destroys it
// (allowed: leave() is the run's last access). Meanwhile the run goes on
// with other items. No report, and no race under TSan.
struct signalling_context final : task_context {
  std::atomic<int>* left = nullptr;
  void leave() noexcept override { left->store(1, std::memory_order_release); }
};

struct plain_ctx_item {
  std::atomic<int>* ran = nullptr;
  context_work cw{nullptr, &plain_ctx_item::handle};
  static void handle(context_work& w, run_state) noexcept {
    mpscq::container_of<&plain_ctx_item::cw>(w).ran->fetch_add(1, std::memory_order_relaxed);
  }
};

TEST(ContextOnAnotherThread, MayBeDestroyedThereAfterItsLeaveReturned) {
  for (int round = 0; round < 50; ++round) {
    manual_executor fallback;
    task_work tw([](task_work&) { return true; }, fallback);
    std::atomic<int> left{0};
    std::atomic<int> ran{0};
    std::atomic<int> b_left{0};
    auto* a = new signalling_context;
    a->left = &left;
    signalling_context b;
    b.left = &b_left;
    plain_ctx_item items[4];
    for (int i = 0; i < 4; ++i) {
      items[i].ran = &ran;
      items[i].cw.context = i == 0 ? static_cast<task_context*>(a) : &b;
      tw.add(items[i].cw);
    }
    std::thread destroyer([&] {
      while (left.load(std::memory_order_acquire) == 0) std::this_thread::yield();
      delete a;
    });
    EXPECT_EQ(tw.run().ran, 4u);
    destroyer.join();
    EXPECT_EQ(ran.load(), 4);
  }
}

// One context named by the items of two task_works, run at the same time on
// two threads (enter()/leave() exclude each other with a mutex, as the
// kernel's uring_lock does). The library's bookkeeping must not race, and the
// context is destroyed on the main thread once both runs returned.
struct locking_context final : task_context {
  std::mutex m;
  int inside = 0;  // guarded by m
  void enter() noexcept override {
    m.lock();
    ++inside;
  }
  void leave() noexcept override {
    --inside;
    m.unlock();
  }
};

struct locked_item {
  locking_context* ctx = nullptr;
  int* errors = nullptr;  // written inside the context (under its mutex)
  context_work cw{nullptr, &locked_item::handle};
  static void handle(context_work& w, run_state) noexcept {
    locked_item& self = mpscq::container_of<&locked_item::cw>(w);
    if (w.context == nullptr) return;  // a plain item between two stretches
    if (self.ctx->inside != 1) ++*self.errors;
  }
};

TEST(ContextOnAnotherThread, SharedByTwoTaskWorksRunningAtOnce) {
  auto* shared = new locking_context;
  int errors = 0;
  constexpr int per_thread = 2000;
  auto worker = [&] {
    manual_executor fallback;
    task_work tw([](task_work&) { return true; }, fallback);
    std::vector<locked_item> items(per_thread);
    for (std::size_t i = 0; i < items.size(); ++i) {
      items[i].ctx = shared;
      items[i].errors = &errors;
      items[i].cw.context = i % 3 == 2 ? nullptr : shared;  // stretches of two
      tw.add(items[i].cw);
    }
    while (tw.run(16).more) {
    }
  };
  std::thread t1(worker), t2(worker);
  t1.join();
  t2.join();
  EXPECT_EQ(errors, 0);
  delete shared;  // no run has it entered any more: no report
}

class ContextLifetimeDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// Destroyed on another thread while the run has it entered: the run would
// call leave() on freed memory. Reported.
TEST_F(ContextLifetimeDeathTest, DestroyedOnAnotherThreadWhileEnteredIsReported) {
  EXPECT_DEATH(
      {
        manual_executor fallback;
        task_work tw([](task_work&) { return true; }, fallback);
        auto* a = new signalling_context;
        std::atomic<int> left{0};
        a->left = &left;
        // The item hands A to another thread, which destroys it while this
        // run still has it entered.
        struct handler {
          static void destroy_elsewhere(context_work& w, run_state) noexcept {
            task_context* ctx = w.context;
            std::thread([ctx] { delete static_cast<signalling_context*>(ctx); }).join();
          }
        };
        context_work it(a, &handler::destroy_elsewhere);
        tw.add(it);
        tw.run();
      },
      "mpscq::task_context: destroyed while a run on another thread has it entered");
}

}  // namespace
