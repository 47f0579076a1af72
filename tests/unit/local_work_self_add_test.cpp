// local_work: an owner that adds to itself from inside its own pass, with the
// eventfd enabled and local_work_options::defer_own_signals (local_work_core.hpp
// [L28]); without the option, such an add still signals at once. Such an add does not write the
// eventfd: the pass either takes the item or announces it at its end. What
// must hold, for both variants (mpscq::local_work and the llist baseline):
//   - a pass that took every item leaves the eventfd unreadable and
//     has_work() false (before [L28] the self-add left a stale readable
//     eventfd behind: an io_thread then paid a write(2), a wasted read and an
//     extra pass per chained post);
//   - a pass that leaves a self-added item behind - cap reached, also when
//     the item that made the cap is the one that added it, after the pop
//     that emptied the queue - leaves the eventfd readable and has_work()
//     true (the deferred announcement must not be lost);
//   - adds from other threads, and the owner's adds outside a pass, still
//     signal at once.
#include <mpscq/baseline/llist_local_work.hpp>
#include <mpscq/local_work.hpp>

#include <poll.h>

#include <chrono>
#include <thread>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

// Item i, when it runs, adds item i+1 to the same object (a chain of
// self-posts), up to `last`.
template <class LW>
struct chain_item : mpscq::baseline::llist_work {
  LW* lw = nullptr;
  chain_item* next = nullptr;
  int* ran = nullptr;
  chain_item() { func = &chain_item::run; }
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = static_cast<chain_item&>(w);
    ++*self.ran;
    if (!st.cancel && self.next != nullptr) self.lw->add(*self.next, mpscq::wake::eager);
  }
};

template <class LW>
struct chain {
  chain(LW& lw, int n) : items(static_cast<std::size_t>(n)) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      items[i].lw = &lw;
      items[i].ran = &ran;
      items[i].next = i + 1 < items.size() ? &items[i + 1] : nullptr;
    }
  }
  std::vector<chain_item<LW>> items;
  int ran = 0;
};

template <class LW>
class LocalWorkSelfAdd : public ::testing::Test {
 protected:
  static mpscq::local_work_options with_eventfd() {
    mpscq::local_work_options o;
    o.enable_eventfd = true;
    o.defer_own_signals = true;
    return o;
  }
};
using variants = ::testing::Types<mpscq::local_work, mpscq::baseline::llist_local_work>;
TYPED_TEST_SUITE(LocalWorkSelfAdd, variants);

TYPED_TEST(LocalWorkSelfAdd, APassThatTakesTheSelfAddedItemsLeavesNothingBehind) {
  TypeParam lw(TestFixture::with_eventfd());
  chain<TypeParam> c(lw, 10);
  lw.add(c.items[0]);
  ASSERT_TRUE(readable(lw.event_fd()));
  // mpscq::local_work's pass pops until the queue is empty, so it takes the
  // whole chain; the llist baseline takes one batch (llist_del_all) per run,
  // so each self-added item is left to the next run - and announced.
  int total = 0;
  while (total < 10) {
    const int n = lw.run(100);
    ASSERT_GT(n, 0);
    total += n;
    if constexpr (std::is_same_v<TypeParam, mpscq::local_work>) {
      EXPECT_EQ(n, 10) << "the pass runs the whole chain";
    }
    EXPECT_EQ(readable(lw.event_fd()), total < 10) << "after " << total << " (no stale signal once all ran)";
    EXPECT_EQ(lw.has_work(), total < 10) << "after " << total;
  }
  EXPECT_EQ(c.ran, 10);
}

TYPED_TEST(LocalWorkSelfAdd, AWaitThatTakesTheSelfAddedItemsLeavesNothingBehind) {
  TypeParam lw(TestFixture::with_eventfd());
  chain<TypeParam> c(lw, 10);
  lw.add(c.items[0]);
  EXPECT_EQ(lw.wait(10, 5s), 10);
  EXPECT_FALSE(readable(lw.event_fd()));
  EXPECT_FALSE(lw.has_work());
}

TYPED_TEST(LocalWorkSelfAdd, ASelfAddedItemLeftBehindIsAnnounced) {
  // Every cap, so the pass ends on each position of the chain - among them
  // right after the item that emptied the queue added the next one.
  for (int cap = 1; cap <= 5; ++cap) {
    TypeParam lw(TestFixture::with_eventfd());
    chain<TypeParam> c(lw, 6);
    lw.add(c.items[0]);
    int total = 0;
    while (total < 6) {
      const int n = lw.run(cap);
      ASSERT_GT(n, 0) << "cap " << cap << ": the chain stalled after " << total;
      total += n;
      if (total < 6) {
        EXPECT_TRUE(readable(lw.event_fd())) << "cap " << cap << ": a self-added item left behind after " << total;
        EXPECT_TRUE(lw.has_work()) << "cap " << cap << " after " << total;
      }
    }
    EXPECT_EQ(c.ran, 6);
    EXPECT_FALSE(readable(lw.event_fd())) << "cap " << cap;
    EXPECT_FALSE(lw.has_work()) << "cap " << cap;
  }
}

TYPED_TEST(LocalWorkSelfAdd, AddsOutsideAPassStillSignalAtOnce) {
  TypeParam lw(TestFixture::with_eventfd());
  chain<TypeParam> own(lw, 1);
  chain<TypeParam> other(lw, 1);
  EXPECT_EQ(lw.run(1), 0);  // this thread is the owner now
  lw.add(own.items[0]);     // the owner, outside a pass
  EXPECT_TRUE(readable(lw.event_fd()));
  EXPECT_TRUE(lw.has_work());
  EXPECT_EQ(lw.run(10), 1);
  EXPECT_FALSE(readable(lw.event_fd()));
  std::thread([&] { lw.add(other.items[0]); }).join();  // another thread
  EXPECT_TRUE(readable(lw.event_fd()));
  EXPECT_EQ(lw.run(10), 1);
}

TYPED_TEST(LocalWorkSelfAdd, CloseAfterADeferredAnnouncementLeavesNothing) {
  TypeParam lw(TestFixture::with_eventfd());
  chain<TypeParam> c(lw, 3);
  lw.add(c.items[0]);
  EXPECT_EQ(lw.run(1), 1);  // item 0 added item 1: left behind, announced
  EXPECT_TRUE(readable(lw.event_fd()));
  lw.close();  // item 1 runs cancelled (adds nothing)
  EXPECT_EQ(c.ran, 2);
  EXPECT_FALSE(lw.has_work());
}

// A nested pass ends with the follow-up of an own add still queued while the
// pass around it is blocked inside an item that polls the eventfd (a nested
// event loop): the nested pass announces it (the second adversarial review:
// the eventfd stayed silent and has_work() false while the chain's next item
// was queued, as long as the outer pass was blocked).
TYPED_TEST(LocalWorkSelfAdd, ANestedPassAnnouncesWhatItLeavesBehind) {
  TypeParam lw(TestFixture::with_eventfd());
  chain<TypeParam> c(lw, 6);
  struct nested_loop : mpscq::baseline::llist_work {
    TypeParam* lw = nullptr;
    mpscq::baseline::llist_work* first = nullptr;
    int rounds = 0;
    nested_loop() { func = &nested_loop::run; }
    static void run(mpscq::work& w, mpscq::run_state st) noexcept {
      auto& self = static_cast<nested_loop&>(w);
      if (st.cancel) return;
      // The chain's head comes from another thread (an own add followed by
      // a poll is the option's documented price); each chain item then adds
      // the next from inside the nested run(1) below.
      std::thread producer([&self] { self.lw->add(*self.first); });
      for (int i = 0; i < 6; ++i) {
        pollfd p{self.lw->event_fd(), POLLIN, 0};
        if (::poll(&p, 1, 2000) != 1) break;  // the eventfd never said so: rounds stays short
        if (self.lw->run(1) == 1) ++self.rounds;
      }
      producer.join();
    }
  } loop;
  loop.lw = &lw;
  loop.first = &c.items[0];
  lw.add(loop);
  lw.run(1);
  EXPECT_EQ(loop.rounds, 6) << "every item of the chain was announced to the nested loop";
  EXPECT_EQ(c.ran, 6);
}

TYPED_TEST(LocalWorkSelfAdd, WithoutTheOptionAnOwnAddSignalsAtOnce) {
  mpscq::local_work_options o;
  o.enable_eventfd = true;
  TypeParam lw(o);
  struct probe : mpscq::baseline::llist_work {
    TypeParam* lw = nullptr;
    mpscq::baseline::llist_work next;
    bool saw_work = false, saw_readable = false;
    probe() {
      func = &probe::run;
      next.func = [](mpscq::work&, mpscq::run_state) noexcept {};
    }
    static void run(mpscq::work& w, mpscq::run_state) noexcept {
      auto& self = static_cast<probe&>(w);
      self.lw->add(self.next);
      self.saw_work = self.lw->has_work();
      self.saw_readable = readable(self.lw->event_fd());
    }
  } p;
  p.lw = &lw;
  lw.add(p);
  EXPECT_EQ(lw.run(1), 1);
  EXPECT_TRUE(p.saw_work) << "has_work() shows the owner's own add inside the pass";
  EXPECT_TRUE(p.saw_readable) << "and the eventfd too (a nested loop may poll it)";
  EXPECT_EQ(lw.run(10), 1);
}

}  // namespace
