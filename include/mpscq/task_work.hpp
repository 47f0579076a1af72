// mpscq/task_work.hpp - work scheduled exactly once onto a target.
//
// WHAT IT IS
//   io_uring's per-task ("tctx") task work in user space. Any thread adds work
//   items for a *target* - an event loop's thread, an actor, a strand on a
//   thread pool. The items go through an mpscq::queue; the one add that finds
//   the queue empty asks the target, through a scheduler callback you supply,
//   to call run() (wake its loop, submit a job to an executor). Every other
//   add is a bare push: one atomic exchange and one store, no wake, no lock.
//   run() executes the items in FIFO order. If the target refuses (it is
//   exiting), the queue goes to a fallback executor, which runs the items
//   with run_state::cancel == true, so nothing is ever lost.
//
// WHEN TO USE IT
//   Work that must run "on" something that is not always running and has to
//   be poked: a thread that sleeps in epoll, an actor that has no thread of
//   its own, a connection that lives on some pool thread. Use
//   mpscq::local_work instead when the owner thread itself waits for work
//   (countdown waits); use mpscq::queue directly when the consumer polls.
//
// EXAMPLE
//   struct loop_thread {                        // the target: an event loop
//     mpscq::task_work tw{[this](mpscq::task_work&) { return post_wake(); }};
//     bool post_wake();                         // false once the loop exits
//     void on_wake() {                          // the loop, after post_wake()
//       while (tw.run(64).more) {}              // capped runs, until it ends
//     }
//   };
//   struct request {
//     mpscq::work tw{{}, &request::complete};
//     static void complete(mpscq::work& w, mpscq::run_state st) noexcept {
//       request& r = mpscq::container_of<&request::tw>(w);
//       if (st.cancel) { r.fail(); return; }    // the target is gone
//       r.finish();                             // runs on the loop's thread
//     }
//   };
//   loop.tw.add(req.tw);                        // from any thread
//
// THE PROTOCOL (who owns the queue)
//   Ownership passes along: the add that makes the queue non-empty owns it
//   and hands it to the scheduler (or, refused or closed, to the fallback);
//   the scheduler hands it to the run it arranges; that run owns it until it
//   ends on a pop that emptied the queue. So:
//   - a run that returns `more` (cap reached, should_yield, or a producer
//     inside its in-flight window) still owns the queue, and NOBODY ELSE WILL
//     SCHEDULE IT: the caller must call run() again, on the target, soon;
//   - a run that returns !more ended on an emptying pop (or found nothing):
//     the next add schedules anew.
//   The scheduler must make the add happen-before the run it arranges (any
//   queue, mutex or executor hand-off does) and must honour every schedule it
//   accepted by calling run() until it returns !more - also after close(),
//   when the items run with cancel == true.
//
// EXACTLY ONCE
//   1. queue::push returns true exactly for the push whose exchange found the
//      stub as the tail, and the stub becomes the tail again only through the
//      consumer's pop that hands out the last node (consumer::emptied()).
//      So between two emptying pops exactly one add is told "was empty", and
//      only that add calls the scheduler (or the fallback): one schedule per
//      empty -> non-empty cycle.
//   2. run() stops right after an emptying pop, before the cap and
//      should_yield checks. Without that stop, a push landing after such a pop
//      starts a new cycle - and a new schedule - while this run goes on
//      popping; the next emptying pop in the same run then lets a third push
//      schedule while the second schedule is still pending: two outstanding
//      schedules for one target (the "Boom" of the io_uring review, which
//      tw_pending first papered over). A run that reported `more` after an
//      emptying pop would likewise run again next to the new cycle's run.
//   3. Runs never overlap, even when the scheduler submits to a thread pool:
//      the last item of a cycle runs after its emptying pop, when the next
//      cycle may already be scheduled elsewhere. A run slot (runs_) admits one
//      runner; a run that enters while another is still finishing hands its
//      turn to it and returns at once (run_result::handed_off), and the
//      finishing run serves the new cycle (in its own mode: a target run does
//      not cancel the items of a cycle a fallback job handed it, and a
//      fallback job cancels those of a cycle a target run handed it). Items
//      of one task_work therefore run one at a time, each seeing everything
//      the previous one did. The slot costs the runner two uncontended RMWs
//      per run, on the target's cache line; add() never touches it.
//      THE INLINE HAND-OFF: the same, on one thread. A scheduler that calls
//      run() inline (the target is the adding thread), or a fallback
//      executor that runs the job inside execute(), may be called by an add
//      made inside the active run - from one of its items (an item that adds
//      to its own task_work, a coroutine that awaits it again) or a
//      context's enter()/leave(). That run() finds the slot held by its own
//      thread, inside a scheduler call or fallback hand-off of ours
//      (detail/callback_guard.hpp: the innermost frame of this task_work on
//      the thread is a hand-over, not a run): it hands its turn to the
//      active run and returns handed_off, and the active run serves the new
//      cycle after the current item - not inside it, so items never nest and
//      a chain of self-adding items does not grow the stack. A run() called
//      directly from an item (or enter()/leave()) stays misuse. (MUTANTS
//      task_inline_run_reported: the old rule, every nested run() reported;
//      task_inline_handoff_drops_turn: the turn not counted, a lost cycle.)
//   4. Every item is run exactly once: pop hands out each node once, and the
//      cycle's owner (target run, fallback, or the destructor) drains it.
//
// SYNCHRONIZATION TABLE (may the two calls run at the same time?)
//               add    run              close   ~task_work
//   add         yes    yes              yes     only adds whose push is done
//   run         yes    yes (hand-off)   yes     no
//   close       yes    yes              yes     no
//   Not allowed, and reported ("mpscq::task_work: ..." on stderr, then
//   abort; see docs/api.md, Contracts): run() called directly from inside
//   one of this task_work's own items or a context's enter()/leave() (not
//   through its scheduler or fallback hand-off: that run() is the inline
//   hand-off, EXACTLY ONCE point 3), run(0), run() during destruction,
//   destroying it from inside one of its items (except by exit(), see
//   LIFETIME), close() or destruction from inside its scheduler or fallback
//   hand-off (including an item the scheduler runs inline: they would wait
//   for the calling add; except by exit()), destroying it on the default
//   fallback thread, from a job that thread runs, while its own fallback
//   job is queued behind that job (it would wait for itself), an add() that
//   begins after the destructor began, an item with no func, a scheduler
//   that throws. "Inside" is this thread's chain of frames
//   (detail/callback_guard.hpp), never a stored thread id: a fork()ed
//   child's new threads reuse the parent's ids, not its frames.
//
// BOUNDED ADMISSION (opt-in: task_work_options::limit; mpscq/bounded.hpp)
//   With a limit the object counts the items accepted and not yet run
//   (detail/admission.hpp: the room counter, on its own cache line, and the
//   sleeping protocol of producers that wait for room). try_add(w) refuses
//   with full when the limit is reached; try_add_for/try_add_until wait for
//   room, until the timeout or deadline (timed_out), a stop request on a
//   std::stop_token (stopped; where MPSCQ_HAS_STOP_TOKEN) or close() or the
//   destructor (closed: they wake every waiting producer before they wait
//   the adder gate drained, since a waiting producer is inside it). Every
//   refusal leaves the item untouched with the caller: nothing is pushed,
//   the scheduler is not called, func is not called. add() and add_batch()
//   are never refused: they take room anyway (and may pass the limit).
//   The room comes back after each pass of the run loop (serve(): a target
//   run, a fallback job running a cycle cancelled, the destructor's drain),
//   for the items that pass ran, while the runner still holds the run slot;
//   a release that finds producers waiting wakes them (FUTEX_WAKE), without
//   a lost wake (admission.hpp W1-W3). So a run that serves a long cycle
//   gives its room back when it stops (emptied, cap, should_yield, busy),
//   not per item.
//   SELF-WAIT: only a run of this task_work makes room, so a waiting
//   try_add called from inside one on the same thread (an item, a context's
//   enter()/leave(), the destructor's drain), or from its scheduler or
//   fallback hand-off (the cycle the calling add started waits for them),
//   would wait for itself: it returns full at once instead (this thread's
//   callback chain tells it, detail/callback_guard.hpp; only looked at when
//   there is no room). A wait across objects (an item of A waits for B's
//   room while B's item waits for A's) is not detected: give such waits a
//   deadline.
//   Cost: unbounded, nothing on add() (the gate's `limited` bit shares the
//   one test of the `destroying` bit) and one load and branch per run pass.
//   Bounded: one RMW per add and per pass on the admission line (not the
//   queue's tail), plus a FUTEX_WAKE per pass while producers wait.
//
// CAPS
//   run(max_entries, should_yield) runs at most max_entries items per call and
//   consults should_yield() between any two of them, also when it serves
//   turns that other runs handed to it.
//
// EXCEPTIONS
//   None escape. Items and context_work handlers are noexcept functions and
//   task_context::enter()/leave() noexcept virtuals: code that could throw
//   there does not compile. The scheduler is a std::function and cannot be
//   checked at compile time: an exception escaping it is reported
//   ("mpscq::task_work: the scheduler threw; ... what(): <what()>") and
//   aborts.
//   fallback_executor::execute() is noexcept. Only the constructors throw:
//   std::bad_alloc copying the scheduler, and std::system_error when the
//   default fallback thread cannot be started.
//
// SIGNAL SAFETY
//   add() is async-signal-safe only when its scheduler is and it cannot reach
//   the default fallback executor (which takes a mutex): i.e. never after
//   close() with the default fallback. The scheduling add also touches a
//   thread_local (the callback guard), whose first use in a dlopen()ed
//   library may allocate. A non-scheduling add is two gate RMWs (on its
//   thread's shard) and the push.
//   run(), close() and the destructor are not signal-safe.
//
// LIFETIME
//   ~task_work() closes, waits for every add still inside (each add is counted
//   in the adder gate from before its push to its last access), for every
//   fallback job it handed over, and for a run still active on another
//   thread; then it runs whatever is left (a cycle whose schedule the target
//   dropped) with cancel == true. Destroy it only when
//   1. no add() can begin any more: an add whose item ran may still be
//      returning (the destructor waits that out), but an add that has not
//      begun is a use after free (reported when the object is still there to
//      see it); and
//   2. no run() can come any more - including a run the scheduler arranged.
//      An item that ran in a run the scheduler did not arrange does not tell
//      you that: its add may be inside the scheduler call that is posting the
//      next run. So call close() first (it waits out scheduler calls in
//      progress; none start afterwards), then let the target run or drop
//      every schedule it accepted, then destroy.
//   EXIT FROM INSIDE. exit() called from user code that this task_work
//   called on this thread - an item (of a target run or of a fallback job,
//   on the target's thread or the fallback's), the scheduler, a fallback
//   executor's execute(), or an item that either runs inline - runs the
//   destructors of static objects on that thread while that code and its
//   callers are still on the stack; they never resume. The destructor and
//   close() tell it by this thread's chain of frames
//   (detail/callback_guard.hpp): a frame of this task_work that was pushed
//   before the thread's exit phase began, which has begun now. Then:
//   - they wait for the adds inside the gate except this thread's own below
//     them (inside their scheduler call or fallback hand-off: those never
//     leave), and the destructor for its fallback jobs except those that
//     never finish: a fallback run of it below it, and a job queued on the
//     default fallback thread when that is the exiting thread (jobs that
//     started on other threads find the run slot taken and hand off);
//   - with a run of it below (an item called exit()), the destructor
//     returns without running what is still queued: those items are not run
//     at all, not even cancelled (the run below holds the queue, and its
//     context, if any, is still entered). A run() that the exit reaches (a
//     static destructor's, or an inline one) hands its turn to that run and
//     returns handed_off: the turn is dropped with the process;
//   - without one (the scheduler or execute() called exit()), it takes the
//     run slot and runs what is queued, cancelled, as for a cycle whose
//     schedule the target dropped;
//   and exit() goes on. Reported instead (it cannot know whether to wait): a
//   fallback job of it queued and not started on an executor other than the
//   default one - it may be queued on the exiting thread itself. A frame
//   pushed during the exit phase (a run() that a static destructor calls)
//   is an ordinary frame, which returns: destroying the task_work from
//   inside it is reported, as outside exit(). The exit phase is the
//   thread's thread_local destructors having run, which glibc does first in
//   exit(); it is watched on every thread that constructed a task_work or
//   ran one, and on the default fallback thread. Elsewhere (another C
//   library) the case is reported as a plain destruction from inside the
//   callback: end the process with quick_exit() or _exit() there.
//   EXIT ON THE DEFAULT FALLBACK THREAD. exit() called there (from a job it
//   runs) never returns to the thread's loop: a task_work destroyed by that
//   exit() whose fallback job is queued there, behind the running one, does
//   not wait for that job (it never runs) but runs its cycle itself,
//   cancelled: nothing is lost. Without exit(), destroying a task_work from
//   a job on the default fallback thread while its own job is queued there
//   would wait for itself: reported.
//
// FORK (docs/api.md 6.6; the fallback's handling:
// detail/fallback_executor_impl.hpp)
//   A child gets a copy of the object, with the parent's queued items and
//   cycle; they run in the child only if it asks: run() on the copy, or
//   destroying it (the destructor runs what is left, cancelled; exit()
//   destroys static objects, so end a child that must not touch them with
//   _exit() or exec), or mpscq::run_inherited_fallback_jobs(). A cycle the
//   default fallback held at the fork stays held in the child: items the
//   child adds join it, and the destructor runs that job itself instead of
//   waiting for it. Destroying a copy whose fallback job was RUNNING on the
//   parent's fallback thread at the fork is reported ("mpscq::task_work:
//   destroyed in a forked child while its fallback job was running ...":
//   that run cannot finish there), also when the child handed the job over
//   again (its new run finds the run slot held by the lost run and hands
//   off): the destructor reports once no job queued or running in the child
//   explains the reference it still counts. Not supported: an add or a run in
//   progress on another thread at the fork (it never finishes in the child;
//   the destructor would wait for it).
//
// MEMORY-ORDERING CONTRACT
//   - Everything a thread did before add(w) happens-before w's func runs.
//   - Items of one task_work run one at a time; everything an item did
//     happens-before the next item starts (whichever thread runs it), and
//     before run() returns to its caller.
//   - After close() returns, no scheduler call is in progress or will start,
//     and an item whose add happens after close() returned runs with
//     cancel == true (on the fallback, or in a run that still owes a cycle
//     accepted before close()). Items run on the closing thread after
//     close() are cancelled too.
//   - Everything the items and the scheduler calls did happens-before the
//     destructor returns.
//
// RACE WINDOWS (where they live)
//   - The in-flight push (queue.hpp): a producer between its exchange and its
//     link. run() sees pop() == nullptr while !empty(); it leaves the current
//     context, backs off once (detail/backoff.hpp: yields, then sleeps that
//     grow to ~1 ms across calls while the push stays stuck) and returns
//     `more` with `busy`, rather than spin. The fallback and the destructor
//     keep waiting with the same backoff.
//   - Emptying pop -> end of run (serve()): after the pop that emptied the
//     queue the run still executes that item; a new cycle can be scheduled
//     meanwhile. The run slot closes this window (hand-off, point 3 above).
//   - Push -> the add's last access (add(), schedule()): the adder still
//     touches the task_work after its push (the gate, the scheduler call, the
//     fallback hand-off), while any run() - arranged or not - may already
//     have run its item and its owner destroyed the object. Every add enters
//     the adder gate (detail/adder_gate.hpp) before its push and leaves it as
//     its last access; close() and the destructor wait for the count. (The
//     mutant task_gate_after_push keeps the old order, gate after push.)
//   - Fallback job -> last access (run_fallback_job()): the job drops its
//     reference as its very last access; dropping it earlier lets the
//     destructor free the queue under the job (the mutant
//     task_fallback_drops_ref_early).
#ifndef MPSCQ_TASK_WORK_HPP
#define MPSCQ_TASK_WORK_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <type_traits>
#include <utility>

#include <mpscq/version.hpp>
#include <mpscq/bounded.hpp>
#include <mpscq/detail/adder_gate.hpp>
#include <mpscq/detail/admission.hpp>
#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/backoff.hpp>
#include <mpscq/detail/cache_line.hpp>
#include <mpscq/detail/callback_guard.hpp>
#include <mpscq/detail/context_slot.hpp>
#include <mpscq/detail/misuse.hpp>
#include <mpscq/detail/mutants.hpp>
#include <mpscq/detail/stop_token.hpp>
#include <mpscq/detail/thread_identity.hpp>
#include <mpscq/fallback_executor.hpp>
#include <mpscq/queue.hpp>
#include <mpscq/work.hpp>
#include <mpscq/work_chain.hpp>

namespace mpscq {

class task_work;

namespace detail {
struct task_work_access;  // tests reach the queue through this
}

/// A context items can name (the kernel's io_ring_ctx, whose uring_lock the
/// run loop takes once per stretch of one ctx's items). Consecutive items of
/// one context run inside one enter()/leave() pair; a change of context
/// leaves the old one and enters the new one. A run also leaves its context
/// before it yields, waits for an in-flight push, or ends. Both hooks run on
/// the runner's thread, between items, and must not throw. Items of several
/// task_works may name one context, and their runs may have it entered at
/// the same time (make enter()/leave() exclude each other where that
/// matters, as the kernel's mutex does).
///
/// LIFETIME (docs/api.md 6.3). Keep a context alive while an item that names
/// it is queued: until that item's func has started. After that:
///  - On the thread of a run that has it entered, it may be destroyed from
///    inside one of its items (typically the last: delete it, or end the
///    coroutine frame that holds it), from its own leave(), or from anything
///    they call - not from its enter() (the item about to run names it).
///    ~task_context() tells every run of this thread that has it entered
///    (detail/context_slot.hpp): they forget it and touch it no more.
///    leave() is NOT called for a context destroyed while entered (there is
///    no object left to call it on): its destructor is the last the run sees
///    of it, so release there whatever enter() took.
///  - On any other thread, destroy it only once no run has it entered: after
///    the leave() that follows its last item returned (leave() is a run's
///    last access to its context), or once the runs that ran its items
///    returned. Destroying it while a run on another thread has it entered
///    is a use after free (that run calls leave() later); the destructor
///    reports it when it sees it ("mpscq::task_context: destroyed while a run
///    on another thread has it entered ..."), best effort: a relaxed read of
///    the context's entry count.
/// The entry count costs a run one uncontended relaxed RMW on the context per
/// enter() and one per leave(). A coroutine that owns a context and awaits
/// resume_on(tw, ctx) is the same case (coro.hpp, THREAD AND LIFETIME RULES).
class task_context {
 public:
  virtual void enter() noexcept {}
  virtual void leave() noexcept {}

 protected:
  task_context() noexcept = default;
  /// A copy is a new context: no run has it entered.
  task_context(const task_context&) noexcept {}
  task_context& operator=(const task_context&) noexcept { return *this; }
  /// Forgets the context in every run of this thread that has it entered
  /// (see LIFETIME); reports it if a run on another thread has it entered.
  ~task_context();

 private:
  friend class task_work;

  // Runs that have entered this context and not yet left it, on any thread.
  // Misuse detection only (the destructor compares it with this thread's
  // runs); std::atomic, not detail::atomic: not part of a modelled protocol.
  std::atomic<std::uint32_t> entered_{0};
};

inline task_context::~task_context() {
  // [TC2] Relaxed: misuse detection only. A run of this thread wrote the
  // count itself (program order); a run on another thread that left the
  // context before a synchronised destruction did its fetch_sub before
  // leave() returned, so a destroyer ordered after that leave() reads it
  // (coherence). A destroyer not ordered after it is the misuse reported
  // below, when the read sees it.
  const std::uint32_t entered = entered_.load(std::memory_order_relaxed);
  if (entered == 0) return;  // no run has it entered: nothing to tell
  const unsigned here = detail::context_slot::forget(this);
  if (entered > here)
    detail::misuse("task_context",
                   "destroyed while a run on another thread has it entered (that run calls leave() on it later: a use "
                   "after free); destroy a context on the thread of the run that entered it - from one of its items "
                   "or its leave() - or after that run's leave() returned");
}

/// A work item that names a task_context. Embed it instead of mpscq::work and
/// give it a handler; task_work's run loop recognises it (its func is
/// context_work::dispatch) and groups it by context. Any other runner
/// (local_work, a plain loop) just calls the handler. Do not overwrite func.
struct context_work : work {
  using handler_type = void (*)(context_work&, run_state) noexcept;  // noexcept: see work.hpp

  task_context* context = nullptr;
  handler_type handler = nullptr;

  context_work() noexcept { func = &context_work::dispatch; }
  context_work(task_context* ctx, handler_type h) noexcept : context(ctx), handler(h) {
    func = &context_work::dispatch;
  }

  static void dispatch(work& w, run_state st) noexcept {
    auto& self = static_cast<context_work&>(w);
    // Misuse, every build (task_work::add reports it earlier): one compare.
    if (self.handler == nullptr) detail::misuse("context_work", "an item with no handler ran");
    self.handler(self, st);
  }

  /// The context_work that `w` is, or nullptr for a plain work item.
  static context_work* from(work& w) noexcept {
    return w.func == &context_work::dispatch ? static_cast<context_work*>(&w) : nullptr;
  }

  /// `w` is a context_work with no handler (the adds' misuse check).
  /// GCC 12's -Warray-bounds, after inlining into a caller whose item is a
  /// plain work in an object smaller than a context_work, flags the handler
  /// read although the func compare guards it: silenced here, for this read
  /// only (no code changes).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
  static bool lacks_handler(const work& w) noexcept {
    return w.func == &context_work::dispatch && static_cast<const context_work&>(w).handler == nullptr;
  }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
};

/// What one run() call did.
struct run_result {
  std::size_t ran = 0;       ///< items this call ran
  std::size_t cycles_ended = 0;  ///< cycles it ended with an emptying pop (more than
                             ///< one when it served runs handed to it)
  bool more = false;         ///< the caller still owns the queue: run() again
  bool busy = false;         ///< (with more) it stopped because a producer is
                             ///< inside its push (the in-flight window), not at
                             ///< the cap: run() already backed off (a yield, later
                             ///< sleeps growing to ~1 ms while the push stays
                             ///< stuck), so calling it again at once does not spin
  bool handed_off = false;   ///< another run was active (on another thread, or this
                             ///< thread's run when an add inside it called the
                             ///< scheduler, which called run() inline); it took
                             ///< this turn and serves the cycle
};

/// Called by the add that made the queue non-empty: arrange for run() to be
/// called on the target and return true, or return false if the target
/// refuses (it is exiting). Where the adding thread is the target, it may
/// call run() itself, inline: `while (t.run().more) {}` (a run that returns
/// `more` still owns the queue). Called by an add made inside the run that is
/// active on this thread (an item adding to its own task_work), that run()
/// returns at once with handed_off: the active run serves the new cycle
/// after the current item (EXACTLY ONCE, point 3). Must not throw: an
/// exception that escapes it is reported ("mpscq::task_work: the scheduler
/// threw ...") and aborts, since the add that called it cannot hand its
/// cycle anywhere. Must not call close() or destroy the task_work (reported
/// too: they would wait for the calling add itself) - except through
/// exit(), called by it or by an item it runs inline (LIFETIME, EXIT FROM
/// INSIDE).
using task_work_scheduler = std::function<bool(task_work&)>;

/// task_work's construction options (all optional; the defaults are what the
/// constructors without options give).
struct task_work_options {
  /// Bounded admission (mpscq/bounded.hpp; BOUNDED ADMISSION in the header
  /// comment): at most `limit` items accepted and not yet run, counting from
  /// an add's admission to the end of the run-loop pass that ran it (target
  /// run, fallback job or the destructor's drain; cancelled items count as
  /// run). 0 (the default): no limit, and add() costs exactly what it costs
  /// unbounded. With a limit, try_add() refuses and try_add_for()/
  /// try_add_until() wait when it is reached; add() and add_batch() are never
  /// refused (they count, and may pass it). Each add then costs one more RMW
  /// (on the admission line, not the queue's tail), each pass one RMW, plus
  /// a FUTEX_WAKE per pass while producers wait.
  std::uint32_t limit = 0;
};

/// Work scheduled exactly once onto a target. See the header comment.
class task_work {
 public:
  /// run()'s default cap: no cap.
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

#if MPSCQ_DETAIL_NATIVE_THREADS
  /// A task_work whose refused queues go to default_fallback_executor(),
  /// which this constructor starts if it is not running (see
  /// <mpscq/fallback_executor.hpp>). Throws std::system_error if the default
  /// fallback thread cannot be started.
  explicit task_work(task_work_scheduler scheduler) : task_work(std::move(scheduler), default_fallback_executor()) {}
  /// As above, with options (e.g. `{.limit = 1024}`: bounded admission).
  task_work(task_work_scheduler scheduler, const task_work_options& options)
      : task_work(std::move(scheduler), default_fallback_executor(), options) {}
#endif

  /// A task_work whose refused queues go to `fallback`, which must outlive it.
  task_work(task_work_scheduler scheduler, fallback_executor& fallback, const task_work_options& options = {});

  task_work(const task_work&) = delete;
  task_work& operator=(const task_work&) = delete;

  /// See LIFETIME in the header comment.
  ~task_work();

  /// Adds `w` (any thread; `w.func` set; `w` not queued). Only the add that
  /// finds the queue empty calls the scheduler - or, if it refuses or close()
  /// was called, hands the queue to the fallback executor. `w` belongs to the
  /// task_work until its func starts. Cost: the gate's two RMWs on the
  /// adding thread's shard line (detail/adder_gate.hpp), the push (exchange
  /// + store on the producers' line); the scheduling add also the scheduler
  /// call.
  void add(work& w) noexcept;

  /// Adds every item of `chain`, in order and contiguous, with ONE push (one
  /// exchange on the tail: queue::push_batch, the kernel's llist_add_batch).
  /// The chain is one add for the protocol: if it finds the queue empty it
  /// calls the scheduler once (or, refused or closed, hands the queue to the
  /// fallback, which runs every item cancelled, as for add()); otherwise it
  /// schedules nothing. Any thread. Leaves `chain` empty; an empty chain does
  /// nothing. Cost: one add()'s, whatever the length (work_chain.hpp).
  /// Misuse: see work_chain.hpp (appending) and add(); a context_work with
  /// no handler is reported here with MPSCQ_DEBUG, else when it runs.
  void add_batch(work_chain& chain) noexcept;

  // --- bounded admission (task_work_options::limit; mpscq/bounded.hpp;
  //     BOUNDED ADMISSION in the header comment) ------------------------------
  // Any thread. Each returns what it did with `w`: add_status::added (queued
  // exactly as add(w) queues it: same order; the add that finds the queue
  // empty calls the scheduler), or a refusal that leaves `w` untouched with
  // the caller (nothing pushed, func not called, no scheduler call):
  // full, timed_out, stopped, closed. Without a limit they always add, but
  // return closed once close() began (or the destructor) - unlike add(),
  // which then still queues `w` and has it run cancelled on the fallback.
  // Misuse as add(): no func, a context_work with no handler, a call that
  // begins after the destructor began. Not async-signal-safe when they may
  // wait (a futex sleep); try_add() is as signal-safe as add().

  /// Queues `w` if the limit leaves room for it, else returns full at once.
  /// Cost with room: add()'s plus a compare-exchange on the admission line.
  [[nodiscard]] add_status try_add(work& w) noexcept;

  /// As try_add(), but waits for room: until `deadline` passes (timed_out;
  /// time_point::max(): no deadline), close() (closed; also the destructor,
  /// which closes) or, with the token overloads, a stop request (stopped; a
  /// token stopped already refuses at once when there is no room). Called
  /// from inside this task_work - one of its items or a context's
  /// enter()/leave() (the run that would make room is this thread's, below
  /// the call), its scheduler or its fallback hand-off (the cycle the
  /// calling add started waits for them) - it does not wait: full at once.
  /// Fairness: none - a producer that arrives later may take room first.
  /// Sleeps on a futex while it waits (detail/admission.hpp); the run pass
  /// that makes room wakes it.
  [[nodiscard]] add_status try_add_until(work& w, std::chrono::steady_clock::time_point deadline) noexcept;
  /// try_add_until(w, now + timeout): nanoseconds::max() waits without a
  /// deadline; a timeout <= 0 does not wait (timed_out when there is no room).
  [[nodiscard]] add_status try_add_for(work& w, std::chrono::nanoseconds timeout) noexcept {
    return try_add_until(w, deadline_from(timeout));
  }
#if MPSCQ_HAS_STOP_TOKEN
  /// With a std::stop_token (where the standard library has one,
  /// MPSCQ_HAS_STOP_TOKEN): a stop request ends the wait with stopped. A
  /// token without a stop state costs nothing; otherwise a std::stop_callback
  /// is registered only while the call waits for room.
  [[nodiscard]] add_status try_add_until(work& w, std::chrono::steady_clock::time_point deadline,
                                         std::stop_token stop) noexcept;
  [[nodiscard]] add_status try_add_for(work& w, std::chrono::nanoseconds timeout, std::stop_token stop) noexcept {
    return try_add_until(w, deadline_from(timeout), std::move(stop));
  }
#endif

  /// task_work_options::limit (0: none).
  std::uint32_t limit() const noexcept { return admission_.limit(); }
  /// With a limit: items accepted and not yet run (a relaxed snapshot, any
  /// thread; it may lag a pass in progress). 0 without a limit.
  std::uint64_t depth() const noexcept { return admission_.depth(); }  // [AD12]
  /// try_add* calls that left their item with the caller (full, timed_out,
  /// stopped, closed; with or without a limit). A relaxed counter, any thread.
  std::uint64_t refused() const noexcept { return admission_.refused(); }  // [AD12]

  /// Runs queued items in FIFO order on the calling thread (the target), at
  /// most `max_entries` (>= 1), until a pop empties the queue. Returns what it
  /// did; `more` means this caller still owns the queue and must run again.
  /// While another run is active it returns at once with `handed_off` (that
  /// run serves the cycle) - also on the active run's own thread when the
  /// scheduler or the fallback hand-off calls it inline for an add made
  /// inside that run. Called directly from one of its own items: misuse.
  run_result run(std::size_t max_entries = unlimited) noexcept;

  /// As run(max_entries), and also ends the run (with `more`) when
  /// `should_yield()` returns true after an item - the kernel's
  /// need_resched(): the run leaves its context first.
  template <class ShouldYield>
  run_result run(std::size_t max_entries, ShouldYield&& should_yield) noexcept;

  /// The target is gone: adds that would schedule go to the fallback instead,
  /// and every item whose add happens after close() returns runs with
  /// cancel == true, whoever runs it. Waits for scheduler calls in progress;
  /// once it returns, the scheduler is never called again. Schedules accepted
  /// before must still be run (see THE PROTOCOL); their items run cancelled
  /// from then on. Idempotent; any thread.
  void close() noexcept;

  /// True once close() (or the destructor) has started. Any thread; a
  /// snapshot (close() itself gives the ordering).
  bool closed() const noexcept { return gate_.is_closed(); }  // [T18]

  /// A snapshot: nothing queued and no add in flight (see queue::empty).
  bool empty() const noexcept { return q_.empty(); }

  /// Empty -> non-empty cycles completed: pops that emptied the queue, by
  /// target runs, fallback jobs and the destructor. Read it only while no run
  /// can be active (it is the run slot holder's plain counter).
  std::uint64_t cycles_ended() const noexcept { return cycles_ended_; }

 private:
  friend struct detail::task_work_access;

  enum class runner { target, fallback, destructor };
  // `again`: only between nothing_popped() and its caller (pop again).
  enum class stop { emptied, drained, more, busy, again };
  struct never_yield {
    bool operator()() const noexcept { return false; }
  };
  struct fallback_job : work {
    task_work* owner = nullptr;
  };

  // The add that made the queue non-empty owns it until it hands it over.
  // Runs inside the adder gate; `ticket` is what its enter() returned: close()
  // either saw this add counted (and waits for it) or the add sees the bit
  // (ticket.before); its hand_over frame records the shard (ticket.shard).
  void schedule(detail::adder_gate::ticket ticket) noexcept;

  // What this thread's callback chain holds of *this (detail/callback_guard.hpp).
  struct frames_here {
    const detail::callback_guard* innermost = nullptr;            // our innermost frame
    const detail::callback_guard* innermost_hand_over = nullptr;  // our innermost hand_over frame
    bool holds_slot = false;  // a run (or drain) frame: this thread holds the run slot
    detail::adder_gate::own_adds adds;  // this thread's adds inside the gate: one per hand_over frame
  };
  frames_here own_frames() const noexcept;

  // The destructor (`destroying`) or close() found `frame`, a frame of ours,
  // on this thread's chain: returns if the code in it called exit() (the
  // frame was pushed before this thread's exit phase began, and it has
  // begun); reports the misuse otherwise.
  static void require_exit_below(const detail::callback_guard& frame, bool destroying) noexcept;

  bool call_scheduler() noexcept;

  // add()'s and add_batch()'s entry when the gate word has `destroying` or
  // `limited` set: reports an add that began after the destructor began
  // (`what`) unless it comes from the destructor's drain, and takes room
  // for a bounded object's items (never refused). Inline, with no call but
  // the noreturn report: an out-of-line call here made GCC keep a copy of
  // the ticket live across it on the unbounded fast path (one instruction
  // more per add under callgrind).
  void add_slow(detail::adder_gate::state before, std::size_t items, const char* what) noexcept {
    if ((before & detail::adder_gate::destroying) != 0 &&
        !detail::callback_guard::inside(this, detail::callback_guard::kind::drain))
      detail::misuse("task_work", what);
    // [T22] calls [AD3]: counted before the push, so the pass that runs the
    // items (and gives their room back) comes after it.
    if ((before & detail::adder_gate::limited) != 0) {
      for (; items > UINT32_MAX; items -= UINT32_MAX) admission_.charge(UINT32_MAX);
      admission_.charge(static_cast<std::uint32_t>(items));
    }
  }

  // The try_add* calls: the item checks, the gate, then `take(admission&) ->
  // add_status` when the object is bounded (an unbounded one admits at
  // once); on added the push and the scheduling, else leaves the gate and
  // counts the refusal. `w` is untouched unless added.
  template <class Take>
  add_status try_add_with(work& w, Take&& take) noexcept;
  // A waiting try_add's `take`: room now, full from inside this task_work
  // (it would wait for itself), else admission::acquire_wait().
  template <class Stop>
  add_status take_room_waiting(detail::admission& a, std::chrono::steady_clock::time_point deadline,
                               const Stop& stop) noexcept;
  // Gives back the room of `ran` items run (or run cancelled) in a pass
  // and wakes the producers waiting for it (serve()).
  void give_back_room(std::size_t ran) noexcept;
  static std::chrono::steady_clock::time_point deadline_from(std::chrono::nanoseconds timeout) noexcept {
    using clock = std::chrono::steady_clock;
    const clock::time_point now = clock::now();
    if (timeout <= std::chrono::nanoseconds::zero()) return now;
    if (timeout >= clock::time_point::max() - now) return clock::time_point::max();
    return now + std::chrono::duration_cast<clock::duration>(timeout);
  }
  struct no_stop {
    static bool stop_requested() noexcept { return false; }
  };

  [[noreturn]] static void scheduler_threw(const char* what) noexcept;

  void hand_to_fallback() noexcept;

#if MPSCQ_DETAIL_NATIVE_THREADS
  // The destructor in a forked child (fork, docs/api.md 6.6): true when our
  // count of fallback jobs holds a reference (above never_finish) that only
  // a job running on the parent's fallback thread at the fork explains - it
  // never finishes here; reported by fallback_job_lost().
  bool lost_at_fork(std::uint32_t never_finish) noexcept;
  [[noreturn]] static void fallback_job_lost() noexcept;
#endif

  static void run_fallback_job(work& job, run_state) noexcept;

  template <class ShouldYield>
  run_result run_as(runner who, std::size_t max_entries, ShouldYield& should_yield) noexcept;

  // The acquire/release pair that hands the consumer (and the effects of the
  // items run so far) from one run to the next. Weakened by the mutant
  // task_emptied_relaxed: the emptied decision ends a run's ownership, and
  // this is the order that publishes it - the consumer's emptied() itself is
  // the runner's own plain state, with no order to weaken.
  // [T13] [T14] [T15]
  static constexpr std::memory_order slot_order =
      detail::mutant::weaken_if(detail::mutant::task_emptied_relaxed, std::memory_order_acq_rel);

  bool enter_run() noexcept;

  // Leaves the run slot after a run that no longer owns the queue. Returns
  // true if runs handed us their turns meanwhile: we keep the slot and serve.
  bool leave_run() noexcept;

  // Leaves the run slot after a run that still owns the queue (`more`). Turns
  // handed to us meanwhile are absorbed: our caller's next run() serves them.
  void leave_run_owning() noexcept;

  static task_context* context_of(work& w) noexcept;

  static void switch_context(detail::context_slot& current, task_context* next) noexcept;

  // The run loop. Holds the run slot. Returns `emptied` right after a pop
  // that emptied the queue (ownership ends there), `drained` when there was
  // nothing to pop, `more` at the cap or on should_yield, `busy` when a target
  // run met an in-flight push (it still owns the queue in both).
  template <class ShouldYield>
  stop serve(runner who, std::size_t max_entries, ShouldYield& should_yield, run_result& result) noexcept;
  // serve() without a should_yield: items through consumer::pop_batch.
  stop serve_batch(runner who, std::size_t max_entries, run_result& result) noexcept;
  // serve() with a should_yield: one pop per item, the callback between them.
  template <class ShouldYield>
  stop serve_each(runner who, std::size_t max_entries, ShouldYield& should_yield, run_result& result) noexcept;

  stop end_cycle(detail::context_slot& current, run_result& result) noexcept;
  // A pop (or pop_batch) that gave nothing: `drained` when the queue is
  // empty; a push in flight: `busy` for the target (after one pause), else a
  // pause and `again`.
  stop nothing_popped(runner who, detail::context_slot& current, detail::backoff& wait) noexcept;

  // --- the producers' side: the queue (its own cache lines) ----------------
  queue q_;

  // --- the adder gate: every add writes its thread's shard (runs read shard
  //     0 for the closed bit, once per item until it is set); then what the
  //     one scheduling add per cycle writes ------------------------------------
  alignas(detail::cache_line) detail::adder_gate gate_;
  detail::atomic<bool> fallback_queued_{false};
  detail::atomic<std::uint32_t> fallback_refs_{0};
  task_work_scheduler scheduler_;
  fallback_executor* fallback_;
  fallback_job fallback_job_;

  // --- the target's side: the run slot and the consumer ---------------------
  // Which thread holds it is not stored: a thread holds it while a run
  // frame of ours is on its callback chain (detail/callback_guard.hpp).
  alignas(detail::cache_line) detail::atomic<std::uint32_t> runs_{0};
  runner active_runner_ = runner::target;  // the run slot holder's kind (read by the destructor on its thread)
  consumer consumer_{q_};
  std::uint64_t cycles_ended_ = 0;
  detail::backoff in_flight_wait_;  // the run slot holder's pause for an in-flight push

  // --- bounded admission (detail/admission.hpp): its own line, written by
  //     bounded adds and once per pass by the runner; untouched (read once
  //     per pass, for its limit) when unbounded ------------------------------
  detail::admission admission_;
};

// ---------------------------------------------------------------------------
// Implementation. Nothing below this line is part of the interface.
// ---------------------------------------------------------------------------

inline task_work::task_work(task_work_scheduler scheduler, fallback_executor& fallback, const task_work_options& options)
    : scheduler_(std::move(scheduler)), fallback_(&fallback) {
  if (!scheduler_) detail::misuse("task_work", "constructed with an empty scheduler");
  fallback_job_.func = &task_work::run_fallback_job;
  fallback_job_.owner = this;
  // Bounded admission (BOUNDED ADMISSION): the gate's `limited` bit sends
  // every add through add_slow(), which takes room; an unbounded object's
  // adds test the same word with the same instruction as before. [T22]
  if (options.limit != 0) {
    admission_.set_limit(options.limit);
    gate_.set_flags(detail::adder_gate::limited);  // [T22] calls [A7]
  }
  // The destructor tells exit() by the calling thread's exit phase
  // (EXIT FROM INSIDE, in LIFETIME): watch it on the constructing thread
  // (a static object's: the main thread), as every run does on its own -
  // so that also a scheduler that calls exit() on this thread before any
  // run is seen. One thread_local check after the first call.
  detail::watch_exit_phase();
}

inline task_work::frames_here task_work::own_frames() const noexcept {
  frames_here here;
  detail::callback_guard::for_each(this, [&here](const detail::callback_guard& g) noexcept {
    if (here.innermost == nullptr) here.innermost = &g;
    switch (g.which()) {
      case detail::callback_guard::kind::hand_over:
        if (here.innermost_hand_over == nullptr) here.innermost_hand_over = &g;
        ++here.adds.count[g.shard()];  // the add that pushed this frame is inside the gate
        break;
      case detail::callback_guard::kind::run:
      case detail::callback_guard::kind::drain: here.holds_slot = true; break;
      case detail::callback_guard::kind::none: break;
    }
  });
  return here;
}

inline void task_work::require_exit_below(const detail::callback_guard& frame, bool destroying) noexcept {
  using kind = detail::callback_guard::kind;
  if (frame.which() == kind::drain)
    detail::misuse("task_work", "destroyed from inside one of its own items (the destructor's drain is running them)");
  // The frame was pushed before this thread's exit phase began, and the
  // phase has begun: the user code in it called exit() (callback_guard.hpp,
  // THE EXIT PHASE). It never resumes.
  if (!frame.in_exit_phase() && detail::this_thread_exiting()) return;
  if (frame.which() == kind::run) {
    if (frame.in_exit_phase())
      detail::misuse("task_work",
                     "destroyed from inside one of its own items, in a run that began after exit() began on this "
                     "thread (a static or thread_local destructor's run(), which goes on after the item returns): "
                     "destroy it after that run returned");
    detail::misuse("task_work",
                   "destroyed from inside one of its own items; if an item called exit(), end the process with "
                   "quick_exit() or _exit() there, or return and exit outside the items");
  }
  detail::misuse("task_work", destroying
                                  ? "destroyed from inside its scheduler or fallback hand-off (it would wait for itself)"
                                  : "close() called from inside its scheduler or fallback hand-off (it would wait for "
                                    "itself)");
}

inline task_work::~task_work() {
  // Our frames on this thread's callback chain (detail/callback_guard.hpp).
  // None: the ordinary destruction. Some: we are destroyed from inside user
  // code we called on this thread - legitimate only when that code called
  // exit(), which runs the destructors of static objects on this thread
  // while it, and our frames below it, are still on the stack: they never
  // resume (EXIT FROM INSIDE, in LIFETIME). Anything else is reported.
  const frames_here here = own_frames();
  const bool exit_below = here.innermost != nullptr;
  if (exit_below) require_exit_below(*here.innermost, true);
  gate_.close(detail::adder_gate::closed | detail::adder_gate::destroying);  // [T7]
  // Bounded: as in close(): waiting adds give up before the gate wait. [T23]
  if (admission_.limit() != 0) admission_.close();  // [T23] calls [AD11] [AD10]
  detail::backoff wait;
  // 1. Adds still inside (adder_gate.hpp): every add is counted from before
  //    its push to its last access. Under exit(), the adds below us on this
  //    thread (one per hand_over frame of ours: inside their scheduler call
  //    or fallback hand-off) never leave: wait for every other one.
  //    MUTANT task_teardown_no_wait_adders skips it: an add still returning
  //    from its scheduler call / fallback hand-off touches freed memory.
  if constexpr (!detail::mutant::task_teardown_no_wait_adders) {
    if (exit_below) {
      gate_.wait_drained_except(here.adds);  // [T8]
    } else {
      gate_.wait_drained();  // [T8]
    }
  }
  // 2. Fallback jobs handed over.
#if MPSCQ_DETAIL_NATIVE_THREADS
  //    In a forked child the default fallback holds back the jobs its parent
  //    queued (fallback_executor.hpp, fork()): ours runs when we ask, so ask
  //    first, as close() plus the drain would run a cycle whose schedule a
  //    target dropped: run it, cancelled. It takes the run slot (or hands
  //    its turn to the run that holds it) and drops its reference.
  //    [T20] Relaxed: only decides whether to ask; the wait below acquires.
  if (fallback_refs_.load(std::memory_order_relaxed) != 0 &&
      detail::take_inherited_fallback_job(*fallback_, fallback_job_))
    fallback_job_(run_state{true});
#endif
  //    Jobs that never finish, so we must not wait for them: the fallback
  //    run of ours below us on this thread (exit() from one of its items),
  //    and a job queued on the default fallback thread when that is this
  //    thread, in exit() (it never returns to its loop: we serve that
  //    job's cycle ourselves, in the drain below - or, with a run of ours
  //    below us, leave it to that run, which never resumes).
  std::uint32_t never_finish = here.holds_slot && active_runner_ == runner::fallback ? 1 : 0;
  // [T21] Acquire: pairs with the add's [T3] exchange: a job of ours is
  // queued and has not started. After the gate drained no add hands one
  // over any more; only the job's start clears the flag.
  if (fallback_queued_.load(std::memory_order_acquire)) {
#if MPSCQ_DETAIL_NATIVE_THREADS
    if (detail::on_default_fallback_thread(*fallback_)) {
      // It is queued on this very thread, behind the job that runs here.
      if (!detail::this_thread_exiting())
        detail::misuse("task_work",
                       "destroyed on the default fallback thread, by a job it runs, while its own fallback job is "
                       "queued behind that job (it would wait for itself): destroy it from another thread, or let "
                       "the job that destroys it return first");
      ++never_finish;
    } else if (detail::is_default_fallback(*fallback_)) {
      // Queued on the default fallback thread, which is another thread: it
      // runs the job, which finds the run slot held (by the run below us,
      // under exit()) and hands off, or serves the cycle; either way it
      // drops its reference. Wait for it below.
    } else
#endif
    if (exit_below) {
      // Any other executor: it may be queued on this thread (a loop below
      // us that never resumes) or on a thread that will run it (it then
      // finds the run slot held and hands off): we cannot know whether to
      // wait, and report rather than risk a hang.
      detail::misuse("task_work",
                     "destroyed by exit() called from one of its own items while one of its fallback jobs is "
                     "queued and not started on a fallback executor other than the default one (it may be queued "
                     "on this thread, which never returns to run it; exit() from its scheduler or fallback "
                     "hand-off is the same case): end the process with quick_exit() or _exit() there");
    }
  }
  //    [T9] Acquire: pairs with the job's release fetch_sub, its last access
  //    (run_fallback_job()). (MUTANT task_fallback_refs_relaxed: relaxed.)
  while (fallback_refs_.load(detail::mutant::weaken_if(detail::mutant::task_fallback_refs_relaxed,
                                                       std::memory_order_acquire)) > never_finish) {
#if MPSCQ_DETAIL_NATIVE_THREADS
    if (lost_at_fork(never_finish)) fallback_job_lost();
#endif
    wait.pause();
  }
  // exit() from inside a run of ours on this thread: it holds the run slot
  // and never resumes. We neither wait for it nor run what is still queued
  // (those items are not run at all, not even cancelled: the run below
  // holds the queue, and its context, if any, is still entered).
  if (here.holds_slot) return;
  // 3. A run still active (a target run on another thread). Take the run
  //    slot for good. [T10] Acquire: pairs with the release in leave_run(), so we
  //    see the consumer cursor it left.
  for (;;) {
    std::uint32_t idle = 0;
    // [T10]
    if (runs_.compare_exchange_strong(idle, 1, std::memory_order_acquire, std::memory_order_relaxed)) break;
    wait.pause();
  }
  // 4. A cycle whose schedule was dropped (by the target; or by exit(),
  //    with the scheduler call below us or with our job queued on this
  //    exiting fallback thread): run it, cancelled. Items may add() to us
  //    from here (see add(): the drain frame tells it): the loop runs those
  //    too.
  detail::callback_guard draining(this, detail::callback_guard::kind::drain);
  run_result ignored;
  never_yield no;
  while (serve(runner::destructor, unlimited, no, ignored) != stop::drained) {
  }
}

inline void task_work::add(work& w) noexcept {
  if (w.func == nullptr) detail::misuse("task_work", "add(): the work item has no func");
  if (context_work::lacks_handler(w)) detail::misuse("task_work", "add(): the context_work item has no handler");
  if constexpr (detail::mutant::task_gate_after_push) {
    // MUTANT (the pre-hardening order): register only after a push that
    // found the queue empty. In between, a run() the scheduler did not
    // arrange can run the item, the owner destroys the object, and this add
    // then touches freed memory.
    if (!q_.push(&w.hook)) return;
    const detail::adder_gate::ticket ticket = gate_.enter();  // [T1]
    schedule(ticket);
    gate_.leave(ticket);  // [T2]
  } else {
    // RACE WINDOW (push -> last access): from the push on, the item can run
    // - in a run the scheduler arranged, or in any other run() - and its
    // owner may then destroy the task_work. So the add is counted in the
    // gate *before* the push, and the destructor waits for the count.
    const detail::adder_gate::ticket ticket = gate_.enter();  // [T1]
    // After the destructor began, only its own items (running cancelled in
    // its drain, on its thread: the drain frame) may add; the drain runs
    // what they add. A bounded object takes room before the push (never
    // refused). One test for both bits: an unbounded, live object's add
    // costs what it did before bounded admission existed. [T22]
    if ((ticket.before & (detail::adder_gate::destroying | detail::adder_gate::limited)) != 0)
      add_slow(ticket.before, 1, "add() began after the destructor began (use after free)");
    if (q_.push(&w.hook)) schedule(ticket);  // else: the queue's owner will run it
    gate_.leave(ticket);  // [T2]
  }
}

template <class Take>
inline add_status task_work::try_add_with(work& w, Take&& take) noexcept {
  if (w.func == nullptr) detail::misuse("task_work", "try_add(): the work item has no func");
  if (context_work::lacks_handler(w)) detail::misuse("task_work", "try_add(): the context_work item has no handler");
  const detail::adder_gate::ticket ticket = gate_.enter();  // [T1]
  if ((ticket.before & detail::adder_gate::destroying) != 0 &&
      !detail::callback_guard::inside(this, detail::callback_guard::kind::drain))
    detail::misuse("task_work", "try_add() began after the destructor began (use after free)");
  add_status status = add_status::added;
  if ((ticket.before & detail::adder_gate::closed) != 0) {
    status = add_status::closed;  // also the destructor's drain (closed | destroying)
  } else if ((ticket.before & detail::adder_gate::limited) != 0) {
    // Inside the gate: a producer that sleeps for room here is woken by
    // close() or the destructor before they wait the gate drained
    // (admission.hpp W5; [T23]).
    status = take(admission_);
  }
  if (status != add_status::added) {
    admission_.count_refused();  // [AD12]
    gate_.leave(ticket);  // [T2] nothing pushed: `w` is the caller's
    return status;
  }
  if (q_.push(&w.hook)) schedule(ticket);  // as add()
  gate_.leave(ticket);  // [T2]
  return add_status::added;
}

template <class Stop>
inline add_status task_work::take_room_waiting(detail::admission& a, std::chrono::steady_clock::time_point deadline,
                                               const Stop& stop) noexcept {
  if (a.try_acquire(1)) return add_status::added;  // [AD1] [AD2]
  // Only a run of ours makes room. From inside one on this thread (an item,
  // a context's enter()/leave(), the destructor's drain), or inside our
  // scheduler call or fallback hand-off (the cycle their add started waits
  // for them to return), we would wait for ourselves: refuse at once. One
  // walk of this thread's callback chain, on the no-room path only.
  if (detail::callback_guard::innermost_frame(this) != nullptr) return add_status::full;
  switch (a.acquire_wait(1, deadline, stop)) {
    case detail::admission::outcome::admitted: return add_status::added;
    case detail::admission::outcome::timed_out: return add_status::timed_out;
    case detail::admission::outcome::stopped: return add_status::stopped;
    case detail::admission::outcome::closed: break;
  }
  return add_status::closed;
}

inline add_status task_work::try_add(work& w) noexcept {
  return try_add_with(w, [](detail::admission& a) noexcept {
    return a.try_acquire(1) ? add_status::added : add_status::full;  // [AD1] [AD2]
  });
}

inline add_status task_work::try_add_until(work& w, std::chrono::steady_clock::time_point deadline) noexcept {
  return try_add_with(w, [&](detail::admission& a) noexcept { return take_room_waiting(a, deadline, no_stop{}); });
}

#if MPSCQ_HAS_STOP_TOKEN
inline add_status task_work::try_add_until(work& w, std::chrono::steady_clock::time_point deadline,
                                           std::stop_token stop) noexcept {
  return try_add_with(w, [&](detail::admission& a) noexcept {
    if (a.try_acquire(1)) return add_status::added;  // no callback while there is room
    if (!stop.stop_possible()) return take_room_waiting(a, deadline, no_stop{});
    // RACE WINDOW (a stop vs the sleep): admission.hpp W4. The callback runs
    // on the requesting thread after the request is visible, while we are
    // inside the gate (its destructor, below, waits for a running callback),
    // so the object is alive for it.
    const std::stop_callback wake_on_stop(stop, [this]() noexcept { admission_.wake_all(); });
    return take_room_waiting(a, deadline, stop);
  });
}
#endif

inline void task_work::give_back_room(std::size_t ran) noexcept {
  // [T24] calls [AD5] [AD9] (and [AD10] while producers wait): after the
  // items ran, never before (admission.hpp W3).
  for (; ran > UINT32_MAX; ran -= UINT32_MAX) admission_.release(UINT32_MAX);
  admission_.release(static_cast<std::uint32_t>(ran));
}

inline void task_work::add_batch(work_chain& chain) noexcept {
  if (chain.empty()) return;
  const detail::taken_chain items = detail::work_chain_access::take(chain);
#if MPSCQ_DEBUG
  // add()'s context check, per item (a walk: debug builds only). Without
  // MPSCQ_DEBUG, context_work::dispatch reports it when the item runs.
  for (node* n = items.first;; n = n->next.load(std::memory_order_relaxed)) {  // [WC2]
    if (context_work::lacks_handler(work::from_hook(n)))
      detail::misuse("task_work", "add_batch(): a context_work item of the chain has no handler");
    if (n == items.last) break;
  }
#endif
  // As add(): counted in the gate before the push (RACE WINDOW push -> last
  // access), one push for the chain, and the one scheduling add per cycle.
  const detail::adder_gate::ticket ticket = gate_.enter();  // [T1]
  if ((ticket.before & (detail::adder_gate::destroying | detail::adder_gate::limited)) != 0) {
    // The chain's length, counted here rather than kept from take(): a
    // register held for it cost an unbounded add_batch one instruction more
    // (callgrind). A walk of links this thread just wrote. [WC2]
    std::size_t size = 1;
    for (node* n = items.first; n != items.last; n = n->next.load(std::memory_order_relaxed)) ++size;  // [WC2]
    add_slow(ticket.before, size, "add_batch() began after the destructor began (use after free)");  // [T22]
  }
  if (q_.push_batch(items.first, items.last)) schedule(ticket);  // else: the queue's owner will run it
  gate_.leave(ticket);  // [T2]
}

inline run_result task_work::run(std::size_t max_entries) noexcept {
  never_yield no;
  return run(max_entries, no);
}

template <class ShouldYield>
inline run_result task_work::run(std::size_t max_entries, ShouldYield&& should_yield) noexcept {
  if (max_entries == 0) detail::misuse("task_work", "run(0): max_entries must be at least 1");
  // Relaxed: a best-effort check for a run racing with the destructor.
  if (gate_.is_destroying()) detail::misuse("task_work", "run() on a task_work that is being destroyed");  // [T17]
  return run_as(runner::target, max_entries, should_yield);
}

inline void task_work::close() noexcept {
  // From inside our scheduler or fallback hand-off (also from an item they
  // run inline) close() would wait for the calling add: misuse - unless
  // that code called exit() (as in ~task_work()): then the adds below us on
  // this thread never leave, and we wait for every other one.
  const frames_here here = own_frames();
  if (here.innermost_hand_over != nullptr) require_exit_below(*here.innermost_hand_over, false);
  // The bit and the adders' count share one word (adder_gate.hpp, G1): an
  // add either entered before this (and we wait for it below) or sees it.
  gate_.close(detail::adder_gate::closed);  // [T5]
  // Bounded: adds waiting for room inside the gate give up with closed
  // (admission.hpp W4, W5) - before the gate is waited drained, which they
  // would otherwise hold up for ever. [T23]
  if (admission_.limit() != 0) admission_.close();  // [T23] calls [AD11] [AD10]
  // MUTANT task_teardown_no_wait_adders skips it: a scheduler call can
  // still be in progress (or start) after close() returned.
  if constexpr (!detail::mutant::task_teardown_no_wait_adders) {
    if (here.innermost_hand_over != nullptr) {
      gate_.wait_drained_except(here.adds);  // [T6]
    } else {
      gate_.wait_drained();  // [T6]
    }
  }
}

inline void task_work::schedule(detail::adder_gate::ticket ticket) noexcept {
  // The destructor's own items adding from its drain: the drain owns every
  // cycle now (no scheduler, no fallback job that would outlive us).
  if ((ticket.before & detail::adder_gate::destroying) != 0) return;
  // close()/~task_work() from in here: misuse (or exit(): they wait for
  // every add but this one, on its shard); run() from in here, nested in
  // our active run on this thread: the inline hand-off (enter_run()).
  detail::callback_guard inside_callback(this, detail::callback_guard::kind::hand_over, ticket.shard);
  if ((ticket.before & detail::adder_gate::closed) == 0 && call_scheduler()) return;
  hand_to_fallback();
}

inline bool task_work::call_scheduler() noexcept {
#if defined(__cpp_exceptions) && MPSCQ_DETAIL_NATIVE_THREADS
  try {
    return scheduler_(*this);
  } catch (const std::exception& e) {
    scheduler_threw(e.what());
  } catch (...) {
    scheduler_threw("an exception not derived from std::exception");
  }
#else
  return scheduler_(*this);
#endif
}

[[noreturn]] inline void task_work::scheduler_threw(const char* what) noexcept {
  char message[512];
  std::snprintf(message, sizeof message,
                "the scheduler threw; a scheduler must not throw (return false to refuse). what(): %s", what);
  detail::misuse("task_work", message);
}

inline void task_work::hand_to_fallback() noexcept {
  // [T3] acq_rel, pairs with the exchange(false) at the start of
  // run_fallback_job(). If a job is queued and has not started, it will
  // serve this cycle (it can only be queued this long if something other
  // than it emptied the queue, e.g. a spurious run()); the release makes our
  // push visible to it. Normally the flag is false here.
  // (MUTANT task_fallback_queued_relaxed: relaxed, here and in the job.)
  if (fallback_queued_.exchange(
          true, detail::mutant::weaken_if(detail::mutant::task_fallback_queued_relaxed, std::memory_order_acq_rel)))
    return;
  // [T4] Relaxed: published by our release fetch_sub on gate_, which the
  // destructor acquires before it reads this counter.
  fallback_refs_.fetch_add(1, std::memory_order_relaxed);
  fallback_->execute(fallback_job_);
}

#if MPSCQ_DETAIL_NATIVE_THREADS
inline bool task_work::lost_at_fork(std::uint32_t never_finish) noexcept {
  // Only in a fork()ed child whose parent's default fallback thread was
  // running our job at the fork (fallback_thread::lost_at_fork(): a relaxed
  // filter first). The record only names the job, so it may be stale (the
  // job had made its last access before the copy) or shadowed by a job of
  // ours handed over in the child. Such a job is counted from before it is
  // marked queued ([T3], [T4], inside the gate: before our wait above) to
  // its last access ([T12]), which it makes while it is the child's
  // thread's running job; it clears the queued mark ([T11]) only after the
  // thread took it as its running job. So: read "not queued" (acquire,
  // [T21]: it synchronises with that job's start), then "not running" under
  // the executor's mutex (the thread clears it there only after the job
  // returned), then the count (acquire, [T9]): a count still above
  // never_finish after both is not a job of the child's - it is the lost
  // job's, which never finishes here.
  // [T21]
  if (fallback_queued_.load(std::memory_order_acquire)) return false;
  if (!detail::fallback_job_lost_at_fork(*fallback_, fallback_job_)) return false;
  // [T9]
  return fallback_refs_.load(std::memory_order_acquire) > never_finish;
}

[[noreturn]] inline void task_work::fallback_job_lost() noexcept {
  detail::misuse("task_work",
                 "destroyed in a forked child while its fallback job was running on the parent's fallback thread at "
                 "the fork; that run cannot finish in the child, so the destructor would wait for ever: end the "
                 "child with _exit() or exec instead of destroying it (see fork() in docs/api.md, Contracts)");
}
#endif

inline void task_work::run_fallback_job(work& job, run_state) noexcept {
  task_work& self = *static_cast<fallback_job&>(job).owner;
  if constexpr (detail::mutant::task_fallback_drops_ref_early) {
    // [T12] MUTANT: release the target before the run: its destructor may free
    // the queue while we still drain it (use after free).
    self.fallback_refs_.fetch_sub(1, std::memory_order_release);
  }
  // [T11] acq_rel: acquire pairs with the add's exchange(true) (its push is then
  // visible even when the job was queued before that push); release lets a
  // later add that reads false submit the job again.
  self.fallback_queued_.exchange(
      false, detail::mutant::weaken_if(detail::mutant::task_fallback_queued_relaxed, std::memory_order_acq_rel));
  never_yield no;
  self.run_as(runner::fallback, unlimited, no);
  if constexpr (!detail::mutant::task_fallback_drops_ref_early) {
    // [T12] The job's last access to the task_work. Release: pairs with the
    // destructor's acquire load, so all we did happens-before the free.
    // (MUTANT task_fallback_refs_relaxed: relaxed.)
    self.fallback_refs_.fetch_sub(
        1, detail::mutant::weaken_if(detail::mutant::task_fallback_refs_relaxed, std::memory_order_release));
  }
}

template <class ShouldYield>
inline run_result task_work::run_as(runner who, std::size_t max_entries, ShouldYield& should_yield) noexcept {
  run_result result;
  if (!enter_run()) {
    result.handed_off = true;
    return result;
  }
  // This thread is inside a run of ours, and holds the run slot, until we
  // return (enter_run() and the destructor ask the chain). Its destructor
  // touches only the thread's chain, never *this: after leave_run() we may
  // be gone.
  detail::callback_guard inside_run(this, detail::callback_guard::kind::run);
  active_runner_ = who;
  // The destructor tells exit() from an item by this thread's exit phase
  // (~task_work()): one thread_local load per run after the first.
  detail::watch_exit_phase();
  for (;;) {
    const stop why = serve(who, max_entries, should_yield, result);
    if (why == stop::more || why == stop::busy) {
      leave_run_owning();
      result.more = true;
      result.busy = why == stop::busy;
      return result;
    }
    if (!leave_run()) return result;
    // A run entered while we finished and handed us its turn: serve it.
  }
}

inline bool task_work::enter_run() noexcept {
  // [T13] acq_rel. Acquire: pairs with the release of the previous run's
  // leave_run(), so we see its consumer cursor and everything its items
  // did - its last item ran after the emptying pop, and nothing else orders
  // that before our first item. Release: if a run is active, we hand it our
  // turn; it acquires this in leave_run() and so sees everything before our
  // run() call (including the add that scheduled it).
  if (runs_.fetch_add(1, slot_order) == 0) return true;
  // The slot is busy. This thread holds it exactly while a run frame of
  // ours is on its chain (detail/callback_guard.hpp) - not "while its
  // std::thread::id is stored": a fork()ed child's new threads get the ids
  // of the parent's threads (one of which may be the runner there), but
  // start with an empty chain.
  using kind = detail::callback_guard::kind;
  const detail::callback_guard* inner = nullptr;
  bool holds_slot = false;
  detail::callback_guard::for_each(this, [&](const detail::callback_guard& g) noexcept {
    if (inner == nullptr) inner = &g;
    if (g.which() == kind::run || g.which() == kind::drain) holds_slot = true;
  });
  if (!holds_slot) return false;  // hand-off across threads
  // The active run is this thread's, and this call is nested inside it.
  // (MUTANT task_inline_run_reported: the old rule, every such call is
  // misuse - also the inline scheduler's below.)
  if constexpr (!detail::mutant::task_inline_run_reported) {
    if (inner->which() == kind::hand_over) {
      // THE INLINE HAND-OFF: an add made inside the active run (from one of
      // its items, or a context's enter()/leave()) started a cycle and
      // called our scheduler, or the fallback hand-off, which calls run()
      // inline. Our turn is already counted in runs_ (above); the active run
      // serves the new cycle after the current item (EXACTLY ONCE, point 3),
      // in its own mode, with its caps, or absorbs it when it returns `more`
      // - its caller then owns the queue and runs again. Running it here
      // would nest one item inside another (runs never overlap).
      if constexpr (detail::mutant::task_inline_handoff_drops_turn) {
        // [T13] MUTANT: the turn taken back: if the active run has ended its
        // last cycle, nobody serves the new one (a lost cycle).
        runs_.fetch_sub(1, slot_order);
      }
      return false;
    }
  }
  // exit() called from inside the active run (its frame was pushed before
  // this thread's exit phase began, which has begun): that run never
  // resumes. A run() that exit() reaches (a static destructor's, a fallback
  // job or an inline scheduler run inside it) hands its turn to it, and the
  // turn is dropped with the process - as the items still queued are.
  if (inner->which() == kind::run && !inner->in_exit_phase() && detail::this_thread_exiting()) return false;
  detail::misuse("task_work",
                 "run() called from inside one of its own items (or a context's enter()/leave()): the run that called "
                 "the item goes on after it returns, and serves what the item added; return from the item instead "
                 "(a scheduler may call run() inline: called from an add inside an item, it hands its turn to that run)");
}

inline bool task_work::leave_run() noexcept {
  // [T14] acq_rel. Release: pairs with the acquire in the next enter_run(): our
  // items' effects and the consumer cursor go with the slot. Acquire: pairs
  // with the release of runs that handed us their turn.
  return runs_.fetch_sub(1, slot_order) != 1;
}

inline void task_work::leave_run_owning() noexcept {
  runs_.exchange(0, slot_order);  // [T15] as in leave_run()
}

inline task_context* task_work::context_of(work& w) noexcept {
  context_work* cw = context_work::from(w);
  return cw == nullptr ? nullptr : cw->context;
}

inline void task_work::switch_context(detail::context_slot& current, task_context* next) noexcept {
  // `current` holds nullptr if the context we entered was destroyed since
  // (one of its items ended it: ~task_context() cleared the slot), so a new
  // context allocated at its address is entered, and the dead one is not
  // left (see task_context, LIFETIME).
  task_context* const old = current.get();
  if (next == old) return;
  if (old != nullptr) {
    // The slot first: leave() may destroy the context (allowed), and then
    // nothing of ours may still point at it. leave() is our last access.
    current.set(nullptr);
    // [TC1] Relaxed: the entry count is misuse detection only (see
    // ~task_context()); sequenced before leave(), so a thread that destroys
    // the context after leave() returned reads it.
    old->entered_.fetch_sub(1, std::memory_order_relaxed);
    old->leave();
  }
  if (next != nullptr) {
    // [TC1] Relaxed: as above.
    next->entered_.fetch_add(1, std::memory_order_relaxed);
    current.set(next);  // before enter(): from here on its destructor finds the slot
    next->enter();
  }
}

template <class ShouldYield>
inline task_work::stop task_work::serve(runner who, std::size_t max_entries, ShouldYield& should_yield,
                                        run_result& result) noexcept {
  // run(max) without should_yield (and the fallback and the destructor): no
  // per-item decision but the cap, so the items come through the batch
  // consumer (serve_batch). With a should_yield callback, one pop per item,
  // below: the callback is asked between any two items.
  const std::size_t ran_before = result.ran;
  stop why;
  if constexpr (std::is_same_v<std::remove_cv_t<ShouldYield>, never_yield>) {
    (void)should_yield;
    why = serve_batch(who, max_entries, result);
  } else {
    why = serve_each(who, max_entries, should_yield, result);
  }
  // Bounded: the pass's items (run, or run cancelled by a fallback job or
  // the destructor's drain) give their room back, and producers waiting for
  // it are woken - while we still hold the run slot, so the object is alive.
  // [T24]
  if (admission_.limit() != 0 && result.ran != ran_before) give_back_room(result.ran - ran_before);
  return why;
}

inline task_work::stop task_work::serve_batch(runner who, std::size_t max_entries, run_result& result) noexcept {
  bool cancel = who != runner::target;
  detail::context_slot current;  // the context entered (context_slot.hpp: its destructor clears it)
  detail::backoff wait;
  for (;;) {
    // CAPS ARE CAPS, as in serve_each(): the batch is sized to what the cap
    // leaves, counted across the turns other runs handed to this one.
    // (MUTANT task_stop_after_cap_check: this check comes after the
    // emptied stop below instead.)
    if constexpr (!detail::mutant::task_stop_after_cap_check) {
      if (result.ran != 0 && result.ran >= max_entries) {
        switch_context(current, nullptr);
        return stop::more;
      }
    }
    const std::size_t room = max_entries > result.ran ? max_entries - result.ran : 1;
    const int max = room > static_cast<std::size_t>(std::numeric_limits<int>::max())
                        ? std::numeric_limits<int>::max()
                        : static_cast<int>(room);
    // pop_batch hands out what up to `max` pops would and stops right after
    // the pop that emptied the queue (queue.hpp): `ended` is that pop's
    // emptied(), read in f as serve_each() reads it after its pop (EXACTLY
    // ONCE, point 2). The run slot keeps every other run out of consumer_,
    // so no item re-enters it.
    bool ended = false;
    const int got = consumer_.pop_batch(max, [&](node* n) noexcept {
      ended = consumer_.emptied();
      // [T19] as in serve_each().
      if (!cancel) cancel = gate_.is_closed();
      work& w = work::from_hook(n);
      switch_context(current, context_of(w));
      w(run_state{cancel});
      ++result.ran;
    });
    if (got == 0) {
      if (const stop why = nothing_popped(who, current, wait); why != stop::again) return why;
      continue;
    }
    if (in_flight_wait_.rounds() != 0) in_flight_wait_ = detail::backoff{};  // progress
    if constexpr (detail::mutant::task_stop_after_cap_check) {
      // MUTANT: the cap checked before the emptied stop (see serve_each()).
      if (result.ran >= max_entries) {
        switch_context(current, nullptr);
        return stop::more;
      }
      if (ended) return end_cycle(current, result);
    } else if constexpr (!detail::mutant::task_no_stop_after_emptied) {
      if (ended) return end_cycle(current, result);
    }
    // MUTANT task_no_stop_after_emptied: no stop; the next batch pops on
    // into the next cycle ("Boom").
  }
}

template <class ShouldYield>
inline task_work::stop task_work::serve_each(runner who, std::size_t max_entries, ShouldYield& should_yield,
                                             run_result& result) noexcept {
  bool cancel = who != runner::target;
  detail::context_slot current;  // the context entered (context_slot.hpp: its destructor clears it)
  detail::backoff wait;
  for (;;) {
    // CAPS ARE CAPS: at most max_entries items per run() call, and
    // should_yield() between any two of them - also across the turns other
    // runs handed to this one (run_as()), so a chain of hand-offs cannot
    // make one run(1) run many items. Checked before the pop: an item
    // popped is an item run.
    if constexpr (!detail::mutant::task_stop_after_cap_check) {
      if (result.ran != 0 && (result.ran >= max_entries || should_yield())) {
        switch_context(current, nullptr);
        return stop::more;
      }
    }
    node* n = consumer_.pop();
    if (n == nullptr) {
      if (const stop why = nothing_popped(who, current, wait); why != stop::again) return why;
      continue;
    }
    if (in_flight_wait_.rounds() != 0) in_flight_wait_ = detail::backoff{};  // progress
    // Read right after the pop: this pop put the stub back, so a later push
    // starts a new cycle - and a new schedule - and this run must end after
    // this item (EXACTLY ONCE, point 2).
    const bool emptied = consumer_.emptied();
    // Relaxed (is_closed()): if the item's add happened after close()
    // returned, the pop that returned it happened after that too (the
    // queue's release/acquire), so coherence makes this load see the bit;
    // an item added before may run either way, as it would have a moment
    // earlier. Once set, the bit stays set: stop reading it.
    if (!cancel) cancel = gate_.is_closed();  // [T19]
    work& w = work::from_hook(n);
    switch_context(current, context_of(w));
    w(run_state{cancel});
    ++result.ran;
    if constexpr (detail::mutant::task_stop_after_cap_check) {
      // MUTANT: the stop moved after the cap/yield check: a capped run whose
      // last pop emptied the queue reports `more` and runs again, next to
      // the run the next cycle schedules.
      if (result.ran >= max_entries || should_yield()) {
        switch_context(current, nullptr);
        return stop::more;
      }
      if (emptied) return end_cycle(current, result);
    } else if constexpr (!detail::mutant::task_no_stop_after_emptied) {
      if (emptied) return end_cycle(current, result);
    }
    // MUTANT task_no_stop_after_emptied: no stop at all; the loop pops on
    // after the emptying pop ("Boom").
  }
}

inline task_work::stop task_work::nothing_popped(runner who, detail::context_slot& current, detail::backoff& wait) noexcept {
  switch_context(current, nullptr);  // never hold a context while waiting
  if (q_.empty()) return stop::drained;
  // THE IN-FLIGHT WINDOW (queue.hpp): a producer between its exchange and
  // its link. Do not spin: back off (detail/backoff.hpp). A target run
  // pauses once and reports `busy` (it still owns the queue); its backoff
  // state lives on (in_flight_wait_), so a caller that runs again at once
  // meets longer pauses while the push stays stuck. The fallback and the
  // destructor have nothing better to do and keep waiting here (`again`).
  if (who == runner::target) {
    in_flight_wait_.pause();
    return stop::busy;
  }
  wait.pause();
  return stop::again;
}

inline task_work::stop task_work::end_cycle(detail::context_slot& current, run_result& result) noexcept {
  switch_context(current, nullptr);
  ++result.cycles_ended;
  ++cycles_ended_;
  return stop::emptied;
}

namespace detail {

/// Test access to the queue underneath, to hold a producer inside its push's
/// in-flight window (with queue_access). Not for production use.
struct task_work_access {
  static queue& raw_queue(task_work& tw) noexcept { return tw.q_; }
  /// Adds inside the adder gate (a relaxed snapshot): a try_add waiting for
  /// room is one.
  static std::uint64_t adds_in_flight(const task_work& tw) noexcept { return tw.gate_.in_flight(); }
};

}  // namespace detail

}  // namespace mpscq

#endif  // MPSCQ_TASK_WORK_HPP
