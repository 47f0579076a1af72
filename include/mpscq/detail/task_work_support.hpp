// mpscq/detail/task_work_support.hpp - small helpers for mpscq::task_work.
//
// Internal header: not part of the public API, not general purpose.
//   task_work_misuse(what)  report a programming error and stop (a Relacy
//                           verdict in model builds, so a model can show
//                           which check fired)
//   task_work_backoff       a waiter that never spins a core: it yields, then
//                           sleeps in growing steps (model builds: it only
//                           yields, which Relacy needs to tell a wait from a
//                           livelock)
//   runner_id()             the calling thread's identity, never equal to the
//                           "nobody" value runner_id_type{} (Relacy numbers
//                           its threads from 0; the model build shifts them)
#ifndef MPSCQ_DETAIL_TASK_WORK_SUPPORT_HPP
#define MPSCQ_DETAIL_TASK_WORK_SUPPORT_HPP

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <mpscq/detail/atomic.hpp>

namespace mpscq::detail {

/// A caller broke task_work's contract: say which rule, and stop. Misuse is a
/// bug in the caller, not a condition to recover from, so this never returns.
[[noreturn]] inline void task_work_misuse(const char* what) noexcept {
  std::fprintf(stderr, "mpscq::task_work: %s\n", what);
  std::fflush(stderr);
#if defined(MPSCQ_MODEL_RELACY)
  // Report it as the model's verdict; fail_test switches away from this
  // fiber and never comes back.
  rl::ctx().fail_test(what, rl::test_result_user_assert_failed, RL_INFO);
#endif
  std::abort();
}

/// Waits for another thread (a preempted producer, a finishing run, an
/// executor) without burning a core: yields for a while, then sleeps 50 us,
/// 100 us, ... up to 1.6 ms per round.
class task_work_backoff {
 public:
  void pause() noexcept {
#if defined(MPSCQ_MODEL_RELACY)
    yield_thread();
#else
    if (rounds_ < yield_rounds) {
      ++rounds_;
      yield_thread();
      return;
    }
    const unsigned shift = rounds_ - yield_rounds < 5 ? rounds_ - yield_rounds : 5;
    if (rounds_ - yield_rounds < 5) ++rounds_;
    std::this_thread::sleep_for(std::chrono::microseconds(50u << shift));
#endif
  }
  unsigned rounds() const noexcept { return rounds_; }

 private:
  static constexpr unsigned yield_rounds = 64;
  unsigned rounds_ = 0;
};

/// Identity of the calling thread for task_work's owner checks;
/// runner_id_type{} means "no thread".
using runner_id_type = thread_id;
inline runner_id_type runner_id() noexcept {
#if defined(MPSCQ_MODEL_RELACY)
  return current_thread() + 1;  // Relacy's thread 0 must not look like "nobody"
#else
  return current_thread();
#endif
}

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_TASK_WORK_SUPPORT_HPP
