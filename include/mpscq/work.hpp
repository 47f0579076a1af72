// mpscq/work.hpp - a task-work item: an intrusive hook and a function.
//
// WHAT IT IS
//   mpscq::work is what local_work and task_work queue and run: embed it in
//   your object (no allocation), set `func`, add it. When it runs, `func`
//   gets the item and a run_state; `cancel` is true when the item runs only
//   so that nothing is lost (its target is closing, or gone): release
//   resources and complete with an error rather than do the work.
//
// EXAMPLE
//   struct request {
//     int fd;
//     mpscq::work tw{{}, &request::complete};
//     static void complete(mpscq::work& w, mpscq::run_state st) noexcept {
//       request& r = mpscq::container_of<&request::tw>(w);
//       if (st.cancel) { fail(r); return; }
//       finish(r);
//     }
//   };
//
// EXCEPTIONS
//   `func` is a pointer to a noexcept function: an item that could throw does
//   not compile ("invalid conversion from 'void (*)(mpscq::work&,
//   mpscq::run_state)' to 'void (*)(mpscq::work&, mpscq::run_state)
//   noexcept'"). Declare your function noexcept and handle errors inside it
//   (complete the request with an error); an exception that escapes anyway
//   ends in std::terminate (the language rule for noexcept), before any
//   queue state is left half-updated. This is the folly/io_uring rule: task
//   work cannot fail, so no runner has to undo a half-finished batch.
//
// LIFETIME
//   From add() until `func` starts, the item belongs to the queue: do not
//   touch, move or free it. Inside `func` it is yours again (free it, or add
//   it again).
#ifndef MPSCQ_WORK_HPP
#define MPSCQ_WORK_HPP

#include <mpscq/version.hpp>
#include <mpscq/node.hpp>

namespace mpscq {

/// How an item runs: `cancel` is true when it runs only so that nothing is
/// lost (the owner closed, the target refused or is gone).
struct run_state {
  bool cancel = false;
};

/// An intrusive task-work item. Embed it; see the header comment.
struct work {
  node hook;
  using run_state_type = run_state;

  /// What runs the item. noexcept: see EXCEPTIONS above.
  using func_type = void (*)(work&, run_state) noexcept;
  func_type func = nullptr;

  /// Runs the item (what local_work and task_work call).
  void operator()(run_state st) noexcept { func(*this, st); }

  /// The work item that holds queue hook `n`.
  static work& from_hook(node* n) noexcept { return *detail::owner_of<work, node, &work::hook>(n); }
};

/// How urgently an add needs the owner (local_work): `eager` wakes a waiting
/// owner at once; `lazy` counts towards the owner's `min_events` batch and
/// wakes it only when the batch is complete (or its timeouts run out).
enum class wake { eager, lazy };


}  // namespace mpscq

#endif  // MPSCQ_WORK_HPP
