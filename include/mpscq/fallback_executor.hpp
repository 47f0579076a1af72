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
//   - fork() (docs/api.md 6.6; detail/fallback_executor_impl.hpp, FORK):
//     pending work belongs to the process that queued it. In the child the
//     jobs queued at the fork are held back, never run by the library on its
//     own: no thread is started at the fork, an exec or _exit() runs nothing
//     of the parent's, and the child's fallback thread (started by the
//     child's first default_fallback_executor() call or hand-off) runs only
//     jobs handed over in the child. The child asks for the inherited jobs
//     with run_inherited_fallback_jobs() (they run on the calling thread,
//     cancelled, as on the fallback), or by destroying a task_work whose job
//     is among them (its destructor runs that job). Until then, items the
//     child adds to such a task_work join the held cycle and wait with it.
//     Not supported: what other threads were doing at the moment of the
//     fork. The job the fallback thread was running then does not finish in
//     the child (destroying its task_work there is reported: "mpscq::
//     task_work: destroyed in a forked child while its fallback job was
//     running on the parent's fallback thread at the fork ..."), and a
//     producer preempted inside its push (queue.hpp, the in-flight window)
//     never finishes it: that job and the jobs queued behind it are dropped
//     in the child. A thread that cannot be started in the child is reported
//     as anywhere else (execute(): "mpscq::fallback_executor: cannot start
//     the default fallback thread: <strerror> ..." on stderr, then abort).
//   - POSIX only (pthreads). Not available in model builds
//     (no MPSCQ_DETAIL_NATIVE_THREADS): a model passes its own executor.
#ifndef MPSCQ_FALLBACK_EXECUTOR_HPP
#define MPSCQ_FALLBACK_EXECUTOR_HPP

#include <cstddef>

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

/// The default instance once default_fallback_executor() created it, else
/// nullptr; creates nothing.
inline detail::atomic<default_fallback*>& default_fallback_created() noexcept {
  static detail::atomic<default_fallback*> instance{nullptr};
  return instance;
}

/// `executor` if it is the default one (created, whether or not its thread
/// runs), else nullptr. Creates and starts nothing.
inline default_fallback* as_default_fallback(fallback_executor& executor) noexcept {
  // [F10] Acquire: pairs with the release store in default_fallback_executor().
  default_fallback* const d = default_fallback_created().load(std::memory_order_acquire);
  return d != nullptr && static_cast<fallback_executor*>(d) == &executor ? d : nullptr;
}

/// For task_work's destructor in a forked child (see the header comment,
/// fork()): if `executor` is the default one and `job` was queued on it at a
/// fork, takes it out of the inherited jobs and returns true: the caller
/// runs it. Any other executor's jobs are its own business: false.
inline bool take_inherited_fallback_job(fallback_executor& executor, work& job) noexcept {
  default_fallback* const d = as_default_fallback(executor);
  return d != nullptr && d->thread().take_inherited(job);
}

/// For task_work's destructor in a forked child: `job` was running on the
/// parent's default fallback thread at the fork, and the child's thread is
/// not running it now (fallback_thread::lost_at_fork()). False for any
/// other executor.
inline bool fallback_job_lost_at_fork(fallback_executor& executor, work& job) noexcept {
  default_fallback* const d = as_default_fallback(executor);
  return d != nullptr && d->thread().lost_at_fork(job);
}

/// For task_work's destructor: true if `executor` is the default one (whose
/// thread runs every job handed to it, unless that thread is the caller).
inline bool is_default_fallback(fallback_executor& executor) noexcept { return as_default_fallback(executor) != nullptr; }

/// For task_work's destructor: true if `executor` is the default one and the
/// calling thread is its thread (inside a job it runs, or in exit() called
/// from one). A job queued on it then waits until this thread returns to its
/// loop - never, once this thread is in exit().
inline bool on_default_fallback_thread(fallback_executor& executor) noexcept {
  default_fallback* const d = as_default_fallback(executor);
  return d != nullptr && d->thread().on_this_thread();
}

}  // namespace detail

/// The process-wide default fallback executor: one thread, started by this
/// call if it is not running (also in a forked child, where it runs only jobs
/// handed over in the child). Throws std::system_error if the thread cannot
/// be started. See the header comment.
inline fallback_executor& default_fallback_executor() {
  // Leaked on purpose (see the header comment); reachable, so LSan stays quiet.
  static detail::default_fallback* const instance = [] {
    auto* const d = new detail::default_fallback();
    // [F10] Release: pairs with the acquire in as_default_fallback() (the
    // task_work destructor's questions) and run_inherited_fallback_jobs().
    detail::default_fallback_created().store(d, std::memory_order_release);
    return d;
  }();
  instance->thread().start();
  return *instance;
}

/// Fork (docs/api.md 6.6): in a forked child, runs the jobs that were queued
/// on default_fallback_executor() when this process was forked - its
/// parent's jobs, which the child never runs on its own - on the calling
/// thread, now, oldest first, each as the fallback thread would
/// (func(job, run_state{true}): a refused task_work cycle's items run with
/// cancel == true; then such a task_work can be destroyed and items the
/// child added to it behind that cycle have run too). Returns how many jobs
/// ran: 0 when there are none (a process that was not forked, a parent
/// whose fallback was idle, or an earlier call took them). Any thread, any
/// time; concurrent calls split the jobs. Starts no thread. Jobs inherited
/// through several forks (a child's child) run too, oldest first.
/// Not async-signal-safe (a mutex; and the jobs run user code).
/// Not the job that the parent's fallback thread was running at the fork: it
/// cannot finish in the child (see the header comment).
inline std::size_t run_inherited_fallback_jobs() noexcept {
  // [F10]
  detail::default_fallback* const d = detail::default_fallback_created().load(std::memory_order_acquire);
  return d == nullptr ? 0 : d->thread().run_inherited();
}
#endif  // MPSCQ_DETAIL_NATIVE_THREADS

}  // namespace mpscq

#endif  // MPSCQ_FALLBACK_EXECUTOR_HPP
