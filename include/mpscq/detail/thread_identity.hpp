// mpscq/detail/thread_identity.hpp - who the calling thread is, in a way that
// is never reused, and whether a thread has ended.
//
// Internal header: not part of the public API, not general purpose.
//
// WHY
//   std::thread::id (pthread_t) names a thread only while it lives: glibc
//   hands a joined thread's id (its stack address) to the next thread it
//   creates, and to threads that a fork()ed child creates (the child's first
//   pthread_create reclaims the stacks of the parent's other threads). An
//   owner check that stores std::thread::id therefore lets a later thread pass
//   as a dead owner, and cannot tell "the owner has ended" from "the owner is
//   another, live thread". local_work's owner slot (detail/owner_slot.hpp)
//   names a thread_record instead.
//
// WHAT A RECORD IS
//   One heap object per thread that uses it, created on the thread's first
//   this_thread_record() call. It holds the thread's std::thread::id (for
//   local_work_options::owner and for a record made by another copy of this
//   header, below) and an `ended` flag. References: the thread holds one
//   until it ends; whoever stores the record's address (an owner slot) takes
//   one with retain() and drops it with release(); the last release frees it.
//   So while a slot names a record its address is not reused, and the address
//   is the identity: two live records never share one, and a slot that names
//   a record keeps it alive.
//
// WHEN A THREAD ENDS (end(), [I2])
//   A pthread key destructor (pthread_key_create) marks the record ended and
//   drops the thread's reference. glibc runs key destructors when a thread
//   returns from its start function or calls pthread_exit - after its C++
//   thread_local destructors - and NOT in exit(): a thread that calls exit()
//   goes on running static destructors and atexit handlers, so its record
//   stays alive until the process ends (nobody may take over what it owns
//   while it still runs). The end is the thread's last act on any object it
//   owns: end()'s release store pairs with ended()'s acquire load [I1], so
//   what the thread did happens-before whatever a thread that sees `ended`
//   does next (local_work: taking ownership over, owner_slot.hpp).
//   After its record ended, a thread has no identity: this_thread_record()
//   returns nullptr (a call from a later key destructor of the same thread).
//
// THE EXIT PHASE (this_thread_exiting())
//   A thread_local object with a destructor marks the thread "exiting" when
//   its C++ thread_local destructors run: at thread end, and - on glibc -
//   first thing in exit() for the thread that calls it, before the atexit
//   handlers and the destructors of static objects. The flag alone does not
//   say that exit() was called from an item: after exit() began (or main
//   returned), every static destructor on that thread runs with it set, and
//   may start a run of its own. What does: a run (or scheduler call) of the
//   object that began BEFORE the phase began is still on the stack - exit()
//   was called from inside it, and it never resumes. So the runners record
//   the flag when each of their frames begins (local_work's depth_scope,
//   task_work's detail/callback_guard.hpp), and the destructors compare
//   (docs/api.md 6.3). The marker must be armed before the phase begins
//   (a destructor registered later does not run in exit()): threads that own
//   a local_work (their record arms it), run or construct a task_work, and
//   the default fallback thread are watched. Elsewhere (a C library that
//   does not run thread_local destructors in exit()) the flag stays false
//   and the generic report applies.
//
// SEVERAL COPIES OF THIS HEADER (shared libraries with hidden visibility)
//   Each copy has its own thread_locals and key, so one thread can have one
//   record per copy. The records are still unique (heap addresses), and
//   owner_slot.hpp recognises another copy's record of the calling thread by
//   its std::thread::id while that record has not ended (ids are unique among
//   live threads), so the check stays correct, through its slower path.
//   dlclose(): a static object deletes the key when the copy is unloaded
//   (and at exit), so no key destructor points into unmapped code; threads
//   that end after that leave their records alive (never taken over; one
//   small leak each).
//
// COST
//   this_thread_record(): one thread_local load (a pointer, constant-
//   initialized, trivially destructible: no guard, no wrapper call in the
//   executable; a __tls_get_addr call in a shared library). The first call on
//   a thread allocates the record and registers the two hooks. Not async-
//   signal-safe (the first call allocates); add() never calls it.
//
// MODEL BUILDS (detail::model_build)
//   Every modelled thread runs on one OS thread, so there is no thread_local
//   and no key: this_thread_record() returns the record a model installed for
//   the calling Relacy thread (model_thread_records, below), and a model ends
//   a record by calling end() itself.
//
// ATOMICS (rows of docs/design.md's table, section 3.11)
//   [I1] ended      ended_ load        acquire   pairs with [I2]: the ended thread's acts happen-before
//   [I2] end        ended_ store       release   the thread's last act on its objects
//   [I3] retain     refs_ fetch_add    relaxed   the caller already holds a reference
//   [I4] release    refs_ fetch_sub    acq_rel   the last one frees: every holder's accesses before
//   [I5] key        ok_ (end_hook)     rel/acq   the pthread key exists (not a protocol word)
#ifndef MPSCQ_DETAIL_THREAD_IDENTITY_HPP
#define MPSCQ_DETAIL_THREAD_IDENTITY_HPP

#include <atomic>
#include <cstdint>
#include <new>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/fork_hooks.hpp>
#include <mpscq/detail/misuse.hpp>
#include <mpscq/detail/mutants.hpp>

#if MPSCQ_DETAIL_NATIVE_THREADS
#include <pthread.h>
#include <unistd.h>
#endif

namespace mpscq::detail {

/// One thread's identity (see the header comment). Reference counted.
class thread_record {
 public:
  /// A live record of the thread `os` of the process `process`, with one
  /// reference (the thread's).
  thread_record(thread_id os, long process) noexcept : os_(os), process_(process) {}
  thread_record(const thread_record&) = delete;
  thread_record& operator=(const thread_record&) = delete;

  /// The thread's id as the standard library names it. Unique among live
  /// threads only: compare it only with a record that has not ended.
  thread_id os_id() const noexcept { return os_; }

  /// The process the record's thread lives in (getpid()). In a fork()ed
  /// child, a record of another process names a thread that does not exist
  /// there: owner_slot.hpp treats such an owner as ended (S3a). The forking
  /// thread lives on in the child with its record, which the child's fork
  /// handler moves to the child's process (rebind_to_process()), so it is
  /// never taken for one.
  long process() const noexcept { return process_; }

  /// The child's fork handler, on the forking thread's own record (the only
  /// thread then: nothing to order; the child's later threads are created
  /// after it). A model calls it to play the forking thread.
  void rebind_to_process(long process) noexcept { process_ = process; }

  /// True once the thread has ended. What it did before happens-before what
  /// the caller does after seeing true.
  bool ended() const noexcept {
    // [I1] Acquire: pairs with end()'s release [I2].
    // (MUTANT owner_end_relaxed: relaxed, here and in end().)
    return ended_.load(mutant::weaken_if(mutant::owner_end_relaxed, std::memory_order_acquire));
  }

  /// The thread's last act on the objects it owns (the key destructor calls
  /// it; a model calls it for its thread).
  void end() noexcept {
    // [I2] Release: pairs with [I1].
    ended_.store(true, mutant::weaken_if(mutant::owner_end_relaxed, std::memory_order_release));
  }

  /// Takes a reference. The caller must hold one already (its own thread's,
  /// or a slot's it is moving).
  void retain() noexcept {
    // [I3] Relaxed: the caller's reference keeps the record alive; only the
    // release that frees it needs an order ([I4]).
    refs_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Drops a reference; frees the record when it was the last (in model
  /// builds the model owns the records and checks the count instead).
  static void release(thread_record* r) noexcept {
    // [I4] acq_rel: release publishes this holder's reads of the record to
    // the one that frees it; acquire (in that one) sees every other holder's.
    if (r->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      if constexpr (!model_build) delete r;
    }
  }

  /// References held (a snapshot, for tests and models).
  std::uint32_t references() const noexcept { return refs_.load(std::memory_order_relaxed); }  // [I3]

 private:
  atomic<bool> ended_{false};
  atomic<std::uint32_t> refs_{1};
  const thread_id os_;
  long process_;  // written only by rebind_to_process(), in a fork()ed child
};

#if MPSCQ_DETAIL_NATIVE_THREADS

namespace identity {

// The calling thread's record (nullptr before the first call, and again after
// the thread's record ended), whether it ended, and whether its exit phase
// began. Constant-initialized and trivially destructible: readable at any
// point of the thread's life, also from its exit-time destructors.
constinit inline thread_local thread_record* self = nullptr;
constinit inline thread_local bool self_ended = false;
constinit inline thread_local bool exiting = false;
constinit inline thread_local bool marker_armed = false;

// A thread_local with a destructor: the C++ runtime runs it with the thread's
// other thread_local destructors (see THE EXIT PHASE).
struct exit_marker {
  exit_marker() noexcept {}  // not constant-initialized: first use registers the destructor
  ~exit_marker() { exiting = true; }
  exit_marker(const exit_marker&) = delete;
  exit_marker& operator=(const exit_marker&) = delete;
  bool armed = false;
};
inline thread_local exit_marker marker;

// The pthread key whose destructor ends a thread's record. Deleted when this
// copy of the header is unloaded, or at exit (see SEVERAL COPIES).
class end_hook {
 public:
  end_hook() noexcept {
    // [I5] Release: pairs with watch()'s acquire (the key is created).
    ok_.store(pthread_key_create(&key_, &on_thread_end) == 0, std::memory_order_release);
  }
  ~end_hook() {
    // [I5] Once: deleted at unload (or exit); later watch() calls see false.
    if (ok_.exchange(false, std::memory_order_acq_rel)) pthread_key_delete(key_);
  }
  end_hook(const end_hook&) = delete;
  end_hook& operator=(const end_hook&) = delete;

  /// Asks for `r`'s end at this thread's end. False if the key is gone or
  /// the registration failed: the record then never ends (never taken over).
  bool watch(thread_record* r) noexcept {
    // [I5] Acquire: pairs with the constructor's release.
    return ok_.load(std::memory_order_acquire) && pthread_setspecific(key_, r) == 0;
  }

  static end_hook& instance() noexcept {
    static end_hook hook;
    return hook;
  }

 private:
  static void on_thread_end(void* p) noexcept {
    auto* r = static_cast<thread_record*>(p);
    self = nullptr;
    self_ended = true;
    r->end();                      // [I2]
    thread_record::release(r);     // [I4] the thread's own reference
  }

  pthread_key_t key_{};
  std::atomic<bool> ok_{false};  // plain std::atomic: not a protocol word (written at init and unload)
};

#if MPSCQ_DETAIL_FORK_HOOKS
// The forking thread keeps its identity in a fork()ed child: its record
// moves to the child's process (thread_record::process()). One hook per copy
// of this header, for that copy's records; registered with the first record.
class fork_rebind final : private fork_hook {
 public:
  static void ensure_registered() noexcept {
    static fork_rebind* const hook = make();
    (void)hook;
  }

 private:
  // Never destroyed (a fork() may come at any time, also during static
  // destruction at exit, and the hook stays registered): built once in
  // static storage.
  static fork_rebind* make() noexcept {
    alignas(fork_rebind) static unsigned char storage[sizeof(fork_rebind)];
    fork_rebind* const instance = new (storage) fork_rebind();
    fork_lock lock;
    // ENOMEM from pthread_atfork: the forking thread's record would keep the
    // parent's process in a child, where another thread could take over an
    // object it owns (owner_slot.hpp S3a). Reported: no safe fallback.
    if (lock.add(*instance) != 0)
      misuse("thread_identity", "cannot register the fork handler (pthread_atfork: out of memory)");
    return instance;
  }
  void after_fork_child() noexcept override {
    if (self != nullptr) self->rebind_to_process(static_cast<long>(::getpid()));
  }
};
#endif

// Constructs the exit marker on this thread: its destructor then runs at the
// thread's exit phase.
[[gnu::noinline]] inline void arm_marker() noexcept {
  marker.armed = true;
  marker_armed = true;
}

[[gnu::noinline]] inline thread_record* create_self() noexcept {
  if (self_ended) return nullptr;
  auto* r = new (std::nothrow) thread_record(current_thread(), static_cast<long>(::getpid()));
  if (r == nullptr) return nullptr;
#if MPSCQ_DETAIL_FORK_HOOKS
  fork_rebind::ensure_registered();
#endif
  if (!marker_armed) arm_marker();
  // False after the key was deleted (unload, exit) or on ENOMEM: the record
  // then never ends, and the thread's reference is never dropped (one small
  // record leaked per such thread; nobody takes over what it owned).
  (void)end_hook::instance().watch(r);
  self = r;
  return r;
}

}  // namespace identity

/// The calling thread's record, created on the first call. nullptr when the
/// thread has no identity: its record ended (a call from one of its later
/// thread-exit destructors), or the record could not be allocated.
inline thread_record* this_thread_record() noexcept {
  thread_record* r = identity::self;
  return r != nullptr ? r : identity::create_self();
}

/// The calling thread's record if it already has one (never creates it):
/// the owner check's fast path.
inline thread_record* this_thread_record_if_any() noexcept { return identity::self; }

/// Makes this_thread_exiting() work on the calling thread: a runner of items
/// that has no record (task_work's) calls it. One thread_local load after the
/// first call.
inline void watch_exit_phase() noexcept {
  if (!identity::marker_armed) identity::arm_marker();
}

/// True once the calling thread's exit phase began (see THE EXIT PHASE), on
/// a thread that has a record or called watch_exit_phase().
inline bool this_thread_exiting() noexcept { return identity::exiting; }

/// The calling process, as thread_record::process() names it (getpid(): a
/// syscall, for slow paths only). A record whose process differs names a
/// thread that does not exist here: a thread of the parent of a fork()ed
/// child, other than the forking thread (whose record its caller holds).
inline long current_process() noexcept { return static_cast<long>(::getpid()); }

#else  // model builds

/// The records a model installed, by Relacy thread index (see MODEL BUILDS).
inline thread_record*& model_thread_record(unsigned index) noexcept {
  static thread_record* table[16] = {};
  return table[index % 16];
}

inline thread_record* this_thread_record() noexcept { return model_thread_record(model_thread_index()); }
inline thread_record* this_thread_record_if_any() noexcept { return this_thread_record(); }
inline bool this_thread_exiting() noexcept { return false; }
inline void watch_exit_phase() noexcept {}

/// The process a model runs as: 0, unless the model sets it to play a
/// fork()ed child (see current_process() above).
inline long& model_current_process() noexcept {
  static long process = 0;
  return process;
}
inline long current_process() noexcept { return model_current_process(); }

/// A model's threads' records: construct one (as a member of the test suite,
/// so its Relacy atomics live for one iteration) to give Relacy threads
/// 0..N-1 a record each, with the thread index as its id and process 0.
template <unsigned N>
class model_thread_identities {
 public:
  model_thread_identities() {
    for (unsigned i = 0; i < N; ++i) model_thread_record(i) = new (&storage_[i]) thread_record(i, 0);
  }
  ~model_thread_identities() {
    for (unsigned i = 0; i < N; ++i) {
      model_thread_record(i)->~thread_record();
      model_thread_record(i) = nullptr;
    }
  }
  model_thread_identities(const model_thread_identities&) = delete;
  model_thread_identities& operator=(const model_thread_identities&) = delete;

 private:
  struct alignas(thread_record) raw {
    unsigned char bytes[sizeof(thread_record)];
  };
  raw storage_[N];
};

#endif

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_THREAD_IDENTITY_HPP
