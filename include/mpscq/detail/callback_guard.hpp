// mpscq/detail/callback_guard.hpp - "is this thread inside a callback of
// object X?", for the misuse checks that turn a self-deadlock into an error.
//
// Internal header: not part of the public API, not general purpose.
//
// task_work calls user code while an add is inside its adder gate: the
// scheduler, and a fallback executor's execute() (which may run the job, and
// so items, inline). close() and the destructor wait for every add inside the
// gate, so calling them from there would wait for the calling thread itself:
// a hang. Each such call pushes a frame on a thread-local chain; close() and
// the destructor walk the chain and report the misuse instead of hanging.
// Cost: a thread-local read and two writes, only on the scheduling path.
// Under the model checker (detail::model_build: every modelled thread runs
// on one OS thread) there is no chain.
#ifndef MPSCQ_DETAIL_CALLBACK_GUARD_HPP
#define MPSCQ_DETAIL_CALLBACK_GUARD_HPP

#include <mpscq/detail/atomic.hpp>

namespace mpscq::detail {

class callback_guard {
 public:
  explicit callback_guard(const void* object) noexcept : object_(object) {
    if constexpr (!model_build) {
      previous_ = top();
      top() = this;
    }
  }
  ~callback_guard() {
    if constexpr (!model_build) top() = previous_;
  }
  callback_guard(const callback_guard&) = delete;
  callback_guard& operator=(const callback_guard&) = delete;

  /// True if the calling thread is inside a callback that `object` made.
  static bool inside(const void* object) noexcept {
    if constexpr (!model_build) {
      for (const callback_guard* g = top(); g != nullptr; g = g->previous_)
        if (g->object_ == object) return true;
    }
    return false;
  }

 private:
  static const callback_guard*& top() noexcept {
    static thread_local const callback_guard* chain = nullptr;
    return chain;
  }

  const void* object_;
  const callback_guard* previous_ = nullptr;
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_CALLBACK_GUARD_HPP
