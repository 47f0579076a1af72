// mpscq/detail/fallback_executor_impl.hpp - the body of <mpscq/fallback_executor.hpp>:
// one lazily started thread that runs the jobs task_work hands over when a
// target refuses its queue.
//
// Internal header: not part of the public API. As a *_impl.hpp file it is
// the body of a public header and may include public headers (the queue and
// the work item it runs); every other detail/ header includes only detail/
// and the floor (node.hpp). The public interface,
// mpscq::fallback_executor and mpscq::default_fallback_executor(), lives in
// <mpscq/fallback_executor.hpp>, which wraps this class. Not available in
// model builds (no MPSCQ_DETAIL_NATIVE_THREADS): a model passes its own executor. POSIX
// only (pthread_create, pthread_atfork).
//
// HOW IT WORKS
//   Jobs arrive through an mpscq::queue: execute() is a wait-free push, plus a
//   mutex and a notify only when the queue was empty. The thread pops under
//   the mutex and runs each job with the mutex released; when the queue is
//   empty it sleeps on a condition variable. When a producer is inside its
//   push's in-flight window (pop() == nullptr while !empty()) the thread
//   backs off (detail/backoff.hpp: yields, then sleeps growing to ~1 ms),
//   with the mutex released, and starts over from short pauses after every
//   job it runs. Never destroyed: objects with static storage duration may
//   still hand it jobs during exit.
//
// STARTING
//   start() starts the thread if it is not running and throws
//   std::system_error if it cannot (pthread_create failed: EAGAIN when the
//   process is out of threads or memory). execute() starts it too if needed;
//   it is noexcept, so there a failure is reported ("mpscq::fallback_executor:
//   cannot start ...: <strerror>" on stderr) and aborts - a job that cannot
//   run would make its task_work's destructor wait forever.
//
// FORK
//   Every instance registers (once, with one pthread_atfork for all of them):
//   - prepare: takes each instance's mutex. The thread pops only under it, so
//     the consumer cursor is consistent when the process is copied: the
//     thread is either asleep or running a job it has already popped.
//   - parent: releases the mutexes; nothing else changes.
//   - child: only the forking thread exists. The mutex is released, the
//     condition variable re-initialised (the parent's thread may have been a
//     waiter), and the instance is marked not running, so the next start()
//     or execute() starts a new thread; if jobs are queued, the thread is
//     started at once (a failure there is reported and aborts, as in
//     execute()). Jobs queued before the fork therefore run in the child -
//     and in the parent: each process has its own copy of the memory.
//     If the forking thread is the fallback thread itself (a job called
//     fork()), it goes on being the fallback thread in the child.
//   Not supported - the state of other threads at the moment of the fork:
//   - the job the fallback thread was running (another thread's fork) does
//     not finish in the child: the task_work that handed it over waits for
//     it in its destructor forever (as it would for a run() that was active
//     on another thread);
//   - a producer preempted inside its push (between the exchange and the
//     link, see queue.hpp) never links its node in the child: that job and
//     every job queued behind it never run there, and the child's thread
//     backs off (sleeping, not spinning) forever;
//   - an execute() on another thread between its push and its notify is
//     harmless: the new thread looks at the queue before it sleeps.
//   A child that execs or _exits at once is always fine (the restart, if any,
//   costs one thread creation).
#ifndef MPSCQ_DETAIL_FALLBACK_EXECUTOR_IMPL_HPP
#define MPSCQ_DETAIL_FALLBACK_EXECUTOR_IMPL_HPP

#if MPSCQ_DETAIL_NATIVE_THREADS

#include <pthread.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <system_error>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/backoff.hpp>
#include <mpscq/detail/misuse.hpp>
#include <mpscq/queue.hpp>
#include <mpscq/work.hpp>

namespace mpscq::detail {

struct fallback_thread_access;  // tests reach the job queue through this

class fallback_thread {
 public:
  /// Registers this instance for fork handling. Throws std::system_error if
  /// pthread_atfork cannot register the handlers (ENOMEM).
  fallback_thread() { fork_registry::add(*this); }

  fallback_thread(const fallback_thread&) = delete;
  fallback_thread& operator=(const fallback_thread&) = delete;
  // No destructor worth having: instances are never destroyed (the thread
  // and the fork registry refer to them for the rest of the process).

  /// Starts the thread if it is not running. Throws std::system_error (code:
  /// pthread_create's error) if it cannot be started.
  void start() {
    if (started_.load(std::memory_order_acquire)) return;  // [F4]
    if (const int rc = try_start(); rc != 0) {
#if defined(__cpp_exceptions)
      throw std::system_error(rc, std::generic_category(),
                              "mpscq::fallback_executor: cannot start the default fallback thread (pthread_create)");
#else
      cannot_start(rc, "");
#endif
    }
  }

  /// Queues `job`; the thread runs job.func(job, run_state{true}) later.
  /// Starts the thread if needed (then a failure is reported and aborts).
  void execute(work& job) noexcept {
    if (!started_.load(std::memory_order_acquire)) {  // [F4]
      if (const int rc = try_start(); rc != 0) cannot_start(rc, "");
    }
    if (jobs_.push(&job.hook)) {
      // Only the push that found the queue empty signals: the thread runs
      // until it sees the queue empty, so the others are picked up anyway.
      {
        std::lock_guard<std::mutex> lock(mutex_);
        signalled_ = true;
      }
      wake_.notify_one();
    }
  }

  /// True while a thread serves this instance (a snapshot).
  bool running() const noexcept { return started_.load(std::memory_order_acquire); }  // [F4]

 private:
  friend struct fallback_thread_access;

  // Returns 0 or pthread_create's error code.
  int try_start() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (started_.load(std::memory_order_relaxed)) return 0;  // [F6] another caller won
    return start_locked();
  }

  int start_locked() noexcept {
    pthread_t tid;
    // Default attributes, so the process's defaults (stack size) apply.
    const int rc = pthread_create(&tid, nullptr, &fallback_thread::thread_main, this);
    if (rc != 0) return rc;
    pthread_detach(tid);
    loop_thread_ = tid;
    // [F5] Release: pairs with the acquire in start()/execute(); the store under
    // the mutex is what the fork handlers and try_start() rely on.
    started_.store(true, std::memory_order_release);
    return 0;
  }

  [[noreturn]] static void cannot_start(int rc, const char* when) noexcept {
    char message[256];
    std::snprintf(message, sizeof message,
                  "cannot start the default fallback thread%s: %s (pthread_create); "
                  "refused work would never run",
                  when, std::strerror(rc));
    misuse("fallback_executor", message);
  }

  static void* thread_main(void* self) noexcept {
    static_cast<fallback_thread*>(self)->loop();
    return nullptr;
  }

  void loop() noexcept {
    std::unique_lock<std::mutex> lock(mutex_);
    backoff wait;
    for (;;) {
      // The consumer is touched only under the mutex: fork's prepare handler
      // takes it, so the child inherits a consistent cursor.
      if (node* n = consumer_.pop()) {
        if (wait.rounds() != 0) wait = backoff{};  // progress: short pauses again
        lock.unlock();
        work& job = work::from_hook(n);
        job(run_state{true});  // `job` may be gone once this returns
        lock.lock();
        continue;
      }
      if (!jobs_.empty()) {
        // A producer inside its push's in-flight window (queue.hpp): back
        // off, without the mutex (producers signalling need it), and retry.
        lock.unlock();
        wait.pause();
        lock.lock();
        continue;
      }
      // Empty: a later push returns true and sets signalled_ under the mutex,
      // so a push between our empty() and the wait below is not missed.
      wait = backoff{};
      wake_.wait(lock, [this] { return signalled_; });
      signalled_ = false;
    }
  }

  // --- fork handling (see FORK above) ---------------------------------------
  void before_fork() noexcept { mutex_.lock(); }
  void after_fork_parent() noexcept { mutex_.unlock(); }
  void after_fork_child() noexcept {
    // The forking thread took the mutex in before_fork(): release it. The
    // condition variable may count the parent's thread as a waiter, which
    // no longer exists (a notify could wait for it): make a new one.
    mutex_.unlock();
    new (&wake_) std::condition_variable();
    signalled_ = false;  // a new thread looks at the queue before it sleeps
    // [F7] Relaxed loads/stores: the child has one thread.
    if (!started_.load(std::memory_order_relaxed)) return;
    if (pthread_equal(loop_thread_, pthread_self()) != 0) return;  // a job forked: we are the thread
    started_.store(false, std::memory_order_relaxed);  // [F7]
    if (!jobs_.empty()) {
      // Jobs handed over before the fork: start at once, or nobody runs them
      // (a task_work's destructor in the child would wait forever).
      if (const int rc = start_locked(); rc != 0) cannot_start(rc, " after fork() in the child");
    }
  }

  // One pthread_atfork registration for every instance; instances are never
  // destroyed, so the list only grows. Lock order: registry, then instances.
  class fork_registry {
   public:
    static void add(fallback_thread& t) {
      std::lock_guard<std::mutex> lock(mutex());
      if (!registered()) {
        if (const int rc = pthread_atfork(&prepare, &parent, &child); rc != 0) {
#if defined(__cpp_exceptions)
          throw std::system_error(rc, std::generic_category(),
                                  "mpscq::fallback_executor: cannot register the fork handlers (pthread_atfork)");
#else
          misuse("fallback_executor", "cannot register the fork handlers (pthread_atfork)");
#endif
        }
        registered() = true;
      }
      t.next_instance_ = head();
      head() = &t;
    }

   private:
    static std::mutex& mutex() noexcept {
      static std::mutex m;
      return m;
    }
    static fallback_thread*& head() noexcept {
      static fallback_thread* h = nullptr;
      return h;
    }
    static bool& registered() noexcept {
      static bool r = false;
      return r;
    }
    static void prepare() noexcept {
      mutex().lock();
      for (fallback_thread* t = head(); t != nullptr; t = t->next_instance_) t->before_fork();
    }
    static void parent() noexcept {
      for (fallback_thread* t = head(); t != nullptr; t = t->next_instance_) t->after_fork_parent();
      mutex().unlock();
    }
    static void child() noexcept {
      for (fallback_thread* t = head(); t != nullptr; t = t->next_instance_) t->after_fork_child();
      mutex().unlock();
    }
  };

  queue jobs_;
  consumer consumer_{jobs_};  // the thread's (also across a restart in a child)
  std::mutex mutex_;          // guards consumer_, signalled_, loop_thread_, starting
  std::condition_variable wake_;
  bool signalled_ = false;
  detail::atomic<bool> started_{false};  // written under mutex_ (and by the child handler)
  pthread_t loop_thread_{};
  fallback_thread* next_instance_ = nullptr;  // fork_registry's list
};

/// Test access to the job queue, to hold a producer inside its push's
/// in-flight window (with queue_access). Not for production use.
struct fallback_thread_access {
  static queue& jobs(fallback_thread& t) noexcept { return t.jobs_; }
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_NATIVE_THREADS

#endif  // MPSCQ_DETAIL_FALLBACK_EXECUTOR_IMPL_HPP
