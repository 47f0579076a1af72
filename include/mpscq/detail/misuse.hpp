// mpscq/detail/misuse.hpp - the library's one misuse policy.
//
// Internal header: not part of the public API, not general purpose.
//
// A caller that breaks a documented rule (owner-only call from another
// thread, a node pushed while still queued, an item with no function, run(0),
// destroying an object from inside its own item, ...) has a bug, not a
// condition to recover from. Every such check in every component ends here:
// one line on stderr, "mpscq::<component>: <what>", then std::abort(). Cheap
// checks (a compare, a relaxed load of the owner's own word) run in every
// build; checks that cost more run only when MPSCQ_DEBUG is defined. In model
// builds the message becomes the Relacy verdict, so a model can show which
// check fired. See docs/api.md, "Contracts".
#ifndef MPSCQ_DETAIL_MISUSE_HPP
#define MPSCQ_DETAIL_MISUSE_HPP

#include <cstdio>
#include <cstdlib>

#include <mpscq/detail/atomic.hpp>

namespace mpscq::detail {

/// Reports a broken usage rule of `component` and stops. Never returns.
/// Async-signal-safe apart from the stdio call (which only runs on misuse).
[[noreturn]] inline void misuse(const char* component, const char* what) noexcept {
  std::fprintf(stderr, "mpscq::%s: %s\n", component, what);
  std::fflush(stderr);
  model_fail(what);  // under the model checker: its verdict (does not return)
  std::abort();
}

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_MISUSE_HPP
