// mpscq/detail/relacy_seam.hpp - detail::atomic<T> and friends over Relacy.
//
// Internal header, used only by model builds (tests/model/relacy) that define
// MPSCQ_MODEL_RELACY. It gives the library's code the std::atomic member
// functions it uses, implemented on rl::atomic<T>, so the model checker sees
// every load, store and RMW of the real headers with its memory order and the
// caller's source location.
//
// Relacy #defines new, delete, the memory_order_* names and a few more; the
// standard headers are included first and the clashing macros undone after.
#ifndef MPSCQ_DETAIL_RELACY_SEAM_HPP
#define MPSCQ_DETAIL_RELACY_SEAM_HPP

#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdint>
#include <functional>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <relacy/relacy.hpp>

#undef new
#undef delete
#undef memory_order_relaxed
#undef memory_order_consume
#undef memory_order_acquire
#undef memory_order_release
#undef memory_order_acq_rel
#undef memory_order_seq_cst

namespace mpscq::detail {

inline rl::memory_order to_rl(std::memory_order mo) noexcept {
  switch (mo) {
    case std::memory_order_relaxed: return rl::mo_relaxed;
    case std::memory_order_consume: return rl::mo_consume;
    case std::memory_order_acquire: return rl::mo_acquire;
    case std::memory_order_release: return rl::mo_release;
    case std::memory_order_acq_rel: return rl::mo_acq_rel;
    default: return rl::mo_seq_cst;
  }
}

inline rl::debug_info to_rl(const std::source_location& loc) noexcept {
  return rl::debug_info(loc.function_name(), loc.file_name(), loc.line());
}

using here = std::source_location;

/// std::atomic<T>'s shape on top of rl::atomic<T>. Every call records the
/// caller's file and line, so Relacy's histories point at the real header.
template <class T>
class atomic {
 public:
  atomic() { a_.store(T{}, rl::mo_relaxed, RL_INFO); }
  atomic(T v) { a_.store(v, rl::mo_relaxed, RL_INFO); }  // NOLINT: mirrors std::atomic
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;

  T load(std::memory_order mo, here loc = here::current()) const {
    return a_.load(to_rl(mo), to_rl(loc));
  }
  void store(T v, std::memory_order mo, here loc = here::current()) {
    a_.store(v, to_rl(mo), to_rl(loc));
  }
  T exchange(T v, std::memory_order mo, here loc = here::current()) {
    return a_.exchange(v, to_rl(mo), to_rl(loc));
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure, here loc = here::current()) {
    return a_.compare_exchange_strong(expected, desired, to_rl(success), to_rl(loc),
                                      to_rl(failure), to_rl(loc));
  }
  T fetch_add(T v, std::memory_order mo, here loc = here::current()) {
    return a_.fetch_add(v, to_rl(mo), to_rl(loc));
  }
  T fetch_sub(T v, std::memory_order mo, here loc = here::current()) {
    return a_.fetch_sub(v, to_rl(mo), to_rl(loc));
  }
  T fetch_or(T v, std::memory_order mo, here loc = here::current()) {
    return a_.fetch_or(v, to_rl(mo), to_rl(loc));
  }
  T fetch_and(T v, std::memory_order mo, here loc = here::current()) {
    return a_.fetch_and(v, to_rl(mo), to_rl(loc));
  }

  /// The Relacy object itself, for the futex seam (rl::rl_futex takes it).
  rl::atomic<T>& model() noexcept { return a_; }

 private:
  rl::atomic<T> a_;
};

inline void cpu_relax() noexcept { rl::yield(1, RL_INFO); }
/// Every spin loop in modelled code must yield, or Relacy reports LIVELOCK.
inline void yield_thread() noexcept { rl::yield(1, RL_INFO); }

using thread_id = unsigned;
inline thread_id current_thread() noexcept { return rl::thread_index(); }
/// Relacy numbers its threads from 0: the largest index names no thread.
inline thread_id no_thread() noexcept { return ~thread_id{}; }

// --- what the seam provides besides atomics (see atomic.hpp) ---------------

inline constexpr bool model_build = true;
inline unsigned model_thread_index() noexcept { return rl::thread_index(); }

/// A misuse is the model's verdict: fail_test switches away from this fiber
/// for good, so a model can show which check fired.
inline void model_fail(const char* what) noexcept {
  rl::ctx().fail_test(what, rl::test_result_user_assert_failed, RL_INFO);
}

/// The futex for futex.hpp: rl::rl_futex on the word's rl::atomic<int>, so
/// the checker sees every wait and wake. Relacy allows spurious wakes and
/// reports DEADLOCK when a thread sleeps untimed and no wake ever comes (the
/// lost-wake check); it looks only at whether a timeout is given.
/// Returns 0 woken, 1 value changed, 2 timed out, 3 interrupted.
inline int model_futex_wait(atomic<int>& word, int expected, bool timed) {
  const timespec any_limit{0, 1};
  const int r = rl::rl_futex(&word.model(), rl::RL_FUTEX_WAIT, expected, timed ? &any_limit : nullptr, nullptr, 0,
                             RL_INFO);
  if (r == 0) return 0;
  if (r == rl::RL_ETIMEDOUT) return 2;
  if (r == rl::RL_EINTR) return 3;
  return 1;
}
inline int model_futex_wake(atomic<int>& word, int count) {
  return rl::rl_futex(&word.model(), rl::RL_FUTEX_WAKE, count, nullptr, nullptr, 0, RL_INFO);
}

}  // namespace mpscq::detail

#define MPSCQ_DETAIL_NATIVE_THREADS 0
#define MPSCQ_DETAIL_SEAM_FUTEX 1

#endif  // MPSCQ_DETAIL_RELACY_SEAM_HPP
