// mpscq/asio_strand.hpp - an mpscq::task_work run on an Asio executor: a
// strand whose queue is wait-free, and whose destruction order is safe by
// construction. Opt-in; needs Asio (mpscq/asio.hpp: WHICH ASIO).
//
// WHAT IT IS
//   task_strand<Executor> owns a task_work (mpscq/task_work.hpp) whose
//   scheduler posts one drain job to `inner` (any Asio executor: an
//   asio::thread_pool's, an io_context's, a work_thread's) when the queue
//   goes from empty to non-empty. The job runs up to `batch` items, then
//   posts itself again if more are queued (so one busy strand does not hold
//   a pool thread for ever), else ends. get_executor() gives a
//   task_work_executor (mpscq/asio.hpp): functions posted through it run one
//   at a time, in order, each seeing what the previous one did - what an
//   asio::strand gives, with a push (one exchange, one store) per post
//   instead of a mutex, and one post to `inner` per empty -> non-empty cycle
//   instead of one per handler.
//
// EXAMPLE
//   asio::thread_pool pool(4);
//   mpscq::asio::task_strand actor(pool);              // or (pool.get_executor())
//   asio::post(actor.get_executor(), [] { /* one at a time, on the pool */ });
//
// DESTRUCTION ORDER (safe by construction)
//   The handle (this object) shares the strand's state (the task_work, its
//   execution context, the inner executor) with the drain job in flight, if
//   any. So:
//   - destroying the handle with functions queued does not cancel them: the
//     job runs them, normally, and frees the state after the last one. The
//     destructor never blocks, so it may run anywhere, also inside one of the
//     strand's own functions and on the inner executor's threads;
//   - the inner executor's context may be destroyed first (an
//     asio::thread_pool declared after the strand), with or without work
//     queued: a drain job it destroys without running it closes the
//     task_work and runs what is queued cancelled (functions destroyed, not
//     invoked - mpscq/asio.hpp CANCEL); and the handle's destruction after
//     that touches nothing of the pool. Posting through the strand after its
//     pool is gone is another matter (below);
//   - if `inner` refuses the job (the post throws: std::bad_alloc, or the
//     inner executor's execute() throws, or a closed local_work destroys
//     it inline) the task_work's fallback runs the queue, cancelled.
//   What stays yours, as with asio::strand: an execute() through an executor
//   of the strand only while the inner executor's context lives (the first
//   add of a cycle posts to it; if the context destroyed a queued drain job,
//   the task_work is closed and later posts are destroyed by its fallback,
//   but an idle strand cannot know its pool is gone - the adversarial
//   review's use after free) and the strand's state does - while you hold
//   the handle, or from inside one of its functions.
//
// THREADS
//   get_executor(), work(), inner_executor(): any thread. The handle itself
//   (move, destroy) one thread at a time. The strand's functions run on
//   whatever threads `inner` runs jobs on, never two at once.
//
// COST
//   A post through get_executor(): one allocation (the item), a reference on
//   the context (asio.hpp ALLOCATION), task_work::add (the gate's two RMWs on
//   the caller's shard, one exchange and one store on the producers' line);
//   the add that finds the queue empty also posts the drain job to `inner`
//   (one shared_ptr copy and whatever that executor's post costs).
//
// SOURCES
//   io_uring's task work drained by the target's task (task_work.hpp);
//   asio::strand's contract (one at a time, in order); the shared state of
//   folly's SerialExecutor, which its queued jobs keep alive.
#ifndef MPSCQ_ASIO_STRAND_HPP
#define MPSCQ_ASIO_STRAND_HPP

#include <mpscq/version.hpp>
#include <mpscq/asio.hpp>

#if MPSCQ_DETAIL_ASIO_BOOST
#include <boost/asio/execution/executor.hpp>
#include <boost/asio/post.hpp>
#define MPSCQ_DETAIL_ASIO_NS ::boost::asio
#define MPSCQ_DETAIL_ASIO_FLAVOUR boost_asio
#else
#include <asio/execution/executor.hpp>
#include <asio/post.hpp>
#define MPSCQ_DETAIL_ASIO_NS ::asio
#define MPSCQ_DETAIL_ASIO_FLAVOUR standalone_asio
#endif

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include <mpscq/task_work.hpp>

namespace mpscq::asio {
inline namespace MPSCQ_DETAIL_ASIO_FLAVOUR {

/// An mpscq::task_work drained by jobs posted to an Asio executor. See the
/// header comment.
template <class Executor>
class task_strand {
 public:
  using executor_type = task_work_executor;
  using inner_executor_type = Executor;

  /// A strand over `inner`; each drain job runs at most `batch` (>= 1)
  /// items before it posts itself again. Throws std::bad_alloc, and what
  /// task_work's constructor throws (std::system_error: no default fallback
  /// thread).
  explicit task_strand(const Executor& inner, std::size_t batch = 64)
      : state_(std::make_shared<state>(inner, batch == 0 ? 1 : batch)) {}

  /// A strand over `context.get_executor()` (an asio::thread_pool, an
  /// io_context, a work_thread, ...).
  template <class ExecutionContext, class = decltype(std::declval<ExecutionContext&>().get_executor())>
  explicit task_strand(ExecutionContext& context, std::size_t batch = 64)
      : task_strand(context.get_executor(), batch) {}

  /// Moves the handle's share; a moved-from handle may only be destroyed or
  /// assigned to (its members dereference nothing else).
  task_strand(task_strand&&) noexcept = default;
  task_strand& operator=(task_strand&&) noexcept = default;
  task_strand(const task_strand&) = delete;
  task_strand& operator=(const task_strand&) = delete;

  /// Drops the handle's share: see DESTRUCTION ORDER. Never blocks.
  ~task_strand() = default;

  /// An executor whose functions run one at a time on `inner`.
  executor_type get_executor() noexcept { return state_->ctx.get_executor(); }
  /// The execution context of get_executor() (services, make_strand, ...).
  task_work_context& context() noexcept { return state_->ctx; }
  /// The task_work, for plain mpscq::work items: work().add(w). Do not call
  /// run() or close() on it (the drain jobs own the runs).
  task_work& work() noexcept { return state_->tw; }
  /// The executor the drain jobs go to.
  const Executor& inner_executor() const noexcept { return state_->inner; }

 private:
  struct state;

  // DIRECT: over a local_work's own executor (a work_thread's, an
  // io_thread's, a local_work_context's default one), the drain job is a
  // plain mpscq::work item embedded in the state and added to that
  // local_work directly (run_direct). Elsewhere, drain_job through net::post.
  static constexpr bool direct = std::is_same_v<Executor, local_work_executor>;

  // The drain job posted to `inner`: it holds the state. Run: up to `batch`
  // items, then again (a new post) while the run says `more` - the
  // task_work's protocol: whoever holds an accepted schedule runs until
  // !more. Destroyed without being run (the inner context went away, or the
  // post failed after the move): the task_work is closed and the cycle run
  // here, cancelled - or, inside our own scheduler call (the post destroyed
  // it inline), the schedule is refused instead and the task_work's
  // fallback runs the cycle.
  struct drain_job {
    std::shared_ptr<state> s;

    explicit drain_job(std::shared_ptr<state> st) noexcept : s(std::move(st)) {}
    drain_job(drain_job&& o) noexcept = default;
    drain_job& operator=(drain_job&&) = delete;
    drain_job(const drain_job&) = delete;  // Asio moves handlers

    void operator()() {
      std::shared_ptr<state> st = std::move(s);  // ran: the destructor has nothing to do
      bool more = st->tw.run(st->batch).more;
      if (more && ::mpscq::asio::detail::stopping_frame::active()) more = st->finish_accepted();
      if (more) st->repost(std::move(st));
    }

    ~drain_job() {
      if (!s) return;
      if (scheduling_here != nullptr && scheduling_here->s == s.get()) {
        scheduling_here->refused = true;  // schedule(): return false, the fallback runs it
        return;
      }
      s->tw.close();
      while (s->tw.run().more) {
      }
    }
  };

  struct state : std::enable_shared_from_this<state> {
    state(const Executor& e, std::size_t b)
        : inner(e), batch(b), tw([this](task_work&) noexcept { return schedule(); }), ctx(tw) {}

    // The scheduler: one drain job per accepted cycle. Runs inside an add()
    // (any thread); never throws (a throwing scheduler is misuse).
    bool schedule() noexcept {
      scheduling call{this, false, scheduling_here};  // outer: another strand's schedule, further up this stack
      scheduling_here = &call;
      if constexpr (direct) {
        // DIRECT: the job is direct_item, added to the inner local_work
        // itself - no allocation, no context reference, no shared_ptr copy
        // per cycle beyond direct_ref. direct_ref is written here and moved
        // out by the job (run_direct) before it runs the cycle, so the next
        // cycle's schedule, which comes only after that cycle's emptying pop
        // (the queue's stub compare-exchange, acq_rel, orders the two), never
        // meets it.
        direct_ref = this->shared_from_this();
        local_work_execution_context& target = net::query(inner, net::execution::context);
        target.target().add(direct_item, target.wake_mode());  // closed: runs inline, cancelled (refused)
        scheduling_here = call.outer;
        return !call.refused;
      }
      bool ok = true;
#if defined(__cpp_exceptions)
      try {
        net::post(inner, drain_job(this->shared_from_this()));
      } catch (...) {
        ok = false;  // nothing was posted (or the job was destroyed: refused)
      }
#else
      net::post(inner, drain_job(this->shared_from_this()));
#endif
      scheduling_here = call.outer;
      return ok && !call.refused;
    }

    // A run that ended with `more` posts the next one; if that post throws,
    // run the cycle to its end here (the schedule must be honoured).
    void repost(std::shared_ptr<state> self) noexcept {
#if defined(__cpp_exceptions)
      try {
        net::post(inner, drain_job(self));
        return;
      } catch (...) {
      }
#else
      net::post(inner, drain_job(self));
      return;
#endif
      while (tw.run().more) {
      }
    }

    // DIRECT's job: runs the cycle on the inner local_work's owner, as
    // drain_job does (the inner executor's RUNNING IN THIS THREAD frame
    // included); cancelled (the local_work closed) as drain_job's destructor.
    static void run_direct(::mpscq::work& w, ::mpscq::run_state st) noexcept {
      if constexpr (direct) {
        state& s = *static_cast<direct_job&>(w).owner;
        std::shared_ptr<state> self = std::move(s.direct_ref);  // before the cycle: see schedule()
        if (st.cancel) {
          if (scheduling_here != nullptr && scheduling_here->s == &s) {
            scheduling_here->refused = true;  // inline in our own add: the fallback runs it
            return;                           // `self` is not the last share: the add's caller holds one
          }
          s.tw.close();
          while (s.tw.run().more) {
          }
          return;
        }
        local_work_execution_context& target = net::query(s.inner, net::execution::context);
        const ::mpscq::asio::detail::running_frame frame(&target.target());
        bool more = s.tw.run(s.batch).more;
        if (more && ::mpscq::asio::detail::stopping_frame::active()) more = s.finish_accepted();
        if (more) {
          s.direct_ref = std::move(self);
          target.target().add(s.direct_item, target.wake_mode());  // the owner's own add; closed: cancelled inline
        }
      } else {
        (void)w;
        (void)st;
      }
    }

    // Inside a work_thread's / io_thread's STOP (stopping_frame): a job that
    // would repost itself with `more` instead runs what the strand accepted
    // so far - up to a marker added now - so that the repost, which lands
    // behind the thread's own marker and is cancelled by its close(), carries
    // only what came after. The marker's add is a bare push: the job owns
    // the cycle (`more`: the queue is not empty), so nothing is scheduled.
    // Returns the last run's `more`.
    bool finish_accepted() noexcept {
      stop_marker.reached = false;
      tw.add(stop_marker);
      bool more = true;
      while (more && !stop_marker.reached) more = tw.run(batch).more;
      return more;
    }

    Executor inner;
    const std::size_t batch;
    struct marker_item : ::mpscq::work {
      marker_item() noexcept : ::mpscq::work{{}, &marker_item::run} {}
      static void run(::mpscq::work& w, ::mpscq::run_state) noexcept { static_cast<marker_item&>(w).reached = true; }
      bool reached = false;
    };
    marker_item stop_marker;  // finish_accepted()'s; the job's only
    struct direct_job : ::mpscq::work {
      explicit direct_job(state* s) noexcept : ::mpscq::work{{}, &state::run_direct}, owner(s) {}
      state* owner;
    };
    direct_job direct_item{this};
    std::shared_ptr<state> direct_ref;  // DIRECT: the share the queued direct_item holds
    task_work tw;
    // Declared after tw, so destroyed first: ending the context destroys
    // nothing still queued (the state dies only when no job holds it, i.e.
    // with an empty queue), and its services are gone before the task_work.
    task_work_context ctx;
  };

  // The schedule() call posting on this thread (innermost), on its stack: a
  // job destroyed inside that post refuses that call, and only that call.
  struct scheduling {
    state* s;
    bool refused;
    scheduling* outer;
  };
  static inline thread_local scheduling* scheduling_here = nullptr;

  std::shared_ptr<state> state_;
};

template <class ExecutionContext>
task_strand(ExecutionContext&, std::size_t = 64) -> task_strand<typename ExecutionContext::executor_type>;

}  // inline namespace MPSCQ_DETAIL_ASIO_FLAVOUR
}  // namespace mpscq::asio

#undef MPSCQ_DETAIL_ASIO_NS
#undef MPSCQ_DETAIL_ASIO_FLAVOUR

#endif  // MPSCQ_ASIO_STRAND_HPP
