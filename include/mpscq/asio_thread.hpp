// mpscq/asio_thread.hpp - owner threads nobody has to write: a local_work
// on its own thread (work_thread), and a local_work on the thread of an
// asio::io_context's reactor (io_thread). Opt-in; needs Asio (as
// mpscq/asio.hpp, which it includes: WHICH ASIO there).
//
// WHAT IT IS
//   work_thread   asio::thread_pool(1)'s place: a thread that owns an
//                 mpscq::local_work and runs it, sleeping on the local_work's
//                 futex (wait(1, ...)) when there is nothing to do. Other
//                 threads hand it functions through get_executor() (one
//                 wait-free add each; asio::post / dispatch / defer /
//                 co_spawn / bind_executor) or plain mpscq::work items through
//                 work().add().
//   io_thread     asio::io_context + its run() thread + a local_work, all on
//                 one thread: sockets and timers created on io_context()
//                 complete on it with no hop, other threads hand it work
//                 through get_executor() / work() as for work_thread (the
//                 local_work's eventfd is registered with the io_context's
//                 reactor: the first add into an idle queue writes it; the
//                 adds behind it, while the owner has not caught up, are bare
//                 pushes), and no hidden thread starts (see WHICH OBJECTS
//                 WHERE).
//   Both start their thread in the constructor and stop it in the destructor;
//   stop() and join() are there for an earlier or remote stop. Folly's
//   ScopedEventBaseThread and asio::thread_pool are the models.
//
// EXAMPLE
//   mpscq::asio::work_thread t;                         // the thread runs now
//   asio::post(t.get_executor(), [] { /* on t's thread */ });
//   asio::co_spawn(t.get_executor(), session(), asio::detached);
//
//   mpscq::asio::io_thread io;                          // reactor + local_work
//   asio::ip::tcp::acceptor acc(io.io_context(), ep);   // I/O: io_context()
//   asio::co_spawn(io.get_executor(), serve(acc), asio::detached);
//   asio::post(io.get_executor(), [] { /* from any thread, on io's thread */ });
//
// STOP: WHAT RUNS AND WHAT IS CANCELLED (both types)
//   stop() (any thread, also from inside a function the thread runs; any
//   number of times) asks the thread to end; join() waits until it has; the
//   destructor does both. When the thread sees the request it
//     1. adds a marker to the local_work and runs its items up to the marker
//        (in batches of 64, so some behind it may run too): everything whose
//        add happened-before stop() was called runs, normally
//        (run_state::cancel == false) - also what a task_strand over this
//        thread had accepted (its drain job, met here, runs its own queue up
//        to a marker of its own instead of reposting itself); a function
//        that posts itself again does not keep the thread alive;
//     2. closes the local_work: an add after that runs its item at once,
//        cancelled, on the adding thread (local_work.hpp, CLOSE) - for a
//        function posted through get_executor(), it is destroyed there
//        without being invoked (mpscq/asio.hpp, CANCEL);
//     3. (io_thread) cancels its wait on the eventfd and stops the
//        io_context: handlers already queued there behind the stop and I/O
//        operations still pending are not run; they are destroyed with the
//        io_context, in the destructor, on the destroying thread (Asio's own
//        rule for a stopped io_context).
//   An add racing with stop() (neither happened-before the other), or made
//   while step 1 runs, runs normally or cancelled, never both, never lost.
//   io_context().stop() called by you ends an io_thread the same way (steps
//   1-3 run). stopped() says the stop was requested, not that the thread has
//   ended (join() says that). A stopped thread is not restarted.
//
// THREADS
//   get_executor(), work(), context(), io_context(), stop(), stopped(),
//   get_id(): any thread, any number at once. join(): any thread except this
//   object's own (reported: it would wait for itself), several at once. The
//   destructor: once, on any thread but its own (reported), after every
//   other call on the object has returned. Only this object's thread may run the
//   local_work (run/wait/close: it is the owner) and, for io_thread, the
//   io_context (io_context().run() elsewhere is reported by the local_work as
//   an owner-only call on another thread, as soon as it reaches our pass).
//
// LIFETIME (what may outlive what)
//   As for asio::thread_pool: executors may be copied and destroyed at any
//   time, but execute() through them (post, dispatch, ...) only while the
//   object lives or from inside a function it runs. I/O objects, strands and
//   timers created on io_context() or context() must be destroyed before the
//   object (or inside functions it runs); the destructor destroys what is
//   still queued (step 3) before it frees the services. A task_strand
//   (mpscq/asio_strand.hpp) over get_executor() may be destroyed after this
//   object, but nothing may post through it once this object is destroyed
//   (its drain jobs post here); between stop() and the destruction, such
//   posts are destroyed, not invoked (the strand's fallback).
//
// WHICH OBJECTS WHERE (io_thread)
//   Create sockets, acceptors, timers, signal_sets, resolvers on
//   io_context() (or io_context().get_executor()): their reactor is the one
//   this thread runs, so completions run here with no hop. Bind their
//   handlers, or co_spawn the coroutines that await them, on get_executor()
//   or io_context().get_executor(): both run on this thread;
//   get_executor()'s dispatch (the default completion path) runs inline on
//   this thread (running_in_this_thread() is true for the whole of it).
//   An I/O object created on context() (the local_work_execution_context)
//   instead makes Asio start its own scheduler thread with a second reactor
//   for it: every completion then hops from that thread to this one through
//   the local_work (an add, an eventfd write, a reactor wake) - correct, but
//   that is the hidden thread and the hop this type exists to avoid. The
//   trap: Asio's examples create sockets on `co_await this_coro::executor`,
//   which inside a coroutine co_spawned on get_executor() is that context:
//   create them on io_context() instead. On a
//   work_thread, which has no reactor, that is the only way to get I/O, and
//   it costs that hop.
//
// COST
//   get_executor().execute(f) from another thread: one allocation (the
//   item), a reference on the context (asio.hpp ALLOCATION) and add(): one
//   exchange and one store on the producers' line, no lock; a wake only when
//   the thread sleeps (work_thread: a futex wake, claimed once per wait
//   cycle; io_thread: an eventfd write when the queue was empty). On the
//   thread itself, post() costs the same and never wakes anything.
//   io_thread's loop: each pass runs up to io_thread_options::batch items,
//   then yields to the io_context (a post to itself) while more are queued,
//   or re-arms its eventfd wait (one async_wait, a mutex in Asio's reactor).
//
// SOURCES
//   Folly's ScopedEventBaseThread (a loop thread owned by an object), Asio's
//   thread_pool (stop/join/destructor rules), and the eventfd that io_uring
//   registers for completions (IORING_REGISTER_EVENTFD) in place of the
//   kernel's own wake of a task blocked in io_uring_enter().
#ifndef MPSCQ_ASIO_THREAD_HPP
#define MPSCQ_ASIO_THREAD_HPP

#include <mpscq/version.hpp>
#include <mpscq/asio.hpp>

#if MPSCQ_DETAIL_ASIO_BOOST
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#define MPSCQ_DETAIL_ASIO_NS ::boost::asio
#define MPSCQ_DETAIL_ASIO_FLAVOUR boost_asio
#else
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>
#define MPSCQ_DETAIL_ASIO_NS ::asio
#define MPSCQ_DETAIL_ASIO_FLAVOUR standalone_asio
#endif

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <mutex>
#include <optional>
#include <thread>

#include <unistd.h>

#include <mpscq/local_work.hpp>
#include <mpscq/detail/misuse.hpp>

namespace mpscq::asio {

namespace detail {

/// What work_thread and io_thread share: the stop request, join() that any
/// number of threads may call, and the drain of step 1 and 2 (STOP). Names
/// no Asio type.
class owner_thread_base {
 public:
  owner_thread_base() = default;
  owner_thread_base(const owner_thread_base&) = delete;
  owner_thread_base& operator=(const owner_thread_base&) = delete;

  bool stopped() const noexcept { return stop_.load(std::memory_order_relaxed); }  // [AT3]
  std::thread::id get_id() const noexcept { return id_; }

 protected:
  // True for the call that raised the request. The request's wake comes
  // from what the caller does next - interrupt() (its
  // happens-before edge to the wait() that takes it), or the eventfd write
  // (the kernel orders it before the epoll_wait() that reports it) - after
  // which the owner looks at the flag.
  // Release/acquire on top: what stop()'s caller did before is visible to
  // the drain that follows the owner's acquire load of the flag.
  bool request_stop() noexcept { return !stop_.exchange(true, std::memory_order_acq_rel); }  // [AT1]
  bool stop_requested() const noexcept { return stop_.load(std::memory_order_acquire); }      // [AT2]

  void start(std::thread t) noexcept {
    id_ = t.get_id();
    thread_ = std::move(t);
  }

  // The object's thread marks itself for its whole life (its main() begins
  // with this), so join() can tell "called on the object's own thread" by a
  // thread_local of the caller, not by a std::thread::id: glibc gives an
  // ended thread's id to the next thread it creates, which may then join or
  // destroy the object (adversarial review: a false report there).
  // The mark is never cleared: it must still hold while the thread's
  // thread_local destructors run, after main() returned (one of them
  // destroying the object is the same self-join; the second review). A
  // trivially destructible pointer, so it outlives them all.
  class on_own_thread {
   public:
    explicit on_own_thread(const owner_thread_base* self) noexcept { current_ = self; }
    on_own_thread(const on_own_thread&) = delete;
    on_own_thread& operator=(const on_own_thread&) = delete;
    static bool is(const owner_thread_base* self) noexcept { return current_ == self; }

   private:
    static inline thread_local const owner_thread_base* current_ = nullptr;
  };

  void join_thread(const char* component) noexcept {
    if (on_own_thread::is(this))
      ::mpscq::detail::misuse(component,
                              "join() or the destructor called on the object's own thread (from a function it runs): "
                              "it would wait for itself; call stop() there, and join or destroy it elsewhere");
    const std::lock_guard<std::mutex> lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }

  // Steps 1 and 2 of STOP, on the owner thread: run up to a marker added
  // now, then close. Every add that happened-before stop() is ahead of the
  // marker (FIFO); what comes behind it ran (in the same batches) or is
  // cancelled by close(). A bound, unlike "until the queue is empty": a
  // function that posts itself again, or producers faster than the thread,
  // would keep that going for ever (the tests' review: join() never
  // returned), which asio::thread_pool's stop() does not do either.
  static void drain_and_close(local_work& lw) noexcept {
    struct marker final : work {
      bool reached = false;
      marker() noexcept : work{{}, &marker::run} {}
      static void run(work& w, run_state) noexcept { static_cast<marker&>(w).reached = true; }
    } m;
    lw.add(m, wake::lazy);  // the owner's own add: nobody to wake
    {
      // A task_strand drain job met here finishes what its strand accepted
      // before the stop, not just one batch (its repost would land behind
      // the marker, and close() would cancel it: the second review).
      const ::mpscq::asio::detail::stopping_frame stopping;
      while (!m.reached) lw.run(64);
    }
    lw.close();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread::id id_;
  std::mutex join_mutex_;
  std::thread thread_;
};

}  // namespace detail

inline namespace MPSCQ_DETAIL_ASIO_FLAVOUR {

/// A thread that owns an mpscq::local_work and runs it; asio::thread_pool(1)
/// with wait-free posts. See the header comment.
class work_thread : private detail::owner_thread_base {
 public:
  using executor_type = local_work_executor;

  /// Starts the thread. Functions posted through get_executor() are added
  /// with `mode` (wake::eager: each wakes a sleeping thread; wake::lazy is
  /// the same here, as the thread waits for one item at a time). Throws
  /// std::system_error if the thread cannot be started, std::bad_alloc.
  explicit work_thread(wake mode = wake::eager) : ctx_(lw_, mode) {
    start(std::thread([this] { main(); }));
  }

  /// stop(), then join(): see STOP. Reported (abort) on the object's own
  /// thread.
  ~work_thread() {
    stop();
    join_thread("asio::work_thread");
  }

  /// An executor that runs functions on this thread (mpscq/asio.hpp).
  executor_type get_executor() noexcept { return ctx_.get_executor(); }
  /// The execution context (services, strands: asio::make_strand(t.context())).
  local_work_context& context() noexcept { return ctx_; }
  /// The local_work, for plain mpscq::work items: work().add(w). Do not call
  /// its owner-only members (run, wait, close, disown).
  local_work& work() noexcept { return lw_; }

  /// Asks the thread to end (STOP). Any thread; idempotent; noexcept.
  void stop() noexcept {
    if (request_stop()) lw_.interrupt();
  }
  /// Waits until the thread has ended (after stop(), or it waits forever).
  /// Any thread but this object's own (reported). Idempotent.
  void join() noexcept { join_thread("asio::work_thread"); }

  using owner_thread_base::get_id;
  using owner_thread_base::stopped;

 private:
  using owner_thread_base::stop_requested;
  void main() noexcept {
    const on_own_thread mark(this);
    // interrupt() after the flag: the wait that takes it returns, and what
    // stop()'s caller did (the flag included) happens-before that return.
    while (!stop_requested()) lw_.wait(1, std::chrono::nanoseconds::max());
    drain_and_close(lw_);
  }

  local_work lw_;
  local_work_context ctx_;
};

/// Construction options of io_thread.
struct io_thread_options {
  /// Items the loop runs from the local_work before the io_context gets a
  /// turn (I/O completions, timers, its own posts). At least 1.
  int batch = 512;
};

/// asio::io_context, the thread that runs it, and a local_work on that same
/// thread. See the header comment.
class io_thread : private detail::owner_thread_base {
 public:
  using executor_type = local_work_executor;

  /// Creates the io_context (concurrency hint 1), the local_work (with its
  /// eventfd, and defer_own_signals: this thread's posts to itself announce
  /// themselves once per pass, local_work_options) and starts the thread. Throws std::system_error (no eventfd, no
  /// thread: ENOSYS off Linux), std::bad_alloc.
  explicit io_thread(io_thread_options options = {})
      : lw_(local_work_options{true, {}, true}), ctx_(lw_), io_(1), batch_(options.batch < 1 ? 1 : options.batch) {
    start(std::thread([this] { main(); }));
  }

  /// stop(), join(), then the io_context and the services are destroyed here
  /// (handlers still queued in them too). Reported on the object's own thread.
  ~io_thread() {
    stop();
    join_thread("asio::io_thread");
  }

  /// An executor that runs functions on this thread through the local_work
  /// (wait-free from any thread; inline for dispatch on this thread).
  executor_type get_executor() noexcept { return ctx_.get_executor(); }
  /// The io_context this thread runs: create I/O objects here (WHICH
  /// OBJECTS WHERE). Do not run() it elsewhere; io_context().stop() ends the
  /// thread as stop() does (STOP steps 1-3 run).
  net::io_context& io_context() noexcept { return io_; }
  /// The execution context of get_executor() (local_work_execution_context).
  local_work_context& context() noexcept { return ctx_; }
  /// The local_work, for plain mpscq::work items: work().add(w).
  local_work& work() noexcept { return lw_; }

  /// Asks the thread to end (STOP). Any thread, also a signal handler (a
  /// flag store and one eventfd write(2): no allocation, no lock);
  /// idempotent.
  void stop() noexcept {
    if (request_stop()) {
      // The flag first: the pass that this write's edge starts (or the
      // re-check after an arm that the edge missed) sees it.
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t n = ::write(lw_.event_fd(), &one, sizeof one);
    }
  }
  /// Waits until the thread has ended. Any thread but its own (reported).
  void join() noexcept { join_thread("asio::io_thread"); }

  using owner_thread_base::get_id;
  using owner_thread_base::stopped;

 private:
  using owner_thread_base::stop_requested;
  using descriptor = net::posix::stream_descriptor;

  void main() noexcept {
    const on_own_thread mark(this);
    // RUNNING IN THIS THREAD for get_executor(): this thread is the owner
    // for as long as it runs, so a completion dispatched to it runs inline.
    const ::mpscq::asio::detail::running_frame owner(&lw_);
    descriptor ev(io_, lw_.event_fd());
    ev_ = &ev;
    pass();  // the first pass arms the wait (and runs what was added before)
    io_.run();
    finish();  // also when io_context().stop() ended run() early
    ev_ = nullptr;
    // The descriptor belongs to the local_work: release() deregisters it
    // from the reactor and cancels the wait without closing the fd.
    ev.release();
  }

  // One pass: up to batch_ items, then either a turn for the io_context
  // (more queued: a post to itself) or the eventfd wait.
  //
  // THE WAIT'S RACE WINDOW. async_wait() completes on the next readiness
  // edge of the eventfd: Asio registers it edge-triggered and never
  // completes a wait speculatively. An add writes the eventfd only when its
  // push found the queue empty, after the push and link and before it raises
  // the pending flag (local_work_core.hpp, signal_non_empty [L4]). An edge
  // that an epoll_wait() of this thread reports while no wait is armed (the
  // io_context polls its reactor between the handlers of a post chain)
  // completes nothing: it is lost. The invariant that makes that harmless:
  // every arm comes after a run() of the queue in the same pass, with no
  // epoll_wait() between them. An add whose edge was lost had pushed before
  // its write, and the write came before that epoll_wait() returned (the
  // kernel's wait-queue lock orders them), so the run, later on this thread,
  // pops its item (the flag may still be on its way: the run looks at the
  // queue itself). An add whose write comes after that run leaves its edge
  // in the epoll ready list until the next epoll_wait(), which comes after
  // the arm: the wait completes. The run after the arm (THE RE-CHECK) is
  // belt and braces for the same window: it costs one look at an empty queue
  // per arm. A stale edge (written before a run drained the eventfd) costs
  // one empty pass. The stop request rides on the same edges (stop()).
  void pass() noexcept {
    posted_ = false;
    if (finished_) return;
    int ran = lw_.run(batch_);
    // The stop flag after each run: a run that drains the eventfd (an add
    // raised the pending flag) may swallow stop()'s write too, and epoll
    // then drops its edge (the fd is no longer readable when the edge is
    // collected). stop() raised the flag before its write, and the drain's
    // read came after that write, so the flag is seen here. (Adversarial
    // review: with the check only before the run, a pass whose wait was
    // still armed returned, and join() hung until the next post.)
    if (stop_requested()) {
      finish();
      return;
    }
    if (ran < batch_ && !lw_.has_work()) {
      if (armed_) return;  // the armed wait covers every add after its arm
      armed_ = true;
      ev_->async_wait(descriptor::wait_read, [this](const auto&) {
        armed_ = false;
        pass();
      });
      ran = lw_.run(batch_);  // THE RE-CHECK
      if (stop_requested()) {
        finish();
        return;
      }
      if (ran == 0 && !lw_.has_work()) return;
    }
    if (!posted_) {
      posted_ = true;
      net::post(io_, [this] { pass(); });
    }
  }

  // Steps 1-3 of STOP, on this thread; once.
  void finish() noexcept {
    if (finished_) return;
    finished_ = true;
    (void)request_stop();  // stopped() is true also after io_context().stop()
    drain_and_close(lw_);
    if (ev_ != nullptr) ev_->cancel();
    io_.stop();
  }

  // Destroyed in reverse: the io_context first (handlers it still holds
  // may post through ctx_ as they are destroyed - a co_spawn'ed frame does:
  // lw_ is closed by then, so those functions are destroyed inline), then
  // the services of ctx_, then the local_work.
  local_work lw_;
  local_work_context ctx_;
  net::io_context io_;
  const int batch_;
  // This thread's only:
  descriptor* ev_ = nullptr;
  bool armed_ = false;
  bool posted_ = false;
  bool finished_ = false;
};

}  // inline namespace MPSCQ_DETAIL_ASIO_FLAVOUR
}  // namespace mpscq::asio

#undef MPSCQ_DETAIL_ASIO_NS
#undef MPSCQ_DETAIL_ASIO_FLAVOUR

#endif  // MPSCQ_ASIO_THREAD_HPP
