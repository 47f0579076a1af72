// mpscq/fallback_executor.hpp - where task_work sends a queue that its target
// refused: the mpscq::fallback_executor interface and the default,
// process-wide implementation, mpscq::default_fallback_executor().
//
// WHAT IT IS
//   When a task_work's scheduler refuses a cycle (the target is exiting), or
//   the task_work is closed, the add that owns the cycle hands one job to a
//   fallback executor; the job runs the queued items with
//   run_state::cancel == true, so nothing is ever lost. Pass your own
//   executor to task_work's two-argument constructor, or use the default.
//
// THE CONTRACT OF execute(job) (for your own executor)
//   - call `job.func(job, run_state{true})` exactly once, later, on a thread
//     where running cancelled work is acceptable (not inside execute() unless
//     the adder's callers can run items inline: an add() would then run
//     them);
//   - never touch `job` again once func has started: func may end the life of
//     the task_work that holds the job;
//   - never refuse or drop a job: task_work's destructor waits for every job
//     it handed over;
//   - noexcept: it is called from inside task_work::add(), which cannot hand
//     the cycle anywhere else. It may be called from any thread,
//     concurrently.
//   Lifetime: the executor must outlive every task_work that uses it and
//   every job it was handed.
//
// THE DEFAULT: default_fallback_executor()
//   One thread for the process (detail/fallback_executor_impl.hpp), started by the
//   first call (task_work's one-argument constructor calls it), running jobs
//   in the order they were handed over. Never destroyed: task_work objects
//   with static storage duration may still hand it jobs during exit.
//   - Throws std::system_error if the thread cannot be started (its code is
//     pthread_create's error, usually EAGAIN; what() says "mpscq::
//     fallback_executor: cannot start the default fallback thread ...").
//   - fork(): supported through pthread_atfork. In the child the thread is
//     started again - at once if jobs were queued at the fork, else at the
//     next call or hand-off - so jobs handed over before the fork run in both
//     processes (each on its own copy), and task_work objects in the child
//     work and can be destroyed. Not supported: what other threads were
//     doing at the moment of the fork. The job the fallback thread was
//     running then does not finish in the child (its task_work's destructor
//     would wait forever, as for a run() active on another thread), and a
//     producer preempted inside its push (queue.hpp, the in-flight window)
//     never finishes it: that job and the jobs queued behind it never run in
//     the child. A restart that fails in the child (where no caller can
//     take an exception) is reported ("mpscq::fallback_executor: cannot start
//     the default fallback thread after fork() in the child: <strerror>" on
//     stderr) and aborts; so does a failed start inside execute().
//   - POSIX only (pthreads). Not available in model builds
//     (no MPSCQ_DETAIL_NATIVE_THREADS): a model passes its own executor.
#ifndef MPSCQ_FALLBACK_EXECUTOR_HPP
#define MPSCQ_FALLBACK_EXECUTOR_HPP

#include <mpscq/version.hpp>
#include <mpscq/work.hpp>

#if MPSCQ_DETAIL_NATIVE_THREADS
#include <mpscq/detail/fallback_executor_impl.hpp>
#endif

namespace mpscq {

/// Runs the jobs task_work hands it when a target refuses its queue (or is
/// closed). See THE CONTRACT OF execute(job) in the header comment.
class fallback_executor {
 public:
  /// Takes `job`, which the caller owns, and runs `job.func(job,
  /// run_state{true})` exactly once, later. Any thread, concurrently.
  virtual void execute(work& job) noexcept = 0;

  fallback_executor(const fallback_executor&) = delete;
  fallback_executor& operator=(const fallback_executor&) = delete;

 protected:
  fallback_executor() = default;
  ~fallback_executor() = default;
};

#if MPSCQ_DETAIL_NATIVE_THREADS
namespace detail {

/// default_fallback_executor()'s object: the interface over a fallback_thread.
class default_fallback final : public fallback_executor {
 public:
  void execute(work& job) noexcept override { thread_.execute(job); }
  fallback_thread& thread() noexcept { return thread_; }

 private:
  fallback_thread thread_;
};

}  // namespace detail

/// The process-wide default fallback executor: one thread, started by this
/// call if it is not running (also again in a forked child). Throws
/// std::system_error if the thread cannot be started. See the header comment.
inline fallback_executor& default_fallback_executor() {
  // Leaked on purpose (see the header comment); reachable, so LSan stays quiet.
  static detail::default_fallback* const instance = new detail::default_fallback();
  instance->thread().start();
  return *instance;
}
#endif  // MPSCQ_DETAIL_NATIVE_THREADS

}  // namespace mpscq

#endif  // MPSCQ_FALLBACK_EXECUTOR_HPP
