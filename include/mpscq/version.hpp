// mpscq/version.hpp - the library's version, and the C++20 floor.
//
// WHAT IT IS
//   The release this copy of mpscq is, as macros a program can test in #if:
//     MPSCQ_VERSION_MAJOR, MPSCQ_VERSION_MINOR, MPSCQ_VERSION_PATCH
//     MPSCQ_VERSION          MAJOR * 10000 + MINOR * 100 + PATCH (0.3.0 is 300)
//     MPSCQ_VERSION_STRING   "MAJOR.MINOR.PATCH"
//   They agree with the CMake package's version (find_package(mpscq 0.2)),
//   mpscq.pc's Version and the CHANGELOG's latest release; a test checks it.
//   0.x: the API may still change between minor versions (CHANGELOG.md).
//
// THE C++20 FLOOR
//   Every public header includes this one before any other mpscq header, so a
//   translation unit compiled as C++17 or older stops here with one error that
//   names C++20, instead of many about concepts and atomics further down.
//   The error is the name of a header that does not exist: a missing include
//   is fatal in every compiler, where #error would let the compiler go on and
//   bury the message under the errors that follow it.
#ifndef MPSCQ_VERSION_HPP
#define MPSCQ_VERSION_HPP

#if defined(_MSVC_LANG)
#define MPSCQ_DETAIL_CPLUSPLUS _MSVC_LANG  // MSVC's __cplusplus says 199711L without /Zc:__cplusplus
#else
#define MPSCQ_DETAIL_CPLUSPLUS __cplusplus
#endif
#if MPSCQ_DETAIL_CPLUSPLUS <= 201703L
// mpscq needs C++20: compile with -std=c++20 or later (MSVC: /std:c++20).
#include "mpscq requires C++20 or later: compile with -std=c++20 (or /std:c++20)"
#endif
#undef MPSCQ_DETAIL_CPLUSPLUS

#define MPSCQ_VERSION_MAJOR 0
#define MPSCQ_VERSION_MINOR 3
#define MPSCQ_VERSION_PATCH 0
#define MPSCQ_VERSION (MPSCQ_VERSION_MAJOR * 10000 + MPSCQ_VERSION_MINOR * 100 + MPSCQ_VERSION_PATCH)
#define MPSCQ_VERSION_STRING "0.3.0"

#endif  // MPSCQ_VERSION_HPP
