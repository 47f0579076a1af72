// Unit tests for detail::backoff's deadline-bounded pause (local_work::wait()
// passes its deadline, so a producer stuck inside its push cannot make a
// wait(1, 10us) return 1.7 ms late: second adversarial review of issue 19).
// Structural checks only (rounds taken), no timing assertions.
#include <mpscq/detail/backoff.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace {

using mpscq::detail::backoff;
using clock_type = std::chrono::steady_clock;

// Past the yield rounds, every pause() sleeps and advances the doubling.
// A pause bounded by a deadline that has passed only yields: it takes no
// round (so it does not sleep the next, longer step either).
TEST(Backoff, APassedDeadlineOnlyYields) {
  backoff b;
  for (int i = 0; i < 16; ++i) b.pause();  // the yield rounds
  const unsigned before = b.rounds();
  b.pause(clock_type::now() - std::chrono::milliseconds(1));
  EXPECT_EQ(b.rounds(), before);
}

// With no deadline (time_point::max()) the bounded pause is pause().
TEST(Backoff, NoDeadlineIsTheUsualPause) {
  backoff a, b;
  for (int i = 0; i < 18; ++i) {
    a.pause();
    b.pause(clock_type::time_point::max());
  }
  EXPECT_EQ(a.rounds(), b.rounds());
}

// A deadline closer than the next step cuts the sleep and takes no round; a
// distant one sleeps the full step and advances.
TEST(Backoff, ANearDeadlineCutsTheSleep) {
  backoff b;
  for (int i = 0; i < 16; ++i) b.pause();
  const unsigned before = b.rounds();
  b.pause(clock_type::now() + std::chrono::microseconds(1));  // next step is 10 us
  EXPECT_EQ(b.rounds(), before);
  b.pause(clock_type::now() + std::chrono::seconds(10));
  EXPECT_EQ(b.rounds(), before + 1);
}

}  // namespace
