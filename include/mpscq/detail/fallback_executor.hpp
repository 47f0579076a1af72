// mpscq/detail/fallback_executor.hpp - where task_work sends a queue that its
// target refused: the mpscq::fallback_executor interface and the default,
// process-wide implementation (one lazily started thread).
//
// The interface is public API and documented with mpscq::task_work (include
// <mpscq/task_work.hpp>); it lives here so the default implementation, an
// internal, can sit next to it. In model builds (MPSCQ_MODEL_RELACY) there is
// no default: a model passes its own executor, run by one of its threads.
#ifndef MPSCQ_DETAIL_FALLBACK_EXECUTOR_HPP
#define MPSCQ_DETAIL_FALLBACK_EXECUTOR_HPP

#include <mpscq/queue.hpp>
#include <mpscq/work.hpp>

#if !defined(MPSCQ_MODEL_RELACY)
#include <condition_variable>
#include <mutex>
#include <thread>
#endif

namespace mpscq {

/// Runs the jobs task_work hands it when a target refuses its queue (or is
/// closed). task_work calls execute() with a job it owns; the executor must
///  - call `job.func(job, run_state{true})` exactly once, later, on a thread
///    where running cancelled work is acceptable (not inside execute() unless
///    the adder's callers can run items inline: an add() would then run them);
///  - never touch `job` again once func has started: func may end the life of
///    the task_work that holds the job;
///  - never refuse or drop a job: task_work's destructor waits for every job
///    it handed over.
/// execute() may be called from any thread, concurrently.
class fallback_executor {
 public:
  virtual void execute(work& job) noexcept = 0;

  fallback_executor(const fallback_executor&) = delete;
  fallback_executor& operator=(const fallback_executor&) = delete;

 protected:
  fallback_executor() = default;
  ~fallback_executor() = default;
};

#if !defined(MPSCQ_MODEL_RELACY)
namespace detail {

/// The default fallback executor: one thread for the process, started by the
/// first job, running jobs in the order they were handed over. Jobs arrive
/// through an mpscq::queue (execute() is a wait-free push, plus a mutex and a
/// notify only when the queue was empty); the thread sleeps on a condition
/// variable when there is nothing to run. Never destroyed: task_work objects
/// with static storage duration may still hand it jobs during exit.
class fallback_thread final : public fallback_executor {
 public:
  fallback_thread() = default;

  void execute(work& job) noexcept override {
    std::call_once(started_, [this] { std::thread([this] { loop(); }).detach(); });
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

 private:
  void loop() noexcept {
    consumer jobs(jobs_);
    for (;;) {
      if (node* n = jobs.pop()) {
        work& job = work::from_hook(n);
        job(run_state{true});  // `job` may be gone once this returns
        continue;
      }
      if (!jobs_.empty()) {
        std::this_thread::yield();  // a producer inside its push's in-flight window
        continue;
      }
      // Empty: a later push returns true and sets signalled_ under the mutex,
      // so a push between our empty() and the wait below is not missed.
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return signalled_; });
      signalled_ = false;
    }
  }

  queue jobs_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool signalled_ = false;
  std::once_flag started_;
};

}  // namespace detail

/// The process-wide default fallback executor (one thread, started lazily).
inline fallback_executor& default_fallback_executor() noexcept {
  // Leaked on purpose (see fallback_thread); reachable, so LSan stays quiet.
  static detail::fallback_thread* const instance = new detail::fallback_thread();
  return *instance;
}
#endif  // !MPSCQ_MODEL_RELACY

}  // namespace mpscq

#endif  // MPSCQ_DETAIL_FALLBACK_EXECUTOR_HPP
