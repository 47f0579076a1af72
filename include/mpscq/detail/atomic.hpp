// mpscq/detail/atomic.hpp - the one seam through which the library touches
// atomics, spins and thread identity.
//
// Internal header: not part of the public API, not general purpose.
//
// In a normal build `detail::atomic<T>` *is* `std::atomic<T>`. When a model
// build defines MPSCQ_MODEL_RELACY, the same names map onto the Relacy model
// checker (relacy_seam.hpp), so the checker runs the real headers, not a copy.
// Library code therefore uses only what both sides provide: load, store,
// exchange, compare_exchange_strong, fetch_add, fetch_sub, fetch_or,
// fetch_and, each with an explicit std::memory_order.
#ifndef MPSCQ_DETAIL_ATOMIC_HPP
#define MPSCQ_DETAIL_ATOMIC_HPP

#if defined(MPSCQ_MODEL_RELACY)
#include <mpscq/detail/relacy_seam.hpp>
#else

#include <atomic>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace mpscq::detail {

template <class T>
using atomic = std::atomic<T>;

/// A CPU hint inside a short bounded spin (pause on x86).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/// Give the CPU away: used where the library waits for another thread that
/// may have been preempted (an in-flight push, an in-flight add).
inline void yield_thread() noexcept { std::this_thread::yield(); }

/// Identity of the calling thread, for owner checks.
using thread_id = std::thread::id;
inline thread_id current_thread() noexcept { return std::this_thread::get_id(); }
/// A thread_id that names no thread (never equal to current_thread()).
inline thread_id no_thread() noexcept { return thread_id{}; }

/// What the seam provides besides atomics (relacy_seam.hpp has the model
/// build's answers). Other headers ask these, never which build this is:
///   model_build             true only under the model checker: wait loops
///                           only yield, thread_locals are not meaningful
///                           (every modelled thread runs on one OS thread);
///   model_fail(what)        a misuse becomes the model's verdict (no-op here);
///   model_thread_index()    the modelled thread's number (0 here);
///   MPSCQ_DETAIL_NATIVE_THREADS  1: real OS threads, pthreads, exceptions
///                           (the default fallback thread exists);
///   MPSCQ_DETAIL_SEAM_FUTEX      defined when the seam brings its own futex
///                           (futex.hpp then uses model_futex_wait/wake).
inline constexpr bool model_build = false;
inline void model_fail(const char* what) noexcept { (void)what; }
/// The modelled thread's index (0, 1, ...); only meaningful when
/// model_build (0 here).
inline unsigned model_thread_index() noexcept { return 0; }

}  // namespace mpscq::detail

#define MPSCQ_DETAIL_NATIVE_THREADS 1

#endif  // MPSCQ_MODEL_RELACY
#endif  // MPSCQ_DETAIL_ATOMIC_HPP
