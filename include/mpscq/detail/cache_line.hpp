// mpscq/detail/cache_line.hpp - the cache-line size the library pads to.
//
// Internal header. 64 bytes on every x86-64 and most ARM64 parts; a build may
// override it with -DMPSCQ_CACHE_LINE=128 (e.g. Apple M-series, where the
// adjacent-line prefetcher makes 128 the size that avoids false sharing).
#ifndef MPSCQ_DETAIL_CACHE_LINE_HPP
#define MPSCQ_DETAIL_CACHE_LINE_HPP

#include <cstddef>

#ifndef MPSCQ_CACHE_LINE
#define MPSCQ_CACHE_LINE 64
#endif

namespace mpscq::detail {

inline constexpr std::size_t cache_line = MPSCQ_CACHE_LINE;
static_assert((cache_line & (cache_line - 1)) == 0, "MPSCQ_CACHE_LINE must be a power of two");

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_CACHE_LINE_HPP
