// mpscq/queue.hpp - lockless multi-producer, single-consumer FIFO queue.
//
// WHAT IT IS
//   An intrusive, unbounded FIFO queue after Dmitry Vyukov's node-based MPSC
//   algorithm, in the form io_uring merged for its task work: the consumer's
//   cursor lives outside the queue (in mpscq::consumer), and the stub node is
//   put back as the tail by one compare-exchange only when the consumer
//   detaches the last node. A push is one atomic exchange and one store:
//   wait-free, no retry loop, safe from any thread (and from a signal handler,
//   since it neither allocates nor locks).
//
// WHEN TO USE IT
//   Many threads hand items to one thread that processes them in order: an
//   event loop's task queue, an actor's mailbox, a logger's backend. Items are
//   your objects with an mpscq::node member, so nothing is allocated. Prefer
//   mpscq::local_work / mpscq::task_work if you also need the wake-up logic.
//   Do not use it with several consumers at once, or where the consumer must
//   block until an item is fully visible (see THE IN-FLIGHT WINDOW).
//
// EXAMPLE
//   struct msg { mpscq::node hook; int value; };
//   mpscq::intrusive_queue<msg, &msg::hook> q;
//   // any thread:
//   q.push(new msg{{}, 42});
//   // the one consumer thread:
//   mpscq::intrusive_queue<msg, &msg::hook>::consumer c(q);
//   while (msg* m = c.pop()) { use(m->value); delete m; }
//   // or up to 64 at a time, the cursor kept in a register between them:
//   while (c.pop_batch(64, [](msg* m) { use(m->value); delete m; }) > 0) {}
//   // a consumer that polls in a loop: poll(), pop_batch() paced so that
//   // it does not sit on busy producers' frontier (see CHOOSING A CALL):
//   for (;;) {
//     if (c.poll(64, [](msg* m) { use(m->value); delete m; }) == 0) do_other_work_or_back_off();
//   }
//
// CHOOSING A CALL (docs/api.md, "Which consumer", has the measurements)
//   poll()       a consumer that polls in a loop: the fastest under heavy
//                traffic (a pause of up to 16 us after it catches up with
//                busy producers; light traffic never waits).
//   pop_batch()  exact and never waits: as many as are linked, up to max.
//   pop()        one node per call, exact and never waits.
//
// SYNCHRONIZATION TABLE (may the two calls run at the same time?)
//                     push/push_batch  empty   consumer::pop/pop_batch/poll/emptied
//   push/push_batch   yes              yes     yes
//   empty             yes              yes     yes
//   consumer::pop,    yes              yes     no: one consumer object per
//   pop_batch, poll                            queue, used by one thread at a
//                                              time (pop_batch's callback may
//                                              call back into it: see there)
//   A consumer may be destroyed and another one created later (on any
//   thread, given the caller's own happens-before between the two); the
//   cursor is parked in the queue in between, so nothing queued is lost.
//
// MEMORY-ORDERING CONTRACT
//   Everything a producer wrote before push(n) (in particular n's payload)
//   happens-before everything the consumer does after the pop() that returns
//   n (for pop_batch(): from the call of its callback with n on). Items are handed out in the order their pushes' exchanges on the tail
//   took effect, so pushes by one thread come out in that thread's order. A
//   node returned by pop() is no longer referenced by the queue or by any
//   producer: free it, or push it again, at once.
//
// MISUSE
//   Pushing a node that is still queued corrupts the list (a lost node, or a
//   node handed out forever). push() reports it - "mpscq::queue: ..." on
//   stderr, then abort() - when the node is the current tail, in every build;
//   with MPSCQ_DEBUG (default when NDEBUG is not defined) also when it is
//   anywhere in the queue: every hand-out clears the node's next pointer
//   (in every build), and push() checks it. A node taken from an mpscq::llist
//   keeps its list link: reset it (n->next.store(nullptr)) before pushing it
//   here in a debug build. A second consumer on one queue is reported too.
//   Not detected: a node pushed onto a second queue while it is the tail of
//   another (its next is nullptr there too); the first queue then looks like
//   a push stuck in flight for ever.
//
// THE IN-FLIGHT WINDOW
//   A push publishes its node in two steps: the exchange makes it the new
//   tail, then a store links it behind its predecessor. Between the two the
//   node (and everything pushed after it) is not reachable from the consumer.
//   pop() then returns nullptr while empty() is false. The window is two
//   instructions wide, but the producer can be preempted inside it for a whole
//   time slice, so a consumer that sees nullptr with !empty() must not spin on
//   the queue: do other work, yield, or sleep, and pop again later.
//
// EMPTY -> NON-EMPTY
//   push() returns true exactly when the queue was empty before it (its
//   exchange found the stub as the tail). consumer::emptied() is true exactly
//   when the last node pop() returned left the queue empty (the stub went
//   back in as the tail). Over any run, pushes that returned true equal pops
//   after which emptied() was true, plus one if the queue ends non-empty.
//   consumer::pop_batch() hands out what the same pops would, and ends with
//   the node that empties the queue, so the rule holds for it too, counted
//   per node handed out or per batch.
//   mpscq::task_work builds its "schedule exactly once" rule on this pair.
#ifndef MPSCQ_QUEUE_HPP
#define MPSCQ_QUEUE_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include <mpscq/version.hpp>
#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/cache_line.hpp>
#include <mpscq/detail/misuse.hpp>
#include <mpscq/detail/mutants.hpp>
#include <mpscq/detail/pacer.hpp>
#include <mpscq/node.hpp>

// MPSCQ_DEBUG: the checks that cost more than a compare (docs/api.md,
// "Contracts"). On by default when NDEBUG is not defined; define it to 0 or 1
// to choose, and choose the same in every translation unit of a program.
#if !defined(MPSCQ_DEBUG)
#if defined(NDEBUG)
#define MPSCQ_DEBUG 0
#else
#define MPSCQ_DEBUG 1
#endif
#endif

namespace mpscq {

class consumer;

namespace detail {
struct queue_access;  // tests reach push's two steps through this
}

/// The producer side: the tail and the stub. Address-stable (not copyable,
/// not movable). Producers write only this object's first cache line.
class alignas(detail::cache_line) queue {
 public:
  queue() noexcept : tail_(&stub_) {}
  queue(const queue&) = delete;
  queue& operator=(const queue&) = delete;
  ~queue() = default;

  /// Pushes `n` (any thread, wait-free). Returns true if the queue was empty
  /// before this push. `n` must not be in any queue: pushing a node that is
  /// still queued is reported (message, abort) when it is the tail, in every
  /// build (one compare), and anywhere in the queue with MPSCQ_DEBUG (see
  /// MISUSE above).
  bool push(node* n) noexcept;

  /// Pushes a chain that the caller already linked: first->next ... == last.
  /// One exchange for the whole chain; the chain stays contiguous in the
  /// queue's order. Returns true if the queue was empty before. A chain
  /// whose first or last node is the queue's tail already is reported, in
  /// every build (two compares); a node of the chain still queued elsewhere
  /// in the queue is not (mpscq::work_chain checks its items as they are
  /// appended, with MPSCQ_DEBUG).
  bool push_batch(node* first, node* last) noexcept;

  /// True when no node is queued that pop() has not handed out, and no push
  /// is in flight. False does not promise that pop() returns a node yet (see
  /// THE IN-FLIGHT WINDOW). Any thread; a snapshot.
  bool empty() const noexcept;

  /// empty() with the caller's choice of order for the tail load, for wait
  /// protocols that order it against their own flags (local_work's re-check
  /// after arming is seq_cst, the second half of its push-vs-arm pair with
  /// the seq_cst push, see detail/countdown_wake.hpp C2).
  /// [Q2]
  bool empty(std::memory_order order) const noexcept { return tail_.load(order) == &stub_; }

 private:
  friend class consumer;
  friend struct detail::queue_access;

  // Step 1 of a push: make `last` the tail. Returns the previous tail, which
  // step 2 must link to `first`. Until then the chain is unreachable from the
  // consumer (the in-flight window).
  node* publish(node* first, node* last) noexcept;

  // Step 2 of a push: link the chain behind the previous tail. `prev` cannot
  // have been handed out (and freed) yet: pop() gives out the last linked node
  // only after moving the tail off it, which our exchange prevented.
  static void link(node* prev, node* first) noexcept;

  // Producers' line: the tail, and the stub (whose `next` producers write
  // only when they push onto an empty queue).
  detail::atomic<node*> tail_;
  node stub_;

  // Consumer's parking slot, on a line of its own: written only when a
  // consumer detaches or attaches, never per pop.
  alignas(detail::cache_line) node* parked_cursor_ = &stub_;
  bool parked_emptied_ = true;
  detail::atomic<bool> consumer_attached_{false};
};

/// The single consumer's cursor over a queue. Holds the oldest node not yet
/// handed out, in the consumer's own memory rather than in `queue`, so pops
/// never write the producers' cache line (except to put the stub back).
class consumer {
 public:
  /// Attaches to `q`. At most one consumer per queue at a time; a second one
  /// is a programming error and terminates with a message.
  explicit consumer(queue& q) noexcept;
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  /// Parks the cursor in the queue, so a later consumer resumes from it.
  ~consumer();

  /// The oldest node, or nullptr when the queue is empty or when a producer
  /// is inside the in-flight window (then `!q.empty()`; try again later,
  /// without spinning). Never blocks, never loops.
  node* pop() noexcept;

  /// Hands out up to `max` nodes, oldest first, calling `f(node*)` for each,
  /// and returns how many: exactly what up to `max` pop() calls would hand
  /// out, stopping at the first one that would return nullptr or right after
  /// the one that leaves the queue empty. So it returns 0 only when pop()
  /// would have returned nullptr (the queue is empty, or a producer is inside
  /// the in-flight window behind the oldest node; then `!q.empty()`: try again
  /// later, without spinning), and fewer than `max` only when the queue was
  /// found empty or blocked by such a window. Never blocks, never spins, never
  /// waits for a link. `max <= 0` returns 0 and touches nothing.
  ///
  /// emptied() afterwards means exactly what it would after the equivalent
  /// pop() calls: true only when the last node handed out left the queue
  /// empty (its hand-out put the stub back as the tail). The call ends there,
  /// so a batch never runs past the node that closes an empty -> non-empty
  /// cycle into the next cycle (task_work's stop rule works per batch).
  ///
  /// A node handed to `f` is no longer referenced by the queue or by any
  /// producer: `f` may free it, or push it again (onto this queue too; a node
  /// pushed again comes out again behind the nodes queued before it, maybe
  /// in this same call). The cursor and emptied() are updated before each
  /// call of `f`, so inside `f` emptied() describes the node being handed
  /// out, and `f` may call pop() or pop_batch() on this same consumer (the
  /// outer call goes on from wherever the inner calls left the cursor, and
  /// ends if `f` returns with emptied() true; nested hand-outs are not
  /// counted in the outer result). If `f` throws, the node it was given
  /// counts as handed out, the exception propagates, and every node not yet
  /// handed out stays queued, in order, for the next pop() or pop_batch().
  template <class F>
  int pop_batch(int max, F&& f) noexcept(std::is_nothrow_invocable_v<F&, node*>);

  /// The polling consumer's call: pop_batch(max, f), paced. Use it for a
  /// consumer that polls the queue in a loop (it is what mpscq-bench
  /// measures as mpscq::queue); pop() and pop_batch() stay exact and never
  /// wait.
  ///
  /// Hands out what pop_batch(max, f) would, with the same rules for f,
  /// exceptions, re-entrancy and emptied(), and the same return value - but
  /// a call that follows one that caught up with busy producers first waits
  /// a few microseconds, so that a batch builds up behind the producers'
  /// frontier and the consumer walks lines they have finished with instead
  /// of taking each node's line from a producer that is still writing it
  /// (detail/pacer.hpp has the rule and its reasons):
  ///  - the wait: at most 16 us (pacer::max_pace_ns), spinning on the clock
  ///    with the CPU's pause instruction, and only what is left of it when
  ///    the caller did other work since the previous call;
  ///  - it is armed only by a call that handed out items and stopped before
  ///    `max` (emptied, or the next push in flight), and only under heavy
  ///    traffic: at least one item per 512 ns between such calls, pauses
  ///    included. An empty poll never arms it; traffic lighter than that
  ///    (also a closed loop whose few outstanding items cannot fill a
  ///    pause) drops it, and a pause during which no push happened (a thread
  ///    that posts to itself) drops it at once; after a drop it is tried
  ///    again only after 2, 4, ..., 1024 such calls;
  ///  - so items that arrive during a pause wait for it: under heavy traffic
  ///    the latency of an item grows by up to 16 us, in exchange for
  ///    throughput (docs/api.md, "Which consumer", has the figures).
  /// Returns 0 when nothing could be handed out (empty, or a producer inside
  /// the in-flight window: then back off as after pop_batch(), never spin).
  /// `max <= 0` returns 0 and touches nothing. Never sleeps. Costs beyond
  /// pop_batch(): one clock read per call that reaches the frontier (~20 ns
  /// with the vDSO; none per item), and per pause two relaxed loads of the
  /// producers' tail; no atomic write.
  template <class F>
  int poll(int max, F&& f) noexcept(std::is_nothrow_invocable_v<F&, node*>) {
    return poll_until(max, f, ~std::uint64_t{0});
  }

  /// poll(max, f), but a pause never lasts past `deadline` (a steady_clock
  /// time: an event loop's next timer, a wait's timeout). local_work::wait()
  /// passes its own deadlines through this.
  template <class F>
  int poll(int max, F&& f, std::chrono::steady_clock::time_point deadline) noexcept(
      std::is_nothrow_invocable_v<F&, node*>) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    return poll_until(max, f, ns <= 0 ? 0 : static_cast<std::uint64_t>(ns));
  }

  /// True while the stub is the tail as far as this consumer knows: the last
  /// node pop() returned (or pop_batch() handed out) left the queue empty
  /// (its pop put the stub back), so
  /// the next push returns true, and no pop has since taken a new node off
  /// the stub. False after a pop that left nodes behind, and false as soon as
  /// a pop steps onto a newly pushed node - even when that pop returns
  /// nullptr because a push behind the node is still in flight. Initially
  /// true. After a pop that returned a node, emptied() is exactly "this pop
  /// started no new cycle; the next push does" (task_work's stop rule).
  bool emptied() const noexcept { return emptied_; }

  /// The queue this consumer reads.
  queue& source() const noexcept { return q_; }

 private:
  template <class F>
  int poll_until(int max, F& f, std::uint64_t limit_ns) noexcept(std::is_nothrow_invocable_v<F&, node*>) {
    if (max <= 0) return 0;  // as pop_batch: touches nothing (nor the armed pause)
    // [Q19] Relaxed tail snapshots: the pacer only compares them (did any
    // push happen during the pause?); nothing is read through them.
    pacer_.wait_turn([this] { return q_.tail_.load(std::memory_order_relaxed); }, limit_ns);
    const int n = pop_batch(max, f);
    pacer_.after(n, n < max);
    return n;
  }

  queue& q_;
  node* cursor_;
  bool emptied_;
  detail::pacer pacer_;  // poll()'s pause; owner-only, not parked with the cursor
};

/// Typed adaptor over a member hook: pushes and pops T* instead of node*.
///
///   struct job { int id; mpscq::node hook; };
///   mpscq::intrusive_queue<job, &job::hook> q;
///   q.push(&j);
///   mpscq::intrusive_queue<job, &job::hook>::consumer c(q);
///   if (job* j = c.pop()) ...
template <class T, node T::*Hook>
class intrusive_queue {
 public:
  using value_type = T;

  intrusive_queue() noexcept = default;

  /// See queue::push.
  bool push(T* item) noexcept { return q_.push(&(item->*Hook)); }
  /// See queue::push_batch: first..last already linked through their hooks.
  bool push_batch(T* first, T* last) noexcept { return q_.push_batch(&(first->*Hook), &(last->*Hook)); }
  /// See queue::empty.
  bool empty() const noexcept { return q_.empty(); }

  /// The untyped queue underneath.
  queue& raw() noexcept { return q_; }

  /// The single consumer, returning T*.
  class consumer {
   public:
    explicit consumer(intrusive_queue& q) noexcept : c_(q.q_) {}
    /// See mpscq::consumer::pop.
    T* pop() noexcept;
    /// See mpscq::consumer::pop_batch: calls f(T*) for each item handed out.
    template <class F>
    int pop_batch(int max, F&& f) noexcept(std::is_nothrow_invocable_v<F&, T*>) {
      return c_.pop_batch(max, [&f](node* n) noexcept(std::is_nothrow_invocable_v<F&, T*>) { f(from_hook(n)); });
    }
    /// See mpscq::consumer::poll: calls f(T*) for each item handed out.
    template <class F>
    int poll(int max, F&& f) noexcept(std::is_nothrow_invocable_v<F&, T*>) {
      return c_.poll(max, [&f](node* n) noexcept(std::is_nothrow_invocable_v<F&, T*>) { f(from_hook(n)); });
    }
    /// See mpscq::consumer::emptied.
    bool emptied() const noexcept { return c_.emptied(); }

   private:
    mpscq::consumer c_;
  };

  /// The object that holds hook `n`.
  static T* from_hook(node* n) noexcept { return detail::owner_of<T, node, Hook>(n); }

 private:
  queue q_;
};

// ---------------------------------------------------------------------------
// Implementation. Nothing below this line is part of the interface.
// ---------------------------------------------------------------------------

inline bool queue::push(node* n) noexcept {
#if MPSCQ_DEBUG
  // [Q12] A node that is not queued has next == nullptr: pop() clears it in debug
  // builds before handing a node out. Relaxed: our own earlier writes, or
  // the consumer's hand-off, order it for a correct caller.
  if (n->next.load(std::memory_order_relaxed) != nullptr)
    detail::misuse("queue", "push(): the node is still queued or linked (pushed twice before it was popped, or added while it is in a work_chain)");
#endif
  return push_batch(n, n);
}

inline bool queue::push_batch(node* first, node* last) noexcept {
  node* prev = publish(first, last);
  // Misuse, every build: `last` (or a chain's `first`) was the tail already
  // (pushed twice, the second time before anything was pushed behind it; or
  // a chain built of a node still queued). Linking it to itself, or behind
  // its own chain, would make pop() hand nodes out forever. One compare for
  // push() (first == last), two for a chain.
  if (prev == last || prev == first)
    detail::misuse("queue", "push(): the node is already the queue's tail (pushed twice, or still queued)");
  link(prev, first);
  return prev == &stub_;
}

inline bool queue::empty() const noexcept {
  // [Q1] Relaxed: a snapshot that promises nothing about the nodes themselves;
  // whoever acts on "non-empty" reaches the nodes through pop(), whose
  // acquire loads give the ordering.
  return tail_.load(std::memory_order_relaxed) == &stub_;
}

inline node* queue::publish(node* first, node* last) noexcept {
  (void)first;
  // [Q3] Relaxed: published by the release half of the exchange below (for a
  // producer that later links behind `last`) and by the release link store
  // (for the consumer, which reaches `last` through its predecessor).
  last->next.store(nullptr, std::memory_order_relaxed);
  // [Q4] seq_cst (acq_rel plus a place in the single total order S, which
  // local_work's push-vs-arm pair needs: detail/countdown_wake.hpp C2; on
  // x86 and AArch64 the same instruction as acq_rel). Release: our node's
  // initialisation (payload, next = nullptr)
  // happens-before the next producer's link store into `last->next`, so that
  // store comes after our nullptr in the modification order and is never
  // overwritten by it. Acquire: pairs with the release of the previous tail
  // writer - another producer's exchange, or the consumer's stub
  // compare-exchange in pop() (Q11) or pop_batch() (Q17), which cleared
  // stub_.next before it - so our link store into prev->next lands after
  // every earlier write to it.
  return tail_.exchange(last, detail::mutant::weaken_if(detail::mutant::queue_tail_exchange_relaxed,
                                                        std::memory_order_seq_cst));
}

inline void queue::link(node* prev, node* first) noexcept {
  // [Q5] Release: pairs with the acquire loads of `next` in consumer::pop()
  // (Q8, Q10) and consumer::pop_batch() (Q14, Q16), so the consumer that
  // follows this link sees the chain's payload.
  prev->next.store(first, detail::mutant::weaken_if(detail::mutant::queue_link_relaxed,
                                                    std::memory_order_release));
}

inline consumer::consumer(queue& q) noexcept : q_(q) {
  // [Q6] acq_rel: acquire pairs with the release in ~consumer(), so a consumer
  // created after another one was destroyed sees its parked cursor; release
  // is for symmetry with that detach (nothing else reads this flag).
  if (q_.consumer_attached_.exchange(true, std::memory_order_acq_rel))
    detail::misuse("consumer", "a second consumer attached to one queue");
  cursor_ = q_.parked_cursor_;
  emptied_ = q_.parked_emptied_;
}

inline consumer::~consumer() {
  q_.parked_cursor_ = cursor_;
  q_.parked_emptied_ = emptied_;
  // [Q7] Release: pairs with the acquire in consumer(), publishing the parked
  // cursor to the next consumer.
  q_.consumer_attached_.store(false, std::memory_order_release);
}

inline node* consumer::pop() noexcept {
  // [Q8] [Q10] acquire (MUTANT queue_next_load_relaxed: relaxed).
  constexpr std::memory_order next_order =
      detail::mutant::weaken_if(detail::mutant::queue_next_load_relaxed, std::memory_order_acquire);
  node* const stub = &q_.stub_;
  node* head = cursor_;
  if (head == stub) {
    // [Q8] Acquire: pairs with the release link store of the push that found
    // the queue empty, so that node's payload is visible to us.
    node* first = stub->next.load(next_order);
    if (first == nullptr) return nullptr;  // empty, or the first push is in flight
    // Step off the stub: clear its link now, once per empty -> non-empty
    // cycle (the merged upstream form). [Q9] Relaxed: the release half of the
    // stub compare-exchange below publishes it to the producer that next
    // finds the stub as the tail (pairs with that producer's acquire
    // exchange), so its link store lands after this clear.
    stub->next.store(nullptr, std::memory_order_relaxed);
    cursor_ = head = first;
    // The stub is no longer the tail: a new cycle has begun, whether or
    // not this pop can hand `first` out (it cannot while a push behind it
    // is in flight, and then a caller that asks emptied() after a nullptr
    // must not be told the queue is empty).
    emptied_ = false;
  }
  // [Q10] Acquire: pairs with the release link store that linked head's
  // successor, so the successor's payload is visible when we hand it out.
  node* next = head->next.load(next_order);
  if (next != nullptr) {
    cursor_ = next;
    emptied_ = false;
    // [Q13] Clear the handed-out node's link, in every build. Relaxed: head
    // is ours now; no producer writes head->next again (it is linked and not
    // the tail), and the hand-out (our return, then the caller's own
    // ordering) puts this store before any later push of the node.
    // Why every build: a node that is not queued then has next == nullptr,
    // so debug builds' push() can tell a re-push of a queued node; and the
    // store takes the node's line into this core's cache as modified while
    // we hold it anyway, which is what makes a paced consumer (poll())
    // beat llist on items reused in order (issue 19: without it the line
    // is left shared in both caches and the producer's reuse pays for it).
    head->next.store(nullptr, std::memory_order_relaxed);
    return head;
  }
  if constexpr (detail::mutant::queue_stub_not_reinserted) {
    // MUTANT: hand out the last node while a producer may still be about to
    // link behind it (use after hand-out, lost nodes).
    cursor_ = stub;
    emptied_ = true;
    return head;
  }
  // `head` is the last linked node. It may be handed out only once the stub
  // is the tail again; if the compare-exchange fails, a producer has made
  // its node the tail but has not linked it behind `head` yet (the
  // in-flight window): keep `head` and let the caller retry later.
  //
  // [Q11] Success order acq_rel. Release: publishes the stub_.next clear above to
  // the next producer, whose acquire exchange reads our stub (see
  // queue::publish). Acquire: pairs with the release exchange that made
  // `head` the tail, so no write of that producer is left for after we
  // hand `head` out. Failure: relaxed, nothing is read through the value.
  node* expected = head;
  // [Q11]
  if (q_.tail_.compare_exchange_strong(
          expected, stub,
          detail::mutant::weaken_if(detail::mutant::queue_stub_cas_relaxed, std::memory_order_acq_rel),
          std::memory_order_relaxed)) {
    cursor_ = stub;
    emptied_ = true;
    return head;
  }
  return nullptr;
}

template <class F>
inline int consumer::pop_batch(int max, F&& f) noexcept(std::is_nothrow_invocable_v<F&, node*>) {
  // The loop is pop() with the cursor kept in a register between nodes: per
  // node one acquire load of `next` and one plain store (the cursor, for f's
  // sake); the producers' line (tail, stub) is touched only to step off the
  // stub (once per cycle) and for the last node's compare-exchange, as in
  // pop().
  // [Q14] [Q16] acquire (MUTANT queue_next_load_relaxed: relaxed, as in pop()).
  constexpr std::memory_order next_order =
      detail::mutant::weaken_if(detail::mutant::queue_next_load_relaxed, std::memory_order_acquire);
  if (max <= 0) return 0;
  node* const stub = &q_.stub_;
  node* head = cursor_;
  if (head == stub) {
    // [Q14] Acquire: pairs with the release link store (Q5) of the push that
    // found the queue empty, so that node's payload is visible to us.
    node* first = stub->next.load(next_order);
    if (first == nullptr) return 0;  // empty, or the first push is in flight
    // Step off the stub, as pop() does. [Q15] Relaxed: published to the next
    // producer that finds the stub as the tail by the release half of the
    // stub compare-exchange that puts it back (Q17 here, or Q11 in a later
    // pop()), which that producer's acquire exchange (Q4) reads.
    stub->next.store(nullptr, std::memory_order_relaxed);
    cursor_ = head = first;
    emptied_ = false;  // a new cycle has begun, even if nothing can be handed out yet
  }
  // Invariant from here on: cursor_ == head != stub, hence emptied_ == false
  // (emptied_ is true exactly while cursor_ is the stub: the stub
  // compare-exchange sets both, stepping off the stub clears both).
  int n = 0;
  for (;;) {
    // [Q16] Acquire: pairs with the release link store (Q5) that linked
    // head's successor, so the successor's payload is visible when we hand
    // it out.
    node* next = head->next.load(next_order);
    if (next == nullptr) break;  // head is the last linked node
#if defined(__GNUC__) || defined(__clang__)
    // The next iteration reads next->next: start that miss now, so it
    // overlaps with f's work on head (no effect on the ordering).
    __builtin_prefetch(next);
#endif
    cursor_ = next;  // stored before f: f may throw or pop re-entrantly
    // [Q18] As in pop() (Q13), in every build: clear the link before f, which
    // may hand the node back to a producer that pushes it again at once.
    // Relaxed: head is ours now; no producer writes head->next again (it is
    // linked and not the tail), and f's hand-back orders it before the next
    // push. (MUTANT queue_clear_after_handout: after f - the store can then
    // wipe the link of a producer that re-pushed the node meanwhile.)
    if constexpr (!detail::mutant::queue_clear_after_handout) head->next.store(nullptr, std::memory_order_relaxed);
    ++n;
    f(head);
    // [Q18] MUTANT queue_clear_after_handout only: the clear after f.
    if constexpr (detail::mutant::queue_clear_after_handout) head->next.store(nullptr, std::memory_order_relaxed);
    if (n == max) return n;
    head = cursor_;                // f may have popped re-entrantly
    if (head == stub) return n;    // ... and left emptied() true: that ends the batch
  }
  if constexpr (detail::mutant::queue_stub_not_reinserted || detail::mutant::queue_batch_hands_out_in_flight) {
    // MUTANT queue_stub_not_reinserted: the last node handed out while a
    // producer may still link behind it, as in pop(). MUTANT
    // queue_batch_hands_out_in_flight: the same shortcut taken only by a
    // batch that has already handed nodes out ("the walk's end is the
    // queue's end"), so pop() and the first node of a batch stay correct.
    if (detail::mutant::queue_stub_not_reinserted || n > 0) {
      cursor_ = stub;
      emptied_ = true;
      f(head);
      return n + 1;
    }
  }
  // `head` is the last linked node: hand it out only once the stub is the
  // tail again, exactly as pop() does; if the compare-exchange fails, a
  // producer is inside its in-flight window behind `head`: keep it.
  //
  // [Q17] Success acq_rel. Release: publishes the stub clear (Q15, or Q9 of
  // an earlier pop()) to the next producer, whose acquire exchange (Q4)
  // reads our stub. Acquire: pairs with the release exchange that made
  // `head` the tail, so no write of that producer is left for after we hand
  // `head` out. Failure: relaxed, nothing is read through the value.
  node* expected = head;
  if (q_.tail_.compare_exchange_strong(  // [Q17]
          expected, stub,
          detail::mutant::weaken_if(detail::mutant::queue_stub_cas_relaxed, std::memory_order_acq_rel),
          std::memory_order_relaxed)) {
    cursor_ = stub;
    emptied_ = true;
    f(head);
    return n + 1;
  }
  if constexpr (detail::mutant::queue_batch_emptied_early) {
    // MUTANT: a batch that has handed out nodes and ends on an in-flight
    // window reports the queue emptied (the window looks like its end).
    if (n > 0) emptied_ = true;
  }
  return n;
}

namespace detail {

/// Test access to push's two steps, to hold a producer inside the in-flight
/// window deterministically. Not for production use.
struct queue_access {
  static node* publish(queue& q, node* first, node* last) noexcept { return q.publish(first, last); }
  static void link(node* prev, node* first) noexcept { queue::link(prev, first); }
  static const node* stub(const queue& q) noexcept { return &q.stub_; }
};

}  // namespace detail

template <class T, node T::*Hook>
inline T* intrusive_queue<T, Hook>::consumer::pop() noexcept {
  node* n = c_.pop();
  return n == nullptr ? nullptr : from_hook(n);
}

}  // namespace mpscq

#endif  // MPSCQ_QUEUE_HPP
