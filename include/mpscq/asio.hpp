// mpscq/asio.hpp - Asio executors over local_work and task_work (opt-in).
//
// WHAT IT IS
//   Standard Asio executors (the execution::executor concept: execute(),
//   equality, query/require/prefer) whose functions run as mpscq::work items:
//     - local_work_executor: on the owner of an mpscq::local_work, inside its
//       run()/wait() (or destroyed by its close(), see CANCEL);
//     - task_work_executor: on whatever thread runs an mpscq::task_work,
//       one at a time (strand-like: items of one task_work never overlap, and
//       each sees what the previous one did).
//   So asio::post, asio::dispatch, asio::defer, asio::co_spawn,
//   asio::bind_executor and any I/O object's completion handler can target an
//   mpscq owner. You declare a context handle (local_work_context,
//   task_work_context) that refers to the local_work / task_work; its
//   executors belong to an asio::execution_context the handle creates on
//   the heap (local_work_execution_context, task_work_execution_context),
//   which owns the services (strands, timers, use_service) and which
//   query(execution::context) returns - what asio::any_io_executor (and so
//   co_spawn and awaitable<>) needs. The handle converts to it, so
//   asio::make_strand(ctx), asio::steady_timer t(ctx) and
//   asio::use_service<S>(ctx) work. It lives until the handle is gone and
//   every function queued through it has been invoked or destroyed
//   (LIFETIME), so the handle and the local_work / task_work can go in
//   either order, as long as nothing completes into a target that is gone
//   (LIFETIME says exactly).
//
//   This header is not part of <mpscq/mpscq.hpp>; nothing else in mpscq
//   includes Asio. Include it only where you use Asio.
//
// WHICH ASIO
//   Standalone Asio (namespace ::asio, >= 1.18) or Boost.Asio (namespace
//   ::boost::asio, Boost >= 1.74). Chosen, in this order:
//     1. MPSCQ_ASIO_USE_BOOST defined to 1 (Boost.Asio) or 0 (standalone);
//     2. whichever of the two was included before this header, if only one;
//     3. standalone if <asio/version.hpp> exists, else Boost.Asio;
//   and #error if the one chosen is not there. So include your Asio before
//   this header (or define the macro): with both installed, this header
//   first and <boost/asio.hpp> after picks standalone, and the two clash.
//   Boost 1.74's awaitable.hpp misses #include <utility> (std::exchange):
//   include <utility> before it when you use co_spawn. The types live in an inline
//   namespace per flavour (mpscq::asio::standalone_asio / boost_asio), so
//   translation units built for different flavours link together.
//   Inside namespace mpscq the name `asio` means mpscq::asio: with
//   `using namespace mpscq;` write ::asio:: for Asio itself.
//
// EXAMPLE
//   mpscq::local_work lw;                          // owned by this thread
//   mpscq::asio::local_work_context ctx(lw);
//   asio::io_context io;                           // its run() on another thread
//   asio::steady_timer t(io, 5ms);
//   t.async_wait(asio::bind_executor(ctx.get_executor(),
//                [](std::error_code) { /* runs on lw's owner */ }));
//   asio::post(ctx.get_executor(), [] { /* ditto */ });
//   lw.wait(1, std::chrono::seconds(1));           // the owner runs them
//
// DECISIONS (what each executor does, every outcome)
//   ALLOCATION  Every execute() that does not run the function inline
//     allocates one item (the mpscq::work hook, the function, the
//     allocator) with the executor's allocator property: std::allocator<void>
//     unless require(execution::allocator(a)) set another. asio::post,
//     dispatch and defer set it to the handler's associated allocator, as for
//     io_context. The item is freed before the function is invoked (so a
//     handler that posts again may reuse the memory). An allocation failure
//     (or an exception from the function's move/copy) leaves execute() as
//     that exception; nothing was queued. Each queued item also holds a
//     reference to the execution context (LIFETIME): a relaxed RMW on the
//     posting thread's shard of its count, and, when the item ends, a
//     release RMW and a load on the running thread's shard
//     (detail/split_ref.hpp) - lines each thread keeps in its own cache.
//   BLOCKING  blocking.possibly (the default) and blocking.never.
//     blocking.always is not supported (require does not compile).
//     possibly: execute() invokes the function inline, before it returns,
//     when running_in_this_thread() is true; otherwise it queues it. never:
//     always queues. asio::post and defer require never; asio::dispatch
//     prefers possibly, so dispatch runs inline exactly when
//     running_in_this_thread().
//   RUNNING IN THIS THREAD  True while a function queued through one of
//     this header's executors for the same local_work / task_work is running
//     on this thread (and inside whatever it calls); the core keeps no
//     public record of its owner, so a thread_local list of frames marks
//     them. So it is false on the owner outside such functions: in its own
//     loop, and inside plain mpscq::work items. dispatch() there queues.
//   RELATIONSHIP  fork (default) and continuation are both accepted and
//     reported back by query(); neither changes what happens.
//   OUTSTANDING WORK  untracked only. query() says untracked;
//     require(outstanding_work.untracked) returns the same executor;
//     prefer(outstanding_work.tracked) returns it unchanged (Asio's rule for
//     a property the executor does not support); require(tracked) does not
//     compile. Neither local_work nor task_work has a "run until out of
//     work" loop that such a count could end: the owner decides when to stop.
//   MAPPING  query(execution::mapping) is mapping.thread.
//   CANCEL (the local_work / task_work is closed)  An item that runs with
//     run_state::cancel == true destroys the function without invoking it
//     and frees the item (Asio's rule: a submitted function is invoked or
//     destroyed, never leaked). Where that happens:
//       local_work: in close() (or the destructor) on the owner, for items
//         queued before; inline in execute() on the calling thread for an
//         execute() after close();
//       task_work: on the thread of the run that owes the cycle, or on the
//         task_work's fallback executor (default_fallback_executor()'s
//         thread), for items added after close().
//     The function's destructor runs there, so it must be safe on that
//     thread; a destroyed completion handler destroys what it owns (a
//     co_spawn'ed coroutine frame, a socket's pending state). Nothing is
//     reported to the handler: if it must learn about the shutdown, stop
//     posting and complete it yourself before close().
//   ENDED (the context's handle was destroyed)  Every function still
//     queued through the context is destroyed, not invoked, when the
//     local_work / task_work reaches it (in a run, or as in CANCEL), as
//     io_context's destructor destroys its queued handlers. A function
//     submitted after that (by a function running then, by a destroyed
//     handler's destructor, by the services' shutdown) is destroyed at once,
//     inside execute(), on the calling thread, and the local_work /
//     task_work is not touched: so the shutdown of a context whose target is
//     already gone posts into nothing. A function the end races with
//     (running on another thread, or reached at that moment) is invoked or
//     destroyed, either way. A dispatch() from inside a running function
//     still runs inline.
//   EXCEPTIONS  Items are noexcept (mpscq/work.hpp): a function run from
//     the queue that throws ends in std::terminate. A function run inline
//     (dispatch) throws out of execute() to its caller - which is itself
//     inside a queued function, so it too ends in std::terminate unless
//     that caller catches it. Handle errors inside handlers (Asio's
//     io_context would carry them out of run(); here run() is noexcept).
//   TS EXECUTORS  Only the standard executor model. The Networking-TS
//     members (context(), on_work_started(), post()/dispatch()/defer()
//     members) are not provided: use the free functions, which accept both.
//
// SYNCHRONIZATION (may the two calls run at the same time?)
//   execute(), copies, queries, require/prefer, ==: any thread, any number
//   at once (they read the executor, take a reference on the calling
//   thread's shard of the context's count, and call add(), which any thread
//   may). The handle's destructor: any thread, also while functions of the
//   context run on other threads and while other threads call execute()
//   through executors they may still use (LIFETIME); not while another
//   thread uses the handle object itself.
//
// LIFETIME
//   The handle (local_work_context / task_work_context) is what you
//   destroy; the execution context (the services) lives on until the handle
//   is gone AND every function queued through its executors has been
//   invoked or destroyed. Each queued function holds a reference to it,
//   taken in execute() before the add and dropped after the function ran or
//   was destroyed - wherever that happens: a run, close(), the destructor,
//   the inline destroy of an add after close(), the task_work's fallback.
//   The last reference shuts the services down (handlers they hold, e.g. a
//   timer's pending wait, are destroyed), then destroys them and frees the
//   context, on the thread that dropped it: the handle's destructor, or the
//   thread that ran or destroyed the last function - except inside
//   execute() (the last function destroyed inline by a closed local_work),
//   where the release goes to default_fallback_executor()'s thread, because
//   the calling thread may be one the shutdown joins (the scheduler thread
//   Asio starts for I/O objects on a context that is not an io_context).
//   Handlers destroyed by the shutdown may post again; those functions hold
//   references in turn, and the last of them finishes the release.
//   So every order of these is safe:
//     - destroy the handle with functions still queued, then run, close() or
//       destroy the local_work / task_work (ENDED: they are destroyed);
//     - close() (or run) the local_work / task_work first, then destroy the
//       handle, then the target - also for a task_work whose accepted cycle
//       or fallback job destroys the functions later, on another thread;
//     - destroy the handle from inside one of its functions (the context
//       lives until that function returns), or from a function's destructor;
//     - destroy the local_work / task_work first (its destructor destroys
//       every queued function), then the handle: functions that the
//       release's shutdown destroys and that post again (a co_spawn'ed
//       coroutine suspended on a timer of the context) are destroyed inside
//       execute() (ENDED) and never reach the target that is gone.
//   What stays yours, as with io_context:
//     - the local_work / task_work is destroyed only after the I/O that
//       completes to it has stopped (cancel it, and let the cancelled
//       operations' handlers come back, or close() the target first and let
//       them be destroyed), and, when it goes before the handle, nothing
//       posts through the context between the two (an execute() before the
//       handle is gone still adds to the target). Declaring the target
//       first makes scope order destroy the handle first;
//     - an I/O object, strand, or other object created on the context that
//       you hold yourself (not inside a queued function) is destroyed before
//       the handle: it refers to a service the release may free;
//     - an executor (and what require()/prefer() make of it) may be copied,
//       compared and destroyed at any time, but execute() and
//       query(context) only while the execution context lives: while you
//       hold the handle, inside a function queued through the context
//       (while it runs or is destroyed), and on the threads of the
//       context's services. A handler bound to the executor and pending on
//       another context's I/O must therefore complete before the handle
//       goes (stop that I/O first).
//   The context's services (asio::use_service) are shut down and destroyed
//   by the release, as for any execution_context.
//
// MEMORY-ORDERING CONTRACT
//   That of add() (local_work.hpp, task_work.hpp): everything a thread did
//   before execute(f) happens-before f runs; f's of one thread run in that
//   thread's order (FIFO); a task_work's functions run one at a time, each
//   seeing everything the previous one did. Everything a queued function
//   did, or its destructor, and everything done before the handle's
//   destructor, happens-before the release shuts the services down
//   (detail/split_ref.hpp, S4).
//
// MISUSE
//   As for add(): execute() on a local_work / task_work that is being
//   destroyed is reported on stderr and aborts (when the memory is still
//   there to see it). execute() or query(context) through an executor whose
//   execution context has been released (see LIFETIME) is undefined. If the
//   default fallback thread cannot be started for a release that must run
//   there, that is reported ("mpscq::asio: cannot start the default fallback
//   thread ...") and aborts.
//
// SIGNAL SAFETY
//   None: execute() allocates.
#ifndef MPSCQ_ASIO_HPP
#define MPSCQ_ASIO_HPP

#include <mpscq/version.hpp>

// --- which Asio ------------------------------------------------------------
#if defined(MPSCQ_ASIO_USE_BOOST)
#if MPSCQ_ASIO_USE_BOOST
#define MPSCQ_DETAIL_ASIO_BOOST 1
#else
#define MPSCQ_DETAIL_ASIO_BOOST 0
#endif
#elif defined(BOOST_ASIO_VERSION) && !defined(ASIO_VERSION)
#define MPSCQ_DETAIL_ASIO_BOOST 1
#elif defined(ASIO_VERSION)
#define MPSCQ_DETAIL_ASIO_BOOST 0
#elif __has_include(<asio/version.hpp>)
#define MPSCQ_DETAIL_ASIO_BOOST 0
#else
#define MPSCQ_DETAIL_ASIO_BOOST 1
#endif

#if MPSCQ_DETAIL_ASIO_BOOST
#if !__has_include(<boost/asio/version.hpp>)
#error "mpscq/asio.hpp: Boost.Asio (<boost/asio/version.hpp>) not found; install Boost >= 1.74 or use standalone Asio"
#endif
#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>
#include <boost/asio/version.hpp>
#define MPSCQ_DETAIL_ASIO_NS ::boost::asio
#define MPSCQ_DETAIL_ASIO_FLAVOUR boost_asio
#if BOOST_ASIO_VERSION < 101800
#error "mpscq/asio.hpp needs Boost.Asio 1.18 (Boost 1.74) or later: the standard executor model"
#endif
#else
#if !__has_include(<asio/version.hpp>)
#error "mpscq/asio.hpp: standalone Asio (<asio/version.hpp>) not found; install it or define MPSCQ_ASIO_USE_BOOST=1"
#endif
#include <asio/execution.hpp>
#include <asio/execution_context.hpp>
#include <asio/prefer.hpp>
#include <asio/query.hpp>
#include <asio/require.hpp>
#include <asio/version.hpp>
#define MPSCQ_DETAIL_ASIO_NS ::asio
#define MPSCQ_DETAIL_ASIO_FLAVOUR standalone_asio
#if ASIO_VERSION < 101800
#error "mpscq/asio.hpp needs Asio 1.18 or later: the standard executor model"
#endif
#endif

#include <memory>
#include <type_traits>
#include <utility>

#include <mpscq/fallback_executor.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/task_work.hpp>
#include <mpscq/work.hpp>
#include <mpscq/detail/misuse.hpp>
#include <mpscq/detail/split_ref.hpp>

namespace mpscq::asio {

namespace detail {

/// RUNNING IN THIS THREAD: one frame per queued function running on this
/// thread, naming its local_work / task_work; nested runs push more. Shared
/// by both flavours (it names no Asio type).
class running_frame {
 public:
  explicit running_frame(const void* target) noexcept : target_(target), next_(top_) { top_ = this; }
  ~running_frame() { top_ = next_; }
  running_frame(const running_frame&) = delete;
  running_frame& operator=(const running_frame&) = delete;

  /// True when a frame for `target` is on this thread's stack.
  static bool contains(const void* target) noexcept {
    for (const running_frame* f = top_; f != nullptr; f = f->next_)
      if (f->target_ == target) return true;
    return false;
  }

 private:
  const void* target_;
  running_frame* next_;
  static inline thread_local running_frame* top_ = nullptr;
};

/// Marks the step of a work_thread's / io_thread's STOP that runs what was
/// accepted before the stop (mpscq/asio_thread.hpp): a task_strand job that
/// runs inside it (mpscq/asio_strand.hpp) runs its own queue up to a marker
/// of its own instead of reposting itself behind the thread's marker, where
/// close() would cancel what the strand had accepted before the stop.
class stopping_frame {
 public:
  stopping_frame() noexcept { ++depth_; }
  ~stopping_frame() { --depth_; }
  stopping_frame(const stopping_frame&) = delete;
  stopping_frame& operator=(const stopping_frame&) = delete;

  static bool active() noexcept { return depth_ != 0; }

 private:
  static inline thread_local unsigned depth_ = 0;
};

/// Marks execute()'s hand-over of an item to its target on this thread
/// (RELEASE, in the header comment). An item that the target runs inside
/// the add - destroyed there when the target is closed, or run by a
/// scheduler that runs the task_work inline - may drop a context's last
/// reference on a thread of one of that context's own services (the scheduler
/// thread Asio starts for I/O objects on a context that is not an
/// io_context, completing an operation), which the release's shutdown would
/// then join from itself. So a release that starts inside a hand-over goes
/// to the default fallback thread instead.
class submit_frame {
 public:
  submit_frame() noexcept { ++depth_; }
  ~submit_frame() { --depth_; }
  submit_frame(const submit_frame&) = delete;
  submit_frame& operator=(const submit_frame&) = delete;

  static bool active() noexcept { return depth_ != 0; }

 private:
  static inline thread_local unsigned depth_ = 0;
};

/// The lifetime of a context's shared part (local_work_execution_context,
/// task_work_execution_context): a reference count (detail/split_ref.hpp)
/// that the user's handle and every queued function hold, and the release
/// that the last one out runs - shut the services down, destroy them, free
/// the object - in stages, because each stage may queue functions (a
/// destroyed handler posts again), which hold references again. Flavour-free
/// (it names no Asio type); the derived class supplies the two stages.
class context_life {
 public:
  context_life(const context_life&) = delete;
  context_life& operator=(const context_life&) = delete;

  /// A queued function's reference, taken by execute() before its push,
  /// while the caller's own (the handle's, or a running function's) keeps
  /// the context alive.
  void acquire() noexcept { refs_.get(); }

  /// The function's reference dropped, after it was invoked or destroyed:
  /// the item's last access. The last reference runs the release.
  void release() noexcept {
    if (refs_.put()) released();
  }

  /// True once the handle is gone (its destructor reached this thread's
  /// shard): queued functions are destroyed from then on, not invoked.
  bool ended() const noexcept { return refs_.killed(); }

  /// The handle's destructor: drops the handle's reference; runs the release
  /// here, on the caller's thread, if no function holds one (unless that is
  /// inside an execute()'s hand-over: see released()).
  void end() noexcept {
    if (refs_.kill()) released();
  }

 protected:
  context_life() noexcept { job_.owner = this; }
  virtual ~context_life() = default;

  /// Stage 1 (execution_context::shutdown()) and stage 2 (destroy()).
  virtual void shutdown_services() noexcept = 0;
  virtual void destroy_services() noexcept = 0;

 private:
  struct release_job : work {
    release_job() noexcept : work{{}, &release_job::run} {}
    static void run(work& w, run_state) noexcept { static_cast<release_job&>(w).owner->run_stages(); }
    context_life* owner = nullptr;
  };

  void released() noexcept {
    if (!submit_frame::active()) {
      run_stages();
      return;
    }
    // Inside an execute()'s hand-over: this thread may be one that the
    // shutdown joins (see submit_frame). The default fallback thread runs
    // the release instead; it never runs a service's work.
#if defined(__cpp_exceptions)
    try {
      ::mpscq::default_fallback_executor().execute(job_);
    } catch (...) {
      ::mpscq::detail::misuse("asio",
                              "cannot start the default fallback thread to release an execution context whose "
                              "last function was destroyed inside execute() (out of threads?)");
    }
#else
    ::mpscq::default_fallback_executor().execute(job_);
#endif
  }

  // Runs while this thread holds the release token (split_ref.hpp).
  void run_stages() noexcept {
    for (;;) {
      switch (stage_++) {
        case 0:
          shutdown_services();  // handlers destroyed here may queue functions again
          break;
        case 1:
          destroy_services();
          break;
        default:
          delete this;  // no reference left, and no stage to come
          return;
      }
      if (!refs_.stage_done()) return;  // functions queued by the stage hold it; the last one goes on
    }
  }

  ::mpscq::detail::split_ref refs_;
  int stage_ = 0;  // the token holder's: the next stage
  release_job job_;
};

/// One queued function: the work item (a base, so no container_of), the
/// function, the allocator that made it, the target it runs for, and its
/// context's lifetime (the item holds one reference).
template <class Function, class Allocator>
struct function_item : work {
  using self_allocator = typename std::allocator_traits<Allocator>::template rebind_alloc<function_item>;
  using self_traits = std::allocator_traits<self_allocator>;

  template <class F>
  function_item(F&& f, const Allocator& a, context_life* l, const void* t)
      : work{{}, &function_item::run}, function(std::forward<F>(f)), allocator(a), life(l), target(t) {}

  /// Allocates and builds an item; throws what the allocator or the
  /// function's copy/move throws, having freed the memory.
  template <class F>
  static function_item* make(F&& f, const Allocator& a, context_life* life, const void* target) {
    self_allocator alloc(a);
    function_item* p = self_traits::allocate(alloc, 1);
#if defined(__cpp_exceptions)
    try {
      self_traits::construct(alloc, p, std::forward<F>(f), a, life, target);
    } catch (...) {
      self_traits::deallocate(alloc, p, 1);
      throw;
    }
#else
    self_traits::construct(alloc, p, std::forward<F>(f), a, life, target);
#endif
    return p;
  }

  /// The item's func: take the function out, free the item, then invoke it
  /// - unless run_state::cancel (CANCEL) or the context's handle is gone
  /// (ENDED): then it is only destroyed. Then drop the item's reference, as
  /// its last access to the context: the function was invoked or destroyed
  /// while the reference kept the services alive.
  static void run(work& w, run_state st) noexcept {
    auto* self = static_cast<function_item*>(&w);
    context_life* const l = self->life;
    {
      Function fn(std::move(self->function));
      const void* t = self->target;
      self_allocator alloc(self->allocator);
      self_traits::destroy(alloc, self);
      self_traits::deallocate(alloc, self, 1);
      if (!st.cancel && !l->ended()) {
        running_frame frame(t);
        std::move(fn)();
      }
    }  // fn's destructor: here, before the release
    l->release();
  }

  Function function;
  Allocator allocator;
  context_life* life;  // the context's lifetime (one reference)
  const void* target;  // the local_work / task_work, for running_in_this_thread()
};

}  // namespace detail

inline namespace MPSCQ_DETAIL_ASIO_FLAVOUR {

/// The Asio namespace this header was built against (::asio or ::boost::asio).
namespace net = MPSCQ_DETAIL_ASIO_NS;

template <class Context, class Allocator = std::allocator<void>>
class basic_executor;
class local_work_context;
class task_work_context;

/// The asio::execution_context of a local_work_context: it owns the
/// services (asio::use_service, strands, I/O objects' services) and is what
/// query(execution::context) returns. Heap-allocated by the
/// local_work_context and never constructed by users: it lives until the
/// handle is destroyed and every function queued through its executors has
/// been invoked or destroyed (LIFETIME above). Any thread may use it while it
/// lives.
class local_work_execution_context final : public net::execution_context, private detail::context_life {
 public:
  /// The local_work the functions go to.
  local_work& target() const noexcept { return *lw_; }
  /// The wake mode of every add().
  wake wake_mode() const noexcept { return mode_; }

 private:
  friend class local_work_context;
  template <class, class>
  friend class basic_executor;

  local_work_execution_context(local_work& lw, wake mode) : lw_(&lw), mode_(mode) {}
  ~local_work_execution_context() override = default;

  void shutdown_services() noexcept override { shutdown(); }
  void destroy_services() noexcept override { destroy(); }
  detail::context_life& life() noexcept { return *this; }

  // What an executor needs to queue a function, copied into each executor.
  struct target_ref {
    local_work* lw;
    wake mode;
    void submit(work& w) const noexcept { lw->add(w, mode); }
    const void* key() const noexcept { return lw; }
  };
  target_ref ref() const noexcept { return {lw_, mode_}; }

  local_work* lw_;
  wake mode_;
};

/// The asio::execution_context of a task_work_context; as
/// local_work_execution_context.
class task_work_execution_context final : public net::execution_context, private detail::context_life {
 public:
  /// The task_work the functions go to.
  task_work& target() const noexcept { return *tw_; }

 private:
  friend class task_work_context;
  template <class, class>
  friend class basic_executor;

  explicit task_work_execution_context(task_work& tw) : tw_(&tw) {}
  ~task_work_execution_context() override = default;

  void shutdown_services() noexcept override { shutdown(); }
  void destroy_services() noexcept override { destroy(); }
  detail::context_life& life() noexcept { return *this; }

  struct target_ref {
    task_work* tw;
    void submit(work& w) const noexcept { tw->add(w); }
    const void* key() const noexcept { return tw; }
  };
  target_ref ref() const noexcept { return {tw_}; }

  task_work* tw_;
};

/// What you declare for one mpscq::local_work: the handle of its Asio
/// execution context (local_work_execution_context, which owns the
/// services) and the source of its executors. It refers to the local_work and
/// does not own it. Converts to asio::execution_context& (that context), so
/// asio::use_service(ctx), asio::make_strand(ctx), asio::steady_timer t(ctx)
/// and asio::co_spawn(ctx, ...) work. Destroying it ends the context
/// (LIFETIME above): functions still queued are destroyed, not invoked, and
/// the services are shut down and destroyed once the last of them is gone.
class local_work_context {
 public:
  using executor_type = basic_executor<local_work_context>;
  using execution_context_type = local_work_execution_context;

  /// Functions go to `lw` with add(w, mode): wake::eager (the default) wakes
  /// a sleeping owner for each; wake::lazy counts towards the owner's
  /// wait(min_events, ...) batch (local_work.hpp, THE WAKE RULE). Allocates
  /// the execution context: throws std::bad_alloc.
  explicit local_work_context(local_work& lw, wake mode = wake::eager)
      : shared_(new local_work_execution_context(lw, mode)) {}

  /// Ends the context: see LIFETIME above. Any thread; not while another
  /// thread uses this handle.
  ~local_work_context() { shared_->life().end(); }

  local_work_context(const local_work_context&) = delete;
  local_work_context& operator=(const local_work_context&) = delete;

  /// An executor: blocking.possibly, relationship.fork, untracked,
  /// std::allocator<void>. Any thread.
  executor_type get_executor() noexcept;

  /// The execution context (what query(execution::context) returns).
  local_work_execution_context& context() const noexcept { return *shared_; }
  operator net::execution_context&() const noexcept { return *shared_; }

  /// The local_work the functions go to.
  local_work& target() const noexcept { return shared_->target(); }

  /// The wake mode of every add().
  wake wake_mode() const noexcept { return shared_->wake_mode(); }

 private:
  template <class, class>
  friend class basic_executor;

  local_work_execution_context* shared_;
};

/// What you declare for one mpscq::task_work: as local_work_context. Its
/// functions run one at a time, on whatever thread runs the task_work (a
/// strand).
class task_work_context {
 public:
  using executor_type = basic_executor<task_work_context>;
  using execution_context_type = task_work_execution_context;

  /// Functions go to `tw` with add(). Allocates the execution context:
  /// throws std::bad_alloc.
  explicit task_work_context(task_work& tw) : shared_(new task_work_execution_context(tw)) {}

  /// Ends the context: see LIFETIME above.
  ~task_work_context() { shared_->life().end(); }

  task_work_context(const task_work_context&) = delete;
  task_work_context& operator=(const task_work_context&) = delete;

  /// An executor: blocking.possibly, relationship.fork, untracked,
  /// std::allocator<void>. Any thread.
  executor_type get_executor() noexcept;

  /// The execution context (what query(execution::context) returns).
  task_work_execution_context& context() const noexcept { return *shared_; }
  operator net::execution_context&() const noexcept { return *shared_; }

  /// The task_work the functions go to.
  task_work& target() const noexcept { return shared_->target(); }

 private:
  template <class, class>
  friend class basic_executor;

  task_work_execution_context* shared_;
};

/// A standard Asio executor that queues functions on a local_work_context's
/// local_work or a task_work_context's task_work. Cheap to copy (two
/// pointers, two flags, the allocator); copies, queries and execute() from
/// any thread. Properties and outcomes: DECISIONS above; what it may outlive:
/// LIFETIME above.
template <class Context, class Allocator>
class basic_executor {
 public:
  /// The execution context type (what query(execution::context) returns).
  using context_type = typename Context::execution_context_type;
  using allocator_type = Allocator;

  /// An executor for `ctx` with the default properties.
  explicit basic_executor(Context& ctx) noexcept
      : ctx_(ctx.shared_), target_(ctx.shared_->ref()), alloc_(), bits_(0) {}

  basic_executor(const basic_executor&) noexcept = default;
  basic_executor& operator=(const basic_executor&) noexcept = default;

  // --- require: each returns a copy with the property set ------------------

  basic_executor require(net::execution::blocking_t::possibly_t) const noexcept {
    return basic_executor(ctx_, target_, alloc_, bits_ & ~blocking_never);
  }
  basic_executor require(net::execution::blocking_t::never_t) const noexcept {
    return basic_executor(ctx_, target_, alloc_, bits_ | blocking_never);
  }
  basic_executor require(net::execution::relationship_t::fork_t) const noexcept {
    return basic_executor(ctx_, target_, alloc_, bits_ & ~relationship_continuation);
  }
  basic_executor require(net::execution::relationship_t::continuation_t) const noexcept {
    return basic_executor(ctx_, target_, alloc_, bits_ | relationship_continuation);
  }
  /// Untracked only (OUTSTANDING WORK above): the same executor.
  basic_executor require(net::execution::outstanding_work_t::untracked_t) const noexcept { return *this; }
  /// Items are allocated with `a.value()` from now on.
  template <class OtherAllocator>
  basic_executor<Context, OtherAllocator> require(net::execution::allocator_t<OtherAllocator> a) const noexcept {
    return basic_executor<Context, OtherAllocator>(ctx_, target_, a.value(), bits_);
  }
  /// Back to std::allocator<void>.
  basic_executor<Context, std::allocator<void>> require(net::execution::allocator_t<void>) const noexcept {
    return basic_executor<Context, std::allocator<void>>(ctx_, target_, std::allocator<void>(), bits_);
  }

  // --- query ---------------------------------------------------------------

  static constexpr net::execution::mapping_t query(net::execution::mapping_t) noexcept {
    return net::execution::mapping.thread;
  }
  /// The execution context (converts to net::execution_context&, as
  /// any_io_executor needs). Only while it lives (LIFETIME above).
  context_type& query(net::execution::context_t) const noexcept { return *ctx_; }
  net::execution::blocking_t query(net::execution::blocking_t) const noexcept {
    return (bits_ & blocking_never) != 0 ? net::execution::blocking_t(net::execution::blocking.never)
                                         : net::execution::blocking_t(net::execution::blocking.possibly);
  }
  net::execution::relationship_t query(net::execution::relationship_t) const noexcept {
    return (bits_ & relationship_continuation) != 0
               ? net::execution::relationship_t(net::execution::relationship.continuation)
               : net::execution::relationship_t(net::execution::relationship.fork);
  }
  static constexpr net::execution::outstanding_work_t query(net::execution::outstanding_work_t) noexcept {
    return net::execution::outstanding_work.untracked;
  }
  template <class OtherAllocator>
  Allocator query(net::execution::allocator_t<OtherAllocator>) const noexcept {
    return alloc_;
  }
  Allocator query(net::execution::allocator_t<void>) const noexcept { return alloc_; }

  // --- the rest ------------------------------------------------------------

  /// True while a function queued through an executor of the same
  /// local_work / task_work runs on this thread (RUNNING IN THIS THREAD).
  bool running_in_this_thread() const noexcept { return ::mpscq::asio::detail::running_frame::contains(target_.key()); }

  /// Runs `f` (a nullary callable, decay-copied) on the target. Inline, before
  /// returning, when blocking.possibly and running_in_this_thread(): then an
  /// exception from f leaves execute(). Otherwise queued as one allocated
  /// item (ALLOCATION) that holds a reference to the execution context: it
  /// runs later - on the local_work's owner in its run()/wait(), or in the
  /// task_work's next run - or is destroyed without being invoked if the
  /// target is closed (CANCEL; after close() that may happen inside this
  /// call, on this thread) or the context's handle is gone by then (ENDED).
  /// Throws what the allocation or f's move/copy throws (nothing queued
  /// then). Any thread, while the execution context lives (LIFETIME above).
  template <class Function>
  void execute(Function&& f) const {
    using function_type = std::decay_t<Function>;
    if ((bits_ & blocking_never) == 0 && running_in_this_thread()) {
      function_type local(std::forward<Function>(f));
      std::move(local)();
      return;
    }
    using item = ::mpscq::asio::detail::function_item<function_type, Allocator>;
    ::mpscq::asio::detail::context_life& life = ctx_->life();
    if (life.ended()) {
      // ENDED: the handle is gone, so a queued function would only be
      // destroyed when the target reaches it. Destroy it here instead,
      // without touching the target: during the release (a handler that the
      // services' shutdown destroys posts its unwinding - a co_spawn'ed
      // frame suspended on a timer does) the local_work / task_work may be
      // gone already. The reference keeps the release's stages apart
      // (split_ref.hpp, S3); dropping it inside the hand-over frame sends a
      // release that starts here to the fallback thread, as below.
      life.acquire();
      {
        const ::mpscq::asio::detail::submit_frame submitting;
        { [[maybe_unused]] function_type doomed(std::forward<Function>(f)); }  // destroyed here
        life.release();
      }
      return;
    }
    item* p = item::make(std::forward<Function>(f), alloc_, &life, target_.key());
    life.acquire();  // the item's reference; its run drops it
    const ::mpscq::asio::detail::submit_frame submitting;
    target_.submit(*p);  // noexcept; p may be gone already (closed: destroyed inline)
  }

  /// Same context, same properties, equal allocators.
  friend bool operator==(const basic_executor& a, const basic_executor& b) noexcept {
    return a.ctx_ == b.ctx_ && a.bits_ == b.bits_ && a.alloc_ == b.alloc_;
  }
  friend bool operator!=(const basic_executor& a, const basic_executor& b) noexcept { return !(a == b); }

 private:
  template <class, class>
  friend class basic_executor;

  static constexpr unsigned blocking_never = 1;
  static constexpr unsigned relationship_continuation = 2;

  basic_executor(context_type* ctx, typename context_type::target_ref target, const Allocator& a,
                 unsigned bits) noexcept
      : ctx_(ctx), target_(target), alloc_(a), bits_(bits) {}

  context_type* ctx_;  // query(context), and each queued function's reference
  typename context_type::target_ref target_;
  Allocator alloc_;
  unsigned bits_;
};

/// The executor of a local_work_context: functions run on the local_work's
/// owner (or are destroyed by its close(), or once the context has ended).
using local_work_executor = basic_executor<local_work_context>;
/// The executor of a task_work_context: functions run one at a time on
/// whatever thread runs the task_work (or are destroyed once it is closed,
/// or once the context has ended).
using task_work_executor = basic_executor<task_work_context>;

inline local_work_context::executor_type local_work_context::get_executor() noexcept { return executor_type(*this); }
inline task_work_context::executor_type task_work_context::get_executor() noexcept { return executor_type(*this); }

}  // inline namespace MPSCQ_DETAIL_ASIO_FLAVOUR
}  // namespace mpscq::asio

#undef MPSCQ_DETAIL_ASIO_NS
#undef MPSCQ_DETAIL_ASIO_FLAVOUR

#endif  // MPSCQ_ASIO_HPP
