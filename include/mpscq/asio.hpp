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
//   mpscq owner. Each executor belongs to a context (local_work_context,
//   task_work_context), an asio::execution_context that refers to the
//   local_work / task_work; query(execution::context) returns it, which is
//   what asio::any_io_executor (and so co_spawn and awaitable<>) needs.
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
//     that exception; nothing was queued.
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
//   at once (they read the executor and call add(), which any thread may).
//   The context's constructor and destructor: not with any other call on it
//   or its executors.
//
// LIFETIME
//   The local_work / task_work must outlive its context and every executor
//   call. execute(), require() and prefer() use only the local_work /
//   task_work (each executor carries a pointer to it): so a handler that is
//   destroyed in the target's close() or destructor and posts on its way
//   out (co_spawn's frames do) reaches the closed target and is destroyed
//   too, also when the context is already gone. query(execution::context)
//   returns the context, so whatever uses the context (Asio's services,
//   any_io_executor's context query) needs it alive. The safe order: stop
//   the I/O that completes to it, run or close() the local_work / task_work
//   (every queued function has then run or been destroyed), then destroy the
//   context, then the local_work / task_work. The context's services
//   (asio::use_service) are shut down and destroyed by its destructor, as
//   for any execution_context.
//
// MEMORY-ORDERING CONTRACT
//   That of add() (local_work.hpp, task_work.hpp): everything a thread did
//   before execute(f) happens-before f runs; f's of one thread run in that
//   thread's order (FIFO); a task_work's functions run one at a time, each
//   seeing everything the previous one did.
//
// MISUSE
//   As for add(): execute() on a local_work / task_work that is being
//   destroyed is reported on stderr and aborts (when the memory is still
//   there to see it). Using an executor whose context is gone is undefined.
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

#include <mpscq/local_work.hpp>
#include <mpscq/task_work.hpp>
#include <mpscq/work.hpp>

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

/// One queued function: the work item (a base, so no container_of), the
/// function, the allocator that made it, and the target it runs for.
template <class Function, class Allocator>
struct function_item : work {
  using self_allocator = typename std::allocator_traits<Allocator>::template rebind_alloc<function_item>;
  using self_traits = std::allocator_traits<self_allocator>;

  template <class F>
  function_item(F&& f, const Allocator& a, const void* t)
      : work{{}, &function_item::run}, function(std::forward<F>(f)), allocator(a), target(t) {}

  /// Allocates and builds an item; throws what the allocator or the
  /// function's copy/move throws, having freed the memory.
  template <class F>
  static function_item* make(F&& f, const Allocator& a, const void* target) {
    self_allocator alloc(a);
    function_item* p = self_traits::allocate(alloc, 1);
#if defined(__cpp_exceptions)
    try {
      self_traits::construct(alloc, p, std::forward<F>(f), a, target);
    } catch (...) {
      self_traits::deallocate(alloc, p, 1);
      throw;
    }
#else
    self_traits::construct(alloc, p, std::forward<F>(f), a, target);
#endif
    return p;
  }

  /// The item's func: take the function out, free the item, then invoke it
  /// (run_state::cancel == false) or just let it be destroyed (true).
  static void run(work& w, run_state st) noexcept {
    auto* self = static_cast<function_item*>(&w);
    Function fn(std::move(self->function));
    const void* t = self->target;
    self_allocator alloc(self->allocator);
    self_traits::destroy(alloc, self);
    self_traits::deallocate(alloc, self, 1);
    if (st.cancel) return;  // CANCEL: destroyed without invocation (fn's destructor, here)
    running_frame frame(t);
    std::move(fn)();
  }

  Function function;
  Allocator allocator;
  const void* target;  // the local_work / task_work, for running_in_this_thread()
};

}  // namespace detail

inline namespace MPSCQ_DETAIL_ASIO_FLAVOUR {

/// The Asio namespace this header was built against (::asio or ::boost::asio).
namespace net = MPSCQ_DETAIL_ASIO_NS;

template <class Context, class Allocator = std::allocator<void>>
class basic_executor;

/// An asio::execution_context for one mpscq::local_work: the context of its
/// local_work_executor objects. It refers to the local_work and does not own
/// it. Thread/lifetime rules: see SYNCHRONIZATION and LIFETIME above (the
/// local_work must outlive it; it must outlive every execute() through its
/// executors).
class local_work_context : public net::execution_context {
 public:
  using executor_type = basic_executor<local_work_context>;

  /// Functions go to `lw` with add(w, mode): wake::eager (the default) wakes
  /// a sleeping owner for each; wake::lazy counts towards the owner's
  /// wait(min_events, ...) batch (local_work.hpp, THE WAKE RULE). Throws
  /// std::bad_alloc if execution_context's service registry cannot be
  /// allocated.
  explicit local_work_context(local_work& lw, wake mode = wake::eager) : lw_(lw), mode_(mode) {}

  /// Shuts down and destroys the context's services (execution_context).
  /// Queued functions are not touched: they belong to the local_work.
  ~local_work_context() = default;

  local_work_context(const local_work_context&) = delete;
  local_work_context& operator=(const local_work_context&) = delete;

  /// An executor: blocking.possibly, relationship.fork, untracked,
  /// std::allocator<void>. Any thread.
  executor_type get_executor() noexcept;

  /// The local_work the functions go to.
  local_work& target() const noexcept { return lw_; }

  /// The wake mode of every add().
  wake wake_mode() const noexcept { return mode_; }

 private:
  template <class, class>
  friend class basic_executor;
  // What an executor needs to queue a function, copied into each executor
  // so that execute() does not touch the context (see LIFETIME: a handler
  // destroyed in the local_work's destructor may post after the context is
  // gone; it then reaches the closed local_work and is destroyed too).
  struct target_ref {
    local_work* lw;
    wake mode;
    void submit(work& w) const noexcept { lw->add(w, mode); }
    const void* key() const noexcept { return lw; }
  };
  target_ref ref() const noexcept { return {&lw_, mode_}; }

  local_work& lw_;
  wake mode_;
};

/// An asio::execution_context for one mpscq::task_work: the context of its
/// task_work_executor objects (strand-like: the functions run one at a time,
/// on whatever thread runs the task_work). It refers to the task_work and
/// does not own it. Thread/lifetime rules: see SYNCHRONIZATION and LIFETIME
/// above.
class task_work_context : public net::execution_context {
 public:
  using executor_type = basic_executor<task_work_context>;

  /// Functions go to `tw` with add(). Throws std::bad_alloc if
  /// execution_context's service registry cannot be allocated.
  explicit task_work_context(task_work& tw) : tw_(tw) {}

  /// Shuts down and destroys the context's services (execution_context).
  /// Queued functions are not touched: they belong to the task_work.
  ~task_work_context() = default;

  task_work_context(const task_work_context&) = delete;
  task_work_context& operator=(const task_work_context&) = delete;

  /// An executor: blocking.possibly, relationship.fork, untracked,
  /// std::allocator<void>. Any thread.
  executor_type get_executor() noexcept;

  /// The task_work the functions go to.
  task_work& target() const noexcept { return tw_; }

 private:
  template <class, class>
  friend class basic_executor;
  // As local_work_context::target_ref.
  struct target_ref {
    task_work* tw;
    void submit(work& w) const noexcept { tw->add(w); }
    const void* key() const noexcept { return tw; }
  };
  target_ref ref() const noexcept { return {&tw_}; }

  task_work& tw_;
};

/// A standard Asio executor that queues functions on a local_work_context's
/// local_work or a task_work_context's task_work. Cheap to copy (a pointer,
/// two flags, the allocator); copies, queries and execute() from any thread.
/// Properties and outcomes: DECISIONS above.
template <class Context, class Allocator>
class basic_executor {
 public:
  using context_type = Context;
  using allocator_type = Allocator;

  /// An executor for `ctx` with the default properties.
  explicit basic_executor(Context& ctx) noexcept : ctx_(&ctx), target_(ctx.ref()), alloc_(), bits_(0) {}

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
  /// The context (converts to net::execution_context&, as any_io_executor needs).
  Context& query(net::execution::context_t) const noexcept { return *ctx_; }
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
  /// item (ALLOCATION): it runs later - on the local_work's owner in its
  /// run()/wait(), or in the task_work's next run - or, if the target is
  /// closed, is destroyed without being invoked (CANCEL; after close() that
  /// may happen inside this call, on this thread). Throws what the
  /// allocation or f's move/copy throws (nothing queued then). Any thread.
  template <class Function>
  void execute(Function&& f) const {
    using function_type = std::decay_t<Function>;
    if ((bits_ & blocking_never) == 0 && running_in_this_thread()) {
      function_type local(std::forward<Function>(f));
      std::move(local)();
      return;
    }
    using item = ::mpscq::asio::detail::function_item<function_type, Allocator>;
    item* p = item::make(std::forward<Function>(f), alloc_, target_.key());
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

  basic_executor(Context* ctx, typename Context::target_ref target, const Allocator& a, unsigned bits) noexcept
      : ctx_(ctx), target_(target), alloc_(a), bits_(bits) {}

  Context* ctx_;  // only for query(context): execute() and require() do not touch the context
  typename Context::target_ref target_;
  Allocator alloc_;
  unsigned bits_;
};

/// The executor of a local_work_context: functions run on the local_work's
/// owner (or are destroyed by its close()).
using local_work_executor = basic_executor<local_work_context>;
/// The executor of a task_work_context: functions run one at a time on
/// whatever thread runs the task_work (or are destroyed once it is closed).
using task_work_executor = basic_executor<task_work_context>;

inline local_work_context::executor_type local_work_context::get_executor() noexcept { return executor_type(*this); }
inline task_work_context::executor_type task_work_context::get_executor() noexcept { return executor_type(*this); }

}  // inline namespace MPSCQ_DETAIL_ASIO_FLAVOUR
}  // namespace mpscq::asio

#undef MPSCQ_DETAIL_ASIO_NS
#undef MPSCQ_DETAIL_ASIO_FLAVOUR

#endif  // MPSCQ_ASIO_HPP
