// mpscq/detail/futex.hpp - wait on / wake a 32-bit word: the only way the
// library puts a thread to sleep.
//
// Internal header: not part of the public API, not general purpose.
//
//   futex_wait(word, expected, timeout)  sleeps while `word == expected`, for
//                                        at most `timeout` (nanoseconds::max()
//                                        means no limit). May return early
//                                        for no reason: callers re-check.
//   futex_wake(word, count)              wakes up to `count` sleepers on word.
//
// The protocol every caller follows (futex(2), "waiters announce, fence,
// re-check, then sleep"): read the word, announce that you will sleep (in
// state the wakers read), re-check the condition, then futex_wait with the
// value read first. A waker changes the word *before* it calls futex_wake, so
// a sleeper either sees the new value (and does not sleep) or is already
// queued when the wake comes. Nothing is lost in between.
//
// Three implementations, chosen at compile time:
//   Linux (default)         syscall(SYS_futex, FUTEX_WAIT_PRIVATE / FUTEX_WAKE_PRIVATE)
//                           on the word itself. No waiter: a wake costs one
//                           syscall (~0.25 us); the library issues wakes only
//                           when a waiter announced itself.
//   MPSCQ_PORTABLE_FUTEX    (forced, or any non-Linux system) no OS headers:
//                           std::atomic<int>::wait/notify for untimed waits;
//                           timed waits sleep on a condition variable from a
//                           small table keyed by the word's address. Cost: a
//                           wake also locks that table slot's mutex and
//                           broadcasts its condition variable (other words
//                           hashed to the slot see a spurious wake-up).
//   the seam's own futex    (MPSCQ_DETAIL_SEAM_FUTEX, set by the model
//                           checker's seam, relacy_seam.hpp) so the checker
//                           sees every wait and wake. (A timed wait may time
//                           out at any point of a model run, so lost-wake
//                           models wait untimed.)
#ifndef MPSCQ_DETAIL_FUTEX_HPP
#define MPSCQ_DETAIL_FUTEX_HPP

#include <chrono>
#include <cstdint>

#include <mpscq/detail/atomic.hpp>

#if !defined(MPSCQ_DETAIL_SEAM_FUTEX) && !defined(MPSCQ_PORTABLE_FUTEX) && !defined(__linux__)
#define MPSCQ_PORTABLE_FUTEX 1
#endif

#if defined(MPSCQ_DETAIL_SEAM_FUTEX)
// the seam brings it
#elif defined(MPSCQ_PORTABLE_FUTEX)
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>

#include <mpscq/detail/fork_hooks.hpp>
#include <mpscq/detail/misuse.hpp>
#else
#include <cerrno>
#include <ctime>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace mpscq::detail {

/// The word a thread sleeps on. 32 bits, as futex(2) requires.
using futex_word = atomic<int>;

/// How a futex_wait ended. Every outcome may be spurious: re-check.
enum class futex_wait_result {
  woken,          // a futex_wake (or, rarely, a spurious wake-up)
  value_changed,  // the word no longer held `expected` when we looked
  timed_out,      // the timeout passed
  interrupted,    // a signal (EINTR)
};

#if defined(MPSCQ_DETAIL_SEAM_FUTEX)

inline futex_wait_result futex_wait(futex_word& word, int expected, std::chrono::nanoseconds timeout) {
  switch (model_futex_wait(word, expected, timeout != std::chrono::nanoseconds::max())) {
    case 0: return futex_wait_result::woken;
    case 2: return futex_wait_result::timed_out;
    case 3: return futex_wait_result::interrupted;
    default: return futex_wait_result::value_changed;
  }
}

inline int futex_wake(futex_word& word, int count) { return model_futex_wake(word, count); }

#elif defined(MPSCQ_PORTABLE_FUTEX)

struct futex_bucket {
  std::mutex mutex;
  std::condition_variable condition;
};

/// The slots of the timed waits: process-wide state. FORK: a fork() while
/// another thread holds a slot's mutex (a timed wait between its checks, a
/// wake between its lock and unlock) would leave it locked forever in the
/// child, and the condition variables may count waiters the child does not
/// have. So the table is a fork hook (detail/fork_hooks.hpp): the prepare
/// handler takes every slot's mutex, the parent releases them, the child
/// releases them and re-initialises the condition variables in place.
struct futex_table
#if MPSCQ_DETAIL_FORK_HOOKS
    final : fork_hook
#endif
{
  static constexpr unsigned size = 16;
  futex_bucket buckets[size];

#if MPSCQ_DETAIL_FORK_HOOKS
  futex_table() noexcept {
    fork_lock lock;
    if (const int rc = lock.add(*this); rc != 0) {
      char message[160];
      std::snprintf(message, sizeof message, "cannot register the fork handlers of the wait table: %s (pthread_atfork)",
                    std::strerror(rc));
      misuse("futex", message);
    }
  }
  void before_fork() noexcept override {
    for (futex_bucket& b : buckets) b.mutex.lock();
  }
  void after_fork_parent() noexcept override {
    for (futex_bucket& b : buckets) b.mutex.unlock();
  }
  void after_fork_child() noexcept override {
    for (futex_bucket& b : buckets) {
      b.mutex.unlock();
      // The parent's sleepers do not exist here: a fresh object, built over
      // the old one without destroying it (no thread waits on it).
      new (&b.condition) std::condition_variable();
    }
  }
#endif
};

/// The condition variable slot for a word (timed waits only).
inline futex_bucket& futex_bucket_for(const futex_word& word) noexcept {
  // Never destroyed (a timed wait or a fork may come during static
  // destruction at exit), and not allocated (no bad_alloc in a noexcept
  // wait): built once in static storage.
  alignas(futex_table) static unsigned char storage[sizeof(futex_table)];
  static futex_table* const table = new (storage) futex_table();
  const auto address = reinterpret_cast<std::uintptr_t>(&word);
  return table->buckets[(address / alignof(futex_word)) % futex_table::size];
}

inline futex_wait_result futex_wait(futex_word& word, int expected, std::chrono::nanoseconds timeout) {
  // [F1] Acquire, here and below: pairs with the waker's release change of the
  // word, so what the waker wrote before it is visible once we see the change.
  if (word.load(std::memory_order_acquire) != expected) return futex_wait_result::value_changed;
  if (timeout == std::chrono::nanoseconds::max()) {
    word.wait(expected, std::memory_order_acquire);  // [F1] returns once the value differs
    return futex_wait_result::woken;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  futex_bucket& bucket = futex_bucket_for(word);
  std::unique_lock<std::mutex> lock(bucket.mutex);
  // Checked under the slot's mutex: a waker changes the word, then takes the
  // same mutex before it broadcasts, so it cannot slip between this check and
  // our wait on the condition variable. [F1]
  while (word.load(std::memory_order_acquire) == expected) {
    if (bucket.condition.wait_until(lock, deadline) == std::cv_status::timeout) {
      // [F1]
      return word.load(std::memory_order_acquire) == expected ? futex_wait_result::timed_out
                                                              : futex_wait_result::woken;
    }
  }
  return futex_wait_result::woken;
}

inline int futex_wake(futex_word& word, int count) {
  (void)count;  // both mechanisms wake every sleeper; callers re-check
  word.notify_all();  // [F2]
  futex_bucket& bucket = futex_bucket_for(word);
  { std::lock_guard<std::mutex> lock(bucket.mutex); }  // see futex_wait
  bucket.condition.notify_all();
  return 0;  // unknown
}

#else  // Linux

static_assert(sizeof(futex_word) == sizeof(std::int32_t) && alignof(futex_word) >= alignof(std::int32_t),
              "futex(2) needs a plain, aligned 32-bit word");

inline futex_wait_result futex_wait(futex_word& word, int expected, std::chrono::nanoseconds timeout) {
  timespec limit{};
  const bool timed = timeout != std::chrono::nanoseconds::max();
  if (timed) {
    if (timeout.count() < 0) timeout = std::chrono::nanoseconds::zero();
    limit.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    limit.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
  }
  // [F3] The kernel reads the word under its hash-bucket lock; FUTEX_WAKE takes
  // the same lock after the waker changed the word (see the header comment).
  const long r = syscall(SYS_futex, reinterpret_cast<std::int32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
                         timed ? &limit : nullptr, nullptr, 0);
  if (r == 0) return futex_wait_result::woken;
  switch (errno) {
    case ETIMEDOUT: return futex_wait_result::timed_out;
    case EINTR: return futex_wait_result::interrupted;
    default: return futex_wait_result::value_changed;  // EAGAIN
  }
}

inline int futex_wake(futex_word& word, int count) {
  const long r = syscall(SYS_futex, reinterpret_cast<std::int32_t*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr,
                         nullptr, 0);
  return r < 0 ? 0 : static_cast<int>(r);
}

#endif

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_FUTEX_HPP
