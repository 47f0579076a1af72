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
// FORK (the rules: docs/api.md 6.6; the hooks: detail/fork_hooks.hpp)
//   Pending work belongs to the process that queued it - as in the kernel,
//   where a forked child inherits none of its parent's pending task work.
//   The jobs are user code with external effects (a reply on a socket, a log
//   line, ...), so a child must never run jobs it did not queue unless it
//   asks. Every instance is a fork hook:
//   - prepare: takes the instance's mutex. The thread pops only under it, so
//     the consumer cursor is consistent when the process is copied: the
//     thread is either asleep or running a job it has already popped.
//   - parent: releases the mutex; nothing else changes.
//   - child (its only thread, async-signal-safe steps only): the jobs queued
//     at the fork are taken out of the queue - popped, and kept in the
//     instance's list of INHERITED jobs, oldest first - and the queue and
//     consumer start afresh (also dropping a push that another thread had
//     left in flight). The mutex is released, the condition variable
//     re-initialised (the parent's thread may have been a waiter), and the
//     instance is marked not running. No thread is started here: the next
//     start() or execute() starts one, and it runs only jobs handed over in
//     the child. Inherited jobs run only when the child asks for them:
//       - run_inherited() (mpscq::run_inherited_fallback_jobs() for the
//         default instance) runs them all on the calling thread, now;
//       - a task_work destroyed in the child takes its own inherited job back
//         and runs it (take_inherited(); destruction asks: the destructor is
//         close() plus a drain);
//     otherwise never - an exec, an _exit() or a new fallback thread does not
//     run them.
//     If the forking thread is the fallback thread itself (a job called
//     fork()), it goes on being the fallback thread in the child; the jobs
//     queued behind that job are inherited (held) all the same.
//   Not supported - the state of other threads at the moment of the fork:
//   - the job the fallback thread was running (another thread's fork) does
//     not finish in the child. The child records it (LOST): a task_work
//     destroyed in the child while that job is its own reports it
//     ("mpscq::task_work: destroyed in a forked child while its fallback job
//     was running on the parent's fallback thread at the fork ...") instead
//     of waiting for it forever. The record only names the job: the thread
//     may have been past the job's last access when the process was copied
//     (returning from it, waiting for the mutex), and a job at that address
//     may be handed over again in the child (the same task_work's next
//     cycle). So lost_at_fork() also asks whether this process's thread is
//     running that job now, and the task_work reports only when its own
//     count still holds a reference that no job queued or running in the
//     child explains (task_work.hpp, ~task_work()). Best effort: only the
//     latest fork's lost job is remembered.
//   - a producer preempted inside its push (between the exchange and the
//     link, see queue.hpp) never links its node in the child: that job and
//     every job queued behind it are dropped there (the add that handed
//     them over is inside its task_work's gate, which the child can then
//     never close either);
//   - an execute() on another thread between its push and its notify is
//     harmless: its job is in the queue (and inherited) or it is not.
//   A child that execs or _exits is always fine: nothing of the parent's runs.
#ifndef MPSCQ_DETAIL_FALLBACK_EXECUTOR_IMPL_HPP
#define MPSCQ_DETAIL_FALLBACK_EXECUTOR_IMPL_HPP

#if MPSCQ_DETAIL_NATIVE_THREADS

#include <pthread.h>

#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <system_error>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/backoff.hpp>
#include <mpscq/detail/fork_hooks.hpp>
#include <mpscq/detail/misuse.hpp>
#include <mpscq/detail/thread_identity.hpp>
#include <mpscq/queue.hpp>
#include <mpscq/work.hpp>

static_assert(MPSCQ_DETAIL_FORK_HOOKS, "the fallback thread needs pthreads (and so the fork hooks)");

namespace mpscq::detail {

struct fallback_thread_access;  // tests reach the job queue through this

class fallback_thread;

/// The instance whose jobs the calling thread runs (its loop), or nullptr.
/// Set by the thread itself when it starts: a thread_local, so it names the
/// thread exactly, also in a fork()ed child (a new thread there may get a
/// parent thread's pthread_t, never its thread_locals; a job that forks goes
/// on being the thread in the child, and keeps the value).
constinit inline thread_local const fallback_thread* fallback_thread_serving = nullptr;

class fallback_thread final : private fork_hook {
 public:
  /// Registers this instance for fork handling. Throws std::system_error if
  /// pthread_atfork cannot register the handlers (ENOMEM).
  fallback_thread() {
    fork_lock lock;
    if (const int rc = lock.add(*this); rc != 0) {
#if defined(__cpp_exceptions)
      throw std::system_error(rc, std::generic_category(),
                              "mpscq::fallback_executor: cannot register the fork handlers (pthread_atfork)");
#else
      misuse("fallback_executor", "cannot register the fork handlers (pthread_atfork)");
#endif
    }
  }

  fallback_thread(const fallback_thread&) = delete;
  fallback_thread& operator=(const fallback_thread&) = delete;
  // No destructor worth having: instances are never destroyed (the thread
  // and the fork hooks refer to them for the rest of the process).

  /// Starts the thread if it is not running. Throws std::system_error (code:
  /// pthread_create's error) if it cannot be started.
  void start() {
    if (started_.load(std::memory_order_acquire)) return;  // [F4]
    if (const int rc = try_start(); rc != 0) {
#if defined(__cpp_exceptions)
      throw std::system_error(rc, std::generic_category(),
                              "mpscq::fallback_executor: cannot start the default fallback thread (pthread_create)");
#else
      cannot_start(rc);
#endif
    }
  }

  /// Queues `job`; the thread runs job.func(job, run_state{true}) later.
  /// Starts the thread if needed (then a failure is reported and aborts).
  void execute(work& job) noexcept {
    if (!started_.load(std::memory_order_acquire)) {  // [F4]
      if (const int rc = try_start(); rc != 0) cannot_start(rc);
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

  /// In a forked child: runs every job inherited at the fork (see FORK) on
  /// the calling thread, now, oldest first, each as the thread would
  /// (func(job, run_state{true})). Returns how many ran (0 if none). Any
  /// thread; concurrent calls split the jobs between them.
  std::size_t run_inherited() noexcept {
    node* n = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      n = inherited_first_;
      inherited_first_ = inherited_last_ = nullptr;
    }
    std::size_t ran = 0;
    while (n != nullptr) {
      // [F8] Relaxed: the list is ours now (taken under the mutex). Read the
      // link before the job runs (it may end the job's life, or hand it over
      // again); clear it, as a pop would, for the job's next push.
      node* const next = n->next.load(std::memory_order_relaxed);
      n->next.store(nullptr, std::memory_order_relaxed);  // [F8]
      work::from_hook(n)(run_state{true});
      ++ran;
      n = next;
    }
    return ran;
  }

  /// True if the calling thread is this instance's thread: inside one of
  /// the jobs it runs (or in exit() called from one). Jobs queued on this
  /// instance then wait for the caller to return to the loop.
  bool on_this_thread() const noexcept { return fallback_thread_serving == this; }

  /// In a forked child, for task_work's destructor: was `job` queued here at
  /// the fork (one of the INHERITED jobs)? Then it is now out of the
  /// inherited list, the caller must run it (func(job, run_state{true})),
  /// and the answer is true.
  bool take_inherited(work& job) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    node* prev = nullptr;
    for (node* n = inherited_first_; n != nullptr;) {
      node* const next = n->next.load(std::memory_order_relaxed);  // [F8] under the mutex
      if (n == &job.hook) {
        if (prev == nullptr) {
          inherited_first_ = next;
        } else {
          prev->next.store(next, std::memory_order_relaxed);  // [F8]
        }
        if (inherited_last_ == n) inherited_last_ = prev;
        n->next.store(nullptr, std::memory_order_relaxed);  // [F8]
        return true;
      }
      prev = n;
      n = next;
    }
    return false;
  }

  /// In a forked child, for task_work's destructor: true if `job` was
  /// running on the parent's thread at the fork (LOST) and this process's
  /// thread is not running it now (a job at that address handed over in the
  /// child). The caller still has to tell a stale record (the job had made
  /// its last access before the copy) from a real one: see FORK.
  bool lost_at_fork(work& job) noexcept {
    // [F9] Relaxed: non-null only in a forked child whose parent's thread
    // was running a job at the fork (a filter; re-read under the mutex).
    if (lost_job_.load(std::memory_order_relaxed) != &job) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    // [F9] Relaxed: under the mutex.
    return lost_job_.load(std::memory_order_relaxed) == &job && running_ != &job.hook;
  }

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

  [[noreturn]] static void cannot_start(int rc) noexcept {
    char message[256];
    std::snprintf(message, sizeof message,
                  "cannot start the default fallback thread: %s (pthread_create); refused work would never run",
                  std::strerror(rc));
    misuse("fallback_executor", message);
  }

  static void* thread_main(void* self) noexcept {
    auto* const instance = static_cast<fallback_thread*>(self);
    fallback_thread_serving = instance;
    // A job may call exit() on this thread (any job, not only a task_work
    // run's, which watches it too): task_work's destructor must see it
    // (detail/thread_identity.hpp, THE EXIT PHASE).
    watch_exit_phase();
    instance->loop();
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
        running_ = n;  // under the mutex: what a fork sees as LOST
        lock.unlock();
        work& job = work::from_hook(n);
        job(run_state{true});  // `job` may be gone once this returns
        lock.lock();
        running_ = nullptr;
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

  // --- fork handling (see FORK above; detail/fork_hooks.hpp) -----------------
  void before_fork() noexcept override { mutex_.lock(); }
  void after_fork_parent() noexcept override { mutex_.unlock(); }
  void after_fork_child() noexcept override {
    // The child's only thread; the forking thread took the mutex in
    // before_fork(). Async-signal-safe steps only: atomics, pointer moves,
    // objects rebuilt in place, an unlock.
    inherit_queued_jobs();
    // The condition variable may count the parent's thread as a waiter,
    // which no longer exists (a notify could wait for it): make a new one.
    new (&wake_) std::condition_variable();
    signalled_ = false;  // a new thread looks at the queue before it sleeps
    // [F7] Relaxed loads/stores: the child has one thread.
    if (started_.load(std::memory_order_relaxed)) {
      if (pthread_equal(loop_thread_, pthread_self()) == 0) {
        // The parent's thread is gone; what it was running never finishes
        // here (LOST). The next start() or execute() starts a thread.
        if (running_ != nullptr) lost_job_.store(&work::from_hook(running_), std::memory_order_relaxed);  // [F9]
        running_ = nullptr;
        started_.store(false, std::memory_order_relaxed);  // [F7]
      }
      // else a job forked: we are the thread, and go on being it (its
      // running_ is the forking job, which continues here).
    }
    mutex_.unlock();
  }

  // Moves every job queued at the fork to the end of the inherited list, in
  // order, and gives the instance a fresh queue and consumer.
  void inherit_queued_jobs() noexcept {
    while (node* n = consumer_.pop()) {
      // [F8] Relaxed: the child has one thread.
      n->next.store(nullptr, std::memory_order_relaxed);
      if (inherited_last_ == nullptr) {
        inherited_first_ = n;
      } else {
        inherited_last_->next.store(n, std::memory_order_relaxed);  // [F8]
      }
      inherited_last_ = n;
    }
    // Empty now - or a push was in flight at the fork: its producer does not
    // exist here, so that job and the ones behind it are unreachable for
    // ever. A fresh queue either way (no consumer may outlive its queue).
    consumer_.~consumer();
    jobs_.~queue();
    new (&jobs_) queue();
    new (&consumer_) consumer(jobs_);
  }

  queue jobs_;
  consumer consumer_{jobs_};  // the thread's (rebuilt, with jobs_, in a forked child)
  std::mutex mutex_;          // guards consumer_, signalled_, loop_thread_, running_, the inherited list, starting
  std::condition_variable wake_;
  bool signalled_ = false;
  detail::atomic<bool> started_{false};  // written under mutex_ (and by the child handler)
  pthread_t loop_thread_{};
  node* running_ = nullptr;  // the job the thread is running (under mutex_)
  // Forked child only: the parent's jobs queued at the fork, linked through
  // their hooks' next (see FORK), and the one its thread was running.
  node* inherited_first_ = nullptr;
  node* inherited_last_ = nullptr;
  detail::atomic<work*> lost_job_{nullptr};  // written only by the child handler (the next fork overwrites it)
};

/// Test access to the job queue, to hold a producer inside its push's
/// in-flight window (with queue_access). Not for production use.
struct fallback_thread_access {
  static queue& jobs(fallback_thread& t) noexcept { return t.jobs_; }
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_NATIVE_THREADS

#endif  // MPSCQ_DETAIL_FALLBACK_EXECUTOR_IMPL_HPP
