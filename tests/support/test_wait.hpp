// tests/support/test_wait.hpp - waiting for an event in a test, with a hang
// guard (never a timed check: the limit only turns a hang into a failure).
#ifndef MPSCQ_TESTS_SUPPORT_TEST_WAIT_HPP
#define MPSCQ_TESTS_SUPPORT_TEST_WAIT_HPP

#include <chrono>
#include <thread>

namespace mpscq_test {

// Polls pred() every millisecond; false if it is still false after `limit`.
template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(20000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace mpscq_test

#endif  // MPSCQ_TESTS_SUPPORT_TEST_WAIT_HPP
