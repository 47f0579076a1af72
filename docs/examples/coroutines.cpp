// docs/examples/coroutines.cpp - C++20 coroutines on mpscq (mpscq/coro.hpp):
// `co_await mpscq::resume_on(loop)` moves a coroutine onto a local_work
// owner thread, `co_await mpscq::resume_on(tw)` onto a task_work target, and
// each await says whether it got there (resumed::on_target) or the target
// was closed (resumed::cancelled: the coroutine still runs, and must not
// assume it is on the target's thread). Shown in docs/api.md; built and run
// as the CTest test doc_coroutines. Exits non-zero if any check fails.
#include <mpscq/coro.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace {

using namespace std::chrono_literals;

std::atomic<int> failures{0};  // check() runs on the loop's thread too
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ++failures;
  }
}

// The current thread, read through a call the compiler cannot see into:
// clang 14 may reuse std::this_thread::get_id() (pthread_self(), declared
// const) from before a co_await after the coroutine moved to another thread
// (llvm/llvm-project#47177). Use something like this to check where you are.
std::thread::id (*volatile current_thread)() = [] { return std::this_thread::get_id(); };

// The library ships awaitables, not a task type: bring your own. This one is
// fire-and-forget: it starts suspended, start() runs it up to its first
// co_await, and its frame frees itself when it ends.
struct job {
  struct promise_type {
    job get_return_object() noexcept { return job(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  explicit job(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  job(job&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  ~job() {
    if (h_) h_.destroy();  // never started
  }
  void start() && { std::exchange(h_, {}).resume(); }

 private:
  std::coroutine_handle<promise_type> h_;
};

// An event loop: one thread that owns a local_work and waits on it.
struct event_loop {
  event_loop() : thread([this] {
    while (!stopping.load(std::memory_order_acquire)) lw.wait(16, 10ms, 1ms);
    lw.close();  // coroutines still queued resume here, cancelled
  }) {}
  ~event_loop() {
    stopping.store(true, std::memory_order_release);
    thread.join();
  }
  mpscq::local_work lw;
  std::atomic<bool> stopping{false};
  std::thread thread;
};

// A task_work target: a thread that runs tw whenever the scheduler pokes it.
struct worker {
  worker() : thread([this] { loop(); }) {}
  ~worker() {
    tw.close();  // no new schedules; later awaits resume cancelled on the fallback thread
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_one();
    thread.join();
  }
  void loop() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      wake.wait(lock, [this] { return poked || stopping; });
      if (!poked) return;
      poked = false;
      lock.unlock();
      while (tw.run(64).more) {}  // honour the schedule: run until the cycle ends
      lock.lock();
    }
  }
  mpscq::task_work tw{[this](mpscq::task_work&) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      poked = true;
    }
    wake.notify_one();
    return true;
  }};
  std::mutex mutex;
  std::condition_variable wake;
  bool poked = false;
  bool stopping = false;
  std::thread thread;
};

struct request {
  int input = 0;
  int result = 0;          // written on the loop's thread
  bool failed = false;
  std::atomic<bool> done{false};
};

// Compute on the worker, then deliver on the event loop's thread. Every
// co_await tells where the coroutine now is.
job handle(request& r, worker& w, event_loop& loop) {
  // Bind the result, then test it: g++ 12 miscompiles a co_await inside an
  // if (or while/switch) condition (docs/api.md, section 9).
  const mpscq::resumed on_worker = co_await mpscq::resume_on(w.tw);
  if (on_worker == mpscq::resumed::cancelled) {
    r.failed = true;  // the worker is gone; we are on the fallback thread
    r.done.store(true, std::memory_order_release);
    co_return;
  }
  const int squared = r.input * r.input;  // on the worker's thread
  // Lazy: a batch of deliveries costs the loop one wake-up.
  const mpscq::resumed on_loop = co_await mpscq::resume_on(loop.lw, mpscq::wake::lazy);
  if (on_loop == mpscq::resumed::cancelled) {
    r.failed = true;  // the loop closed: inside its close(), or here if it was already closed
  } else {
    check(current_thread() == loop.thread.get_id(), "delivered on the loop's thread");
    r.result = squared;
  }
  r.done.store(true, std::memory_order_release);  // the last access to r
}

void hop_between_threads() {
  constexpr int n = 100;
  request reqs[n];
  {
    event_loop loop;
    worker w;
    for (int i = 0; i < n; ++i) {
      reqs[i].input = i;
      handle(reqs[i], w, loop).start();  // any thread may start one
    }
    for (request& r : reqs)
      while (!r.done.load(std::memory_order_acquire)) std::this_thread::sleep_for(100us);
  }  // the worker and then the loop stop
  for (int i = 0; i < n; ++i) check(!reqs[i].failed && reqs[i].result == i * i, "each request computed once");
}

void await_after_close() {
  mpscq::local_work lw;
  lw.close();
  request r;
  [](request& req, mpscq::local_work& closed) -> job {
    // Closed: add() runs the item at once, on this thread, and the coroutine
    // continues without suspending.
    const std::thread::id before = current_thread();
    req.failed = co_await mpscq::resume_on(closed) == mpscq::resumed::cancelled;
    check(current_thread() == before, "a cancelled await on a closed owner stays on this thread");
    req.done.store(true, std::memory_order_release);
  }(r, lw).start();
  check(r.done.load(std::memory_order_acquire) && r.failed, "cancelled, and already finished");
}

}  // namespace

int main() {
  hop_between_threads();
  await_after_close();
  if (failures != 0) return 1;
  std::puts("coroutines: OK");
  return 0;
}
