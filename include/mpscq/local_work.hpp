// mpscq/local_work.hpp - owner-thread task work with countdown waits
// (io_uring's DEFER_TASKRUN local task work, in user space).
//
// WHAT IT IS
//   A queue of mpscq::work items that any thread may add() to and that one
//   thread, the owner, runs - only when it asks to, in run() or wait(), in
//   FIFO order. wait() sleeps until enough work has arrived: each add is
//   `eager` (wake the owner now) or `lazy` (count towards the owner's
//   min_events; only the add that completes the count wakes it). So a burst of
//   N lazy adds into a wait for N costs one futex wake, not N. Built on
//   mpscq::queue: an add is one exchange and one store on the producers'
//   shared line, a load, and two RMWs on the adding thread's own gate line
//   (see COST); no locks, no allocation.
//
// WHEN TO USE IT
//   An event loop (or any thread that owns state) receives completions from
//   other threads and wants to process them in batches, on its own thread,
//   with as few wake-ups as the latency budget allows. Not for several
//   consumers; not for work that must run without the owner's cooperation
//   (that is mpscq::task_work).
//
// EXAMPLE
//   mpscq::local_work lw;                         // owner: first run/wait caller
//   struct request { mpscq::work tw{{}, &request::done}; int result;
//     static void done(mpscq::work& w, mpscq::run_state st) noexcept {
//       auto& r = mpscq::container_of<&request::tw>(w);
//       if (st.cancel) { /* lw closed: fail r */ return; }
//       /* complete r on the owner thread */ } };
//   // any thread, when r completes:
//   lw.add(r.tw, mpscq::wake::lazy);
//   // the owner's loop: at least 16 completions, or 1 after 50 us, or 1 ms:
//   lw.wait(16, std::chrono::milliseconds(1), std::chrono::microseconds(50));
//
// SYNCHRONIZATION TABLE (may the two calls run at the same time?)
//                  add/interrupt   has_work/event_fd/stats   run/wait/close/disown
//   add/interrupt  yes             yes                       yes
//   has_work...    yes             yes                       yes
//   run/wait/...   yes             yes                       no: owner thread only
//   (try_add* and sample_latency() go with add; latency() with stats.)
//   THE OWNER is options.owner, or the first thread that calls run(), wait()
//   or close(). disown() hands ownership to the next caller; so does the end
//   of the owner's thread (it returned from its start function or called
//   pthread_exit(); after its thread_local destructors): the next caller of
//   run(), wait(), close(), disown() or the destructor takes ownership over,
//   from any thread. What the previous owner did happens-before what the
//   next one does (for an ended owner: once the caller knows the thread has
//   ended - it joined it, or learned it through a release/acquire pair).
//   A thread that calls exit() has not ended: it still owns what it owned
//   while exit() runs the static destructors. The owner is a thread record
//   (detail/thread_identity.hpp), not a std::thread::id, so a thread that
//   gets a dead owner's id (glibc reuses them) is a new thread, and a
//   fork()ed child's new thread that gets a parent thread's id is not that
//   thread. The one check left on an id: options.owner naming another thread
//   is matched by std::thread::id until that thread first claims it; if it
//   ends before, a later thread that gets its id claims the object.
//   The destructor closes; before close() it must run on the owner thread,
//   or on any thread once the owner's thread has ended or if no owner was
//   ever set. A thread named by options.owner owns it from its first call;
//   until then the object is reserved for it and every other thread's
//   owner-only call and destruction is reported (a std::thread::id cannot
//   tell whether that thread still lives): name only a thread that will
//   call. add() and interrupt() must not *begin* after the destructor
//   began; those already inside are waited out.
//
// MISUSE (docs/api.md, Contracts: one policy for the library)
//   Reported with "mpscq::local_work: <what>" on stderr, then abort(), in
//   every build: run/wait/close/disown from a thread other than the owner
//   while the owner's thread is alive (the owner's own calls cost one
//   thread_local load, a relaxed load and a compare); the destructor on
//   another thread before close() while the owner's thread is alive;
//   destroying it, or disown(), from inside one of its own items (except the
//   destruction by exit() called from an item, see CALLS FROM INSIDE AN
//   ITEM); add() of an item with no func; an add() that begins after the
//   destructor began (when the memory is still there to see it); pushing an
//   item that is still queued, when it is the queue's tail (and anywhere in
//   the queue with MPSCQ_DEBUG, see queue.hpp).
//
// EXCEPTIONS
//   None. Items are noexcept functions (work.hpp): one that could throw does
//   not compile. Every member is noexcept except the constructor, which
//   throws std::system_error when options.enable_eventfd and the eventfd
//   cannot be created (ENOSYS off Linux).
//
// CALLS FROM INSIDE AN ITEM (on the owner, inside run()/wait()/close())
//   add() (to this or any object), run() and wait() (nested: they run the
//   items after the current one), close() (the remaining items run
//   cancelled; the enclosing run()/wait() returns at once after the item),
//   interrupt() (the enclosing wait() returns after its pass).
//   Not: disown() and the destructor (reported, see MISUSE). One exception:
//   exit() called from an item runs the destructors of static objects on
//   that thread while the item and its run()/wait() are still on the stack
//   (they never resume). A local_work destroyed that way closes as close()
//   from an item does - the items still queued run cancelled - and exit()
//   goes on. The destructor tells it by the innermost run()/wait()/close()
//   of it on the stack having begun before the thread's exit phase, which
//   has begun now (glibc runs the thread's thread_local destructors first
//   in exit()). A run() that began during the exit phase - a static
//   destructor's, also one nested in the run whose item called exit() -
//   goes on after its item returns: destroying the object from inside it is
//   reported, as outside exit(). (Elsewhere than glibc every destruction
//   from inside an item is reported: end the process with quick_exit() or
//   _exit() from items.)
//
// SIGNAL SAFETY
//   add() is async-signal-safe: the gate's RMWs (its shard comes from the
//   stack's address, not from thread-local storage), the push, an eventfd
//   write(2) and a futex syscall; no lock, no allocation. After close(), add() runs the
//   item inline - in the handler - so such an item must be signal-safe too.
//   interrupt() is async-signal-safe too (the gate, a flag store, a futex
//   syscall). Not with MPSCQ_PORTABLE_FUTEX (the default off Linux): its
//   wake locks a mutex, so add() or interrupt() from a handler that
//   interrupted the owner's timed wait() deadlocks - use a self-pipe there.
//   has_work() and event_fd() are safe; run/wait/close/disown and the
//   destructor are not (they run items and may sleep). try_add() is safe as
//   add() is (after close() it returns closed and runs nothing);
//   try_add_for/try_add_until are not (they may sleep). A stop request
//   (std::stop_source::request_stop()) on a token that a wait() or a
//   try_add_for/until holds must not come from a handler: the standard
//   library's stop state takes a lock that the interrupted thread may hold
//   while it registers its callback - use interrupt() there.
//
// MEMORY-ORDERING CONTRACT
//   Everything a thread did before add(w) happens-before w.func runs on the
//   owner (or, after close, wherever it runs). Items of one thread run in that
//   thread's order; items of different threads in the order of their pushes.
//   After has_work() returns true, the owner's next run() finds the work (or a
//   producer still inside its push, see RACE WINDOWS).
//
// THE WAKE RULE (the merged kernel's, with wait_nr <= 0 meaning "no wake")
//   The owner's wait() arms wait_nr with the number of lazy adds it still
//   needs, re-checks the queue, sleeps on a separate futex word, and on waking
//   resets wait_nr to NO_WAITER (-1). After its push, an add reads wait_nr:
//
//       state of wait_nr        lazy add                     eager add
//       <= 0 (no waiter, or     nothing                      nothing
//       this cycle's wake is
//       already claimed)
//       k > 0 (armed)           fetch_sub: the add that      exchange(NO_WAITER):
//                               takes it 1 -> 0 wakes        wakes if old > 0
//
//          arm(k)          lazy x k: k..1 -> 0 (wake)
//   NO_WAITER ------> k  --------------------------------> 0 --+
//       ^                \   eager: exchange -> NO_WAITER (wake)  |
//       |                 +-------------------------------> -1 --+
//       +----------------- owner wakes: reset to NO_WAITER ------+
//
//   At most one wake per wait cycle: only one RMW sees 1 (lazy) or a positive
//   value it replaces with NO_WAITER (eager). The eager claim is an
//   unconditional exchange, not a compare-exchange: with compare-exchange, a
//   lazy decrement landing between its read and its CAS makes the eager add
//   give up although the countdown has not fired - a lost wake (the seed's v2
//   bug; the model tests keep it as a mutant).
//
// RACE WINDOWS
//   - push vs arm (the Dekker pair): an add that pushes while the owner arms.
//     Either the add's wait_nr read comes first and the owner's re-check sees
//     its item, or the arm comes first and the add sees the countdown. Both
//     sides are seq_cst pairs - the add's push exchange then its load of
//     wait_nr, the owner's arm exchange then its re-check load of the tail -
//     so one side comes first in their single total order (invariant C2 of
//     detail/countdown_wake.hpp); the re-check lives in wait()
//     (detail/local_work_core.hpp).
//   - the in-flight push (queue.hpp): a producer preempted between its tail
//     exchange and its link store. run() then stops early: it returns the
//     items before the window (and keeps has_work() true), or, when it could
//     run none, returns 0 after one backoff pause (detail/backoff.hpp:
//     yields, then sleeps that grow to ~1 ms across calls while the push
//     stays stuck, so a loop on run(), has_work() or the eventfd does not
//     spin; a pass that ran items resets it). wait() retries with the same
//     pauses, never busy-spinning on it and never sleeping on the futex
//     meanwhile (wait()'s pacing pause, a bounded spin of up to 16 us after a
//     pass that caught up with heavy traffic, is not a wait for the window).
//   - the stale decrement: a lazy add reads k > 0, the owner wakes (another
//     add's claim) and re-arms, then the add's fetch_sub lands on the new
//     count. The owner may wake early; it re-arms for what it still needs.
//     Early wakes are tolerated, lost wakes never.
//   - teardown (the upstream use-after-free): an add touches wait_nr and the
//     futex word after its push, so the owner may have run the item while the
//     add is still inside. close() counts adders in and out and waits for the
//     count to reach zero before it drains and before the memory goes.
//
//   - interrupt vs sleep: interrupt() raises its flag before it bumps the
//     futex word, and wait() reads the flag after its futex snapshot, so an
//     interrupt either is seen before the owner arms or makes its futex wait
//     return (detail/local_work_core.hpp, interrupt()).
//   - a stop request vs sleep (wait(..., std::stop_token)): the same, with
//     the token's state as the flag and a std::stop_callback, registered
//     before the futex snapshot, as the bump (detail/local_work_core.hpp,
//     wait_loop(); design.md 4.9a).
//
// STOPPING AN OWNER FROM ANOTHER THREAD
//   interrupt() ends the owner's current (or next) wait(); the owner then
//   looks at its own stop condition. See interrupt() below. Or give wait() a
//   std::stop_token: a stop request ends that wait (and no other), with no
//   flag left behind. See wait() below.
//
// THE GUARANTEE
//   An eager add is never left waiting behind a sleeping owner: the owner
//   wakes and runs it (it either sees the item at its re-check, or the add
//   claims the wake). A lazy add may wait until the owner's min_events lazy
//   adds arrived, or its min_wait passed (then any one add wakes it), or its
//   timeout (see wait(): never before min_wait).
//
// CLOSE, AND add() AFTER CLOSE
//   close() (owner) marks the object closed, waits until no add() is inside
//   (detail/adder_gate.hpp: every add is counted from before its push to its
//   last access), then runs every remaining item exactly once with
//   run_state.cancel = true.
//   An add() that finds the object closed runs its item itself, at once, on
//   the adding thread, with cancel = true: nothing is lost or leaked. (Such an
//   item may run before older items of the same thread that close() is still
//   draining.) That inline run is a nested call: an item that re-adds itself
//   after close() without looking at cancel recurses until the stack ends. run() and wait() after close() return 0 at once.
//
// FORK (docs/api.md 6.6: what a forked child may do with each thing the
// library created; the eventfd's handling: detail/eventfd.hpp)
//   A child gets a copy of the object, with the parent's queued items; they
//   run in the child only if it asks: run(), wait() or close() on the copy,
//   or destroying it (exit() destroys static objects: end a child that must
//   not touch them with _exit() or exec). The eventfd is the child's own: a
//   new one at the same descriptor number, readable iff the copy has_work(),
//   so nothing the child does reaches the parent's (and back). The futex
//   words are process-private. If the owner was another thread of the
//   parent, it does not exist in the child: it has ended as far as the child
//   can tell, and the child's first owner-only call (or the destructor), on
//   any of its threads, takes over, as from an ended owner (THE OWNER,
//   above).
//   Not supported: an add (also a try_add_for/try_add_until waiting for room,
//   which waits inside the adder gate: the child's close() would wait for
//   it for ever), wait or run in progress on another thread at the
//   fork (it never finishes in the child).
//
// COST
//   add(): on the line every producer writes, one exchange (the push's, on
//   the tail; seq_cst) and a store (the link); one load of wait_nr (seq_cst:
//   a plain load on x86 and AArch64; the line is written only when the owner
//   arms or disarms); and the gate's increment and decrement on the adding
//   thread's own shard line (detail/adder_gate.hpp: split counters, so
//   producers on different threads do not share it). Plus, on an empty ->
//   non-empty push, the pending-flag store (and an eventfd write if enabled);
//   plus, only when it claims a wait cycle, a claim RMW, a futex bump and one
//   FUTEX_WAKE syscall. No syscall when nobody waits. (Until 0.3: four RMWs
//   on one shared line - gate in, tail exchange, fetch_add(0) on wait_nr,
//   gate out.)
//   add_batch(chain): the same, once for the whole chain (one exchange, one
//   read, at most one claim: a lazy chain's fetch_sub subtracts its length,
//   [W9]), plus the chain's own appends (a store each, on the items' lines;
//   mpscq/work_chain.hpp). It is async-signal-safe as add() is.
#ifndef MPSCQ_LOCAL_WORK_HPP
#define MPSCQ_LOCAL_WORK_HPP

#include <chrono>
#include <cstdint>
#include <optional>

#include <mpscq/version.hpp>
#include <mpscq/bounded.hpp>
#include <mpscq/detail/latency_probe.hpp>
#include <mpscq/detail/local_work_core.hpp>
#include <mpscq/detail/stop_token.hpp>
#include <mpscq/queue.hpp>
#include <mpscq/work.hpp>
#include <mpscq/work_chain.hpp>

namespace mpscq {

/// Construction options of local_work (and baseline::llist_local_work).
struct local_work_options {
  /// Create an eventfd that becomes readable when work arrives on an empty
  /// queue (see local_work::event_fd). Linux only.
  bool enable_eventfd = false;
  /// The owner thread (std::this_thread::get_id() of it). Unset: the first
  /// thread that calls run(), wait() or close() becomes the owner. The
  /// constructing thread's own id binds the object to that thread at once;
  /// another thread's id is matched when that thread first calls run(),
  /// wait() or close() (if it ends before, a later thread that gets its id
  /// - glibc reuses them - claims the object; see SYNCHRONIZATION TABLE).
  std::optional<detail::thread_id> owner;
  /// With enable_eventfd: an add by the owner itself, from inside one of its
  /// own items (an item that posts the next one), does not write the eventfd
  /// nor raise has_work(); the run()/wait() pass below it takes the item or,
  /// ending with it still queued, announces it then - one write per pass
  /// instead of one per such add, and no stale readable eventfd behind a pass
  /// that took everything (local_work_core.hpp [L28]; asio::io_thread sets
  /// it: its chained self-posts went from ~465 to ~26 ns). The price, which
  /// is why it is opt-in: until that pass ends, has_work() and the eventfd
  /// do not show such an add, so an item that adds to its own object and
  /// then waits on the eventfd (a nested loop that polls before it runs)
  /// waits for nothing; and every add that finds the queue empty reads a
  /// thread_local (the owner check), so add() is then not async-signal-safe
  /// in a dlopen()ed library. Ignored without enable_eventfd.
  bool defer_own_signals = false;
  /// Bounded admission (mpscq/bounded.hpp): at most `limit` items accepted
  /// and not yet run, counting from an add's admission to the end of the
  /// run()/wait() pass that ran it - or, if an item of that pass starts a
  /// nested pass (run()/wait() from inside an item), to that nested pass's
  /// start: the items the enclosing passes handed out, the running one
  /// included, give their room back then (so a nested wait() can receive
  /// bounded adds; with nesting depth D, up to limit + D accepted items may
  /// not have finished). 0 (the default): no limit, and add()
  /// costs exactly what it costs unbounded. With a limit, try_add() refuses
  /// and try_add_for()/try_add_until() wait when it is reached; add() and
  /// add_batch() are never refused (they count, and may pass it). Each add
  /// then costs one more RMW (on the admission line, not the tail), each
  /// pass one RMW, plus a FUTEX_WAKE per pass while producers wait.
  /// Room comes back once per pass, not per item: an owner that waits for
  /// more items than the limit (wait(min_events > limit, ...)) while only
  /// bounded adds come in sleeps until its min_wait or timeout - keep
  /// min_events at most the limit (at most half of it keeps producers
  /// moving while the owner sleeps). An item that blocks on anything else
  /// (another object's wait(), a future, a lock) holds its pass's room
  /// until it returns: if what it waits for comes from a producer waiting
  /// for that room, both wait (until a deadline) - do not make items wait
  /// for bounded producers of their own object.
  std::uint32_t limit = 0;
};

/// Counters (local_work::stats()): what went in, what ran, how the owner
/// waited. Any thread may call stats(); each field is a relaxed snapshot,
/// read field by field (not one consistent cut: a field read later may
/// include events after one read earlier). Written by the owner, each with
/// a plain load + store (no RMW), except: `wakes` and `cancelled_inline`
/// (producers, on their slow paths), `refused` (refusing try_add* calls,
/// also `closed` on an unbounded object), a bounded `depth` (admission's
/// line) and `items_added` (see there).
/// EXACTNESS: a figure written by the owner is exact when the owner reads
/// it, between its own calls; another thread sees a value it had at some
/// recent moment (for a release/acquire pair with the owner - e.g. after
/// joining it - the value then). Once close() has returned every figure is
/// exact for every thread that is ordered after it.
struct local_work_stats {
  std::uint64_t wakes = 0;               // futex wakes issued by add() (one per claimed wait cycle; not interrupt()'s)
  std::uint64_t wait_cycles = 0;         // times wait() armed the countdown
  std::uint64_t sleeps = 0;              // of those, times it went on to futex-wait (the re-check found nothing)
  std::uint64_t recheck_aborts = 0;      // of those, times the re-check after arming found work: no sleep
  std::uint64_t timeouts = 0;            // wait() calls that returned because `timeout` passed
  std::uint64_t in_flight_backoffs = 0;  // pauses of wait() for a producer inside its push
  std::uint64_t items_run = 0;           // items run by run()/wait() (cancel == false)
  std::uint64_t items_cancelled = 0;     // items run by close() (cancel == true)
  std::uint64_t cancelled_inline = 0;    // items an add() after close() ran itself (cancel == true)
  std::uint64_t interrupts = 0;          // interrupt()s consumed by an outermost wait() (coalesced ones count once)
  /// Items queued by add(), add_batch() (each item of the chain) and a
  /// try_add*() that returned added, counted when the add has returned (its
  /// last access, the gate's leave(), counts it: no atomic write of its own,
  /// nothing on the producers' tail line; detail/adder_gate.hpp, WORD
  /// LAYOUT). Not counted: an add that ran its item itself after close()
  /// (cancelled_inline), a refused try_add (refused), interrupt(),
  /// sample_latency()'s probe. So an item that has run may not be counted
  /// yet while its add is still on its way out; the snapshot then reads it
  /// as added (never less than items_run + items_cancelled). Exact once no
  /// add is in progress (e.g. after close() returned). Kept per shard
  /// modulo 2^39 and widened against items_run + items_cancelled: exact as
  /// long as fewer than 2^38 items are queued at once.
  std::uint64_t items_added = 0;
  // Bounded admission (options.limit; mpscq/bounded.hpp):
  std::uint64_t refused = 0;  // try_add* calls that left their item with the caller (full, timed_out, stopped, closed)
  std::uint64_t limit = 0;    // options.limit (0: none)
  /// Items queued and not yet run. With a limit: admission's count, exact
  /// at each of its RMWs (taken at admission, given back at the end of the
  /// pass that ran the item or when an item of it nests a pass, so it
  /// includes the items of a pass in progress). Without one: items_added - items_run - items_cancelled,
  /// approximate - it misses the items of adds still on their way out (an
  /// add is counted when it returns) and, read by another thread than the
  /// owner, may include items the owner ran since. Read by the owner
  /// between its calls, with no add in progress, it is exact.
  std::uint64_t depth = 0;
};

/// A snapshot of the add-to-run latencies that local_work::sample_latency()
/// measured (local_work::latency()): a log2 histogram in nanoseconds.
struct local_work_latency {
  static constexpr int bucket_count = 64;
  /// Samples recorded (the sum of `buckets`).
  std::uint64_t count = 0;
  /// buckets[k]: samples whose latency has k significant bits, i.e. lies in
  /// [2^(k-1), 2^k - 1] ns (buckets[0]: 0 ns). So buckets[11] is 1.0-2.0 us,
  /// buckets[21] 1.0-2.1 ms.
  std::uint64_t buckets[bucket_count] = {};
  /// The longest latency recorded.
  std::chrono::nanoseconds max{0};
  /// An upper bound of the q-quantile (q in [0, 1]; p(0.5), p(0.9),
  /// p(0.99)): the top of the bucket that holds the ceil(q * count)-th
  /// smallest sample, 2^k - 1 ns - at most twice the true value. 0 without
  /// samples.
  std::chrono::nanoseconds p(double q) const noexcept {
    if (count == 0) return std::chrono::nanoseconds::zero();
    if (!(q > 0)) q = 0;  // also NaN
    if (q > 1) q = 1;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count));
    if (static_cast<double>(rank) < q * static_cast<double>(count)) ++rank;  // ceil
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    int k = 0;
    for (; k < bucket_count - 1; ++k) {
      seen += buckets[k];
      if (seen >= rank) break;
    }
    return std::chrono::nanoseconds(k == 0 ? 0 : static_cast<std::int64_t>((std::uint64_t{1} << k) - 1));
  }
};

namespace detail {
struct local_work_access;  // tests reach the queue through this (see queue_access)
}

class local_work : private detail::local_work_core<local_work> {
  using core = detail::local_work_core<local_work>;
  friend core;
  friend struct detail::local_work_access;

 public:
  /// An empty queue; options.enable_eventfd creates the eventfd (throws
  /// std::system_error if that fails), options.owner fixes the owner thread.
  explicit local_work(local_work_options options = {}) : core(options) {}

  /// close(): see CLOSE above. Aborts with a message if run, before close()
  /// ran, by a thread other than the owner while the owner's thread is alive
  /// (once it has ended, any thread may destroy it: it takes ownership over),
  /// or from inside one of its own items (except by exit(): see CALLS FROM
  /// INSIDE AN ITEM).
  ~local_work() { close_on_destroy(); }

  local_work(const local_work&) = delete;
  local_work& operator=(const local_work&) = delete;

  /// Queues `w` (any thread; `w` must not be queued already) and applies the
  /// wake rule. After close(), runs w with cancel = true on this thread.
  void add(work& w, wake mode = wake::eager) noexcept;

  /// Queues every item of `chain`, in order and contiguous, with ONE push
  /// (one exchange on the tail: queue::push_batch, the kernel's
  /// llist_add_batch) and applies the wake rule once for the whole chain:
  /// lazy, the chain counts chain.size() items towards the owner's
  /// min_events with one subtraction (and wakes it if that completes the
  /// count); eager, one wake. Any thread, also from inside an item. Leaves
  /// `chain` empty; an empty chain does nothing. After close(), runs every
  /// item of the chain on this thread, in order, with cancel = true (as
  /// add() does for its one item). Cost: one add()'s, whatever the length
  /// (work_chain.hpp). Misuse: see work_chain.hpp (appending) and add().
  void add_batch(work_chain& chain, wake mode = wake::eager) noexcept;

  // --- bounded admission (options.limit; mpscq/bounded.hpp) ------------------
  // Any thread, also from inside an item. Each returns what it did with `w`:
  // add_status::added (queued as add(w, mode) queues it: same order, same
  // wake rule), or a refusal that leaves `w` untouched with the caller
  // (nothing pushed, func not called): full, timed_out, stopped, closed.
  // Without a limit they always add (closed after close()). Unlike add(),
  // after close() (and from the moment close() begins) they return closed
  // and do not run the item. Misuse as add() (no func; a call that begins
  // after the destructor began). Not async-signal-safe when they may wait
  // (a futex sleep on the interrupted thread; try_add() is signal-safe).

  /// Queues `w` if the limit leaves room for it, else returns full at once.
  /// Cost with room: add()'s plus a compare-exchange on the admission line.
  [[nodiscard]] add_status try_add(work& w, wake mode = wake::eager) noexcept;

  /// As try_add(), but waits for room: until `deadline` passes (timed_out;
  /// time_point::max(): no deadline), close() (closed; also the destructor,
  /// which closes) or, with the token overloads, a stop request (stopped; a
  /// token stopped already refuses at once when there is no room). The
  /// owner does not wait (only its own runs make room): full at once.
  /// Fairness: none - a producer that arrives later may take room first.
  /// Sleeps on a futex while it waits (detail/admission.hpp); the owner's
  /// pass that makes room wakes it.
  [[nodiscard]] add_status try_add_until(work& w, std::chrono::steady_clock::time_point deadline,
                                         wake mode = wake::eager) noexcept;
  /// try_add_until(w, now + timeout): nanoseconds::max() waits without a
  /// deadline; a timeout <= 0 (as a past deadline) does not wait: timed_out
  /// when there is no room.
  [[nodiscard]] add_status try_add_for(work& w, std::chrono::nanoseconds timeout, wake mode = wake::eager) noexcept {
    return try_add_until(w, deadline_from(timeout), mode);
  }
#if MPSCQ_HAS_STOP_TOKEN
  /// With a std::stop_token (where the standard library has one,
  /// MPSCQ_HAS_STOP_TOKEN): a stop request ends the wait with stopped. A
  /// token without a stop state costs nothing; otherwise a std::stop_callback
  /// is registered only while the call sleeps for room.
  [[nodiscard]] add_status try_add_until(work& w, std::chrono::steady_clock::time_point deadline, std::stop_token stop,
                                         wake mode = wake::eager) noexcept;
  [[nodiscard]] add_status try_add_for(work& w, std::chrono::nanoseconds timeout, std::stop_token stop,
                                       wake mode = wake::eager) noexcept {
    return try_add_until(w, deadline_from(timeout), std::move(stop), mode);
  }
#endif

  /// True when work may be waiting for run(): set by the add that finds the
  /// queue empty, cleared when run()/wait() start taking work, set again when
  /// they leave work behind. Any thread; reads its own cache line, not the
  /// producers' tail.
  bool has_work() const noexcept { return core::has_work(); }

  /// Owner only. Runs up to max_events queued items, oldest first; leaves the
  /// rest queued (and has_work() true). Never sleeps on the futex: when a
  /// producer is inside its push it stops early, and pauses once (a backoff
  /// round) only if it could run nothing (see RACE WINDOWS). Returns how many ran (0 for max_events <= 0, and after
  /// close()).
  int run(int max_events) noexcept { return core::run(max_events); }

  /// Owner only. Runs queued work, then sleeps until more arrives, and
  /// returns when min_events items ran in this call, or `timeout` passed
  /// (nanoseconds::max(): never), or - if min_wait > 0 - min_wait passed and
  /// at least one item ran. Returns how many ran (possibly more than
  /// min_events: it runs in batches of at least 20). Wakes: see THE WAKE RULE.
  ///
  /// min_wait is io_uring's min_wait_usec (IORING_FEAT_MIN_TIMEOUT), with
  /// the kernel's rule (io_uring/wait.c, io_cqring_wait() and
  /// io_cqring_min_timer_wakeup(), Linux 6.12; liburing's
  /// test/min-timeout.c): while min_wait runs, its timer is the only one.
  ///  - When min_wait passes, the wait returns if an item ran in this call or
  ///    is queued (it runs it first); otherwise it goes on until `timeout`
  ///    and returns as soon as one item ran.
  ///  - So it never returns on the timeout before min_wait: a timeout
  ///    shorter than min_wait (zero or negative included) is waited out to
  ///    min_wait. With no timeout (nanoseconds::max()) min_wait is the
  ///    timeout: the wait returns at min_wait, having run nothing or not.
  ///  - "Ran" counts items run by this call (the kernel counts completions:
  ///    each item is one); min_events counts them too, lazy and eager alike.
  ///    An eager add before min_wait wakes the owner, which runs the item
  ///    and sleeps on (as the kernel's task does).
  ///  - Wakes: the kernel decides at min_wait in its timer, without waking
  ///    the task when nothing arrived; a futex timeout wakes the owner. So
  ///    when nothing has run the owner sleeps through min_wait with a count
  ///    of 1 instead (any add wakes it; before min_wait it runs the item and
  ///    sleeps again until min_wait) whenever a wake at min_wait would most
  ///    likely find nothing: always for min_events 1, and after a min_wait
  ///    that passed with nothing run (until an item ends such a sleep before
  ///    min_wait). In steady idle or steady traffic that is one futex sleep
  ///    per wait(), as the kernel's one context switch; each change between
  ///    the two costs one wake more than the kernel (stats().sleeps).
  ///
  /// Any argument is valid: min_events <= 0 runs what is queued and returns;
  /// a timeout <= 0 without min_wait does not sleep. Returns at once (after
  /// the item) when an item calls close(), and after the current pass when
  /// interrupt() was called (from any thread; see interrupt()).
  ///
  /// Pacing (since 0.3; detail/pacer.hpp, queue.hpp consumer::poll): with
  /// min_events == 1 and a wait that may block (a timeout > 0, unbounded, or
  /// min_wait), each pass takes items through the paced consumer. After a
  /// pass that caught up with heavy traffic (at least one item per 512 ns,
  /// pauses included), the next pass first spins (the CPU's pause
  /// instruction, on the clock) for up to 16 us so that a batch builds up
  /// behind the producers, never past the wait's deadline (the timeout, or
  /// min_wait when that ends later); an interrupt() or a close() is seen
  /// after it. The in-flight backoff's sleeps are cut at that deadline too. Light traffic,
  /// closed loops and an owner that adds to itself drop the pause (see
  /// poll()). min_events > 1 (the countdown batches already), min_events <=
  /// 0, wait(n, 0) and run() never pause. Pauses are not counted in stats().
  int wait(int min_events, std::chrono::nanoseconds timeout, std::chrono::nanoseconds min_wait = {}) noexcept {
    return core::wait(min_events, timeout, min_wait);
  }

  /// Owner only. As wait(min_events, timeout, min_wait), with the timeout
  /// ending at `deadline` on std::chrono::steady_clock (the clock wait()
  /// measures with): a deadline at or before now is a zero timeout,
  /// time_point::max() is no timeout (as nanoseconds::max()); min_wait
  /// counts from the call, and THE MIN_WAIT RULE holds as above (a
  /// deadline earlier than now + min_wait is waited out to min_wait). The
  /// point: a loop of waits that shares one deadline does not recompute
  /// what is left. steady_clock only: a deadline on another clock (say
  /// system_clock, which can jump) must be converted by the caller, e.g.
  /// steady_clock::now() + (d - system_clock::now()), knowing what a jump
  /// then means. Cost: as the duration form (one steady_clock::now() per
  /// pass that goes on waiting, as there).
  int wait(int min_events, std::chrono::steady_clock::time_point deadline,
           std::chrono::nanoseconds min_wait = {}) noexcept {
    return core::wait(min_events, deadline, min_wait);
  }

#if MPSCQ_HAS_STOP_TOKEN
  /// Owner only. Either form of wait(), which a stop request on `stop` ends
  /// as interrupt() does: the wait returns after its current pass, with
  /// what it ran - also when min_wait has not passed - and a token stopped
  /// before the call makes it run one pass (what is queued, up to the batch:
  /// at least min_events or 20) and return. Unlike interrupt() it leaves no
  /// flag behind: the stop is the caller's token's, so a later wait() with
  /// no token (or another token) is not affected, and a wait() nested in an
  /// item ends only if it was given a stopped token itself. min_events
  /// reached, the timeout and close() end the wait as before; a pending
  /// interrupt() is taken first (counted in stats().interrupts), a stop is
  /// not counted.
  ///
  /// How: the stop is checked where the interrupt flag is - after every pass
  /// that would go on waiting, and between the futex snapshot and the sleep
  /// - and for the sleep the wait registers a std::stop_callback whose
  /// callback bumps the futex word and wakes the owner (what interrupt()
  /// does, without its flag and its adder gate: the callback cannot outlive
  /// the call, ~stop_callback waits for one running on the requesting
  /// thread). So a stop from any thread, also from inside an item or during
  /// a min_wait, is never slept through (RACE WINDOWS; the stop vs the sleep,
  /// detail/local_work_core.hpp).
  ///
  /// Cost: a token with no stop state (default-constructed, or whose
  /// sources are gone and never stopped; stop_possible() false) costs
  /// nothing: the plain wait runs. Otherwise one stop_requested() load per
  /// check, and a callback registration (and its removal) per call that
  /// reaches a sleep - the token's lock, a few atomic RMWs, no syscall; a
  /// stop request costs the requester one futex-word increment and one
  /// FUTEX_WAKE per waiting registration. Not present where the standard
  /// library has no <stop_token> (MPSCQ_HAS_STOP_TOKEN 0: libc++ 14).
  int wait(int min_events, std::chrono::nanoseconds timeout, std::chrono::nanoseconds min_wait,
           const std::stop_token& stop) noexcept {
    return core::wait(min_events, timeout, min_wait, stop);
  }
  int wait(int min_events, std::chrono::steady_clock::time_point deadline, std::chrono::nanoseconds min_wait,
           const std::stop_token& stop) noexcept {
    return core::wait(min_events, deadline, min_wait, stop);
  }
#endif

  /// Any thread, also from inside an item or a signal handler (see SIGNAL
  /// SAFETY for MPSCQ_PORTABLE_FUTEX). Ends the owner's wait() in progress,
  /// or else the next one that would go on waiting, after its current pass:
  /// an interrupt is a flag, taken by a wait() only when that wait() would
  /// otherwise keep waiting (not by one that returns anyway: min_events
  /// reached, timeout passed, min_wait passed with work run). Interrupts
  /// raised before it is taken count once. A wait() nested in an item
  /// returns too but leaves the flag to the outermost one, which consumes it
  /// (stats().interrupts). For stopping an owner without a sentinel item or
  /// a polling timeout:
  ///
  ///     stop.store(true, std::memory_order_relaxed);   // any thread
  ///     lw.interrupt();
  ///     // owner: while (!stop.load(std::memory_order_relaxed)) lw.wait(1, max);
  ///
  /// Everything the caller did before interrupt() happens-before the return
  /// of a wait() that takes it (so the relaxed stop flag above is seen).
  /// run() ignores it. After close() it does nothing (wait() returns at once
  /// anyway). Cost: the adder gate's two RMWs (on the thread's shard), a flag store, a futex-word
  /// increment and one FUTEX_WAKE syscall (not counted in stats().wakes).
  /// Lifetime: like add(), it must not *begin* after the destructor began
  /// (reported); one already inside is waited out by close()/the destructor.
  /// The io_uring analogue: a signal that ends io_uring_enter()'s wait early
  /// (-EINTR), without the signal.
  void interrupt() noexcept { core::interrupt(); }

  /// -1 unless options.enable_eventfd. Becomes readable when work arrives on
  /// an empty queue (and when run() leaves work behind); run()/wait() drain
  /// it when they take the work. For owners that sleep in poll/epoll. With
  /// options.defer_own_signals, an add by the owner from inside one of its
  /// own items is announced at the end of the pass below it instead.
  int event_fd() const noexcept { return core::event_fd(); }

  /// Owner only. See CLOSE above. Idempotent.
  void close() noexcept { core::close(); }

  /// Owner only. Gives up ownership: the next thread to call run(), wait() or
  /// close() becomes the owner (what happened on this thread before
  /// happens-before what the next owner does). The end of the owner's thread
  /// does the same (see SYNCHRONIZATION TABLE).
  void disown() noexcept { core::disown(); }

  /// Counters (relaxed snapshots): items added, run, cancelled, refused,
  /// depth, wakes issued, wait cycles, sleeps, ... Any thread; see
  /// local_work_stats for how exact each figure is. Cost: about twenty
  /// relaxed loads (one per gate shard for items_added); writes nothing.
  local_work_stats stats() const noexcept { return core::template stats<local_work_stats>(); }

  /// Takes one add-to-run latency sample (any thread, also from inside an
  /// item; not async-signal-safe: it reads the clock). If no sample is in
  /// flight, it stamps the time (steady_clock) and queues an internal probe
  /// item behind everything queued so far; when the owner runs it, it
  /// records the time since the stamp in latency(). If one is in flight
  /// already, or after close(), it does nothing. What it measures: exactly
  /// the time from an add made at that instant to its item's run, for an
  /// add that does not wake the owner - FIFO, the probe waits for the same
  /// items and the same run()/wait() pass; an eager add, or a lazy one that
  /// completes the owner's min_events, would wake a sleeping owner sooner
  /// (the probe claims no wake and never counts towards min_events). It
  /// makes has_work() true and the eventfd readable when it finds the queue
  /// empty, as an add does. The probe is no item: run() and wait() do not
  /// count it in what they return (nor towards max_events / min_events),
  /// nor stats() in items_added, items_run or items_cancelled; it takes no
  /// room under a limit; close() drops it unrecorded. Cost: one relaxed
  /// load while a sample is in flight; otherwise a clock read, an exchange
  /// on the probe's own line and add()'s push (the gate's two RMWs, the
  /// exchange on the tail), no wake. Nothing while nobody samples: the
  /// owner's run loop is the same. Lifetime: like add(), it must not begin
  /// after the destructor began (reported).
  void sample_latency() noexcept;

  /// The latencies sample_latency() recorded so far (any thread): a relaxed
  /// snapshot, bucket by bucket (a sample recorded meanwhile may be in one
  /// bucket and not in `max`, or the reverse; `count` is the sum of the
  /// buckets read). Cost: 65 relaxed loads.
  local_work_latency latency() const noexcept { return probe_.template snapshot<local_work_latency>(); }

 private:
  static constexpr detail::wake_mode wake_mode_of(wake mode) noexcept {
    return mode == wake::lazy ? detail::wake_mode::lazy : detail::wake_mode::eager;
  }

  // --- the queue variant's part of the core (see local_work_core.hpp) -------
  int run_items(int max, bool cancel) noexcept;
  // wait()'s passes: run_items(max, false) paced (consumer::poll, detail/pacer.hpp).
  int run_items_paced(int max, std::chrono::steady_clock::time_point limit) noexcept;

  // The consumer's cursor is not on the stub: items (or a push in flight)
  // remain behind the last one we ran.
  bool items_left() const noexcept { return !consumer_.emptied(); }

  // [L18] [L21]: the core's relaxed in-flight check and re-check (queue's [Q2]).
  bool queue_empty(std::memory_order order) const noexcept { return queue_.empty(order); }

  int drain_cancelled() noexcept;

  // try_add*'s push, once admitted (inside the gate).
  void push_admitted(work& w, wake mode, detail::adder_gate::ticket ticket) noexcept;
  static add_status status_of(entry e) noexcept;
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

  // The producers' tail (its own lines: queue is cache-line aligned), then
  // the owner's cursor.
  queue queue_;
  consumer consumer_{queue_};
  // sample_latency()'s probe (detail/latency_probe.hpp): its claim line,
  // then the owner's histogram; untouched while nobody samples, except the
  // per-call probe count that run_items() brackets its loop with.
  detail::latency_probe<work> probe_;
};

// ---------------------------------------------------------------------------
// Implementation. Nothing below this line is part of the interface.
// ---------------------------------------------------------------------------

inline void local_work::add(work& w, wake mode) noexcept {
  detail::adder_gate::ticket ticket;
  if (!admit(w, "local_work", ticket)) return;  // closed: w ran here, cancelled
  // The push's exchange is seq_cst: the add's half of the push-vs-arm Dekker
  // pair with the seq_cst read() below (countdown_wake C2). [Q4]
  if (queue_.push(&w.hook)) signal_non_empty();
  // The wake rule (detail/countdown_wake.hpp: [W1] read, [W2]/[W3] claim,
  // [W4] wake; race windows R1-R3 there). Rows: [L5] read, [L16] lazy /
  // [L17] eager claim, [L6] wake.
  detail::countdown_wake& cw = countdown();
  if (cw.claim(cw.read(), wake_mode_of(mode))) cw.wake();
  leave_added(ticket);  // [L3]: counted in stats().items_added
}

inline void local_work::add_batch(work_chain& chain, wake mode) noexcept {
  if (chain.empty()) return;
  const detail::taken_chain items = detail::work_chain_access::take(chain);
  detail::adder_gate::ticket ticket;
  // Closed: every item runs here, cancelled, in order (as admit() does for
  // one). Counted in stats().cancelled_inline inside the gate.
  if (!enter(ticket, items.size, "add_batch() began after the destructor began (use after free)")) {
    detail::work_chain_access::run_each(items, run_state{true});
    return;
  }
  // One push for the chain [Q4] [Q5] (queue::push_batch): seq_cst exchange,
  // the add's half of the push-vs-arm pair, exactly as add().
  if (queue_.push_batch(items.first, items.last)) signal_non_empty();
  // One read [W1] and one claim for the chain: [W9] (lazy, fetch_sub of the
  // chain's length) or [W3] (eager) - row [L27].
  detail::countdown_wake& cw = countdown();
  if (cw.claim_batch(cw.read(), items.size, wake_mode_of(mode))) cw.wake();
  leave_added(ticket, items.size);  // [L3]: the chain's items, in the same one RMW
}

inline void local_work::push_admitted(work& w, wake mode, detail::adder_gate::ticket ticket) noexcept {
  // As add(): the push [Q4] (seq_cst: the Dekker half), the wake rule [L5]
  // [L16] [L17] [L6], then the last access.
  if (queue_.push(&w.hook)) signal_non_empty();
  detail::countdown_wake& cw = countdown();
  if (cw.claim(cw.read(), wake_mode_of(mode))) cw.wake();
  leave_added(ticket);  // [L3]: counted in stats().items_added
}

inline void local_work::sample_latency() noexcept {
  // P1 (detail/latency_probe.hpp): one probe in flight at a time; a sampler
  // that finds it busy writes nothing.
  if (!probe_.try_claim()) return;  // [P1]
  // Inside the gate, like an add (enter_gate: [L1]'s [A1]), so close() and
  // the destructor wait for our push and signal; uncounted in items_added.
  const detail::adder_gate::ticket ticket =
      enter_gate("sample_latency() began after the destructor began (use after free)");
  if ((ticket.before & detail::adder_gate::closed) != 0) {
    probe_.unclaim();  // [P4] closed: no push (close() drained, or will not see it)
    leave(ticket);     // [L3]
    return;
  }
  // P2: stamp, then push (seq_cst exchange, [Q4]); the push publishes the
  // stamp to the owner. No countdown claim: the probe never wakes the owner
  // nor counts towards min_events. Bounded: it takes no room (it ignores
  // the `limited` bit) and run_items() does not count it, so it gives none
  // back.
  if (queue_.push(&probe_.stamp())) signal_non_empty();
  leave(ticket);  // [L3] uncounted
}

inline add_status local_work::status_of(entry e) noexcept {
  switch (e) {
    case entry::admitted: return add_status::added;
    case entry::full: return add_status::full;
    case entry::timed_out: return add_status::timed_out;
    case entry::stopped: return add_status::stopped;
    case entry::closed: break;
  }
  return add_status::closed;
}

inline add_status local_work::try_add(work& w, wake mode) noexcept {
  detail::adder_gate::ticket ticket;
  const entry e = enter_bounded(w, "local_work", ticket, [](detail::admission& a) noexcept {
    return a.try_acquire(1) ? entry::admitted : entry::full;  // [AD1] [AD2]
  });
  if (e != entry::admitted) return status_of(e);
  push_admitted(w, mode, ticket);
  return add_status::added;
}

inline add_status local_work::try_add_until(work& w, std::chrono::steady_clock::time_point deadline,
                                            wake mode) noexcept {
  detail::adder_gate::ticket ticket;
  const entry e = enter_bounded(w, "local_work", ticket, [&](detail::admission& a) noexcept {
    return take_room_waiting(a, deadline, no_stop{});
  });
  if (e != entry::admitted) return status_of(e);
  push_admitted(w, mode, ticket);
  return add_status::added;
}

#if MPSCQ_HAS_STOP_TOKEN
inline add_status local_work::try_add_until(work& w, std::chrono::steady_clock::time_point deadline,
                                            std::stop_token stop, wake mode) noexcept {
  detail::adder_gate::ticket ticket;
  const entry e = enter_bounded(w, "local_work", ticket, [&](detail::admission& a) noexcept {
    if (a.try_acquire(1)) return entry::admitted;  // no callback while there is room
    if (!stop.stop_possible()) return take_room_waiting(a, deadline, no_stop{});
    // RACE WINDOW (a stop vs the sleep): admission.hpp W4. The callback runs
    // on the requesting thread after the request is visible, while we are
    // inside the gate (its destructor, below, waits for a running callback),
    // so the object is alive for it.
    const std::stop_callback wake_on_stop(stop, [this]() noexcept { wake_waiting_adders(); });
    return take_room_waiting(a, deadline, stop);
  });
  if (e != entry::admitted) return status_of(e);
  push_admitted(w, mode, ticket);
  return add_status::added;
}
#endif

inline int local_work::run_items(int max, bool cancel) noexcept {
  // The batch consumer (queue.hpp, consumer::pop_batch), with the cursor
  // kept in a register between items. It stops at an empty queue or a
  // producer in flight, and right after the node that empties the queue;
  // an item may have added more since (to this object: a handler that posts
  // again), which a pop() loop would go on to run in this same call - so
  // call it again until it hands out nothing or `max` items ran. Items may
  // re-enter (a nested run()/wait(), or close() draining the rest):
  // pop_batch goes on from wherever they left the cursor.
  //
  // The latency probe (sample_latency()) runs among the items but is not
  // one: its func counts itself in probe_ (owner-only), and we leave those
  // runs out of what we return and run as many items more instead (rare;
  // begin()/end() keep a nested call's count apart). The loop is as before.
  const unsigned outer = probe_.begin();
  int n = 0;
  for (;;) {
    while (n < max) {
      // Bounded: each item is counted as it is handed out (not the probe),
      // so that the room comes back at the pass's end or as soon as an item
      // nests a pass ([L30]). One branch per batch; the loop is as before.
      const int got =
          room_counted()
              ? consumer_.pop_batch(max - n,
                                    [this, cancel](node* x) noexcept {
                                      if (x != probe_.hook()) room_ran();
                                      work::from_hook(x)(run_state{cancel});
                                    })
              : consumer_.pop_batch(max - n, [cancel](node* x) noexcept { work::from_hook(x)(run_state{cancel}); });
      if (got == 0) break;  // empty, or a producer in flight
      n += got;
    }
    const unsigned probes = probe_.take();
    if (probes == 0) [[likely]] break;
    n -= static_cast<int>(probes);
  }
  probe_.end(outer);
  return n;
}

inline int local_work::run_items_paced(int max, std::chrono::steady_clock::time_point limit) noexcept {
  // The first call through consumer::poll(): after a pass that caught up
  // with busy producers it waits (up to 16 us, never past `limit`) so that a
  // batch builds up behind their frontier, which then runs from lines they
  // have finished with. The rest is run_items() (items that added more to
  // this object).
  // The probe as in run_items(): not counted, its place taken by an item.
  const unsigned outer = probe_.begin();
  const int got = room_counted() ? consumer_.poll(
                                       max,
                                       [this](node* x) noexcept {
                                         if (x != probe_.hook()) room_ran();  // as in run_items()
                                         work::from_hook(x)(run_state{false});
                                       },
                                       limit)
                                 : consumer_.poll(max, [](node* x) noexcept { work::from_hook(x)(run_state{false}); }, limit);
  const int n = got - static_cast<int>(probe_.take());
  probe_.end(outer);
  if (got == 0 || n >= max) return n;
  return n + run_items(max - n, false);
}

inline int local_work::drain_cancelled() noexcept {
  // The probe (sample_latency()) runs here too (cancelled: unrecorded)
  // and is not counted, as in run_items().
  const unsigned outer = probe_.begin();
  int n = 0;
  detail::backoff wait;
  // No add is inside any more (close() waited them out), so every push is
  // linked and pop() returns nullptr only once the queue is empty. [L22] Acquire:
  // pairs with the pushes' release exchange (a snapshot to end the loop on).
  while (!queue_.empty(std::memory_order_acquire)) {
    node* next = consumer_.pop();
    if (next == nullptr) {
      wait.pause();  // only reachable if an add were still in flight
      continue;
    }
    work::from_hook(next)(run_state{true});
    ++n;
  }
  n -= static_cast<int>(probe_.take());
  probe_.end(outer);
  return n;
}

}  // namespace mpscq

#endif  // MPSCQ_LOCAL_WORK_HPP
