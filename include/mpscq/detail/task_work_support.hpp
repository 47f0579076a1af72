// mpscq/detail/task_work_support.hpp - small helpers for mpscq::task_work.
//
// Internal header: not part of the public API, not general purpose.
//   task_work_misuse(what)  report a programming error and stop (a Relacy
//                           verdict in model builds, so a model can show
//                           which check fired)
//   (waiting without spinning: detail/backoff.hpp; thread identity and
//   "no thread": detail/atomic.hpp)
#ifndef MPSCQ_DETAIL_TASK_WORK_SUPPORT_HPP
#define MPSCQ_DETAIL_TASK_WORK_SUPPORT_HPP

#include <cstdio>
#include <cstdlib>

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

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_TASK_WORK_SUPPORT_HPP
