// Relacy model of mpscq::detail::countdown_wake alone (include/mpscq/detail/
// countdown_wake.hpp), run on the real header through the detail/ seam: with
// MPSCQ_MODEL_RELACY defined wait_nr and the futex word are rl::atomic<int>s
// with their real memory orders, and sleep()/wake() go through rl_futex,
// which allows spurious wakes and reports DEADLOCK when a sleeper is never
// woken - the lost-wake check.
//
//   countdown_wake_model <model> [random N | bound K | full]   (default random 200000)
//
// The unit's contract, as local_work uses it. A waiter that needs `target`
// items loops: take what was published (an acquire load of a counter, the
// "run pass"); enough? stop. Otherwise seq = snapshot(); arm(target - seen);
// re-check the counter with a seq_cst load (like local_work's tail re-check:
// the owner's second half of the push-vs-arm pair, invariant C2); if it
// moved, disarm() and loop; else sleep(seq, untimed); disarm(); loop. Each
// producer publishes one item (a seq_cst fetch_add on the counter, like the
// queue's seq_cst tail exchange), then armed = read() (a seq_cst load); if
// claim(armed, mode): wake(). Under the mutant switch local_read_acquire
// the model's own publish and re-check weaken too (acq_rel and acquire):
// local_work's re-check [L21] weakens with it, its push [Q4] stays seq_cst;
// the model shows the pair without any total order.
//
// Checks:
//   a. no lost wake: the waiter never sleeps for good while the items it
//      needs were published (Relacy: DEADLOCK);
//   b. at most one claim per arming (invariant C3; a plain observer, exact
//      because Relacy switches threads only at model operations): "two wakes
//      claimed for one arming";
//   c. the waiter ends with every item: "the waiter stopped short".
//
// Models (threads in brackets):
//   eager_lazy [waiter for 2; producer 0 lazy, producer 1 eager]
//     Race window R2: the lazy decrement lands between the eager add's read()
//     and its claim. Catches MPSCQ_MUTANT_LOCAL_EAGER_WAKE_CAS (the eager
//     compare-exchange gives up, the count is still 1: DEADLOCK).
//   lazy [waiter for 2; two lazy producers]
//     The countdown proper: only the add that takes 1 -> 0 wakes; stale
//     decrements on a re-arming (R3) wake early at worst.
//   recheck [waiter for 1; one lazy producer]
//     Race window R1 (push vs arm). Catches MPSCQ_MUTANT_LOCAL_PUSH_ARM_RELAXED
//     (read() and arm() relaxed: the producer's read comes first and sees "no
//     waiter", yet the waiter's re-check still reads the old counter:
//     DEADLOCK) and MPSCQ_MUTANT_LOCAL_READ_ACQUIRE (the same pair with
//     acquire / acq_rel orders and no total order over them: store
//     buffering, DEADLOCK). A model whose push and re-check were not seq_cst
//     (the pre-0.3 orders with the new load) deadlocks too: seq_cst is what
//     the pair rests on.
//
// Relacy's own headers warn under -Wall -Wextra; they are included as system
// headers, so the warnings target applies to this file's code only.

#include <chrono>
#include <cstdio>
#include <string>

#include <mpscq/detail/countdown_wake.hpp>  // pulls in relacy through detail/relacy_seam.hpp

#include "model_cli.hpp"

namespace {

namespace detail = mpscq::detail;
using detail::countdown_wake;
using detail::wake_mode;

// A failed check is the model's verdict: "USER ASSERT FAILED (<what>)".
void check(bool ok, const char* what) {
  if (!ok) rl::ctx().fail_test(what, rl::test_result_user_assert_failed, RL_INFO);
}

template <int Producers>
struct wake_model_base {
  countdown_wake cw;
  detail::atomic<int> items{0};  // published items (the queue's tail, reduced to a count)
  int target = Producers;
  // Plain observers (see check b).
  int armings = 0;        // arm() calls so far
  int claims_this = 0;    // successful claims since the last arm()
  int seen_at_end = 0;

  void waiter() {
    int seen = 0;
    for (;;) {
      // The run pass. Acquire: pairs with the producers' publication.
      seen = items.load(std::memory_order_acquire);
      if (seen >= target) break;
      const int seq = cw.snapshot();
      cw.arm(target - seen);
      ++armings;  // no model operation since arm(): exact
      claims_this = 0;
      // The re-check: seq_cst, as local_work's [L21] (C2).
      if (items.load(mpscq::detail::mutant::local_read_acquire ? std::memory_order_acquire
                                                               : std::memory_order_seq_cst) != seen) {
        cw.disarm();
        continue;
      }
      cw.sleep(seq, std::chrono::nanoseconds::max());  // untimed: a lost wake is a DEADLOCK
      cw.disarm();
    }
    seen_at_end = seen;
  }

  void producer(wake_mode mode) {
    // seq_cst, like the queue's tail exchange [Q4].
    items.fetch_add(1, mpscq::detail::mutant::local_read_acquire ? std::memory_order_acq_rel
                                                                 : std::memory_order_seq_cst);
    const int armed = cw.read();
    if (cw.claim(armed, mode)) {
      ++claims_this;  // no model operation since the claim: exact
      check(claims_this == 1, "two wakes claimed for one arming");
      cw.wake();
    }
  }

  void finish() { check(seen_at_end == target, "the waiter stopped short"); }
};

struct eager_lazy : rl::test_suite<eager_lazy, 3>, wake_model_base<2> {
  void thread(unsigned index) {
    if (index == 0) return waiter();
    producer(index == 1 ? wake_mode::lazy : wake_mode::eager);
  }
  void after() { finish(); }
};

struct lazy : rl::test_suite<lazy, 3>, wake_model_base<2> {
  void thread(unsigned index) {
    if (index == 0) return waiter();
    producer(wake_mode::lazy);
  }
  void after() { finish(); }
};

struct recheck : rl::test_suite<recheck, 2>, wake_model_base<1> {
  void thread(unsigned index) {
    if (index == 0) return waiter();
    producer(wake_mode::lazy);
  }
  void after() { finish(); }
};

constexpr model_cli::model models[] = {{"eager_lazy", &model_cli::simulate<eager_lazy>},
                                        {"lazy", &model_cli::simulate<lazy>},
                                        {"recheck", &model_cli::simulate<recheck>}};

}  // namespace

int main(int argc, char** argv) { return model_cli::run_main(argc, argv, "countdown-wake-model", models, 200000); }
