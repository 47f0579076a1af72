// tests/asio/asio_teardown_test.cpp - mpscq/asio.hpp's contexts torn down in
// every order (built twice: MPSCQ_ASIO_USE_BOOST=0 for standalone Asio, =1
// for Boost.Asio). The typed tests run for a local_work_context and for a
// task_work_context; AsioTeardownLocal / AsioTeardownTask hold what only one
// of them can do (an inline destroy inside execute(), a fallback thread).
//
// What is checked: a queued function (a plain handler, a strand's invoker, a
// co_spawn'ed coroutine's resumption, a timer's completion) is invoked or
// destroyed while the context's services live; the services are shut down
// and destroyed exactly once, after the last such function is gone; nothing
// is invoked after the handle is destroyed; nothing leaks. The use after free
// of issue 18 (a strand's invoker destroyed by ~local_work after the context
// destroyed the strand service) is an ASan report here on the old header.
// No timed checks: every wait is for an event, and a hang is CTest's timeout.
#include "asio_flavour.hpp"

#include <gtest/gtest.h>

#include "test_executors.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace net = mpscq::asio::net;
namespace exn = net::execution;
using mpscq::asio::local_work_context;
using mpscq::asio::task_work_context;

#if MPSCQ_ASIO_USE_BOOST
using error_code = boost::system::error_code;
#else
using error_code = std::error_code;
#endif

namespace {

// --- what the tests observe ------------------------------------------------------

// The context's services, seen through one service of our own (probe), and
// the functions the test queued (handler).
struct observations {
  std::atomic<int> shutdowns{0};  // probe::shutdown() calls
  std::atomic<int> destroyed{0};  // ~probe() calls
  std::atomic<int> live{0};       // handler objects alive
  std::atomic<int> invoked{0};    // handler invocations
  std::atomic<int> invoked_after_end{0};  // invocations after the handle was destroyed
  std::atomic<int> destroyed_after_services{0};  // handlers destroyed after the services were destroyed
  std::atomic<int> live_at_shutdown{-1};  // handlers alive when the services were shut down
  std::atomic<bool> ended{false};         // the test destroyed the handle
  std::thread::id destroyed_on;           // written by ~probe, read after `destroyed`
};

// A service of the context: its shutdown and destruction are the context's.
class probe final : public net::execution_context::service {
 public:
  static inline net::execution_context::id id;
  probe(net::execution_context& ctx, std::shared_ptr<observations> o) : service(ctx), o_(std::move(o)) {}
  ~probe() override {
    o_->destroyed_on = std::this_thread::get_id();
    o_->destroyed.fetch_add(1, std::memory_order_release);
  }

 private:
  void shutdown() override {
    o_->live_at_shutdown.store(o_->live.load());
    o_->shutdowns.fetch_add(1);
  }
  std::shared_ptr<observations> o_;
};

// A queued function that reports its copies, its invocations and whether it
// outlived the services.
struct handler {
  std::shared_ptr<observations> o;
  explicit handler(std::shared_ptr<observations> obs) : o(std::move(obs)) { o->live.fetch_add(1); }
  handler(const handler& h) : o(h.o) { o->live.fetch_add(1); }
  handler(handler&& h) noexcept : o(h.o) { o->live.fetch_add(1); }
  handler& operator=(const handler&) = delete;
  ~handler() {
    if (o->destroyed.load(std::memory_order_acquire) != 0) o->destroyed_after_services.fetch_add(1);
    o->live.fetch_sub(1);
  }
  void operator()() {
    o->invoked.fetch_add(1);
    if (o->ended.load()) o->invoked_after_end.fetch_add(1);
  }
};

// Waits (yielding) for an event another thread causes; a hang is CTest's timeout.
template <class Done>
void wait_until(Done done) {
  while (!done()) std::this_thread::yield();
}

// --- the two targets ------------------------------------------------------------

// A local_work owned by the test thread.
struct local_target {
  using context = local_work_context;
  static constexpr bool is_task = false;
  mpscq::local_work lw;
  mpscq::local_work& target() { return lw; }
  // Runs until nothing is queued.
  void drain() {
    while (lw.run(1000) > 0 || lw.has_work()) {
    }
  }
  // Runs until `done`, waiting for functions that other threads queue.
  template <class Done>
  void run_until(Done done) {
    while (!done()) lw.wait(1, std::chrono::milliseconds(10));
  }
  void close() { lw.close(); }
};

// A task_work whose scheduler only records the schedule: the test thread is
// the target and runs it (drain, run_until); refused cycles go to a fallback
// the test drives by hand.
struct task_target {
  using context = task_work_context;
  static constexpr bool is_task = true;
  mpscq_test::manual_executor fallback;  // declared first: outlives tw
  std::atomic<int> scheduled{0};
  mpscq::task_work tw{[this](mpscq::task_work&) {
                        scheduled.fetch_add(1, std::memory_order_release);
                        return true;
                      },
                      fallback};
  ~task_target() {
    fallback.run_all();  // jobs handed over before: ~task_work waits for them
  }
  mpscq::task_work& target() { return tw; }
  // Serves every schedule accepted so far, and the fallback's jobs.
  void drain() {
    for (;;) {
      if (scheduled.load(std::memory_order_acquire) > 0) {
        scheduled.fetch_sub(1, std::memory_order_relaxed);
        while (tw.run().more) {
        }
        continue;
      }
      if (fallback.run_all() == 0) return;
    }
  }
  template <class Done>
  void run_until(Done done) {
    for (;;) {
      drain();
      if (done()) return;
      std::this_thread::yield();
    }
  }
  // close(), then serve the schedule it owes (its items run cancelled).
  void close() {
    tw.close();
    drain();
  }
};

template <class Target>
class AsioTeardown : public ::testing::Test {
 protected:
  using context_type = typename Target::context;

  std::shared_ptr<observations> o = std::make_shared<observations>();

  // A handle on the heap (ASan sees its end); the probe service in its context.
  std::unique_ptr<context_type> make_context(Target& t) {
    auto ctx = std::make_unique<context_type>(t.target());
    net::make_service<probe>(*ctx, o);  // through the handle's conversion to execution_context&
    return ctx;
  }
  void end(std::unique_ptr<context_type>& ctx) {
    o->ended.store(true);
    ctx.reset();
  }
  // The services were shut down and destroyed once, after every function.
  void expect_released() {
    EXPECT_EQ(o->shutdowns.load(), 1);
    EXPECT_EQ(o->destroyed.load(), 1);
    EXPECT_EQ(o->live.load(), 0) << "a queued function leaked";
    EXPECT_EQ(o->destroyed_after_services.load(), 0) << "a function outlived the services";
    EXPECT_EQ(o->invoked_after_end.load(), 0) << "a function ran after the handle was destroyed";
  }
};

using targets = ::testing::Types<local_target, task_target>;
class target_names {
 public:
  template <class T>
  static std::string GetName(int) {
    return T::is_task ? "task_work" : "local_work";
  }
};
TYPED_TEST_SUITE(AsioTeardown, targets, target_names);

// The tests that only one kind of target can run.
class AsioTeardownLocal : public AsioTeardown<local_target> {};
class AsioTeardownTask : public AsioTeardown<task_target> {};

// --- plain posts -----------------------------------------------------------------

TYPED_TEST(AsioTeardown, PostsQueuedThenHandleThenTarget) {
  {
    auto t = std::make_unique<TypeParam>();
    auto ctx = this->make_context(*t);
    for (int i = 0; i < 3; ++i) net::post(ctx->get_executor(), handler(this->o));
    this->end(ctx);
    EXPECT_EQ(this->o->shutdowns.load(), 0) << "queued functions keep the services";
    EXPECT_EQ(this->o->live.load(), 3);
    t.reset();  // destroys them (cancelled), then the last one releases the context
  }
  EXPECT_EQ(this->o->invoked.load(), 0);
  EXPECT_EQ(this->o->live_at_shutdown.load(), 0);
  this->expect_released();
}

TYPED_TEST(AsioTeardown, PostsQueuedThenHandleThenTargetRuns) {
  TypeParam t;
  auto ctx = this->make_context(t);
  for (int i = 0; i < 3; ++i) net::post(ctx->get_executor(), handler(this->o));
  this->end(ctx);
  t.drain();  // not invoked: the context has ended; destroyed, and the last one releases it
  EXPECT_EQ(this->o->invoked.load(), 0);
  this->expect_released();
}

TYPED_TEST(AsioTeardown, PostsQueuedThenTargetClosedThenHandle) {
  TypeParam t;
  auto ctx = this->make_context(t);
  for (int i = 0; i < 3; ++i) net::post(ctx->get_executor(), handler(this->o));
  t.close();  // destroys them (cancelled)
  EXPECT_EQ(this->o->live.load(), 0);
  net::post(ctx->get_executor(), handler(this->o));  // after close(): destroyed (inline, or by the fallback)
  t.drain();
  EXPECT_EQ(this->o->shutdowns.load(), 0) << "the handle keeps the services";
  this->end(ctx);
  EXPECT_EQ(this->o->invoked.load(), 0);
  this->expect_released();
}

TYPED_TEST(AsioTeardown, PostsRunThenHandleThenTarget) {
  TypeParam t;
  auto ctx = this->make_context(t);
  for (int i = 0; i < 3; ++i) net::post(ctx->get_executor(), handler(this->o));
  t.drain();
  EXPECT_EQ(this->o->invoked.load(), 3);
  this->end(ctx);
  EXPECT_EQ(this->o->destroyed.load(), 1) << "nothing queued: released by the handle, on this thread";
  EXPECT_EQ(this->o->destroyed_on, std::this_thread::get_id());
  this->expect_released();
}

// --- strands ---------------------------------------------------------------------

// Issue 18's order: local_work (or task_work), context, strand, post, and
// leave the scope: the context first, then the target's drain destroys the
// strand's queued invoker, whose strand_impl unlinks itself from the strand
// service (heap use after free when the service was destroyed first).
TYPED_TEST(AsioTeardown, StrandQueuedThenHandleThenTarget) {
  {
    TypeParam t;
    auto ctx = this->make_context(t);
    auto s = net::make_strand(ctx->get_executor());
    net::post(s, handler(this->o));
    net::post(s, handler(this->o));
    this->end(ctx);
  }
  EXPECT_EQ(this->o->invoked.load(), 0);
  this->expect_released();
}

TYPED_TEST(AsioTeardown, StrandQueuedThenHandleThenTargetRuns) {
  TypeParam t;
  auto ctx = this->make_context(t);
  {
    auto s = net::make_strand(*ctx);  // make_strand(ExecutionContext&): through the conversion
    net::post(s, handler(this->o));
    net::post(s, handler(this->o));
  }
  this->end(ctx);
  t.drain();
  EXPECT_EQ(this->o->invoked.load(), 0);
  this->expect_released();
}

TYPED_TEST(AsioTeardown, StrandQueuedThenTargetClosedThenHandle) {
  TypeParam t;
  auto ctx = this->make_context(t);
  {
    auto s = net::make_strand(ctx->get_executor());
    net::post(s, handler(this->o));
    net::post(s, handler(this->o));
    t.close();
    net::post(s, handler(this->o));  // the strand's next invoker: destroyed (inline / fallback)
  }  // the strand object goes before the handle (as an I/O object before its context)
  t.drain();
  EXPECT_EQ(this->o->invoked.load(), 0);
  this->end(ctx);
  EXPECT_EQ(this->o->live.load(), 0);
  this->expect_released();
}

TYPED_TEST(AsioTeardown, StrandRunThenHandleThenTarget) {
  TypeParam t;
  auto ctx = this->make_context(t);
  std::optional s(net::make_strand(ctx->get_executor()));
  for (int i = 0; i < 3; ++i) net::post(*s, handler(this->o));
  t.drain();
  EXPECT_EQ(this->o->invoked.load(), 3);
  s.reset();  // the strand goes before the handle (as an I/O object before its context)
  this->end(ctx);
  EXPECT_EQ(this->o->destroyed.load(), 1);
  this->expect_released();
}

// A handler that carries the strand, an executor copy and a work guard (what
// Asio's composed operations keep): all of them outlive the handle.
TYPED_TEST(AsioTeardown, HandlerCarryingExecutorsOutlivesTheHandle) {
  TypeParam t;
  auto ctx = this->make_context(t);
  std::optional s(net::make_strand(ctx->get_executor()));
  net::post(*s, [h = handler(this->o), s = *s, ex = ctx->get_executor(),
                 guard = net::make_work_guard(ctx->get_executor()), any = net::any_io_executor(*s)] {});
  s.reset();  // the user's strand object goes before the handle; the handler's copy stays queued
  this->end(ctx);
  t.drain();
  this->expect_released();
}

// --- destruction from inside a function -------------------------------------------

// The handle is destroyed by one of its own functions while it runs: the
// services live until that function (and the one it posted) are gone.
TYPED_TEST(AsioTeardown, HandleDestroyedFromInsideAFunction) {
  TypeParam t;
  auto ctx = this->make_context(t);
  auto o = this->o;
  bool after_reset_ok = false;
  auto ex = ctx->get_executor();
  net::post(ex, [&, o, ex] {
    o->ended.store(true);
    ctx.reset();  // from inside: its services live on while we run
    after_reset_ok = o->shutdowns.load() == 0 && o->destroyed.load() == 0;
    net::post(ex, handler(o));  // still allowed: this function holds a reference
  });
  t.drain();
  EXPECT_TRUE(after_reset_ok);
  EXPECT_TRUE(ctx == nullptr);
  EXPECT_EQ(this->o->invoked.load(), 0);
  this->expect_released();
}

// A function whose destructor posts again (as co_spawn's frames do), destroyed
// after the handle is gone: the post it makes is destroyed too, and its
// reference holds the services until then.
TYPED_TEST(AsioTeardown, FunctionThatPostsWhileDestroyed) {
  struct reposting {
    std::shared_ptr<observations> o;
    std::optional<typename TypeParam::context::executor_type> ex;
    int left;
    reposting(std::shared_ptr<observations> obs, typename TypeParam::context::executor_type e, int n)
        : o(std::move(obs)), ex(e), left(n) {}
    reposting(reposting&& r) noexcept : o(r.o), ex(std::exchange(r.ex, std::nullopt)), left(r.left) {}
    reposting& operator=(reposting&&) = delete;
    ~reposting() {
      if (ex && left > 0) net::post(*ex, reposting(o, *ex, left - 1));  // posts from a destructor
      if (ex && left == 0) net::post(*ex, handler(o));
    }
    void operator()() { o->invoked.fetch_add(1); }
  };
  for (int order = 0; order < 2; ++order) {
    this->o = std::make_shared<observations>();
    auto t = std::make_unique<TypeParam>();
    auto ctx = this->make_context(*t);
    net::post(ctx->get_executor(), reposting(this->o, ctx->get_executor(), 3));
    this->end(ctx);
    if (order == 0) {
      t->drain();  // destroyed (ended) by the runs: each destructor posts the next
    } else {
      t.reset();  // destroyed by the target's destructor
    }
    t.reset();
    EXPECT_EQ(this->o->invoked.load(), 0);
    this->expect_released();
  }
}

// The last reference dropped inside execute(): a function destroyed inline by
// the closed local_work destroys the handle. The release then runs on the
// default fallback thread (this thread could be one the shutdown joins).
// (A closed task_work does not destroy inside add(): its cycles go to the
// fallback.)
TEST_F(AsioTeardownLocal, LastReferenceDroppedInsideExecute) {
  local_target t;
  auto ctx = this->make_context(t);
  auto ex = ctx->get_executor();
  t.close();
  auto o = this->o;
  struct owns_handle {
    std::unique_ptr<local_work_context> ctx;
    std::shared_ptr<observations> o;
    owns_handle(std::unique_ptr<local_work_context> c, std::shared_ptr<observations> obs)
        : ctx(std::move(c)), o(std::move(obs)) {}
    owns_handle(owns_handle&&) noexcept = default;
    owns_handle& operator=(owns_handle&&) = delete;
    void operator()() {}
    ~owns_handle() {
      if (ctx) o->ended.store(true);
    }
  };
  net::post(ex, owns_handle(std::move(ctx), o));  // destroyed here, inline: the handle with it
  wait_until([&] { return o->destroyed.load(std::memory_order_acquire) != 0; });
  EXPECT_NE(o->destroyed_on, std::this_thread::get_id()) << "released on the fallback thread";
  this->expect_released();
}

// --- task_work: the release on the fallback's thread -------------------------------

TEST_F(AsioTeardownTask, ReleasedOnTheFallbackThread) {
  task_target t;
  auto ctx = this->make_context(t);
  std::optional s(net::make_strand(ctx->get_executor()));
  t.close();
  net::post(*s, handler(this->o));  // a new cycle after close(): to the fallback
  s.reset();
  this->end(ctx);
  EXPECT_EQ(this->o->destroyed.load(), 0);
  std::thread::id fallback_thread;
  std::thread([&] {
    fallback_thread = std::this_thread::get_id();
    t.fallback.run_all();  // the fallback's thread destroys the invoker and releases the context
  }).join();
  EXPECT_EQ(this->o->destroyed_on, fallback_thread);
  this->expect_released();
}

// The same with the default fallback executor: its thread destroys the
// strand's invoker and releases the context (the services are shut down and
// destroyed on mpscq's own thread). A first function, destroyed there, holds
// the fallback thread until the handle is gone, so the release cannot happen
// anywhere else.
TEST_F(AsioTeardownTask, ReleasedOnTheDefaultFallbackThread) {
  struct hold {
    std::shared_ptr<std::atomic<int>> phase;  // 1: on the fallback thread; 2: the handle is gone
    std::shared_ptr<std::thread::id> on;
    bool armed = true;
    hold(std::shared_ptr<std::atomic<int>> p, std::shared_ptr<std::thread::id> t)
        : phase(std::move(p)), on(std::move(t)) {}
    hold(hold&& h) noexcept : phase(h.phase), on(h.on), armed(std::exchange(h.armed, false)) {}
    hold& operator=(hold&&) = delete;
    void operator()() {}
    ~hold() {
      if (!armed) return;
      *on = std::this_thread::get_id();
      phase->store(1, std::memory_order_release);
      wait_until([&] { return phase->load(std::memory_order_acquire) == 2; });
    }
  };
  mpscq::task_work tw([](mpscq::task_work&) { return true; });  // default_fallback_executor(); never run here
  auto ctx = std::make_unique<task_work_context>(tw);
  net::make_service<probe>(*ctx, this->o);
  auto phase = std::make_shared<std::atomic<int>>(0);
  auto fallback_thread = std::make_shared<std::thread::id>();
  tw.close();  // every cycle from now on goes to the fallback
  net::post(ctx->get_executor(), hold(phase, fallback_thread));
  wait_until([&] { return phase->load(std::memory_order_acquire) == 1; });
  {
    auto s = net::make_strand(ctx->get_executor());
    net::post(s, handler(this->o));  // the strand's invoker: a new cycle, to the fallback
  }
  this->end(ctx);
  phase->store(2, std::memory_order_release);
  wait_until([&] { return this->o->destroyed.load(std::memory_order_acquire) != 0; });
  EXPECT_EQ(this->o->destroyed_on, *fallback_thread);
  EXPECT_NE(this->o->destroyed_on, std::this_thread::get_id());
  this->expect_released();
}

// --- timers: I/O objects on the context (Asio runs its own scheduler thread) -------

// A timer whose completion is already queued when the handle goes.
TYPED_TEST(AsioTeardown, TimerCompletionQueuedThenHandleThenTarget) {
  for (int order = 0; order < 2; ++order) {
    this->o = std::make_shared<observations>();
    auto t = std::make_unique<TypeParam>();
    auto ctx = this->make_context(*t);
    {
      net::steady_timer timer(*ctx);  // steady_timer(ExecutionContext&): through the conversion
      timer.expires_after(std::chrono::milliseconds(0));
      timer.async_wait([h = handler(this->o)](error_code) mutable { h(); });
      // Wait for the completion to reach the target (its hidden scheduler
      // thread posts it through our executor), then destroy the timer (the
      // I/O-object rule: before its context's handle).
      if constexpr (TypeParam::is_task) {
        wait_until([&] { return t->scheduled.load() > 0; });
      } else {
        wait_until([&] { return t->lw.has_work(); });
      }
    }
    this->end(ctx);
    if (order == 0) t->drain();
    t.reset();
    EXPECT_EQ(this->o->invoked.load(), 0);
    this->expect_released();
  }
}

// A timer cancelled (destroyed) before the handle, as Asio's rule for I/O
// objects wants: its operation_aborted completion comes back through the
// executor from the hidden scheduler thread; then the handle's release joins
// that thread.
TYPED_TEST(AsioTeardown, TimerCancelledThenHandle) {
  TypeParam t;
  auto ctx = this->make_context(t);
  auto timer = std::make_unique<net::steady_timer>(ctx->get_executor(), std::chrono::hours(1));
  timer->async_wait([h = handler(this->o)](error_code) mutable { h(); });
  // The I/O-object rule: the timer goes before the handle. Its cancelled
  // completion comes back through the executor (on the hidden thread).
  timer.reset();
  t.run_until([&] { return this->o->live.load() == 0; });  // the operation_aborted handler ran
  EXPECT_EQ(this->o->invoked.load(), 1);
  this->end(ctx);
  this->expect_released();
}

// The hidden scheduler thread drops the last reference: a timer on the
// context completes into the closed local_work, so the completion handler is
// destroyed inline, inside execute() on Asio's own scheduler thread - and
// the handle goes while that destructor runs (it waits for it). The release
// must not run there: its shutdown joins that very thread (a self-join, then
// the services freed under the thread's own run loop). It goes to the default
// fallback thread.
TEST_F(AsioTeardownLocal, HiddenSchedulerThreadDropsTheLastReference) {
  struct blocking_handler {
    std::shared_ptr<observations> o;
    std::shared_ptr<std::atomic<int>> phase;  // 1: in the destructor; 2: the handle is gone
    std::shared_ptr<std::thread::id> destroyed_on;
    bool armed = true;
    blocking_handler(std::shared_ptr<observations> obs, std::shared_ptr<std::atomic<int>> p,
                     std::shared_ptr<std::thread::id> d)
        : o(std::move(obs)), phase(std::move(p)), destroyed_on(std::move(d)) {}
    blocking_handler(blocking_handler&& b) noexcept
        : o(b.o), phase(b.phase), destroyed_on(b.destroyed_on), armed(std::exchange(b.armed, false)) {}
    blocking_handler& operator=(blocking_handler&&) = delete;
    void operator()(error_code) { o->invoked.fetch_add(1); }
    ~blocking_handler() {
      if (!armed) return;
      *destroyed_on = std::this_thread::get_id();
      phase->store(1, std::memory_order_release);
      wait_until([&] { return phase->load(std::memory_order_acquire) == 2; });
    }
  };
  local_target t;
  auto ctx = this->make_context(t);
  auto phase = std::make_shared<std::atomic<int>>(0);
  auto handler_thread = std::make_shared<std::thread::id>();
  t.close();
  {
    net::steady_timer timer(ctx->get_executor());
    timer.expires_after(std::chrono::milliseconds(0));
    timer.async_wait(blocking_handler(this->o, phase, handler_thread));
    // Its completion reaches the closed local_work on the hidden thread.
    wait_until([&] { return phase->load(std::memory_order_acquire) == 1; });
  }
  this->end(ctx);  // the hidden thread's execute() holds the last reference
  phase->store(2, std::memory_order_release);
  wait_until([&] { return this->o->destroyed.load(std::memory_order_acquire) != 0; });
  EXPECT_NE(*handler_thread, std::this_thread::get_id());
  EXPECT_NE(this->o->destroyed_on, *handler_thread) << "released on the thread its shutdown joins";
  EXPECT_NE(this->o->destroyed_on, std::this_thread::get_id()) << "released on the fallback thread";
  EXPECT_EQ(this->o->shutdowns.load(), 1);
  EXPECT_EQ(this->o->invoked.load(), 0);
}

// Many short-lived contexts whose timer completion races with the closed
// local_work and the handle's end: whichever drops the last reference, the
// release joins the hidden scheduler thread, which may be inside execute()
// then (taking and dropping a reference while the release holds the token).
// No leak, no double release, no use after free, no hang.
TEST_F(AsioTeardownLocal, TimerCompletionRacesWithTheEnd) {
  std::atomic<unsigned> spin_sink{0};
  for (int i = 0; i < 200; ++i) {
    auto o = std::make_shared<observations>();
    this->o = o;
    {
      local_target t;
      auto ctx = this->make_context(t);
      t.close();
      {
        net::steady_timer timer(ctx->get_executor());
        timer.expires_after(std::chrono::microseconds(i % 10));
        timer.async_wait([h = handler(o)](error_code) mutable { h(); });
      }  // cancelled (or fired): its completion reaches the closed local_work on the hidden thread
      // Vary the interleaving (not a timing check): give the hidden thread a
      // head start of 0 to ~20 k loop steps before the handle goes.
      for (int spin = 0; spin < (i % 20) * 1000; ++spin) spin_sink.fetch_add(1, std::memory_order_relaxed);
      ctx.reset();  // races with that completion's execute() for the last reference
      // Stop the I/O before the target goes: the completion is destroyed
      // (inline, by the closed local_work, or by the shutdown).
      wait_until([&] { return o->live.load() == 0; });
    }
    wait_until([&] { return o->destroyed.load(std::memory_order_acquire) != 0; });
    EXPECT_EQ(o->shutdowns.load(), 1);
    EXPECT_EQ(o->live.load(), 0);
    EXPECT_EQ(o->invoked.load(), 0);
  }
}

// --- co_spawn -----------------------------------------------------------------------

#if MPSCQ_TEST_CO_AWAIT

// A coroutine whose resumption is queued when the handle goes: the frame
// is destroyed by the target (its unwinding posted through the executor).
TYPED_TEST(AsioTeardown, CoSpawnPendingThenHandleThenTarget) {
  for (int order = 0; order < 3; ++order) {
    this->o = std::make_shared<observations>();
    auto t = std::make_unique<TypeParam>();
    auto ctx = this->make_context(*t);
    bool completed = false;
    net::co_spawn(
        ctx->get_executor(),
        [h = handler(this->o)]() mutable -> net::awaitable<void> {
          h();  // counted as an invocation
          // Bounded, so that a target that went on invoking after the end
          // (the old header) completes it instead of running forever.
          for (int i = 0; i < 1000; ++i) co_await net::post(net::use_awaitable);
        },
        [&](std::exception_ptr) { completed = true; });
    auto& target = *t;
    if constexpr (TypeParam::is_task) {
      ASSERT_GT(target.scheduled.load(), 0);
      target.scheduled.fetch_sub(1);
      // Starts it; its next resumption is queued. A capped run that says
      // `more` still owes the cycle: count it as a schedule to serve.
      if (target.tw.run(2).more) target.scheduled.fetch_add(1);
    } else {
      target.lw.run(2);
    }
    EXPECT_EQ(this->o->invoked.load(), 1);
    if (order == 2) t->close();  // the target first: the frame is destroyed by close()
    this->end(ctx);
    if (order == 0) t->drain();  // the runs destroy the frame (the context has ended)
    t.reset();
    EXPECT_FALSE(completed);
    this->expect_released();
  }
}

// A coroutine suspended on a timer of the context itself (Asio's hidden
// scheduler thread): the shutdown abandons the wait, the frame is unwound
// through the target, and the timer inside the frame is destroyed while its
// service is still there.
// Orders 0-2: the handle goes first (the target drains, closes, or is just
// destroyed). Orders 3-4: the target goes first (4: closed before), then
// the handle: the release's shutdown destroys the coroutine suspended on the
// context's timer, whose unwinding posts through the context - into a target
// that is gone. Once the handle is gone, execute() destroys such a function
// itself and never touches the target (ENDED). Before: an add() to the freed
// target (ASan heap-use-after-free in adder_gate::enter).
TYPED_TEST(AsioTeardown, CoSpawnOnAContextTimerThenHandle) {
  for (int order = 0; order < 5; ++order) {
    this->o = std::make_shared<observations>();
    auto t = std::make_unique<TypeParam>();
    auto ctx = this->make_context(*t);
    std::atomic<bool> waiting{false};
    bool completed = false;
    net::co_spawn(
        ctx->get_executor(),
        [h = handler(this->o), &waiting]() mutable -> net::awaitable<void> {
          net::steady_timer timer(co_await net::this_coro::executor, std::chrono::hours(1));
          waiting = true;
          co_await timer.async_wait(net::use_awaitable);
          h();
        },
        [&](std::exception_ptr) { completed = true; });
    t->run_until([&] { return waiting.load(); });
    if (order == 1 || order == 4) t->close();
    if (order >= 3) t.reset();  // the target first
    this->end(ctx);  // shutdown: the wait is abandoned, its unwinding posted
    if (order == 0) t->drain();
    t.reset();
    EXPECT_FALSE(completed);
    this->expect_released();
  }
}

#endif  // MPSCQ_TEST_CO_AWAIT

// --- the handle's conversions ---------------------------------------------------------

TEST(AsioContextHandle, ConvertsToItsExecutionContext) {
  mpscq::local_work lw;
  local_work_context ctx(lw, mpscq::wake::lazy);
  net::execution_context& e = ctx;
  EXPECT_EQ(&e, static_cast<net::execution_context*>(&ctx.context()));
  EXPECT_EQ(&ctx.target(), &lw);
  EXPECT_EQ(ctx.wake_mode(), mpscq::wake::lazy);
  EXPECT_EQ(&ctx.context().target(), &lw);
  EXPECT_EQ(ctx.context().wake_mode(), mpscq::wake::lazy);
  EXPECT_FALSE(net::has_service<probe>(ctx));
  static_assert(std::is_same_v<decltype(net::query(ctx.get_executor(), exn::context)),
                               mpscq::asio::local_work_execution_context&>);
  mpscq_test::manual_executor fallback;
  mpscq::task_work tw([](mpscq::task_work&) { return false; }, fallback);
  task_work_context tctx(tw);
  EXPECT_EQ(&tctx.target(), &tw);
  EXPECT_EQ(&net::query(tctx.get_executor(), exn::context), &tctx.context());
  lw.close();
}

}  // namespace
