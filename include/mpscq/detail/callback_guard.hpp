// mpscq/detail/callback_guard.hpp - "is this thread inside a callback of
// object X, which one is innermost, and did it begin before exit()?", for
// the misuse checks that turn a self-deadlock into an error, for the inline
// scheduler's hand-off, and for telling exit() from inside user code apart
// from a plain destruction.
//
// Internal header: not part of the public API, not general purpose.
//
// task_work calls user code in three kinds of frames:
//   hand_over  while an add is inside its adder gate: the scheduler, and a
//              fallback executor's execute() (which may run the job, and so
//              items, inline). close() and the destructor wait for every add
//              inside the gate, so calling them from there would wait for
//              the calling thread itself: a hang, reported instead. The
//              frame records the gate shard the add counts on (shard()).
//   run        while a run holds the run slot: items, and contexts'
//              enter()/leave(). A thread holds an object's run slot exactly
//              while a run (or drain) frame of the object is on its chain:
//              a nested run() on the same thread hands off or is reported
//              before it pushes a frame, so there is at most one.
//   drain      the destructor's drain, which holds the run slot for good:
//              its items may add() after the destructor began.
// Each such call pushes a frame on a per-thread chain (detail/thread_chain.hpp).
// The innermost frame of an object tells a run() that finds the run slot
// busy on its own thread what it is nested in: a hand_over frame means an
// add made inside the active run called the scheduler (or the fallback
// hand-off), which calls run() inline - a hand-off to the active run; a run
// frame means run() was called from one of the object's own items (or
// enter()/leave()) - misuse. A thread with no run frame of the object does
// not hold its slot, whatever its std::thread::id (a fork()ed child's new
// threads reuse the ids of the parent's threads, but start with an empty
// chain).
//
// THE EXIT PHASE (detail/thread_identity.hpp, this_thread_exiting())
//   Each frame records whether the thread's exit phase had begun when it was
//   pushed (in_exit_phase(): one thread_local load). The flag flips from
//   false to true while a frame is on the stack only if the C++ runtime ran
//   the thread's thread_local destructors under that frame, i.e. exit() was
//   called from inside the callback (a thread cannot end with frames on its
//   stack). So a frame with in_exit_phase() == false on the chain of a
//   thread that is exiting now is user code that called exit(): it never
//   resumes. A frame pushed during the exit phase (a run started by a
//   static destructor) is an ordinary frame that returns.
// Cost: reading the chain head, the exit flag, and three writes per frame
// (thread_locals), on the scheduling path and once per run.
#ifndef MPSCQ_DETAIL_CALLBACK_GUARD_HPP
#define MPSCQ_DETAIL_CALLBACK_GUARD_HPP

#include <mpscq/detail/thread_chain.hpp>
#include <mpscq/detail/thread_identity.hpp>

namespace mpscq::detail {

class callback_guard {
 public:
  enum class kind {
    none,       ///< (innermost(): no frame of the object on this thread)
    hand_over,  ///< a scheduler call or fallback hand-off, inside an add
    run,        ///< a run that holds the object's run slot
    drain,      ///< the destructor's drain (holds the run slot for good)
  };

  /// Pushes a frame of `object`. `shard`: for a hand_over frame, the adder
  /// gate shard of the add that is inside the gate (its ticket's shard).
  callback_guard(const void* object, kind k, unsigned shard = 0) noexcept
      : object_(object), kind_(k), shard_(shard), in_exit_phase_(this_thread_exiting()), previous_(head()) {
    head() = this;
  }
  ~callback_guard() { head() = previous_; }
  callback_guard(const callback_guard&) = delete;
  callback_guard& operator=(const callback_guard&) = delete;

  kind which() const noexcept { return kind_; }
  unsigned shard() const noexcept { return shard_; }
  /// The thread's exit phase had begun when this frame was pushed.
  bool in_exit_phase() const noexcept { return in_exit_phase_; }

  /// True if the calling thread is inside a frame of `object` of kind `k`
  /// (anywhere on its chain).
  static bool inside(const void* object, kind k) noexcept {
    for (const callback_guard* g = head(); g != nullptr; g = g->previous_)
      if (g->object_ == object && g->kind_ == k) return true;
    return false;
  }

  /// The calling thread's innermost frame of `object`, or nullptr.
  static const callback_guard* innermost_frame(const void* object) noexcept {
    for (const callback_guard* g = head(); g != nullptr; g = g->previous_)
      if (g->object_ == object) return g;
    return nullptr;
  }

  /// The kind of the calling thread's innermost frame of `object`.
  static kind innermost(const void* object) noexcept {
    const callback_guard* g = innermost_frame(object);
    return g == nullptr ? kind::none : g->kind_;
  }

  /// Calls f(frame) for each frame of `object` on the calling thread's
  /// chain, innermost first.
  template <class F>
  static void for_each(const void* object, F&& f) noexcept {
    for (const callback_guard* g = head(); g != nullptr; g = g->previous_)
      if (g->object_ == object) f(*g);
  }

 private:
  static callback_guard*& head() noexcept { return thread_chain_head<callback_guard>(); }

  const void* object_;
  kind kind_;
  unsigned shard_;
  bool in_exit_phase_;
  callback_guard* previous_;
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_CALLBACK_GUARD_HPP
