// tests/asio/asio_executor_test.cpp - mpscq/asio.hpp against one Asio flavour
// (built twice: MPSCQ_ASIO_USE_BOOST=0 for standalone Asio, =1 for
// Boost.Asio). No timed checks: every wait is for an event, and a hang is
// CTest's timeout.
#include "asio_flavour.hpp"

#include <gtest/gtest.h>

#include "test_executors.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace net = mpscq::asio::net;
namespace exn = net::execution;
using mpscq::asio::local_work_context;
using mpscq::asio::local_work_executor;
using mpscq::asio::task_work_context;
using mpscq::asio::task_work_executor;

#if MPSCQ_ASIO_USE_BOOST
static_assert(BOOST_ASIO_VERSION >= 101800);
using error_code = boost::system::error_code;
#else
static_assert(ASIO_VERSION >= 101800);
using error_code = std::error_code;
#endif

// --- the executor requirements, at compile time -----------------------------

static_assert(exn::is_executor<local_work_executor>::value);
static_assert(exn::is_executor<task_work_executor>::value);
static_assert(std::is_nothrow_copy_constructible_v<local_work_executor>);
static_assert(std::is_convertible_v<local_work_executor, net::any_io_executor>);
static_assert(std::is_convertible_v<task_work_executor, net::any_io_executor>);
static_assert(net::can_require<local_work_executor, exn::blocking_t::never_t>::value);
static_assert(net::can_require<local_work_executor, exn::blocking_t::possibly_t>::value);
static_assert(!net::can_require<local_work_executor, exn::blocking_t::always_t>::value);
static_assert(net::can_require<local_work_executor, exn::relationship_t::continuation_t>::value);
static_assert(net::can_require<local_work_executor, exn::outstanding_work_t::untracked_t>::value);
static_assert(!net::can_require<local_work_executor, exn::outstanding_work_t::tracked_t>::value);
static_assert(net::can_prefer<local_work_executor, exn::outstanding_work_t::tracked_t>::value);
static_assert(net::can_query<local_work_executor, exn::context_t>::value);

namespace {

// The owner waits for an event (no timing): eager adds wake it.
template <class Done>
void run_until(mpscq::local_work& lw, Done done) {
  while (!done()) lw.wait(1, std::chrono::nanoseconds::max());
}

// A function object that counts its live copies and its invocations.
struct tracked_handler {
  std::shared_ptr<std::atomic<int>> live;
  std::shared_ptr<std::atomic<int>> invoked;
  explicit tracked_handler(std::shared_ptr<std::atomic<int>> l, std::shared_ptr<std::atomic<int>> i)
      : live(std::move(l)), invoked(std::move(i)) {
    ++*live;
  }
  tracked_handler(const tracked_handler& o) : live(o.live), invoked(o.invoked) { ++*live; }
  tracked_handler(tracked_handler&& o) noexcept : live(o.live), invoked(o.invoked) { ++*live; }
  tracked_handler& operator=(const tracked_handler&) = delete;
  ~tracked_handler() { --*live; }
  void operator()() { ++*invoked; }
};

// --- properties ----------------------------------------------------------------

TEST(AsioExecutor, PropertiesAndEquality) {
  mpscq::local_work lw;
  local_work_context ctx(lw);
  const local_work_executor ex = ctx.get_executor();

  // The context is the shared execution context that owns the services, not
  // the handle; the handle converts to it.
  EXPECT_EQ(&net::query(ex, exn::context), &ctx.context());
  static_assert(std::is_same_v<decltype(net::query(ex, exn::context)), mpscq::asio::local_work_execution_context&>);
  net::execution_context& base = net::query(ex, exn::context_as<net::execution_context&>);
  EXPECT_EQ(&base, static_cast<net::execution_context*>(&ctx.context()));
  EXPECT_EQ(&static_cast<net::execution_context&>(ctx), &base);
  EXPECT_EQ(&ctx.context().target(), &lw);
  EXPECT_EQ(net::query(ex, exn::blocking), exn::blocking.possibly);
  EXPECT_EQ(net::query(ex, exn::relationship), exn::relationship.fork);
  EXPECT_EQ(net::query(ex, exn::outstanding_work), exn::outstanding_work.untracked);
  EXPECT_EQ(net::query(ex, exn::mapping), exn::mapping.thread);

  const auto never = net::require(ex, exn::blocking.never);
  EXPECT_EQ(net::query(never, exn::blocking), exn::blocking.never);
  EXPECT_NE(never, ex);
  EXPECT_EQ(net::require(never, exn::blocking.possibly), ex);
  const auto cont = net::require(ex, exn::relationship.continuation);
  EXPECT_EQ(net::query(cont, exn::relationship), exn::relationship.continuation);
  EXPECT_EQ(net::require(cont, exn::relationship.fork), ex);
  EXPECT_EQ(net::prefer(ex, exn::outstanding_work.tracked), ex);  // unsupported: unchanged
  EXPECT_EQ(net::require(ex, exn::outstanding_work.untracked), ex);

  const auto other_alloc = net::require(ex, exn::allocator(std::allocator<int>()));
  static_assert(std::is_same_v<decltype(net::query(other_alloc, exn::allocator)), std::allocator<int>>);
  EXPECT_EQ(net::require(other_alloc, exn::allocator), ex);

  EXPECT_EQ(ex, ctx.get_executor());
  local_work_context ctx2(lw);
  EXPECT_NE(ex, ctx2.get_executor());  // another context, same local_work

  net::any_io_executor any = ex;  // what co_spawn and I/O objects hold
  EXPECT_EQ(&net::query(any, exn::context), static_cast<net::execution_context*>(&ctx.context()));
  EXPECT_NE(any.target<local_work_executor>(), nullptr);
  lw.close();
}

// --- post / dispatch on a local_work -----------------------------------------

TEST(AsioExecutor, PostIsFifoAndRunsOnTheOwner) {
  mpscq::local_work lw;
  local_work_context ctx(lw);
  std::vector<int> order;
  const auto owner = std::this_thread::get_id();
  bool wrong_thread = false;
  for (int i = 0; i < 100; ++i) {
    net::post(ctx.get_executor(), [&, i] {
      order.push_back(i);
      wrong_thread = wrong_thread || std::this_thread::get_id() != owner;
    });
  }
  EXPECT_TRUE(order.empty()) << "post never runs inline";
  EXPECT_EQ(lw.run(1000), 100);
  ASSERT_EQ(order.size(), 100U);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  EXPECT_FALSE(wrong_thread);
  lw.close();
}

TEST(AsioExecutor, DispatchRunsInlineOnlyInsideTheOwnersHandlers) {
  mpscq::local_work lw;
  local_work_context ctx(lw);
  const local_work_executor ex = ctx.get_executor();
  std::vector<std::string> log;

  // On the owner thread but outside any handler: not "running in this
  // thread", so dispatch queues (RUNNING IN THIS THREAD).
  EXPECT_FALSE(ex.running_in_this_thread());
  net::dispatch(ex, [&] { log.push_back("outside"); });
  EXPECT_TRUE(log.empty());

  net::post(ex, [&] {
    log.push_back("a begin");
    EXPECT_TRUE(ex.running_in_this_thread());
    net::dispatch(ex, [&] { log.push_back("a dispatched"); });  // inline
    net::post(ex, [&] { log.push_back("a posted"); });          // queued
    net::defer(ex, [&] { log.push_back("a deferred"); });       // queued
    log.push_back("a end");
  });
  net::post(ex, [&] { log.push_back("b"); });
  EXPECT_EQ(lw.run(100), 5);
  const std::vector<std::string> want{"outside", "a begin", "a dispatched", "a end", "b", "a posted", "a deferred"};
  EXPECT_EQ(log, want);

  // execute() with blocking.never queues even inside a handler.
  log.clear();
  net::post(ex, [&] {
    net::require(ex, exn::blocking.never).execute([&] { log.push_back("never"); });
    log.push_back("after");
  });
  lw.run(100);
  const std::vector<std::string> want2{"after", "never"};
  EXPECT_EQ(log, want2);
  lw.close();
}

TEST(AsioExecutor, DispatchFromAnotherThreadQueues) {
  mpscq::local_work lw;
  local_work_context ctx(lw);
  std::atomic<bool> ran{false};
  std::thread([&] {
    net::dispatch(ctx.get_executor(), [&] { ran = true; });
    EXPECT_FALSE(ran.load());
  }).join();
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(lw.run(10), 1);
  EXPECT_TRUE(ran.load());
  lw.close();
}

TEST(AsioExecutor, ManyThreadsEachHandlerOnceOnTheOwner) {
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  mpscq::local_work lw;
  local_work_context ctx(lw, mpscq::wake::lazy);  // lazy adds: the owner waits for batches
  const auto owner = std::this_thread::get_id();
  // Owner-only state, plain (TSan checks that add() orders it).
  std::vector<int> runs(threads * per_thread, 0);
  std::array<int, threads> next{};
  int total = 0;
  bool in_order = true;
  bool wrong_thread = false;
  std::vector<std::thread> producers;
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&, t] {
      const local_work_executor ex = ctx.get_executor();
      for (int i = 0; i < per_thread; ++i) {
        net::post(ex, [&, t, i] {
          ++runs[static_cast<std::size_t>(t * per_thread + i)];
          in_order = in_order && next[static_cast<std::size_t>(t)] == i;
          next[static_cast<std::size_t>(t)] = i + 1;
          wrong_thread = wrong_thread || std::this_thread::get_id() != owner;
          ++total;
        });
      }
    });
  }
  // Lazy adds wake the owner only per batch of min_events; a short min_wait
  // lets the last partial batch through (a liveness bound, not a check).
  while (total < threads * per_thread)
    lw.wait(64, std::chrono::nanoseconds::max(), std::chrono::milliseconds(1));
  for (auto& p : producers) p.join();
  EXPECT_EQ(total, threads * per_thread);
  for (int r : runs) ASSERT_EQ(r, 1);
  EXPECT_TRUE(in_order);
  EXPECT_FALSE(wrong_thread);
  lw.close();
}

// --- handlers of I/O on an io_context thread, hopping to the owner ------------

struct io_thread {
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> guard = net::make_work_guard(io);
  std::thread thread{[this] { io.run(); }};
  ~io_thread() {
    guard.reset();
    thread.join();
  }
};

TEST(AsioExecutor, TimerCompletionHopsToTheOwner) {
  mpscq::local_work lw;
  local_work_context ctx(lw);
  const auto owner = std::this_thread::get_id();
  io_thread io;
  net::steady_timer timer(io.io, std::chrono::milliseconds(1));
  bool done = false;
  std::thread::id ran_on;
  error_code result = net::error::operation_aborted;
  timer.async_wait(net::bind_executor(ctx.get_executor(), [&](error_code ec) {
    ran_on = std::this_thread::get_id();
    result = ec;
    done = true;
  }));
  run_until(lw, [&] { return done; });
  EXPECT_EQ(ran_on, owner);
  EXPECT_FALSE(result);
  lw.close();
}

TEST(AsioExecutor, SocketPairCompletionsHopToTheOwner) {
  mpscq::local_work lw;
  local_work_context ctx(lw);
  const auto owner = std::this_thread::get_id();
  io_thread io;
  net::local::stream_protocol::socket a(io.io), b(io.io);
  net::local::connect_pair(a, b);
  std::array<char, 5> buf{};
  bool read_done = false, write_done = false;
  bool wrong_thread = false;
  std::size_t got = 0;
  net::async_read(b, net::buffer(buf), net::bind_executor(ctx.get_executor(), [&](error_code ec, std::size_t n) {
                    wrong_thread = wrong_thread || std::this_thread::get_id() != owner;
                    EXPECT_FALSE(ec);
                    got = n;
                    read_done = true;
                  }));
  static const char msg[5] = {'h', 'e', 'l', 'l', 'o'};
  net::async_write(a, net::buffer(msg), net::bind_executor(ctx.get_executor(), [&](error_code ec, std::size_t) {
                     wrong_thread = wrong_thread || std::this_thread::get_id() != owner;
                     EXPECT_FALSE(ec);
                     write_done = true;
                   }));
  run_until(lw, [&] { return read_done && write_done; });
  EXPECT_EQ(got, 5U);
  EXPECT_EQ(std::string(buf.data(), buf.size()), "hello");
  EXPECT_FALSE(wrong_thread);
  lw.close();
}

// --- co_spawn ----------------------------------------------------------------

#if MPSCQ_TEST_CO_AWAIT

TEST(AsioExecutor, CoSpawnResumesOnTheOwner) {
  mpscq::local_work lw;
  local_work_context ctx(lw);
  const auto owner = std::this_thread::get_id();
  io_thread io;
  std::vector<std::thread::id> seen;
  bool finished = false;
  std::exception_ptr error;
  net::co_spawn(
      ctx.get_executor(),
      [&]() -> net::awaitable<int> {
        seen.push_back(std::this_thread::get_id());
        co_await net::post(net::use_awaitable);  // to the coroutine's executor: ours
        seen.push_back(std::this_thread::get_id());
        net::steady_timer timer(io.io, std::chrono::milliseconds(1));  // on the io_context
        co_await timer.async_wait(net::use_awaitable);                // resumes via our executor
        seen.push_back(std::this_thread::get_id());
        auto ex = co_await net::this_coro::executor;
        EXPECT_NE(ex.target<local_work_executor>(), nullptr);
        co_return 42;
      },
      [&](std::exception_ptr e, int v) {
        error = e;
        EXPECT_EQ(v, 42);
        finished = true;
      });
  run_until(lw, [&] { return finished; });
  EXPECT_FALSE(error);
  ASSERT_EQ(seen.size(), 3U);
  for (const auto& id : seen) EXPECT_EQ(id, owner);
  lw.close();
}

#else
TEST(AsioExecutor, CoSpawnNotAvailable) {
  GTEST_SKIP() << "this Asio has no co_await support with this compiler; the co_spawn tests are not built";
}
#endif

// --- closed target: destroyed, not invoked -------------------------------------

TEST(AsioExecutor, ClosedLocalWorkDestroysHandlersWithoutInvoking) {
  auto live = std::make_shared<std::atomic<int>>(0);
  auto invoked = std::make_shared<std::atomic<int>>(0);
  {
    mpscq::local_work lw;
    local_work_context ctx(lw);
    net::post(ctx.get_executor(), tracked_handler(live, invoked));  // queued
    net::post(ctx.get_executor(), tracked_handler(live, invoked));
    EXPECT_EQ(live->load(), 2);
    lw.close();  // the drain destroys both
    EXPECT_EQ(live->load(), 0);
    // After close(): destroyed inside post(), on this thread.
    net::post(ctx.get_executor(), tracked_handler(live, invoked));
    EXPECT_EQ(live->load(), 0);
    std::thread([&] { net::post(ctx.get_executor(), tracked_handler(live, invoked)); }).join();
    EXPECT_EQ(live->load(), 0);
    EXPECT_EQ(lw.stats().items_cancelled, 2U);
    EXPECT_EQ(lw.stats().cancelled_inline, 2U);
  }
  EXPECT_EQ(invoked->load(), 0);
  EXPECT_EQ(live->load(), 0);
}

#if MPSCQ_TEST_CO_AWAIT
TEST(AsioExecutor, ClosedLocalWorkDestroysAPendingCoroutine) {
  // A coroutine suspended in a post whose resumption is still queued when the
  // owner closes: the handler (and with it the coroutine frame) is destroyed.
  // ASan reports a leak if anything is left behind.
  auto live = std::make_shared<std::atomic<int>>(0);
  auto invoked = std::make_shared<std::atomic<int>>(0);
  bool completed = false;
  {
    mpscq::local_work lw;
    local_work_context ctx(lw);
    net::co_spawn(
        ctx.get_executor(),
        [h = tracked_handler(live, invoked)]() -> net::awaitable<void> {
          co_await net::post(net::use_awaitable);
          co_await net::post(net::use_awaitable);
        },
        [&](std::exception_ptr) { completed = true; });
    EXPECT_GE(lw.run(1), 1);  // starts the coroutine (co_spawn posts its start)
    EXPECT_GE(live->load(), 1);
    lw.close();
  }
  EXPECT_FALSE(completed);
  EXPECT_EQ(live->load(), 0);
}

TEST(AsioExecutor, TheDestructorMayCancelACoroutineAfterTheContextIsGone) {
  // The natural declaration order (local_work, then its context) destroys the
  // context's handle first; ~local_work's drain then destroys the queued
  // co_spawn handler, whose destructor posts the frame's unwinding through
  // the executor. The queued item's reference keeps the execution context
  // alive until then (once a heap use after free under ASan; found by the
  // adversarial review, and again for strands in issue 18:
  // asio_teardown_test.cpp).
  auto live = std::make_shared<std::atomic<int>>(0);
  auto invoked = std::make_shared<std::atomic<int>>(0);
  bool completed = false;
  {
    mpscq::local_work lw;
    auto ctx = std::make_unique<local_work_context>(lw);  // on the heap: ASan sees its end
    net::co_spawn(
        ctx->get_executor(),
        [h = tracked_handler(live, invoked)]() -> net::awaitable<void> {
          co_await net::post(net::use_awaitable);
          co_await net::post(net::use_awaitable);
        },
        [&](std::exception_ptr) { completed = true; });
    EXPECT_GE(lw.run(1), 1);  // starts the coroutine; its resumption is queued
    ctx.reset();              // no close(): the destructor cancels
  }
  EXPECT_FALSE(completed);
  EXPECT_EQ(live->load(), 0);
}
#endif

// --- task_work: a strand over a thread pool -------------------------------------

// The target: drain jobs posted to an io_context run by `threads` threads.
struct pool_strand {
  explicit pool_strand(int threads) {
    for (int i = 0; i < threads; ++i) workers.emplace_back([this] { io.run(); });
  }
  ~pool_strand() {
    guard.reset();
    for (auto& w : workers) w.join();
  }
  void drain() {
    if (tw.run(16).more) net::post(io, [this] { drain(); });
  }
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> guard = net::make_work_guard(io);
  mpscq::task_work tw{[this](mpscq::task_work&) {
    net::post(io, [this] { drain(); });
    return true;
  }};
  std::vector<std::thread> workers;
};

TEST(AsioExecutor, TaskWorkExecutorSerializesOnAPool) {
  constexpr int threads = 4;
  constexpr int per_thread = 3000;
  auto pool = std::make_unique<pool_strand>(2);
  task_work_context ctx(pool->tw);
  // Strand state: plain, touched only by the handlers (TSan checks that they
  // are ordered one after the other).
  int total = 0;
  bool inside = false;
  bool overlapped = false;
  std::array<int, threads> next{};
  bool in_order = true;
  int inline_dispatches = 0;
  std::atomic<int> finished{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&, t] {
      const task_work_executor ex = ctx.get_executor();
      for (int i = 0; i < per_thread; ++i) {
        net::post(ex, [&, ex, t, i] {
          overlapped = overlapped || inside;
          inside = true;
          in_order = in_order && next[static_cast<std::size_t>(t)] == i;
          next[static_cast<std::size_t>(t)] = i + 1;
          if (i % 100 == 0) {
            bool ran = false;
            net::dispatch(ex, [&] { ran = true; });  // inside the strand: inline
            inline_dispatches += ran ? 1 : 0;
          }
          ++total;
          inside = false;
          finished.fetch_add(1, std::memory_order_release);
        });
      }
    });
  }
  for (auto& p : producers) p.join();
  while (finished.load(std::memory_order_acquire) < threads * per_thread) std::this_thread::yield();
  pool.reset();  // joins the pool
  EXPECT_EQ(total, threads * per_thread);
  EXPECT_FALSE(overlapped);
  EXPECT_TRUE(in_order);
  EXPECT_EQ(inline_dispatches, threads * per_thread / 100);
}

#if MPSCQ_TEST_CO_AWAIT
TEST(AsioExecutor, TaskWorkCoSpawnRunsOnTheStrand) {
  auto pool = std::make_unique<pool_strand>(2);
  task_work_context ctx(pool->tw);
  std::atomic<bool> finished{false};
  bool ok = true;
  net::co_spawn(
      ctx.get_executor(),
      [&]() -> net::awaitable<void> {
        for (int i = 0; i < 10; ++i) {
          const auto ex = co_await net::this_coro::executor;
          ok = ok && ex.target<task_work_executor>()->running_in_this_thread();
          co_await net::post(net::use_awaitable);
        }
      },
      [&](std::exception_ptr e) {
        ok = ok && !e;
        finished.store(true, std::memory_order_release);
      });
  while (!finished.load(std::memory_order_acquire)) std::this_thread::yield();
  pool.reset();
  EXPECT_TRUE(ok);
}
#endif

using manual_fallback = mpscq_test::manual_executor;  // task_work's cancel path, driven by hand

TEST(AsioExecutor, ClosedTaskWorkDestroysHandlersWithoutInvoking) {
  auto live = std::make_shared<std::atomic<int>>(0);
  auto invoked = std::make_shared<std::atomic<int>>(0);
  manual_fallback fallback;
  {
    int schedules = 0;
    mpscq::task_work tw(
        [&](mpscq::task_work&) {
          ++schedules;
          return true;  // this thread runs it below
        },
        fallback);
    task_work_context ctx(tw);
    net::post(ctx.get_executor(), tracked_handler(live, invoked));  // schedules a cycle
    tw.close();
    net::post(ctx.get_executor(), tracked_handler(live, invoked));  // joins the owed cycle
    EXPECT_EQ(live->load(), 2);
    EXPECT_FALSE(tw.run().more);  // the owed run: both cancelled, destroyed
    EXPECT_EQ(live->load(), 0);
    net::post(ctx.get_executor(), tracked_handler(live, invoked));  // a new cycle: to the fallback
    EXPECT_EQ(live->load(), 1);
    EXPECT_EQ(fallback.run_all(), 1u);
    EXPECT_EQ(live->load(), 0);
    EXPECT_EQ(schedules, 1);
  }
  EXPECT_EQ(invoked->load(), 0);
}

// --- allocation -------------------------------------------------------------------

// Counts allocations; all copies share the counter.
template <class T>
struct counting_allocator {
  using value_type = T;
  std::shared_ptr<std::atomic<int>> count;
  explicit counting_allocator(std::shared_ptr<std::atomic<int>> c) noexcept : count(std::move(c)) {}
  template <class U>
  counting_allocator(const counting_allocator<U>& o) noexcept : count(o.count) {}
  T* allocate(std::size_t n) {
    ++*count;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    --*count;
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(const counting_allocator<U>& o) const noexcept {
    return count == o.count;
  }
};

// A handler with an associated allocator (bind_allocator is newer than Boost 1.74).
struct handler_with_allocator {
  using allocator_type = counting_allocator<void>;
  allocator_type alloc;
  int* ran;
  allocator_type get_allocator() const noexcept { return alloc; }
  void operator()() { ++*ran; }
};

TEST(AsioExecutor, ItemsUseTheAllocatorProperty) {
  mpscq::local_work lw;
  local_work_context ctx(lw);
  auto count = std::make_shared<std::atomic<int>>(0);
  const auto ex = net::require(ctx.get_executor(), exn::allocator(counting_allocator<void>(count)));
  int ran = 0;
  net::require(ex, exn::blocking.never).execute([&] {
    EXPECT_EQ(count->load(), 0) << "the item is freed before the function runs";
    ++ran;
  });
  EXPECT_EQ(count->load(), 1);
  lw.run(10);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(count->load(), 0);
  // A handler's associated allocator reaches the item through asio::post.
  net::post(ctx.get_executor(), handler_with_allocator{counting_allocator<void>(count), &ran});
  EXPECT_GE(count->load(), 1);
  lw.run(10);
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(count->load(), 0);
  lw.close();
}

}  // namespace
