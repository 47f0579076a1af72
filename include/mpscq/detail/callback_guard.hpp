// mpscq/detail/callback_guard.hpp - "is this thread inside a callback of
// object X, and which one is innermost?", for the misuse checks that turn a
// self-deadlock into an error and for the inline scheduler's hand-off.
//
// Internal header: not part of the public API, not general purpose.
//
// task_work calls user code in two kinds of frames:
//   hand_over  while an add is inside its adder gate: the scheduler, and a
//              fallback executor's execute() (which may run the job, and so
//              items, inline). close() and the destructor wait for every add
//              inside the gate, so calling them from there would wait for
//              the calling thread itself: a hang, reported instead.
//   run        while a run holds the run slot: items, and contexts'
//              enter()/leave().
// Each such call pushes a frame on a per-thread chain (detail/thread_chain.hpp).
// The innermost frame of an object tells a run() that finds the run slot
// busy on its own thread what it is nested in: a hand_over frame means an
// add made inside the active run called the scheduler (or the fallback
// hand-off), which calls run() inline - a hand-off to the active run; a run
// frame means run() was called from one of the object's own items (or
// enter()/leave()) - misuse.
// Cost: reading the chain head and two writes per frame (a thread_local),
// on the scheduling path and once per run.
#ifndef MPSCQ_DETAIL_CALLBACK_GUARD_HPP
#define MPSCQ_DETAIL_CALLBACK_GUARD_HPP

#include <mpscq/detail/thread_chain.hpp>

namespace mpscq::detail {

class callback_guard {
 public:
  enum class kind {
    none,       ///< (innermost(): no frame of the object on this thread)
    hand_over,  ///< a scheduler call or fallback hand-off, inside an add
    run,        ///< a run that holds the object's run slot
  };

  callback_guard(const void* object, kind k) noexcept : object_(object), kind_(k), previous_(head()) {
    head() = this;
  }
  ~callback_guard() { head() = previous_; }
  callback_guard(const callback_guard&) = delete;
  callback_guard& operator=(const callback_guard&) = delete;

  /// True if the calling thread is inside a hand_over frame of `object`
  /// (anywhere on its chain).
  static bool inside(const void* object) noexcept {
    for (const callback_guard* g = head(); g != nullptr; g = g->previous_)
      if (g->object_ == object && g->kind_ == kind::hand_over) return true;
    return false;
  }

  /// The kind of the calling thread's innermost frame of `object`.
  static kind innermost(const void* object) noexcept {
    for (const callback_guard* g = head(); g != nullptr; g = g->previous_)
      if (g->object_ == object) return g->kind_;
    return kind::none;
  }

 private:
  static callback_guard*& head() noexcept { return thread_chain_head<callback_guard>(); }

  const void* object_;
  kind kind_;
  callback_guard* previous_;
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_CALLBACK_GUARD_HPP
