// mpscq/detail/fork_hooks.hpp - the library's one pthread_atfork
// registration, and the fork lock.
//
// Internal header: not part of the public API, not general purpose.
//
// WHAT IT IS FOR
//   fork() copies the whole address space but only the calling thread, and
//   shares every open descriptor's kernel object between the two processes.
//   Library state that a fork would leave wrong in the child registers a
//   fork_hook here:
//     - each open eventfd (detail/eventfd.hpp): the child gets a kernel
//       object of its own at the same descriptor number;
//     - each fallback thread (detail/fallback_executor_impl.hpp): its mutex
//       is held across the fork, and the child holds back the parent's
//       queued jobs instead of running them;
//     - the MPSCQ_PORTABLE_FUTEX wait table (detail/futex.hpp): its mutexes
//       are held across the fork, so the child never inherits one locked by
//       a thread it does not have.
//   The principle (docs/api.md 6.6): pending work and kernel objects belong to
//   the process that created them, as task work does in the kernel (a forked
//   child inherits none of its parent's pending task work).
//
// THE FORK LOCK
//   One mutex guards the list of hooks. pthread_atfork's prepare handler
//   takes it, then calls every hook's before_fork(); the parent handler calls
//   every after_fork_parent() and releases it; the child handler calls every
//   after_fork_child() and releases it. So while a thread holds the lock
//   (fork_lock), no fork() is between its prepare and its parent/child
//   handlers: a hook is never added or removed mid-fork, and state that a
//   child handler rewrites (an eventfd's descriptor) can be guarded by this
//   lock too.
//   Lock order: the fork lock, then a hook's own mutexes (the prepare
//   handler's order). Never call fork() while holding the fork lock (prepare
//   would wait for it forever), and never take it from inside a hook.
//
// CHILD HANDLERS
//   run in the child, on its only thread (the one that called fork()),
//   before fork() returns there. POSIX allows only async-signal-safe calls in
//   the child of a multi-threaded process: after_fork_child() uses only
//   syscalls (eventfd, dup3, close), atomics, mutex unlocks and
//   re-initialisation of objects in place - no allocation, no thread
//   creation. A failure there (a syscall error) is reported with
//   detail::misuse and aborts the child.
//
// NOT COVERED
//   _Fork(), vfork(), clone() and posix_spawn() run no atfork handlers: such
//   a child must only exec or _exit (as POSIX requires anyway); touching the
//   library's objects there is not supported. A fork() from a signal handler
//   that interrupted a thread holding the fork lock (building or destroying
//   a local_work with an eventfd) deadlocks in the prepare handler, as with
//   any atfork handler that locks; use _Fork() + exec there.
//
// Available with native threads on systems with <pthread.h>
// (MPSCQ_DETAIL_FORK_HOOKS is then 1); model builds have no fork.
#ifndef MPSCQ_DETAIL_FORK_HOOKS_HPP
#define MPSCQ_DETAIL_FORK_HOOKS_HPP

#include <mpscq/detail/atomic.hpp>

#if MPSCQ_DETAIL_NATIVE_THREADS && __has_include(<pthread.h>)
#define MPSCQ_DETAIL_FORK_HOOKS 1

#include <pthread.h>

#include <mutex>
#include <new>

namespace mpscq::detail {

/// State that fork() would leave wrong in the child. Register it with
/// fork_lock::add() and remove it (before it is destroyed) with
/// fork_lock::remove(). Each handler runs with the fork lock held, on the
/// forking thread (see the header comment).
class fork_hook {
 public:
  fork_hook(const fork_hook&) = delete;
  fork_hook& operator=(const fork_hook&) = delete;

  /// Parent, before the fork: take the locks that guard this state.
  virtual void before_fork() noexcept {}
  /// Parent, after the fork: release them.
  virtual void after_fork_parent() noexcept {}
  /// Child, its only thread, before fork() returns: release them and make
  /// the state the child's own. Async-signal-safe calls only.
  virtual void after_fork_child() noexcept {}

 protected:
  fork_hook() noexcept = default;
  ~fork_hook() = default;

 private:
  friend class fork_lock;
  fork_hook* prev_ = nullptr;
  fork_hook* next_ = nullptr;
};

/// Holds the fork lock for its lifetime (see THE FORK LOCK): no fork() runs
/// its handlers meanwhile. Not recursive.
class fork_lock {
 public:
  fork_lock() noexcept { state().mutex.lock(); }
  ~fork_lock() { state().mutex.unlock(); }
  fork_lock(const fork_lock&) = delete;
  fork_lock& operator=(const fork_lock&) = delete;

  /// Registers `h` (not registered yet); its handlers run at every fork()
  /// from now on. The first registration of the process also registers the
  /// atfork handlers: returns pthread_atfork's error (ENOMEM) if that fails,
  /// and then `h` is not registered; else 0.
  [[nodiscard]] int add(fork_hook& h) noexcept {
    list& s = state();
    if (!s.registered) {
      if (const int rc = pthread_atfork(&prepare, &parent, &child); rc != 0) return rc;
      s.registered = true;
    }
    h.prev_ = nullptr;
    h.next_ = s.head;
    if (s.head != nullptr) s.head->prev_ = &h;
    s.head = &h;
    return 0;
  }

  /// Unregisters `h` (registered with add()).
  void remove(fork_hook& h) noexcept {
    list& s = state();
    if (h.prev_ != nullptr) {
      h.prev_->next_ = h.next_;
    } else {
      s.head = h.next_;
    }
    if (h.next_ != nullptr) h.next_->prev_ = h.prev_;
    h.prev_ = h.next_ = nullptr;
  }

 private:
  struct list {
    std::mutex mutex;  // the fork lock
    fork_hook* head = nullptr;
    bool registered = false;  // pthread_atfork called (once per process)
  };

  // Never destroyed (a fork() may come from any thread at any time, also
  // during static destruction at exit), and not allocated (nothing here
  // throws): built once in static storage.
  static list& state() noexcept {
    alignas(list) static unsigned char storage[sizeof(list)];
    static list* const s = new (storage) list();
    return *s;
  }

  // The atfork handlers. The lock taken in prepare() is released in parent()
  // or child(); in the child the forking thread is the one that took it.
  static void prepare() noexcept {
    list& s = state();
    s.mutex.lock();
    for (fork_hook* h = s.head; h != nullptr; h = h->next_) h->before_fork();
  }
  static void parent() noexcept {
    list& s = state();
    for (fork_hook* h = s.head; h != nullptr; h = h->next_) h->after_fork_parent();
    s.mutex.unlock();
  }
  static void child() noexcept {
    list& s = state();
    for (fork_hook* h = s.head; h != nullptr; h = h->next_) h->after_fork_child();
    s.mutex.unlock();
  }
};

}  // namespace mpscq::detail

#else
#define MPSCQ_DETAIL_FORK_HOOKS 0
#endif

#endif  // MPSCQ_DETAIL_FORK_HOOKS_HPP
