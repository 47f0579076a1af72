// mpscq/coro.hpp - C++20 coroutines on local_work and task_work: co_await
// resumes the coroutine on an owner thread or a task_work target.
//
// WHAT IT IS
//   Two awaitables. `co_await mpscq::resume_on(lw, mode)` suspends the
//   coroutine and resumes it on a local_work's owner thread, inside its
//   run()/wait(), as one of its items (`mode`: wake::eager wakes a waiting
//   owner now, wake::lazy counts towards its min_events). `co_await
//   mpscq::resume_on(tw)` resumes it where task_work `tw` runs its items:
//   inside the run() the scheduler arranged, on the target. The work item
//   lives inside the awaitable, which lives in the coroutine frame: no
//   allocation, no lock, and no atomic of its own: an await costs one add()
//   (local_work.hpp / task_work.hpp, COST and add()) plus two calls that
//   read and write a thread_local (INLINE RUNS).
//   No coroutine type comes with it: use the awaitables from your own task
//   or fire-and-forget type (docs/examples/coroutines.cpp has a minimal one).
//
// EXAMPLE
//   my_task handle(request& r, mpscq::local_work& loop) {
//     do_blocking_io(r);                                  // some pool thread
//     const mpscq::resumed where = co_await mpscq::resume_on(loop, mpscq::wake::lazy);
//     if (where == mpscq::resumed::cancelled) {              // bind first: see G++ 12 below
//       r.fail();                                         // loop closed: not on its thread
//       co_return;
//     }
//     r.finish();                                         // on loop's owner thread, inside run()/wait()
//   }
//
// THE OUTCOME: ALWAYS RESUMED, AND TOLD
//   co_await yields mpscq::resumed (the result is [[nodiscard]]: clang warns
//   when it is dropped; g++ 12 does not check it on a co_await):
//     resumed::on_target  the target ran the item normally (run_state.cancel
//                         false): see WHERE IT RESUMES.
//     resumed::cancelled  the item ran with cancel == true: the target is
//                         closed, refused, or gone. The coroutine runs on
//                         whichever thread ran the item (see WHERE IT
//                         RESUMES), not on the target: release, fail, or
//                         await somewhere else.
//     resumed::stopped    only resume_on(..., std::stop_token): a stop was
//                         requested before the await began. Nothing was
//                         queued: the coroutine never suspended and goes on
//                         on the awaiting thread (see STOP TOKENS).
//   Why resume rather than destroy the coroutine when the target is gone:
//   this is what the library does for every item (work.hpp: a cancelled item
//   runs so that nothing is lost, and completes with an error), and what
//   io_uring does (-ECANCELED is a completion, not a vanished request).
//   Destroying the frame from under the coroutine would skip its error path,
//   leave whoever awaits the coroutine itself (a parent task, a join) hanging
//   or with a dangling handle - the frame would be freed on whatever thread
//   ran the item, with no way for the awaiting side to know. Resuming it
//   costs nothing extra, and the coroutine may still end itself (co_return)
//   at once.
//
// WHERE IT RESUMES (every thread that can run the item)
//   local_work `lw`:
//     - on_target: lw's owner thread, inside lw.run()/wait(), as an item.
//     - cancelled, close() drain: the owner thread, inside lw.close() (or the
//       destructor that closes), for an await that was queued before it.
//     - cancelled, inline: an await that begins after close() does not
//       suspend at all: add() runs the item on the awaiting thread and the
//       coroutine goes on right there (see INLINE RUNS).
//   task_work `tw`:
//     - on_target: inside tw.run(), on whatever thread the scheduler arranged
//       the run on (the target), as one of tw's items: items of one task_work
//       run one at a time, so the code up to the next suspension is
//       serialised with them.
//     - cancelled: inside a run() that serves a cycle after close() (the
//       target's thread); on the fallback executor's thread (a refused or
//       closed cycle; default_fallback_executor()'s one thread unless you
//       passed your own); or on the thread running ~task_work() (a cycle
//       whose schedule the target dropped).
//     - inline (either outcome): a scheduler that calls run() inline, or a
//       fallback executor that runs the job inside execute(), runs the item
//       inside the add() that the await makes: the coroutine does not
//       suspend and goes on on the awaiting thread, after that run() or
//       execute() returned (no longer inside the run: the run ended) (see
//       INLINE RUNS).
//     - after the current item (either outcome): an await of tw made inside
//       one of tw's own runs - the coroutine was resumed by tw (or another
//       item of tw started it) and awaits tw again - with such an inline
//       scheduler or executor: the inline run() finds tw's run active on
//       this thread and hands the new cycle to it (task_work.hpp, EXACTLY
//       ONCE point 3), the coroutine suspends, and that run resumes it after
//       the current item, on the same thread (a loop of such awaits runs
//       flat, one item after another).
//   Until it suspends again, a coroutine resumed as an item IS that item:
//   the rules for calls from inside an item hold (local_work.hpp: it may add,
//   run()/wait() nested, close(); not disown() or destroy lw; task_work.hpp:
//   it may add - and so await tw again - and close(); not call run() or
//   destroy tw). Every outcome is a resumption exactly once per await.
//
// STOP TOKENS (resume_on(lw, stop[, mode]), resume_on(tw[, ctx], stop))
//   The token is read once, in await_ready(), before anything is queued
//   (one stop_requested() load): stopped there, the await does not suspend
//   and yields resumed::stopped on the awaiting thread - no add(), so the
//   target never sees it (the io_uring analogue: a request cancelled before
//   submission never becomes a completion). Everything the stopping thread
//   did before request_stop() happens-before that (std::stop_token: a
//   request_stop() that returns true synchronizes with a stop_requested()
//   that returns true). A stop requested after that check is IGNORED by the
//   await: the item is in the target's queue and cannot be unlinked (an
//   MPSC queue has no removal; local_work.hpp, task_work.hpp), so the
//   coroutine resumes exactly as without a token - on_target on the owner or
//   target, or cancelled (close(), a refused cycle). Check the token again
//   after the await when a late stop matters. So the token saves the hop
//   when the work is already abandoned; it is not a cancellation of a queued
//   await. Cost, on top of the plain await: the token (moved into the
//   awaitable, which it keeps alive until the frame ends it) and one load.
//   Not present where the standard library has no <stop_token>
//   (MPSCQ_HAS_STOP_TOKEN 0: libc++ 14).
//
// INLINE RUNS (the item runs inside await_suspend)
//   add() may run the item before it returns (local_work after close(); a
//   task_work scheduler or fallback executor that runs inline). Resuming the
//   coroutine there would nest it inside its own await_suspend (a loop of
//   awaits on a closed target would grow the stack without bound), and
//   whatever await_suspend did after add() would touch a frame that the
//   resumed coroutine may already have destroyed. So await_suspend marks,
//   in a thread_local and not in the awaitable, which awaitable this thread
//   is adding; the item, when it finds its own awaitable marked on its
//   thread, only records the outcome and clears the mark; and after add()
//   await_suspend reads only the thread_local (and compares the pointer
//   value `this`, never dereferencing it): cleared means the item ran inline
//   and the coroutine continues (await_suspend returns false); still set
//   means the item is queued or ran on another thread, which resumed or will
//   resume the coroutine, and await_suspend returns true without touching the
//   awaitable. The mark is saved and restored around add(), so an add that
//   runs other coroutines' items inline (which resume and await themselves)
//   nests correctly. The thread_local is touched only inside non-inlined
//   functions (see detail::coro_adding: clang may otherwise reuse its
//   address across a suspension). Its first use in a dlopen()ed library may
//   allocate (as task_work's callback guard). If the item of an outer await
//   ever ran inside an inner one's add() on the same thread, it would find
//   the mark not its own and resume its coroutine there, nested: still
//   correct, since its await_suspend touches nothing of the frame after add().
//
// MEMORY ORDERING (no atomics of its own)
//   - Everything before the co_await happens-before the resumption: the
//     awaitable's fields (handle, work item) are written before add(), and
//     the target's contract (local_work.hpp, task_work.hpp: everything
//     before add(w) happens-before w.func runs - the queue's release push and
//     acquire pop, or the adder gate and close()'s drain) carries them to the
//     thread that runs the item.
//   - The outcome is written by the item and read by await_resume() on the
//     thread that resumed the coroutine: the same thread, in program order
//     (the item resumes the handle after writing it; inline, the item runs
//     inside add() on the awaiting thread before await_suspend returns).
//   - The thread_local mark is read and written only by its own thread.
//
// THREAD AND LIFETIME RULES
//   - resume_on() and co_await: any thread, including the owner or target
//     (the coroutine is queued behind the work already there; there is no
//     shortcut when already on the right thread).
//   - lw / tw must outlive every await that has begun and not yet resumed:
//     their own rules hold (an add() must not begin after the destructor
//     began). Their destructors close and drain, which resumes every
//     coroutine still queued, cancelled.
//   - The awaitable belongs to the target from add() until it resumes the
//     coroutine; do not destroy the coroutine while it is suspended in
//     co_await resume_on(...) (the queued item is in its frame: a use after
//     free). An awaitable can be awaited again once the await resumed.
//   - The ctx of resume_on(tw, ctx) must live until the coroutine resumed
//     (task_work.hpp, task_context LIFETIME). It may live in the coroutine's
//     own frame: the coroutine resumes between ctx.enter() and ctx.leave(),
//     and if it ends there (co_return: the frame, and ctx, are destroyed
//     inside the run), the run forgets ctx and calls no leave() on it. Once
//     the coroutine has suspended again in an await that resumes it on
//     another thread, the run that resumed it may still have ctx entered (it
//     leaves ctx after the item, before another context or at its end): a
//     frame that ends over there destroys ctx under that run, a use after
//     free (reported when seen, "mpscq::task_context: destroyed while a run
//     on another thread has it entered"). End such a coroutine on the
//     target, or keep ctx outside its frame.
//   - Checking the thread after a resumption: clang 14 may reuse the result
//     of std::this_thread::get_id() (pthread_self(), declared const) from
//     before a co_await (llvm/llvm-project#47177); read it through a call the
//     compiler cannot see into (docs/examples/coroutines.cpp does).
//   - G++ 12: never write co_await inside the condition of an if, while,
//     for or switch:
//       if (co_await mpscq::resume_on(lw) == mpscq::resumed::cancelled)  // WRONG
//       if (!co_await x) / switch (co_await x) / while (!co_await x)     // WRONG
//     g++ 12.2 (Debian 12's compiler) miscompiles such a coroutine when
//     the await suspends: it crashes on resumption (SIGSEGV; SIGILL under
//     the sanitizers) or its body never runs - the same with a trivial awaitable and no mpscq, so
//     it is the compiler; clang 14 is right. Bind the result first, as the
//     EXAMPLE does: `const mpscq::resumed r = co_await ...; if (r == ...)`.
//     Every example and test in this project is kept to that form (the
//     coawait_rule test).
//   - Signal handlers: not signal-safe (a coroutine resumption runs user
//     code, and the thread_local may allocate on first use).
//
// EXCEPTIONS
//   None: every member is noexcept, and the item that resumes the coroutine
//   is a noexcept function, so an exception escaping the resumed code up to
//   its next suspension reaches the promise's unhandled_exception(); one that
//   escapes that too ends in std::terminate (work.hpp, EXCEPTIONS).
#ifndef MPSCQ_CORO_HPP
#define MPSCQ_CORO_HPP

// First, before <coroutine>: at C++17 the C++20 check must be the one error.
#include <mpscq/version.hpp>

#include <coroutine>
#include <utility>

#include <mpscq/detail/stop_token.hpp>  // MPSCQ_HAS_STOP_TOKEN: resume_on()'s stop-token overloads
#include <mpscq/local_work.hpp>
#include <mpscq/task_work.hpp>
#include <mpscq/work.hpp>

namespace mpscq {

/// How a co_await resume_on(...) ended: see THE OUTCOME in the header comment.
enum class [[nodiscard]] resumed {
  on_target,  ///< run by the target (run_state.cancel false)
  cancelled,  ///< run with run_state.cancel true: the target is closed, refused or gone
  stopped,    ///< not queued: the stop token given to resume_on() was stopped before the await (STOP TOKENS)
};

namespace detail {

// The awaitable this thread is adding from inside its await_suspend, or
// nullptr (see INLINE RUNS). Only ever read and written by its own thread,
// and only inside the three functions below, which are never inlined: clang
// (14 here; llvm/llvm-project#47179) may compute a thread_local's address
// once in a coroutine body and reuse it after the coroutine resumed on
// another thread. A call that writes memory is neither merged nor moved
// across a suspension, and computes the address afresh on its own thread.
inline thread_local const void* coro_adding = nullptr;

// Marks `me` as the awaitable this thread is adding; returns the outer mark.
[[gnu::noinline]] inline const void* coro_mark_adding(const void* me) noexcept {
  const void* const outer = coro_adding;
  coro_adding = me;
  return outer;
}

// Restores the outer mark; true if the item of `me` ran inside the add (it
// cleared the mark). Compares pointer values only: *me may be gone.
[[gnu::noinline]] inline bool coro_unmark_adding(const void* me, const void* outer) noexcept {
  const bool ran_inline = coro_adding != me;
  coro_adding = outer;
  return ran_inline;
}

// Called by the item of `me`: true (and the mark cleared) if this thread is
// inside me's own add(), i.e. the item runs inline in me's await_suspend.
[[gnu::noinline]] inline bool coro_take_inline(const void* me) noexcept {
  if (coro_adding != me) return false;
  coro_adding = nullptr;
  return true;
}

// The part both awaitables share: the handle, the outcome, the inline check.
class coro_resumer {
 protected:
  coro_resumer() noexcept = default;
  coro_resumer(const coro_resumer&) = delete;
  coro_resumer& operator=(const coro_resumer&) = delete;
  ~coro_resumer() = default;

  // Marks this awaitable, calls add(), and says whether to stay suspended:
  // false when the item ran inside add() on this thread. After add() it
  // touches only the thread_local and the value of `this` (see INLINE RUNS).
  template <class Add>
  bool suspend_and_add(std::coroutine_handle<> h, Add add) noexcept {
    handle_ = h;
    outcome_ = resumed::on_target;
    const void* const me = this;
    const void* const outer = coro_mark_adding(me);  // an await further up this thread's stack
    add();  // from here on, *this may be resumed (and freed) on another thread
    return !coro_unmark_adding(me, outer);
  }

  // The item's body, on whichever thread runs it.
  void complete(run_state st) noexcept {
    outcome_ = st.cancel ? resumed::cancelled : resumed::on_target;
    // Inside our own await_suspend, on its thread: record only; the
    // coroutine continues when await_suspend returns false.
    if (coro_take_inline(this)) return;
    // The last access to *this: the coroutine may end (and free the frame
    // that holds us) before resume() returns.
    handle_.resume();
  }

  resumed outcome() const noexcept { return outcome_; }

 private:
  std::coroutine_handle<> handle_;
  resumed outcome_ = resumed::on_target;
};

}  // namespace detail

/// co_await resume_on(lw, mode): resumes the coroutine on local_work `lw`'s
/// owner thread, as an item of its run()/wait(). Created by resume_on();
/// lives in the coroutine frame and holds the work item (no allocation).
/// Not copyable or movable. See the header comment for threads and lifetime.
class local_work_awaitable : private detail::coro_resumer {
 public:
  local_work_awaitable(local_work& lw, wake mode) noexcept : lw_(&lw), mode_(mode) {}

  /// Always false: the coroutine is always queued (no shortcut on the owner).
  bool await_ready() const noexcept { return false; }

  /// Adds the item to lw with the wake mode. Returns false (do not suspend)
  /// when lw is closed: the item ran inline, cancelled, on this thread.
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    return suspend_and_add(h, [this] { lw_->add(item_, mode_); });
  }

  /// on_target: running on lw's owner, inside run()/wait(). cancelled: lw
  /// was closed: inside close() on the owner, or on this thread (the await
  /// began after close()).
  [[nodiscard]] resumed await_resume() const noexcept { return outcome(); }

 private:
  static void run(work& w, run_state st) noexcept {
    container_of<&local_work_awaitable::item_>(w).complete(st);
  }

  local_work* lw_;
  wake mode_;
  work item_{{}, &local_work_awaitable::run};
};

/// co_await resume_on(tw[, ctx]): resumes the coroutine where task_work `tw`
/// runs its items (the target's run(), inside `ctx`'s enter()/leave() when a
/// context is given). Created by resume_on(); lives in the coroutine frame
/// and holds the work item (a context_work; no allocation). Not copyable or
/// movable. See the header comment for threads and lifetime.
class task_work_awaitable : private detail::coro_resumer {
 public:
  explicit task_work_awaitable(task_work& tw, task_context* ctx = nullptr) noexcept
      : tw_(&tw), item_(ctx, &task_work_awaitable::run) {}

  /// Always false: the coroutine is always queued.
  bool await_ready() const noexcept { return false; }

  /// Adds the item to tw. Returns false (do not suspend) when the item ran
  /// inside that add() on this thread (a scheduler that calls run() inline,
  /// a fallback executor that runs the job inside execute()).
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    return suspend_and_add(h, [this] { tw_->add(item_); });
  }

  /// on_target: tw's run ran the item (the coroutine is inside that run,
  /// unless the run was inline in the add). cancelled: tw is closed, or its
  /// target refused the cycle (fallback thread, a run after close(), the
  /// destructor's drain, or inline on this thread).
  [[nodiscard]] resumed await_resume() const noexcept { return outcome(); }

 private:
  static void run(context_work& w, run_state st) noexcept {
    container_of<&task_work_awaitable::item_>(w).complete(st);
  }

  task_work* tw_;
  context_work item_;
};

#if MPSCQ_HAS_STOP_TOKEN
/// An awaitable of resume_on() with a stop token: as `Base`
/// (local_work_awaitable or task_work_awaitable), and a stop requested
/// before the await skips the add: await_ready() is true and the result is
/// resumed::stopped. A stop after that is ignored (see STOP TOKENS). Not
/// copyable or movable (Base is not); lives in the coroutine frame.
template <class Base>
class stoppable_awaitable : public Base {
 public:
  template <class... Args>
  explicit stoppable_awaitable(std::stop_token stop, Args&&... args) noexcept
      : Base(std::forward<Args>(args)...), stop_(std::move(stop)) {}

  /// True (do not suspend, nothing is queued) when the token is stopped.
  bool await_ready() noexcept {
    stopped_ = stop_.stop_requested();
    return stopped_;
  }

  /// resumed::stopped when await_ready() found the stop; otherwise Base's.
  [[nodiscard]] resumed await_resume() const noexcept { return stopped_ ? resumed::stopped : Base::await_resume(); }

 private:
  std::stop_token stop_;
  bool stopped_ = false;
};
#endif

/// Resume on local_work `lw`'s owner thread. `mode`: wake::eager (default)
/// wakes an owner waiting in wait() at once; wake::lazy counts towards its
/// min_events (local_work.hpp, THE WAKE RULE). Any thread.
[[nodiscard]] inline local_work_awaitable resume_on(local_work& lw, wake mode = wake::eager) noexcept {
  return local_work_awaitable(lw, mode);
}

/// Resume where task_work `tw` runs its items (its target). Any thread.
[[nodiscard]] inline task_work_awaitable resume_on(task_work& tw) noexcept { return task_work_awaitable(tw); }

/// As resume_on(tw), and the item names `ctx` (task_work.hpp, contexts): the
/// coroutine resumes between ctx.enter() and ctx.leave(). `ctx` must live
/// until the coroutine resumed; it may live in the coroutine's frame and end
/// with it inside the run (see THREAD AND LIFETIME RULES).
[[nodiscard]] inline task_work_awaitable resume_on(task_work& tw, task_context& ctx) noexcept {
  return task_work_awaitable(tw, &ctx);
}

#if MPSCQ_HAS_STOP_TOKEN
/// As resume_on(lw, mode), unless `stop` is stopped when the await begins:
/// then nothing is queued, the coroutine does not suspend and goes on on
/// the awaiting thread with resumed::stopped. A stop after that is ignored:
/// the coroutine resumes on lw's owner as usual (on_target, or cancelled by
/// close()). See STOP TOKENS. Any thread.
[[nodiscard]] inline stoppable_awaitable<local_work_awaitable> resume_on(local_work& lw, std::stop_token stop,
                                                                         wake mode = wake::eager) noexcept {
  return stoppable_awaitable<local_work_awaitable>(std::move(stop), lw, mode);
}

/// As resume_on(tw), with `stop` as in resume_on(lw, stop, mode): stopped
/// before the await, nothing is queued and the result is resumed::stopped;
/// later, ignored. Any thread.
[[nodiscard]] inline stoppable_awaitable<task_work_awaitable> resume_on(task_work& tw, std::stop_token stop) noexcept {
  return stoppable_awaitable<task_work_awaitable>(std::move(stop), tw);
}

/// As resume_on(tw, ctx), with `stop` as in resume_on(tw, stop).
[[nodiscard]] inline stoppable_awaitable<task_work_awaitable> resume_on(task_work& tw, task_context& ctx,
                                                                        std::stop_token stop) noexcept {
  return stoppable_awaitable<task_work_awaitable>(std::move(stop), tw, &ctx);
}
#endif

}  // namespace mpscq

#endif  // MPSCQ_CORO_HPP
