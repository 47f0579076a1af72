// tests/support/test_coroutines.hpp - the minimal coroutine type the unit
// tests await mpscq's awaitables from (coro.hpp ships none on purpose).
#ifndef MPSCQ_TESTS_SUPPORT_TEST_COROUTINES_HPP
#define MPSCQ_TESTS_SUPPORT_TEST_COROUTINES_HPP

#include <coroutine>
#include <exception>
#include <utility>

namespace mpscq_test {

// A fire-and-forget coroutine that starts suspended: start() runs it up to
// its first suspension (or its end) and gives up the handle; the frame frees
// itself at the end (final_suspend never suspends). Starting it explicitly
// keeps the ramp function out of any race with the threads that resume it.
struct spawned {
  struct promise_type {
    spawned get_return_object() noexcept {
      return spawned(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  explicit spawned(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  spawned(spawned&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  spawned& operator=(spawned&&) = delete;
  ~spawned() {
    if (h_) h_.destroy();  // never started
  }
  void start() && { std::exchange(h_, {}).resume(); }

 private:
  std::coroutine_handle<promise_type> h_;
};

}  // namespace mpscq_test

#endif  // MPSCQ_TESTS_SUPPORT_TEST_COROUTINES_HPP
