// bench/valgrind.hpp - callgrind client requests, or nothing without valgrind.
#ifndef MPSCQ_BENCH_VALGRIND_HPP
#define MPSCQ_BENCH_VALGRIND_HPP

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define MPSCQ_BENCH_HAVE_VALGRIND 1
#else
#define MPSCQ_BENCH_HAVE_VALGRIND 0
#endif

namespace bench::vg {

inline bool available() noexcept { return MPSCQ_BENCH_HAVE_VALGRIND != 0; }

inline bool running() noexcept {
#if MPSCQ_BENCH_HAVE_VALGRIND
  return RUNNING_ON_VALGRIND != 0;
#else
  return false;
#endif
}

inline void toggle_collect() noexcept {
#if MPSCQ_BENCH_HAVE_VALGRIND
  CALLGRIND_TOGGLE_COLLECT;
#endif
}

inline void dump(const char* label) noexcept {
#if MPSCQ_BENCH_HAVE_VALGRIND
  CALLGRIND_DUMP_STATS_AT(label);
#else
  (void)label;
#endif
}

}  // namespace bench::vg

#endif  // MPSCQ_BENCH_VALGRIND_HPP
