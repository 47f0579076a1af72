// mpscq/detail/backoff.hpp - waiting for another thread without spinning a core.
//
// Internal header: not part of the public API, not general purpose.
//
// Used where the library must wait for a few instructions another thread may
// have been preempted inside: a producer's in-flight push (queue.hpp), an
// add() still inside a closing local_work, a run still finishing on another
// thread (task_work). Spinning there could take the very core the other
// thread needs, so backoff yields for a while, then sleeps 10 us, 20 us, ...
// up to 1 ms a round. In model builds it only yields: Relacy needs every wait
// loop to yield to tell a wait from a livelock.
#ifndef MPSCQ_DETAIL_BACKOFF_HPP
#define MPSCQ_DETAIL_BACKOFF_HPP

#include <chrono>
#include <thread>

#include <mpscq/detail/atomic.hpp>

namespace mpscq::detail {

class backoff {
 public:
  /// One round of waiting: a yield, or (after yield_rounds) a growing sleep.
  void pause() noexcept {
    // Under the model checker only yield: Relacy needs every wait loop to
    // yield to tell a wait from a livelock, and has no clock.
    if constexpr (model_build) {
      yield_thread();
      return;
    }
    if (rounds_ < yield_rounds) {
      ++rounds_;
      yield_thread();
      return;
    }
    const unsigned step = rounds_ - yield_rounds;
    if (step < max_doublings) ++rounds_;
    std::this_thread::sleep_for(std::chrono::microseconds(first_sleep_us << step));
  }

  /// pause(), but a sleep never lasts past `limit` (a caller's deadline, e.g.
  /// local_work::wait()'s timeout): past it, only a yield.
  void pause(std::chrono::steady_clock::time_point limit) noexcept {
    if constexpr (!model_build) {
      if (limit != std::chrono::steady_clock::time_point::max() && rounds_ >= yield_rounds) {
        const auto left = limit - std::chrono::steady_clock::now();
        const auto step = std::chrono::microseconds(first_sleep_us << (rounds_ - yield_rounds));
        if (left < step) {
          if (left > std::chrono::steady_clock::duration::zero()) {
            std::this_thread::sleep_for(left);
          } else {
            yield_thread();
          }
          return;
        }
      }
    }
    pause();
  }

  /// Rounds waited so far (for statistics and tests).
  unsigned rounds() const noexcept { return rounds_; }

 private:
  static constexpr unsigned yield_rounds = 16;
  static constexpr unsigned first_sleep_us = 10;
  static constexpr unsigned max_doublings = 7;  // 10 us << 7 = 1.28 ms, the longest sleep
  unsigned rounds_ = 0;
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_BACKOFF_HPP
