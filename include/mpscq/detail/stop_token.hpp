// mpscq/detail/stop_token.hpp - whether this standard library has
// std::stop_token (C++20's <stop_token>, __cpp_lib_jthread).
//
// Internal header: not part of the public API, not general purpose.
//
// The library's floor is C++20 with GCC 12 / libstdc++ and clang 14, also
// with libc++ 14 - which has no <stop_token> (libc++ ships it from 17 on,
// complete in 18). The overloads that take a std::stop_token (local_work's
// waits and waiting adds, task_work's waiting adds, resume_on) therefore
// exist only where MPSCQ_HAS_STOP_TOKEN is 1; every other call is there in
// every build. Test with `#if MPSCQ_HAS_STOP_TOKEN`.
#ifndef MPSCQ_DETAIL_STOP_TOKEN_HPP
#define MPSCQ_DETAIL_STOP_TOKEN_HPP

#include <version>

#include <mpscq/detail/atomic.hpp>

// Not in model builds (MPSCQ_DETAIL_NATIVE_THREADS is 1 only with
// real threads): std::stop_token's state is not a Relacy atomic.
#if defined(__cpp_lib_jthread) && __cpp_lib_jthread >= 201911L && MPSCQ_DETAIL_NATIVE_THREADS
#include <stop_token>
#define MPSCQ_HAS_STOP_TOKEN 1
#else
#define MPSCQ_HAS_STOP_TOKEN 0
#endif

#endif  // MPSCQ_DETAIL_STOP_TOKEN_HPP
