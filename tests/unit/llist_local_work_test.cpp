// baseline::llist_local_work (the kernel-style llist variant the benchmarks
// compare against): two faults the third adversarial review found, each
// pinned here; both failed on the 0.3 header before the fix.
//   - a capped run() that stops on the parked chain consumed the signal of
//     adds it never took: has_work() false, the eventfd unreadable, work
//     queued (an owner sleeping on the eventfd stalled);
//   - a nested capped run() from inside an item parked its leftover, and the
//     outer run overwrote the parked chain with its own: those items never
//     ran, not even cancelled by close().
#include <mpscq/baseline/llist_local_work.hpp>

#include <poll.h>

#include <vector>

#include <gtest/gtest.h>

namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

struct counted : mpscq::baseline::llist_work {
  int* ran = nullptr;
  int* cancelled = nullptr;
  counted() { func = &counted::run; }
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = static_cast<counted&>(w);
    ++*(st.cancel ? self.cancelled : self.ran);
  }
};

mpscq::local_work_options with_eventfd() {
  mpscq::local_work_options o;
  o.enable_eventfd = true;
  return o;
}

TEST(LlistLocalWork, ACappedRunAnnouncesAddsItDidNotTake) {
  mpscq::baseline::llist_local_work lw(with_eventfd());
  int ran = 0, cancelled = 0;
  counted a, b, c;
  for (counted* x : {&a, &b, &c}) x->ran = &ran, x->cancelled = &cancelled;
  lw.add(a);
  lw.add(b);
  EXPECT_EQ(lw.run(1), 1);  // takes a and b, runs a, parks b
  lw.add(c);                // first_ was empty: signals
  EXPECT_EQ(lw.run(1), 1);  // runs b, stops at its cap: c is still in first_
  EXPECT_TRUE(lw.has_work()) << "c is queued";
  EXPECT_TRUE(readable(lw.event_fd())) << "c is queued";
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_EQ(ran, 3);
  EXPECT_FALSE(lw.has_work());
}

mpscq::baseline::llist_local_work* nested_target = nullptr;
std::vector<counted>* nested_items = nullptr;

struct nester : mpscq::baseline::llist_work {
  int nested_ran = -1;
  nester() { func = &nester::run; }
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    if (st.cancel) return;
    for (counted& x : *nested_items) nested_target->add(x);
    static_cast<nester&>(w).nested_ran = nested_target->run(1);  // nested, capped: parks the rest
  }
};

TEST(LlistLocalWork, ANestedCappedRunDoesNotLoseWhatItParked) {
  mpscq::baseline::llist_local_work lw(with_eventfd());
  int ran = 0, cancelled = 0;
  std::vector<counted> others(4);
  for (counted& x : others) x.ran = &ran, x.cancelled = &cancelled;
  nested_target = &lw;
  nested_items = &others;
  nester first;
  counted after;
  after.ran = &ran;
  after.cancelled = &cancelled;
  lw.add(first);
  lw.add(after);  // taken with `first`: the outer run's own leftover
  lw.run(1);      // runs `first` only (cap 1): `after` parked, then the nested leftover
  EXPECT_EQ(first.nested_ran, 1);
  for (int i = 0; i < 10 && lw.has_work(); ++i) lw.run(100);
  EXPECT_EQ(ran, 5) << "the four nested adds and `after`, each once";
  lw.close();
  EXPECT_EQ(ran + cancelled, 5) << "nothing lost, nothing run twice";
}

}  // namespace
