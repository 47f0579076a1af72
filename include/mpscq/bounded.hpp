// mpscq/bounded.hpp - bounded admission: what a try_add tells its caller.
//
// WHAT IT IS
//   local_work and task_work accept every add() by default (an unbounded
//   queue: producers never wait, and memory is the caller's - the items are
//   intrusive). With a limit (local_work_options::limit,
//   task_work_options::limit: see each header) they count the items
//   accepted and not yet run, and the try_add calls refuse or wait when that
//   count would pass the limit:
//
//     call                          when full                  returns
//     try_add(w)                    refuses at once            full
//     try_add_for(w, timeout, st)   waits for room until the   timed_out,
//     try_add_until(w, deadline,    timeout/deadline, a stop    stopped,
//                   st)             request on `st`, or close   closed
//     add(w)                        accepts anyway (counted;    -
//                                   may pass the limit)
//
//   Every refusal (full, timed_out, stopped, closed) leaves the item with
//   the caller, untouched: nothing was pushed, nothing ran, func was not
//   called - the caller may retry it, run it, or drop it. `added` means the
//   item is queued exactly as add() queues it (same wake rule, same order).
//   The object gives the room back as its consumer runs the items (after
//   each pass: local_work's run()/wait(), task_work's run), and wakes the
//   producers waiting for room without a lost wake (detail/admission.hpp,
//   its Relacy model tests/model/relacy/admission_model.cpp).
//
//   The idea and the names: bounded channels (Go's buffered channel, tokio's
//   mpsc::channel: send().await / try_send() -> Full / Closed), here for an
//   intrusive queue, where a refused item simply stays with its caller; and
//   the requests this answers: quill#270 (block instead of dropping),
//   spdlog#2876 (drop and count), CAF#794 (bounded mailboxes), asio#537.
//
// WHAT A LIMIT COSTS
//   Unbounded (the default): nothing - add() tests the same gate word with
//   the same instruction as before (detail/adder_gate.hpp, `limited`). With
//   a limit, every add also takes room with one RMW on the admission line
//   (its own cache line, not the queue's tail), and the consumer gives room
//   back with one RMW per pass, plus one FUTEX_WAKE per pass while producers
//   wait. mpscq-bench S2/S3 rows "mpscq::local_work (limit N)" measure it.
#ifndef MPSCQ_BOUNDED_HPP
#define MPSCQ_BOUNDED_HPP

#include <mpscq/version.hpp>

namespace mpscq {

/// What a try_add call did with its item (see the table above).
enum class add_status {
  added,      ///< queued (room was taken); the consumer will run it
  full,       ///< try_add(): no room; the item is still the caller's
  timed_out,  ///< try_add_for/until: the timeout or deadline passed first
  stopped,    ///< try_add_for/until: a stop was requested on the token
  closed,     ///< the object is closed (or closing); the item is untouched
};

/// A name for logs and tests: "added", "full", "timed_out", "stopped", "closed".
constexpr const char* to_string(add_status s) noexcept {
  switch (s) {
    case add_status::added: return "added";
    case add_status::full: return "full";
    case add_status::timed_out: return "timed_out";
    case add_status::stopped: return "stopped";
    case add_status::closed: return "closed";
  }
  return "?";
}

}  // namespace mpscq

#endif  // MPSCQ_BOUNDED_HPP
