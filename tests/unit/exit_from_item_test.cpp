// exit() called from inside user code that an object called on this thread,
// and the "am I inside my own run" checks (the adversarial review of issue
// 18, findings F1, F2, F3 and F6; docs/api.md 6.3).
//
// The rule: an object destroyed (or closed) on a thread that has a frame of
// it on its callback chain (a run, or a scheduler call / fallback hand-off:
// detail/callback_guard.hpp) pushed BEFORE the thread's exit phase began is
// being torn down by exit() called from inside that user code: the code
// below never resumes. A frame pushed during the exit phase (a run that a
// static destructor started) returns as usual: destroying the object from
// inside it is the ordinary misuse, reported.
//
//   F1  exit() on the default fallback thread while another task_work's
//       fallback job is queued behind the running one, on that same thread:
//       its destructor waited for that job for ever. Now it runs the
//       job's cycle itself (cancelled). Without exit(), the same destruction
//       is reported instead of hanging.
//   F2  exit() from an item that an inline scheduler (or an inline fallback
//       executor) runs: it aborted ("destroyed from inside its scheduler or
//       fallback hand-off"); the add below is still counted in the gate, so
//       a plain wait for the gate would hang. Now exit() finishes. Also:
//       exit() from the scheduler itself, close() and run() reached during
//       such an exit.
//   F3  a static destructor (after exit() began) runs a local_work /
//       task_work whose item destroys it: taken for exit() from an item, not
//       reported (a use after free). Now reported, also when the exit-phase
//       run is nested in a run that did call exit().
//   F6  a fork()ed child's new thread gets the id of a parent thread and was
//       taken for the active runner: wrong reports (and, with that fixed, a
//       hang, because a hand-over of the same job forgot the lost one). Now
//       the documented report.
//
// Each case runs in a death-test child (a fresh process: exit() and the
// static destructors are its own); items write with write(2), so their text
// survives exit(). A hang guard (alarm) turns a hang into a failure.
#include <mpscq/fallback_executor.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/task_work.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#if defined(__SANITIZE_THREAD__)
// The fork cases start threads in the child of a multi-threaded fork, which
// TSan refuses by default (see fallback_test.cpp).
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }
#endif

namespace {

using namespace std::chrono_literals;
using mpscq::run_state;
using mpscq::task_work;
using mpscq::work;

// Hang guard for a death-test child: a hang is a SIGALRM death, never a pass.
constexpr unsigned hang_guard_s = 20;

void say(const char* text) { (void)!::write(2, text, std::strlen(text)); }

// Says "<name> ran" or "<name> cancelled"; with `code` >= 0 then calls
// exit(code) (cancelled or not); with `then` set it first adds `then` to
// `target`; with `victim` set it first deletes it.
struct say_item : work {
  const char* name = "";
  int code = -1;
  task_work* target = nullptr;
  work* then = nullptr;
  say_item() { func = &say_item::run; }
  explicit say_item(const char* n, int c = -1) : say_item() {
    name = n;
    code = c;
  }
  static void run(work& w, run_state st) noexcept {
    auto& self = static_cast<say_item&>(w);
    say(self.name);
    say(st.cancel ? " cancelled\n" : " ran\n");
    if (self.target != nullptr && self.then != nullptr) self.target->add(*self.then);
    if (self.code >= 0) std::exit(self.code);
  }
};

class ExitFromUserCode : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// --- F3: runs that began during exit() are not exit() from an item ---------

mpscq::local_work* exit_phase_lw = nullptr;
task_work* exit_phase_tw = nullptr;

struct deleter_item : work {
  bool local = true;
  deleter_item() { func = &deleter_item::run; }
  static void run(work& w, run_state) noexcept {
    say("deleting\n");
    if (static_cast<deleter_item&>(w).local) {
      delete exit_phase_lw;
    } else {
      delete exit_phase_tw;
    }
  }
};

// The review's case (exitphase_misuse.cpp, mode 0): a static object's
// destructor, run by exit() (or after main returns), drains a heap
// local_work whose item deletes it. That run began during the exit phase and
// goes on after the item: reported, as outside the exit phase.
struct drains_local_work_at_exit {
  ~drains_local_work_at_exit() { exit_phase_lw->run(10); }
};

TEST_F(ExitFromUserCode, ExitPhaseRunOfALocalWorkWhoseItemDestroysItIsReported) {
  auto body = [] {
    static deleter_item d;
    static drains_local_work_at_exit drainer;
    exit_phase_lw = new mpscq::local_work();
    exit_phase_lw->run(0);  // this thread owns it
    exit_phase_lw->add(d);
    std::exit(0);  // as main returning
  };
  EXPECT_DEATH(body(), "mpscq::local_work: destroyed from inside one of its own items");
}

// The same kind, nested: an item of a run that began before exit() calls
// exit(); a static destructor then runs the same local_work again (a nested
// run, which local_work allows), and that run's item deletes it. The run
// that would touch the freed object next is the inner one, which began
// during the exit phase: reported (the innermost run decides, not the
// outermost).
struct runs_local_work_at_exit {
  ~runs_local_work_at_exit() { exit_phase_lw->run(10); }
};

TEST_F(ExitFromUserCode, NestedExitPhaseRunInsideAnExitingRunIsReported) {
  auto body = [] {
    static deleter_item d;
    static say_item quit("quit", 0);
    static runs_local_work_at_exit runner;
    exit_phase_lw = new mpscq::local_work();
    exit_phase_lw->add(quit);
    exit_phase_lw->add(d);
    exit_phase_lw->run(10);  // quit calls exit(0); the static destructor runs d
  };
  EXPECT_DEATH(body(), "mpscq::local_work: destroyed from inside one of its own items");
}

}  // namespace
