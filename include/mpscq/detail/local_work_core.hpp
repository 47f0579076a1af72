// mpscq/detail/local_work_core.hpp - what mpscq::local_work and
// mpscq::baseline::llist_local_work share: the owner check, the in-flight adder gate,
// the pending flag and eventfd, the countdown wait loop, and the counters.
// The countdown itself (wait_nr and the futex word, their orders and race
// windows) is detail/countdown_wake.hpp; this file only calls its verbs.
//
// Internal header: not general purpose. The protocol is specified in
// mpscq/local_work.hpp; this file implements the half of it that does not
// depend on the queue. The two queue variants plug in through CRTP:
//
//   int  run_items(int max, bool cancel)     pop and run up to max items
//   int  run_items_paced(int max, limit)     optional: run_items(max, false)
//                                            through a paced consumer (wait()'s
//                                            passes; detail/pacer.hpp)
//   bool items_left() const                  after run_items: work remains that
//                                            the owner knows of (capped run,
//                                            producer in flight)
//   bool queue_empty(std::memory_order) const  the waiter's re-check
//   int  drain_cancelled()                   run everything left, cancel = true
//
// The public types local_work_options and local_work_stats live in
// local_work.hpp; this floor below it takes them as template parameters
// (the constructor's options, stats()'s result) and never names them.
#ifndef MPSCQ_DETAIL_LOCAL_WORK_CORE_HPP
#define MPSCQ_DETAIL_LOCAL_WORK_CORE_HPP

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <thread>
#include <type_traits>

#include <mpscq/detail/adder_gate.hpp>
#include <mpscq/detail/admission.hpp>
#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/backoff.hpp>
#include <mpscq/detail/cache_line.hpp>
#include <mpscq/detail/countdown_wake.hpp>
#include <mpscq/detail/eventfd.hpp>
#include <mpscq/detail/misuse.hpp>
#include <mpscq/detail/mutants.hpp>
#include <mpscq/detail/owner_slot.hpp>
#include <mpscq/detail/stop_token.hpp>  // MPSCQ_HAS_STOP_TOKEN: wait()'s stop-token overloads
#include <mpscq/detail/thread_identity.hpp>

namespace mpscq {

namespace detail {

/// Items wait() runs per pass at least (io_uring's IO_LOCAL_TW_DEFAULT_MAX).
inline constexpr int wait_run_batch = 20;

/// The stop abstraction wait()'s loop is written against (wait_loop<Stop>):
/// `Stop::token` with stop_possible() and stop_requested(), and
/// `Stop::callback<F>`, constructed from (token, F) and destroyed before
/// wait() returns, with std::stop_callback's contract: F runs once, on the
/// requesting thread, when a stop is requested (or in the constructor, on
/// this thread, if one was already), and the destructor waits for an F that
/// is running on another thread. no_stop is the wait without a token (the
/// compiler removes every stop check); std_stop is std::stop_token; the
/// Relacy model drives the same loop with a model token
/// (tests/model/relacy/local_work_model.cpp), since std::stop_token's own
/// atomics cannot run under Relacy.
struct no_stop {
  struct token {
    static constexpr bool stop_possible() noexcept { return false; }
    static constexpr bool stop_requested() noexcept { return false; }
  };
  template <class F>
  struct callback {
    callback(const token&, F) noexcept {}
  };
};

#if MPSCQ_HAS_STOP_TOKEN
struct std_stop {
  using token = std::stop_token;
  template <class F>
  using callback = std::stop_callback<F>;
};
#endif

/// A statistics counter written by one thread (the owner) and read by any:
/// a relaxed load and store, no read-modify-write. Plain std::atomic, also in
/// model builds: statistics are not part of the protocol under check.
class owner_counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    // [L8] relaxed load + store: a statistic, one writer.
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }  // [L8]

 private:
  std::atomic<std::uint64_t> value_{0};
};

template <class Derived>
class local_work_core {
 public:
  local_work_core(const local_work_core&) = delete;
  local_work_core& operator=(const local_work_core&) = delete;

  bool has_work() const noexcept {
    // [L7] Acquire: pairs with the release stores in signal_non_empty() [L4]
    // and run_pass() [L11], so a caller that sees true and then runs finds the work.
    return pending_.load(std::memory_order_acquire);
  }

  int event_fd() const noexcept { return eventfd_.fd(); }

  int run(int max_events) noexcept {
    claim_owner("run() called from a thread that is not the owner");
    if (closed_ || max_events <= 0) return 0;
    return run_pass(max_events);
  }

  // wait(): the duration form and the deadline form (local_work.hpp), each
  // with an optional stop token. A token with no stop state (the default)
  // takes the no_stop loop: no stop check, no callback. Both forms end in
  // wait_loop(); `unbounded` is "no timeout" (nanoseconds::max() or
  // time_point::max()): with min_wait, min_wait is then the timeout, where a
  // finite timeout is waited out to at least min_wait (THE MIN_WAIT RULE).
  int wait(int min_events, std::chrono::nanoseconds timeout, std::chrono::nanoseconds min_wait = {}) noexcept {
    const auto start = std::chrono::steady_clock::now();
    const bool unbounded = timeout == std::chrono::nanoseconds::max();
    return wait_loop<no_stop>(min_events, start, unbounded ? std::chrono::steady_clock::time_point::max()
                                                           : deadline_after(start, timeout),
                              unbounded, min_wait, no_stop::token{});
  }
  int wait(int min_events, std::chrono::steady_clock::time_point deadline,
           std::chrono::nanoseconds min_wait = {}) noexcept {
    return wait_loop<no_stop>(min_events, std::chrono::steady_clock::now(), deadline,
                              deadline == std::chrono::steady_clock::time_point::max(), min_wait, no_stop::token{});
  }
#if MPSCQ_HAS_STOP_TOKEN
  int wait(int min_events, std::chrono::nanoseconds timeout, std::chrono::nanoseconds min_wait,
           const std::stop_token& stop) noexcept {
    if (!stop.stop_possible()) return wait(min_events, timeout, min_wait);
    const auto start = std::chrono::steady_clock::now();
    const bool unbounded = timeout == std::chrono::nanoseconds::max();
    return wait_loop<std_stop>(min_events, start, unbounded ? std::chrono::steady_clock::time_point::max()
                                                            : deadline_after(start, timeout),
                               unbounded, min_wait, stop);
  }
  int wait(int min_events, std::chrono::steady_clock::time_point deadline, std::chrono::nanoseconds min_wait,
           const std::stop_token& stop) noexcept {
    if (!stop.stop_possible()) return wait(min_events, deadline, min_wait);
    return wait_loop<std_stop>(min_events, std::chrono::steady_clock::now(), deadline,
                               deadline == std::chrono::steady_clock::time_point::max(), min_wait, stop);
  }
#endif

  /// The loop behind every wait(): `start` is the call's now(), `deadline`
  /// its timeout's end (time_point::max() with `unbounded`). Stop: see
  /// no_stop above. The Relacy model reaches it through
  /// detail::local_work_access (a friend of local_work) with its own token.
  template <class Stop>
  int wait_loop(int min_events, std::chrono::steady_clock::time_point start,
                std::chrono::steady_clock::time_point deadline, bool unbounded, std::chrono::nanoseconds min_wait,
                const typename Stop::token& stop) noexcept;

  /// Any thread (local_work::interrupt): raise the interrupt flag and wake
  /// the futex, inside the adder gate. The owner's side is take_interrupt().
  ///
  /// RACE WINDOW (flag vs sleep): the owner reads the flag only *after* its
  /// futex snapshot [W5], and we raise it *before* the futex bump [W4]:
  ///   - the snapshot reads our bump: it synchronizes with [W4] (release/
  ///     acquire), so the flag store happens-before the owner's read, which
  ///     sees it (coherence) and returns;
  ///   - the snapshot predates our bump: the owner's futex_wait finds the word
  ///     changed (or is queued when our FUTEX_WAKE comes), returns, and its
  ///     next pass reads the flag after a later snapshot - the first case.
  /// Either way the owner does not sleep through the interrupt
  /// (MUTANT local_interrupt_check_before_snapshot: DEADLOCK).
  /// RACE WINDOW (teardown): the owner may return because of the flag and
  /// destroy the object while we are still before our FUTEX_WAKE; the gate
  /// makes close() wait us out, as for an add (MUTANT
  /// local_interrupt_outside_gate: ACCESS TO FREED MEMORY).
  void interrupt() noexcept {
    // [L23] calls [A1]: counted in like an add, so close() and the destructor
    // wait until our last access (the FUTEX_WAKE) is done. (MUTANT
    // local_interrupt_outside_gate: not counted in, and never "closed".)
    constexpr bool gated = !mutant::local_interrupt_outside_gate;
    const adder_gate::ticket ticket = gated ? enter_gate("interrupt() began after the destructor began (use after free)")
                                            : adder_gate::ticket{0, 0};
    if ((ticket.before & adder_gate::closed) == 0) {
      // [L24] Release: pairs with the acquire exchange in take_interrupt()
      // [L25], so what the caller wrote before interrupt() (a stop flag) is
      // visible to the owner after the wait() this interrupt ends. Stored
      // before [W4] (see RACE WINDOW above).
      // (MUTANT local_interrupt_flag_relaxed: relaxed, here and in [L25].)
      interrupt_.store(true, mutant::weaken_if(mutant::local_interrupt_flag_relaxed, std::memory_order_release));
      // [L26] calls [W4] + FUTEX_WAKE: unconditional (no wait_nr claim), an
      // interrupt is rare; not counted in stats().wakes (those are claims:
      // wakes <= wait_cycles).
      countdown_.wake_unclaimed();
    }
    if (gated) leave(ticket);  // [L3]
  }

  void close() noexcept {
    claim_owner("close() called from a thread that is not the owner");
    close_owned();
  }

  void disown() noexcept {
    claim_owner("disown() called from a thread that is not the owner");
    // Another thread could claim the consumer while the run that called us
    // goes on popping: two consumers.
    if (depth_ != 0) misuse("local_work", "disown() called from inside one of its own items");
    // [L9] calls [O3]/[O4] (detail/owner_slot.hpp, S4): the slot's lock
    // hands what this owner did (the consumer state) to the next claimer.
    owner_.clear();
  }

  // Stats: local_work_stats (local_work.hpp).
  template <class Stats>
  Stats stats() const noexcept {
    Stats s;
    s.wakes = countdown_.wakes();  // [W8] (in the unit)
    s.wait_cycles = wait_cycles_.get();
    s.sleeps = sleeps_.get();
    s.recheck_aborts = recheck_aborts_.get();
    s.timeouts = timeouts_.get();
    s.in_flight_backoffs = in_flight_backoffs_.get();
    // The owner's consumed count first (items run + cancelled, [L8]), then
    // the gate's `done` counters (added modulo 2^39, [L32] calls [A9]):
    // read in this order by the owner, every item consumed had been pushed
    // by an add that either left already (counted) or is still inside
    // after its push - so `added` is at least `consumed`, less those adds.
    s.items_run = items_run_.get();
    s.items_cancelled = items_cancelled_.get();
    const std::uint64_t consumed = s.items_run + s.items_cancelled;
    s.items_added = adder_gate::widen(gate_.added(), consumed);  // [L32]
    s.cancelled_inline = cancelled_inline_.load(std::memory_order_relaxed);  // [L8]
    s.interrupts = interrupts_.get();
    s.refused = admission_.refused();  // [AD12]
    s.limit = admission_.limit();
    // Bounded: admission's count, exact at its RMWs. Unbounded: added -
    // consumed, approximate (see local_work_stats::depth).
    s.depth = s.limit != 0 ? admission_.depth() : s.items_added - consumed;  // [AD12]
    return s;
  }

 protected:
  // Options: local_work_options (local_work.hpp): an optional owner thread id
  // and the eventfd switch.
  template <class Options>
  explicit local_work_core(const Options& options)
      : owner_(options.owner, options.owner && *options.owner == current_thread() ? this_thread_record() : nullptr) {
    // A default std::thread::id names no thread: the reservation could never
    // be claimed (the second adversarial review).
    if (options.owner && *options.owner == no_thread())
      misuse("local_work",
             "options.owner is a default-constructed std::thread::id, which names no thread (leave it unset: the "
             "first thread that calls run(), wait() or close() becomes the owner)");
    // After a fork, the child's eventfd is readable iff its copy of the
    // pending flag is set (detail/eventfd.hpp, FORK).
    if (options.enable_eventfd) {
      eventfd_.open(&pending_);
      defer_own_signals_ = options.defer_own_signals;
    }
    // Bounded admission (detail/admission.hpp): the gate's `limited` bit
    // sends every add through enter()'s slow path, which takes room; an
    // unbounded object's adds test the same word as before. [L29]
    if (options.limit != 0) {
      admission_.set_limit(options.limit);
      limited_ = true;
      gate_.set_flags(adder_gate::limited);  // [L29] calls [A7]
    }
  }
  ~local_work_core() = default;

  // --- the producer's side --------------------------------------------------

  /// The start of every add(): checks the item (misuse: no func), enters the
  /// in-flight adder gate (`ticket`: for leave()), and returns false once
  /// close() has begun - then the item has run here, with cancel = true, and
  /// the add is done (it has left the gate).
  /// Item: the public work type (a template parameter: detail/ does not name
  /// public types).
  template <class Item>
  bool admit(Item& w, const char* component, adder_gate::ticket& ticket) noexcept {
    if (w.func == nullptr) misuse(component, "add(): the work item has no func");
    if (enter(ticket)) return true;
    w(typename Item::run_state_type{true});
    return false;
  }

  /// Enters the in-flight adder gate. False once close() has begun (then it
  /// has left the gate again): the caller must then run its `items` items
  /// itself, with cancel = true (counted in stats().cancelled_inline).
  /// `after_destructor`: the report for a caller that began after the
  /// destructor began (names the call: add() or add_batch()).
  bool enter(adder_gate::ticket& ticket, std::uint64_t items = 1,
             const char* after_destructor = "add() began after the destructor began (use after free)") noexcept {
    // [L1] calls [A1]. The gate's invariant G1 (detail/adder_gate.hpp): either
    // our enter comes before close()'s on our shard (close() then waits for
    // our leave(), which publishes our push, G2/G3), or after it (we see the
    // closed bit and push nothing).
    ticket = enter_gate(after_destructor);
    // One test for both bits: an unbounded, open object's add costs what it
    // did before bounded admission existed.
    // ([[likely]]: without it, and with the bounded case out of line, GCC
    // packed the ticket for the call and saved two more registers on every
    // add: +8 instructions per unbounded add, mpscq-bench L1 under callgrind.)
    if ((ticket.before & (adder_gate::closed | adder_gate::limited)) == 0) [[likely]]
      return true;
    // Bounded and open: a plain add takes room whatever the depth (it is
    // never refused). [L29] calls [AD3]
    if ((ticket.before & adder_gate::closed) == 0) {
      admission_.charge(static_cast<std::uint32_t>(items));  // [L29] [AD3]
      return true;
    }
    // Closed: the item runs here, cancelled.
    // [L2] Relaxed: a statistic. Counted while still inside the gate, so the
    // object is alive.
    cancelled_inline_.fetch_add(items, std::memory_order_relaxed);
    leave(ticket);
    return false;
  }

  /// What a bounded add's entry decided (enter_bounded()).
  enum class entry { admitted, full, timed_out, stopped, closed };

  /// The start of every try_add* (local_work.hpp): checks the item, enters
  /// the gate and takes room with `take(admission&) -> entry` (when the
  /// object is bounded; an unbounded one admits at once). Returns admitted
  /// (the caller pushes, applies the wake rule, then leave(ticket)s) or why
  /// not - then it has left the gate and the item is untouched (counted in
  /// stats().refused). Closed: refused, not run (unlike add()).
  template <class Item, class Take>
  entry enter_bounded(Item& w, const char* component, adder_gate::ticket& ticket, Take&& take) noexcept {
    if (w.func == nullptr) misuse(component, "try_add(): the work item has no func");
    ticket = enter_gate("try_add() began after the destructor began (use after free)");
    entry e = entry::admitted;
    if ((ticket.before & adder_gate::closed) != 0) {
      e = entry::closed;
    } else if ((ticket.before & adder_gate::limited) != 0) {
      // Inside the gate: a producer that sleeps for room here is woken by
      // close() before close() waits the gate drained (admission.hpp W5).
      e = take(admission_);
    }
    if (e != entry::admitted) {
      admission_.count_refused();  // [L29] [AD12]
      leave(ticket);
    }
    return e;
  }

  /// A waiting bounded add's `take`: room now, or wait for it until
  /// `deadline` / a stop on `stop` / close(). The owner never waits for
  /// room (only its own runs make room: it would wait for itself): it is
  /// refused with `full` at once. A stop requester must call
  /// wake_waiting_adders() after its request (std::stop_callback).
  template <class Stop>
  entry take_room_waiting(admission& a, std::chrono::steady_clock::time_point deadline, const Stop& stop) noexcept {
    if (a.try_acquire(1)) return entry::admitted;
    if (caller_is_owner()) return entry::full;
    switch (a.acquire_wait(1, deadline, stop)) {
      case admission::outcome::admitted: return entry::admitted;
      case admission::outcome::timed_out: return entry::timed_out;
      case admission::outcome::stopped: return entry::stopped;
      case admission::outcome::closed: break;
    }
    return entry::closed;
  }

  /// Bounded (the variant counts as it hands items out, room_ran()): the
  /// items run since the last release give their room back, and waiting
  /// producers are woken (admission.hpp W1, W3). Owner only.
  void room_ran() noexcept { ++room_run_; }
  bool room_counted() const noexcept { return limited_; }
  void release_room_run() noexcept {
    const std::uint32_t n = room_run_;
    room_run_ = 0;
    admission_.release(n);  // [L30] calls [AD5] [AD9]
  }

  /// Any thread, inside the gate (a stop callback of a waiting add): wakes
  /// the adds waiting for room, which look at their stop tokens again.
  void wake_waiting_adders() noexcept { admission_.wake_all(); }

  /// The calling thread is the owner (the owner slot's fast check, [O1]).
  bool caller_is_owner() const noexcept {
    if constexpr (model_build) {
      return false;  // the model's threads share one OS thread's thread_locals
    } else {
      return owner_.is(this_thread_record_if_any());
    }
  }

  /// Enters the in-flight adder gate (add() and interrupt()) and reports a
  /// caller that began after the destructor began (`what`: the message).
  /// Returns the ticket: the shard's bits as enter() found them, and the
  /// shard for leave().
  adder_gate::ticket enter_gate(const char* what) noexcept {
    const adder_gate::ticket ticket = gate_.enter();  // [A1]
    // The object is still alive while we are counted in: report, then abort.
    if ((ticket.before & adder_gate::destroying) != 0) misuse("local_work", what);
    return ticket;
  }

  /// Leaves the gate: from here on, add() must not touch the object.
  /// [L3] calls [A2] (release). Uncounted: for calls that pushed no item
  /// (an add that found the object closed, a refused try_add, interrupt()).
  void leave(adder_gate::ticket ticket) noexcept { gate_.leave(ticket); }

  /// leave() for an add that pushed `items` items: the same one RMW also
  /// counts them in stats().items_added. [L3] calls [A8] (release).
  void leave_added(adder_gate::ticket ticket, std::uint64_t items = 1) noexcept { gate_.leave_added(ticket, items); }

  /// An add's push found the queue empty: make has_work() true and the
  /// eventfd readable.
  void signal_non_empty() noexcept {
    // [L28] The owner adding to itself from inside one of its own passes (an
    // item that posts the next one: io_thread's chained posts) writes
    // nothing: run_pass(), below it on this stack, either takes the item in
    // the same pass or, at its end, finds the queue not empty and signals
    // then ([L11]), once for the whole pass. That saves a write(2) per such
    // add, and the stale readable eventfd (and spurious has_work()) it left
    // behind a pass that took the item anyway. The check: the owner slot's
    // fast path (one thread_local load, one relaxed load, a compare, [O1]);
    // only the owner can then read its own depth_. Opt-in
    // (local_work_options::defer_own_signals, with the eventfd only): until
    // the pass ends, has_work() and the eventfd do not show the add.
    if (defer_own_signals_ && owner_.is(this_thread_record_if_any()) && depth_ != 0) {
      signal_deferred_ = true;
      return;
    }
    // The eventfd first: run_pass() drains it only after it saw the flag, so
    // a signal is never drained before its flag is up (which would leave the
    // fd readable over an empty queue forever, or unreadable over work).
    if (eventfd_.enabled()) eventfd_.signal();
    // [L4] Release: pairs with the acquire in has_work() [L7] and the
    // exchange in run_pass() [L10]: whoever sees the flag sees our push.
    pending_.store(true, std::memory_order_release);
  }

  /// The countdown wake (detail/countdown_wake.hpp). An add, after its push,
  /// calls read() [W1] (the Dekker read, race window R1; row L5) and then its
  /// variant's wake rule: claim() [W2]/[W3] (rows L16/L17) + wake() [W4]
  /// (row L6) (local_work), or its own nr_tw rule + wake() (legacy).
  countdown_wake& countdown() noexcept { return countdown_; }

  // --- the owner's side -----------------------------------------------------

  /// The destructor: close() if not closed yet - by the owner, by any thread
  /// when no owner was ever set, or by any thread once the owner's thread has
  /// ended (it takes the slot over, detail/owner_slot.hpp S3) - and wait out
  /// in-flight adders.
  void close_on_destroy() noexcept {
    // No record: this thread never called an owner-only function (through
    // this copy of the headers), so it cannot be inside one of our items.
    thread_record* const self = this_thread_record_if_any();
    // [L9] calls [O1] (and [O2]-[O5], [I1] for a record of another copy).
    const bool mine = owner_.holds(self);
    // depth_ is the owner's; only the owner itself can see it non-zero.
    if (mine && depth_ != 0) {
      // From inside one of our own items. The one way that can be legitimate:
      // an item called exit(), which runs the destructors of static objects
      // on this thread while the item (and the run()/wait() below it) is
      // still on the stack - they never resume. Then the innermost of our
      // frames began before this thread's exit phase began, and the phase
      // has begun (detail/thread_identity.hpp, THE EXIT PHASE): close as
      // close() from an item does (the remaining items run cancelled) and
      // let exit() go on. A frame that began during the exit phase (a static
      // destructor's run(), also one nested in a run that did call exit())
      // goes on after the item returns: the ordinary misuse. (The innermost
      // frame decides: the phase only begins, so if it began before that
      // one, it began before every outer one too.)
      if (!this_thread_exiting())
        misuse("local_work",
               "destroyed from inside one of its own items (run, wait or close is still using it); if an item "
               "called exit(), end the process with quick_exit() or _exit() there, or return and exit outside "
               "the items");
      if (innermost_in_exit_phase_)
        misuse("local_work",
               "destroyed from inside one of its own items, in a run(), wait() or close() that began after exit() "
               "began on this thread (a static or thread_local destructor's, which goes on after the item "
               "returns): destroy it after that call returned");
    } else if (!closed_ && !mine) {
      // Not closed yet: the owner's job. A thread that is not the owner may
      // do it when the slot is free (never claimed) or its owner's thread
      // has ended: it claims the slot (owner_slot.hpp S2, S3) and closes as
      // the owner.
      thread_record* const me = self != nullptr ? self : this_thread_record();
      if (me == nullptr || owner_.claim(me) == owner_slot::verdict::other) {
        // A reservation by options.owner holds until that thread calls
        // (owner_slot.hpp S2a): say which case this is.
        if (owner_.reserved_for_another())
          misuse("local_work",
                 "destroyed by a thread that is not its owner before close(): options.owner names another "
                 "thread, which has not called run(), wait() or close() yet (name only a thread that will)");
        if (this_thread_exiting())
          misuse("local_work",
                 "destroyed by exit() on a thread that is not its owner, while the owner thread is alive "
                 "(a static object): close() it on its owner thread before exit(), or end the process with "
                 "quick_exit() or _exit()");
        misuse("local_work",
               "destroyed by a thread that is not its owner before close(), while the owner thread is alive: "
               "call close() on the owner thread (or disown()) first");
      }
    }
    // exit() from an item of ours: whatever drained below us (a run, a
    // wait, or close()'s own drain, whose item called exit()) never resumes,
    // so drain here what is still queued, also after an earlier close().
    close_owned(adder_gate::destroying, /*drain_again=*/mine && depth_ != 0);
  }

 private:
  Derived& derived() noexcept { return static_cast<Derived&>(*this); }
  const Derived& derived() const noexcept { return static_cast<const Derived&>(*this); }

  /// The owner check of run(), wait(), close() and disown(): the fast path
  /// is one thread_local load, one relaxed load of the slot and a compare
  /// ([O1]); a first call, a hand-over and a take-over go through the slot's
  /// lock (claim(), detail/owner_slot.hpp). `what` is the misuse report for a
  /// thread that is not the owner while the owner's thread is alive.
  void claim_owner(const char* what) noexcept {
    // [L9] calls [O1].
    if (owner_.is(this_thread_record_if_any())) return;
    claim_owner_slow(what);
  }

  [[gnu::noinline]] void claim_owner_slow(const char* what) noexcept {
    thread_record* const self = this_thread_record();
    if (self == nullptr)
      misuse("local_work",
             "run(), wait(), close() or disown() called by a thread that has no identity any more (from a "
             "pthread key destructor after the thread's end was recorded) or whose identity record could not "
             "be allocated");
    // [L9] calls [O2]-[O5] and [I1] (a take-over synchronizes with the
    // ended owner's last act, S3).
    if (owner_.claim(self) == owner_slot::verdict::other) refused(what);
  }

  // Reports a refused owner-only call, saying why: another thread owns the
  // object, or options.owner reserved it for a thread that has not called.
  [[noreturn]] void refused(const char* what) noexcept {
    if (!owner_.reserved_for_another()) misuse("local_work", what);
    char message[256];
    std::snprintf(message, sizeof message,
                  "%s (options.owner names another thread, which has not called run(), wait() or close() yet)",
                  what);
    misuse("local_work", message);
  }

  // Counts the owner's run_pass()/drain frames, so that the destructor and
  // disown() can tell they were called from inside an item, and records
  // whether the innermost one began during this thread's exit phase (one
  // thread_local load per frame), so that the destructor can tell exit()
  // called from an item from a run that a static destructor began.
  struct depth_scope {
    explicit depth_scope(local_work_core& c) noexcept
        : core(c), outer_in_exit_phase(c.innermost_in_exit_phase_) {
      ++core.depth_;
      core.innermost_in_exit_phase_ = this_thread_exiting();
    }
    ~depth_scope() {
      --core.depth_;
      core.innermost_in_exit_phase_ = outer_in_exit_phase;
    }
    depth_scope(const depth_scope&) = delete;
    depth_scope& operator=(const depth_scope&) = delete;
    local_work_core& core;
    bool outer_in_exit_phase;
  };

  // `paced`: wait()'s passes, which may pace (see the Derived interface at
  // the top: run_items_paced, where the variant has one).
  // `pace_limit`: neither the pacing pause nor the in-flight backoff's sleep
  // lasts past it (wait()'s deadlines; run() passes none).
  int run_pass(int max_events, bool paced = false,
               std::chrono::steady_clock::time_point pace_limit = std::chrono::steady_clock::time_point::max()) noexcept {
    // Bounded, nested in an item: the enclosing passes' items so far (the
    // running one too) give their room back now, not when those passes end -
    // else a nested wait() could never receive a bounded add (it would wait
    // for room that only its own return makes: the third adversarial review
    // of issue 21). [L30]
    if (room_run_ != 0) release_room_run();  // [L30] calls [AD5] [AD9]
    // [L10] Clear the flag before popping (the IORING_SQ_TASKRUN order): an add that
    // pushes after our pops sets it again. Load first so an idle owner does
    // not write the flag's line when there is nothing to clear. acq_rel:
    // acquire pairs with the release store in signal_non_empty(), so the
    // eventfd signal of the add that raised the flag is there to drain;
    // release is for symmetry with the producers' stores (nothing reads
    // through it).
    if (pending_.load(std::memory_order_relaxed) && pending_.exchange(false, std::memory_order_acq_rel) &&
        eventfd_.enabled()) {
      eventfd_.drain();
    }
    int n = 0;
    {
      depth_scope in_items(*this);
      if constexpr (requires(Derived& d) { d.run_items_paced(max_events, pace_limit); }) {
        n = paced ? derived().run_items_paced(max_events, pace_limit) : derived().run_items(max_events, false);
      } else {
        n = derived().run_items(max_events, false);
      }
    }
    items_run_.add(static_cast<std::uint64_t>(n));
    // Bounded: the pass's items give their room back, and producers waiting
    // for it are woken (admission.hpp W1, W3: after the room). [L30]
    if (room_run_ != 0) release_room_run();  // [L30] calls [AD5] [AD9]
    // Progress resets the in-flight backoff, here and in wait()'s in-flight
    // check (a pass that ran items and then found the next push in flight).
    if (n > 0) in_flight_wait_ = backoff{};
    // An item called close(): it drained the queue (cancelled) and cleared
    // the flag; nothing is left to announce.
    if (closed_) return n;
    const bool left = derived().items_left();
    // A pass that ran nothing while the queue is not empty met a producer
    // inside its push (the in-flight window): behind a node we could not
    // hand out (`left`), or as the first push of a cycle, the cursor still
    // on the stub ([L18]: a relaxed tail snapshot). It backs off here (the
    // library's one policy: yields, then sleeps up to ~1 ms, growing across
    // calls), so that a caller's loop on run(), has_work() or the eventfd
    // does not spin while the producer is preempted. A pass that ran
    // something made progress (the backoff was reset above) and does not
    // pause. (Until 0.3 only a pass that filled max_events reset it, every
    // shorter pass paused, and the first-push case did not pause in run().)
    if (n == 0 && (left || !derived().queue_empty(std::memory_order_relaxed))) {  // [L18]
      in_flight_backoffs_.add();
      in_flight_wait_.pause(pace_limit);  // never sleeps past wait()'s deadline
    }
    if (left) {
      // Work left behind (cap reached, or a producer in flight): say so, for
      // has_work() and for an owner that polls the eventfd. [L11] Release: as
      // in signal_non_empty() [L4].
      if (eventfd_.enabled()) eventfd_.signal();
      pending_.store(true, std::memory_order_release);  // [L11]
    } else if (signal_deferred_) [[unlikely]] {
      settle_deferred();
    }
    return n;
  }

  // [L28] Adds that this pass's items made to their own owner were not
  // announced (signal_non_empty()), and the pass left nothing behind that it
  // knows of (items_left() looks at the last pop, not at pushes after it):
  // the pass's end announces what is still queued, as [L11] does (the
  // owner's own pushes are visible to it: a relaxed tail load). A nested
  // pass too: the pass around it may be blocked inside an item that polls
  // the eventfd (second review: it left the follow-up of a chain unannounced
  // while the item polled). Out of run_pass()'s line, so that the common
  // pass compiles as before.
  [[gnu::cold, gnu::noinline]] void settle_deferred() noexcept {
    signal_deferred_ = false;
    if (derived().queue_empty(std::memory_order_relaxed)) return;  // [L28]
    if (eventfd_.enabled()) eventfd_.signal();
    pending_.store(true, std::memory_order_release);  // [L11]
  }

  // `bits`: closed, plus destroying from the destructor (adds that begin
  // after that are reported as a use after free). The destroying bit goes up
  // only after the drain: an item that runs cancelled there may still add()
  // (to this object too: it then runs inline, cancelled).
  // `drain_again`: drain also if closed already (the destructor under exit()
  // from an item of close()'s own drain, which never resumes).
  void close_owned(adder_gate::state bits = adder_gate::closed, bool drain_again = false) noexcept {
    const bool first = !closed_;
    closed_ = true;
    // [L13] calls [A3]. Adds that come after this in the gate's order run
    // their item themselves.
    gate_.close(adder_gate::closed);
    // Bounded: adds waiting for room inside the gate give up with "closed"
    // (admission.hpp W4, W5) - before the gate is waited drained, which
    // they would otherwise hold up forever. [L31]
    if (admission_.limit() != 0) admission_.close();  // [L31] calls [AD11] [AD10]
    // The upstream use-after-free: an add touches the countdown (wait_nr and
    // the futex word) after its push, so an owner that has run every item may
    // still not free the object. Also after an earlier close(): adds that
    // found the closed bit can still be inside (on their way out).
    // [L14] calls [A4] (acquire: pairs with every [L3]).
    if constexpr (!mutant::local_teardown_no_wait_adders) gate_.wait_drained();
    if (first || drain_again) {
      depth_scope in_items(*this);
      const int drained = derived().drain_cancelled();
      items_cancelled_.add(static_cast<std::uint64_t>(drained));
      if (admission_.limit() != 0) admission_.release(static_cast<std::uint32_t>(drained));  // [L30]
      pending_.store(false, std::memory_order_relaxed);  // [L15] owner only, after the drain
      signal_deferred_ = false;  // [L28]: nothing is queued any more
      if (eventfd_.enabled()) eventfd_.drain();
    }
    if ((bits & adder_gate::destroying) != 0) {
      gate_.close(adder_gate::destroying);  // [L13] [A3]
      // [L14] [A4]
      if constexpr (!mutant::local_teardown_no_wait_adders) gate_.wait_drained();
    }
  }

  /// The owner's side of interrupt(): true when an interrupt is pending.
  /// wait() calls it after a pass that leaves it waiting, and between its
  /// futex snapshot and its arm (see interrupt()). The outermost wait()
  /// consumes the flag (once per raised flag); a wait() nested in an item
  /// (depth_ > 0) returns without consuming it, so that the enclosing
  /// wait() returns too.
  bool take_interrupt() noexcept {
    // [L25] Relaxed load first: the common case writes nothing on the flag's
    // line. Then acquire (the exchange, or a load when nested): pairs with
    // [L24], so the interrupter's earlier writes are visible once wait()
    // returns. Only the exchange writes false, so a flag raised after the
    // first load is seen by a later call.
    // (MUTANT local_interrupt_flag_relaxed: relaxed, here and in [L24].)
    constexpr std::memory_order acquire =
        mutant::weaken_if(mutant::local_interrupt_flag_relaxed, std::memory_order_acquire);
    if (!interrupt_.load(std::memory_order_relaxed)) return false;  // [L25]
    if (depth_ > 0) return interrupt_.load(acquire);  // [L25] nested: leave it for the outer wait
    if (!interrupt_.exchange(false, acquire)) return false;  // [L25]
    interrupts_.add();
    return true;
  }

  static std::chrono::steady_clock::time_point deadline_after(std::chrono::steady_clock::time_point start,
                                                              std::chrono::nanoseconds d) noexcept {
    using tp = std::chrono::steady_clock::time_point;
    if (d <= std::chrono::nanoseconds::zero()) return start;
    if (d >= tp::max() - start) return tp::max();
    return start + std::chrono::duration_cast<tp::duration>(d);
  }

  // --- in-flight adders and the closed / destroying bits: one line per shard
  // (detail/adder_gate.hpp), each written by the adds of the threads that
  // hash to it.
  adder_gate gate_;
  // --- the countdown: wait_nr, the futex word and the wakes counter
  // (detail/countdown_wake.hpp). An add only reads wait_nr unless it claims a
  // wake; the owner writes it when it arms and disarms. Its own line, so the
  // owner's arming does not take the adds' gate lines away from them.
  alignas(cache_line) countdown_wake countdown_;
  std::atomic<std::uint64_t> cancelled_inline_{0};

  // --- bounded admission (detail/admission.hpp): its own line, written by
  // bounded adds and once per pass by the owner; untouched when unbounded.
  admission admission_;

  // --- the pending flag: its own line, so has_work() does not read the lines
  // every add writes, and the owner's clears do not invalidate them.
  alignas(cache_line) detail::atomic<bool> pending_{false};
  // The interrupt flag (interrupt()/take_interrupt()): rarely written, so it
  // shares the pending flag's line, which the owner reads on every pass.
  detail::atomic<bool> interrupt_{false};

  // --- the owner's line ------------------------------------------------------
  // The owner slot (detail/owner_slot.hpp): the owner's record, read by the
  // owner on every run()/wait()/close(); written only when ownership changes.
  alignas(cache_line) owner_slot owner_;
  bool closed_ = false;  // owner only
  bool limited_ = false;  // options.limit != 0; set once, before sharing (room_counted(), on the owner's line)
  // Owner only: items handed out since the last release of their room
  // (bounded objects; release_room_run()). On the owner's line, which every
  // run()/wait() reads anyway.
  std::uint32_t room_run_ = 0;
  int depth_ = 0;        // owner only: run_pass()/drain frames on the stack (items may re-enter)
  bool innermost_in_exit_phase_ = false;  // owner only: the innermost of them began in the exit phase
  bool signal_deferred_ = false;  // owner only: an add of its own, inside a pass, left the signal to the pass [L28]
  bool defer_own_signals_ = false;  // local_work_options::defer_own_signals (with the eventfd); set once, before sharing
  backoff in_flight_wait_;  // owner only: run_pass()'s pause for a producer in flight
  // Owner only: the last min_wait that passed in a wait() found nothing (and
  // no item since ended a sleep through min_wait early): wait() then sleeps
  // through min_wait while nothing runs (see wait()).
  bool min_wait_idle_ = false;
  eventfd_signal eventfd_;
  owner_counter wait_cycles_;
  owner_counter sleeps_;
  owner_counter recheck_aborts_;
  owner_counter timeouts_;
  owner_counter in_flight_backoffs_;
  owner_counter items_run_;
  owner_counter items_cancelled_;
  owner_counter interrupts_;
};

template <class Derived>
template <class Stop>
int local_work_core<Derived>::wait_loop(int min_events, std::chrono::steady_clock::time_point start,
                                        std::chrono::steady_clock::time_point deadline, bool unbounded,
                                        std::chrono::nanoseconds min_wait, const typename Stop::token& stop) noexcept {
  using clock = std::chrono::steady_clock;
  claim_owner("wait() called from a thread that is not the owner");
  if (closed_) return 0;
  // Every argument is valid: min_events <= 0 means "run what is there and
  // return" (as 0), and `ran` never exceeds min_events + wait_run_batch,
  // so nothing below overflows an int (see the batch size). A deadline at
  // or before `start` is a zero timeout (a negative one in the duration form).
  min_events = std::max(min_events, 0);
  const bool has_min_wait = min_wait > std::chrono::nanoseconds::zero();
  const clock::time_point min_deadline = has_min_wait ? deadline_after(start, min_wait) : clock::time_point::max();
  // THE MIN_WAIT RULE (the kernel's, io_uring/wait.c, io_cqring_wait() and
  // io_cqring_min_timer_wakeup(); see local_work.hpp, wait()): while
  // min_wait runs, its timer is the only one - the general timeout is armed
  // only when min_wait has passed with nothing run, so the wait lasts at
  // least min_wait even when the timeout is shorter; and with no timeout at
  // all, min_wait is the timeout.
  if (has_min_wait) deadline = unbounded ? min_deadline : std::max(deadline, min_deadline);

  // The stop callback (only with a token that can be stopped: a wait
  // without one has none, and no check below costs anything). Registered
  // before the first futex snapshot, for the rest of the call: its
  // destructor, at the return, waits for a callback running on the
  // requesting thread, so the callback never touches the countdown after
  // wait() returned (std::stop_callback; the object itself outlives the
  // call). See the stop check before the sleep for the race window.
  struct stop_wake {
    countdown_wake* countdown;
    // [LS2] calls [W4] + FUTEX_WAKE (release; pairs with the snapshot [W5]).
    void operator()() const noexcept { countdown->wake_unclaimed(); }
  };
  std::optional<typename Stop::template callback<stop_wake>> on_stop;

  // (`deadline > start`: a timeout > 0, in either form.)
  const bool paced = min_events == 1 && (unbounded || has_min_wait || deadline > start);
  int ran = 0;
  // The previous sleep's kind, for the idle hint (see min_wait_idle_).
  bool slept_to_min_deadline = false;
  bool slept_through_min_wait = false;
  for (;;) {
    // At least wait_run_batch per pass, but never past INT_MAX in total.
    const int batch = std::min(std::max(min_events - ran, wait_run_batch), std::numeric_limits<int>::max() - ran);
    // Pacing (detail/pacer.hpp) only in a wait that may block (wait(n, 0)
    // without min_wait is run() and never waits) and takes items as they
    // come (min_events <= 1): with min_events > 1 the countdown does the
    // batching - the owner sleeps until that many are queued - and a pause
    // would only lengthen each cycle of a closed loop (mpscq-bench S5); with
    // min_events 0 the call only runs what is queued. A pause never lasts
    // past the wait's deadline (which is min_wait's when that ends later);
    // nor does run_pass()'s in-flight backoff sleep past it.
    const int n = run_pass(batch, paced, deadline);
    ran += n;
    // An item called close(): "run() and wait() after close() return at
    // once" - also when close() came from inside this wait.
    if (closed_) return ran;
    if (ran >= min_events) return ran;
    const clock::time_point now = clock::now();
    // IORING_FEAT_MIN_TIMEOUT: past min_wait, one item is enough.
    const bool min_wait_passed = has_min_wait && now >= min_deadline;
    // The idle hint: a sleep to the min deadline that found nothing is the
    // wake the kernel's timer spares (it re-arms without waking the task);
    // a sleep through min_wait that an item ended early is one the kernel
    // would not have had (it would have slept on to the min timer).
    if (slept_to_min_deadline && min_wait_passed && ran == 0) min_wait_idle_ = true;
    if (slept_through_min_wait && !min_wait_passed && ran > 0) min_wait_idle_ = false;
    if (now >= deadline) {
      timeouts_.add();
      return ran;
    }
    if (min_wait_passed && ran > 0) return ran;
    // A pending interrupt() ends a wait that would otherwise go on waiting
    // (only such a wait takes it: one that returns anyway, e.g. wait(0, ...)
    // or a passed timeout, leaves it for the next).
    if (take_interrupt()) return ran;
    // A stop request does the same, and leaves no flag behind: it is the
    // caller's token, seen by this wait only. [LS1] (A token stopped before
    // the call: one pass, then here.)
    if (stop.stop_requested()) return ran;

    // [L18] the in-flight check (relaxed).
    if (n == 0 && !derived().queue_empty(std::memory_order_relaxed)) {
      // RACE WINDOW (the queue's in-flight window): a producer made its node
      // the tail but has not linked it yet, so pop() gave nothing while the
      // queue is not empty. It may have been preempted there: do not spin on
      // the core it needs, and do not sleep on the futex either (its add may
      // be lazy and not wake us). run_pass() has backed off already.
      continue;
    }

    // How many lazy adds end this sleep, and until when. Past min_wait any
    // one add does (the kernel's min timer re-arms cq_wait_nr with 1) until
    // the deadline. Before it: min_events - ran until the min deadline, where
    // the owner wakes to return what ran or queued (the kernel's min timer
    // decides that without waking the task; a futex timeout cannot) - or,
    // when nothing ran and a wake at the min deadline would most likely find
    // nothing, through min_wait to the deadline with a count of 1: any add
    // then wakes the owner at once (before the min deadline it runs the item
    // and sleeps again to the min deadline; after it, it returns). That is
    // always right when the count is 1 anyway, and after a min_wait that
    // passed idle (min_wait_idle_, above). Either way the wait returns when
    // the kernel's would; only the number of wakes differs.
    int count = min_events - ran;
    clock::time_point until = deadline;
    slept_to_min_deadline = false;
    slept_through_min_wait = false;
    if (min_wait_passed) {
      count = 1;
    } else if (has_min_wait && min_deadline < deadline) {
      if (ran == 0 && (count == 1 || min_wait_idle_)) {
        count = 1;
        slept_through_min_wait = true;
      } else {
        until = min_deadline;
        slept_to_min_deadline = true;
      }
    }

    // 1-2. Snapshot the futex word [W5], then arm the countdown [W6]: the
    //      owner's half of the Dekker pair (detail/countdown_wake.hpp, C2 and
    //      C4; race windows R1, R4).
    // The interrupt check that cannot be slept through comes *after* the
    // snapshot (interrupt()'s RACE WINDOW). [L25]
    // RACE WINDOW (a stop request vs the sleep): the stop is requested on
    // another thread between our last check and our futex wait. Same cure as
    // interrupt()'s: the callback is registered before the snapshot, and the
    // stop is read after it [LS1]. The request is an RMW on the token's
    // state, sequenced before the callback it runs, whose futex bump [W4]
    // (through [LS2]) is a release:
    //   - the snapshot [W5] (acquire) reads the bump: the request
    //     happens-before our stop_requested() load, which sees it (coherence)
    //     and returns;
    //   - the snapshot predates the bump: futex_wait finds the word changed
    //     (or is queued when the FUTEX_WAKE comes) and returns; the next
    //     pass reads the stop after a later snapshot - the first case.
    //   - the request came before the registration: the callback ran in the
    //     registration, on this thread, before the snapshot; the request
    //     happens-before the load below (sequenced after it) either way.
    // (MUTANT local_stop_check_before_snapshot: DEADLOCK; MUTANT
    // local_stop_no_callback, no registration: DEADLOCK.)
    if constexpr (!mutant::local_stop_no_callback) {
      if (!on_stop && stop.stop_possible()) on_stop.emplace(stop, stop_wake{&countdown_});
    }
    int seq = 0;
    if constexpr (mutant::local_interrupt_check_before_snapshot || mutant::local_stop_check_before_snapshot) {
      // MUTANT: one check before the snapshot
      if (mutant::local_interrupt_check_before_snapshot && take_interrupt()) return ran;
      if (mutant::local_stop_check_before_snapshot && stop.stop_requested()) return ran;  // [LS1]
      seq = countdown_.snapshot();  // [L19]
      if (!mutant::local_interrupt_check_before_snapshot && take_interrupt()) return ran;
      if (!mutant::local_stop_check_before_snapshot && stop.stop_requested()) return ran;  // [LS1]
    } else {
      seq = countdown_.snapshot();  // [L19]
      if (take_interrupt()) return ran;
      if (stop.stop_requested()) return ran;  // [LS1]
    }
    countdown_.arm(count);                  // [L20]
    wait_cycles_.add();
    // 3. Re-check: never sleep with work queued. RACE WINDOW: an add that
    //    pushed before the arm and read wait_nr before it too saw "no waiter"
    //    and will not wake us; this load is the only thing that finds its
    //    item. seq_cst: the owner's second half of the Dekker pair
    //    (countdown_wake C2: if that add's read() precedes our arm() in S, its
    //    seq_cst push does too, and this seq_cst load cannot read an older
    //    tail). (MUTANT local_read_acquire: acquire.) [L21]
    constexpr std::memory_order recheck_order =
        mutant::local_read_acquire ? std::memory_order_acquire : std::memory_order_seq_cst;
    if constexpr (!mutant::local_arm_without_recheck) {
      if (!derived().queue_empty(recheck_order)) {  // [L21]
        countdown_.disarm();  // [L12] [W7]
        recheck_aborts_.add();
        continue;
      }
    }
    // 4. Sleep. Wakes: a claiming add, the timeout, or spuriously (signals,
    //    and an early wake from a lazy add's decrement that was meant for an
    //    earlier cycle: tolerated, the loop re-arms for what is still needed).
    sleeps_.add();
    std::chrono::nanoseconds left = std::chrono::nanoseconds::max();
    if (until != clock::time_point::max()) {
      left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - clock::now());
      if (left < std::chrono::nanoseconds::zero()) left = std::chrono::nanoseconds::zero();
    }
    countdown_.sleep(seq, left);
    // 5. Reset the countdown [W7], then run what arrived. [L12]
    countdown_.disarm();
  }
}

}  // namespace detail
}  // namespace mpscq

#endif  // MPSCQ_DETAIL_LOCAL_WORK_CORE_HPP
