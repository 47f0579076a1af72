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

bool refuse(task_work&) { return false; }

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

// --- F1: exit() on the default fallback thread ----------------------------

// The review's case (exit_fallback_hang.cpp): item A of tw1 runs on the
// default fallback thread, adds B to tw2 (refused: tw2's job is queued behind
// A's, on this same thread), then exits. ~tw2 waited for that job for ever;
// now it serves the cycle itself: B runs cancelled, nothing is lost.
TEST_F(ExitFromUserCode, ExitOnTheFallbackThreadServesAJobQueuedThere) {
  auto body = [] {
    alarm(hang_guard_s);
    static say_item b("B");
    static say_item a("A", 21);
    static task_work tw1(refuse);  // constructed after the items: destroyed before them
    static task_work tw2(refuse);
    a.target = &tw2;
    a.then = &b;
    tw1.add(a);
    for (;;) std::this_thread::sleep_for(1s);  // exit() comes from the fallback thread
  };
  EXPECT_EXIT(body(), ::testing::ExitedWithCode(21), "^A cancelled\nB cancelled\n$");
}

// The same destruction without exit(): a job on the default fallback thread
// destroys a task_work whose own job is queued behind it, on that thread. It
// used to wait for itself for ever; now it is reported.
struct destroy_item : work {
  task_work* victim = nullptr;
  work* then = nullptr;
  destroy_item() { func = &destroy_item::run; }
  static void run(work& w, run_state) noexcept {
    auto& self = static_cast<destroy_item&>(w);
    self.victim->add(*self.then);  // refused: the victim's job is queued behind us
    delete self.victim;
  }
};

TEST_F(ExitFromUserCode, DestroyingOnTheFallbackThreadWhileItsJobIsQueuedThereIsReported) {
  auto body = [] {
    alarm(hang_guard_s);
    static say_item b("B");
    static destroy_item d;
    static task_work tw1(refuse);
    d.victim = new task_work(refuse);
    d.then = &b;
    tw1.add(d);
    for (;;) std::this_thread::sleep_for(1s);
  };
  EXPECT_DEATH(body(), "mpscq::task_work: destroyed on the default fallback thread, by a job it runs, while its own "
                       "fallback job is queued behind that job");
}

// exit() from a fallback item that first added to its own task_work: the
// new cycle's job is queued on this thread, behind the running one. It used
// to be reported (the destructor could not know where the job waits); with
// the default executor it is known: that job never runs, and exit() goes on.
TEST_F(ExitFromUserCode, ExitFromAFallbackItemWhoseNextJobIsQueuedOnThatThread) {
  auto body = [] {
    alarm(hang_guard_s);
    static say_item after("after");
    static say_item quit("quit", 22);
    static task_work tw(refuse);
    quit.target = &tw;
    quit.then = &after;
    tw.add(quit);
    for (;;) std::this_thread::sleep_for(1s);
  };
  EXPECT_EXIT(body(), ::testing::ExitedWithCode(22), "^quit cancelled\n$");
}

// exit() from an item of a target run whose own fallback job waits on the
// default fallback thread - another, live thread (the second review's
// exit_default_queued2.cpp: the scheduler refuses once the program stops).
// That thread runs the job, which finds the run slot held by the run below
// us and hands off; the destructor waits for it. It used to abort ("queued
// ... on a fallback executor other than the default one"). B is left
// unrun: the run below holds the queue and never resumes.
std::atomic<bool> stopping{false};
TEST_F(ExitFromUserCode, ExitFromAnItemWhileItsJobWaitsOnTheLiveDefaultFallbackThread) {
  auto body = [] {
    alarm(hang_guard_s);
    static say_item b("B");
    static say_item a("A", 27);
    static task_work tw([](task_work&) { return !stopping.load(); });
    a.target = &tw;  // A's add of B is refused: a job on the default fallback thread
    a.then = &b;
    tw.add(a);
    stopping.store(true);
    while (tw.run().more) {
    }
  };
  EXPECT_EXIT(body(), ::testing::ExitedWithCode(27), "^A ran\n$");
}

// exit() from an item that close()'s own drain runs (the second review's
// exit_in_close.cpp): the drain below never resumes, so the destructor that
// exit() runs drains what is still queued - B and C run cancelled, as after
// exit() from an item of a run or wait. They used to be left unrun (the
// destructor drained only on the first close()).
TEST_F(ExitFromUserCode, ExitFromAnItemOfCloseDrainsTheRest) {
  auto body = [] {
    alarm(hang_guard_s);
    static say_item c("C");
    static say_item b("B");
    static say_item a("A", 28);
    static mpscq::local_work lw;
    lw.add(a);
    lw.add(b);
    lw.add(c);
    lw.close();  // A runs cancelled and calls exit()
  };
  EXPECT_EXIT(body(), ::testing::ExitedWithCode(28), "^A cancelled\nB cancelled\nC cancelled\n$");
}

// --- F2: exit() under an inline scheduler or fallback executor -------------

// The review's case (exit_inline_sched.cpp), with an item queued behind by
// an inline hand-off: the add below is still inside the gate, on this
// thread. exit() finishes; the item behind is not run (the run below holds
// the queue, as in a target run).
TEST_F(ExitFromUserCode, ExitFromAnItemOfAnInlineScheduler) {
  auto body = [] {
    alarm(hang_guard_s);
    static say_item after("after");
    static say_item quit("quit", 23);
    static task_work tw([](task_work& t) {
      while (t.run().more) {
      }
      return true;
    });
    quit.target = &tw;  // its add starts a cycle: the scheduler's run() hands it to the run below
    quit.then = &after;
    tw.add(quit);
    say("add returned\n");
  };
  EXPECT_EXIT(body(), ::testing::ExitedWithCode(23), "^quit ran\n$");
}

// The same with a fallback executor that runs the job inside execute().
struct inline_executor final : mpscq::fallback_executor {
  void execute(work& job) noexcept override { job(run_state{true}); }
};

TEST_F(ExitFromUserCode, ExitFromAnItemOfAnInlineFallbackExecutor) {
  auto body = [] {
    alarm(hang_guard_s);
    static inline_executor ex;
    static say_item quit("quit", 24);
    static task_work tw(refuse, ex);
    tw.add(quit);
    say("add returned\n");
  };
  EXPECT_EXIT(body(), ::testing::ExitedWithCode(24), "^quit cancelled\n$");
}

// A scheduler that calls exit() itself (no run below): the cycle it was
// handed is dropped with the scheduler call, so the destructor runs it,
// cancelled, as a cycle whose schedule the target dropped.
TEST_F(ExitFromUserCode, ExitFromTheScheduler) {
  auto body = [] {
    alarm(hang_guard_s);
    static say_item first("first");
    static task_work tw([](task_work&) -> bool {
      say("scheduler exits\n");
      std::exit(25);
    });
    tw.add(first);
  };
  EXPECT_EXIT(body(), ::testing::ExitedWithCode(25), "^scheduler exits\nfirst cancelled\n$");
}

// run() and close() reached during such an exit, from static destructors
// that run before the task_work's: run() finds the slot held by the run
// below (it never resumes) and hands its turn off; close() waits for the
// adds inside the gate except this thread's own (below it, inside the
// scheduler call that ran the item). Both were reported before.
task_work* exiting_tw = nullptr;

struct touches_at_exit {
  ~touches_at_exit() {
    const mpscq::run_result r = exiting_tw->run();
    say(r.handed_off ? "run handed off\n" : "run did not hand off\n");
    exiting_tw->close();
    say("closed\n");
  }
};

TEST_F(ExitFromUserCode, RunAndCloseDuringExitFromAnInlineRun) {
  auto body = [] {
    alarm(hang_guard_s);
    static say_item quit("quit", 26);
    static task_work tw([](task_work& t) {
      while (t.run().more) {
      }
      return true;
    });
    exiting_tw = &tw;
    static touches_at_exit toucher;  // constructed after tw: destroyed before it
    tw.add(quit);
  };
  EXPECT_EXIT(body(), ::testing::ExitedWithCode(26), "^quit ran\nrun handed off\nclosed\n$");
}

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

// Mode 1: the same with a task_work.
struct drains_task_work_at_exit {
  ~drains_task_work_at_exit() {
    while (exit_phase_tw->run().more) {
    }
  }
};

TEST_F(ExitFromUserCode, ExitPhaseRunOfATaskWorkWhoseItemDestroysItIsReported) {
  auto body = [] {
    static deleter_item d;
    d.local = false;
    static drains_task_work_at_exit drainer;
    exit_phase_tw = new task_work([](task_work&) { return true; });
    exit_phase_tw->run();  // a first run: this thread's exit phase is watched from here on
    exit_phase_tw->add(d);
    std::exit(0);
  };
  EXPECT_DEATH(body(), "mpscq::task_work: destroyed from inside one of its own items");
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

// --- F6: a forked child's new threads are not the parent's runners ---------

// The parent's default fallback thread runs a job of tw that blocks; the
// process forks. In the child that job never finishes (the thread is not
// there). The child's new threads get the ids of the parent's threads
// (glibc reuses their stacks), and were taken for the runner holding tw's
// run slot. `how`: 0 - the child adds to tw (its new fallback thread runs
// the job, finds the slot held by the lost run and hands off), then its
// main thread destroys tw (fork_lost.cpp); 1 - a new thread of the child
// destroys tw (fork_lost2.cpp). Both must give the documented report.
std::atomic<bool> blocker_entered{false};
std::atomic<bool> blocker_release{false};

void blocker(work&, run_state) noexcept {
  blocker_entered.store(true, std::memory_order_release);
  while (!blocker_release.load(std::memory_order_acquire)) std::this_thread::sleep_for(1ms);
}

[[noreturn]] void fork_lost_body(int how) {
  alarm(hang_guard_s);
  auto* tw = new task_work(refuse);
  static work w1{{}, &blocker};
  static say_item w2("child's item");
  tw->add(w1);
  while (!blocker_entered.load(std::memory_order_acquire)) std::this_thread::sleep_for(1ms);
  const pid_t pid = fork();
  if (pid < 0) _exit(40);
  if (pid == 0) {
    alarm(hang_guard_s);
    if (how == 0) {
      tw->add(w2);  // a new cycle: the child's fallback thread runs its job
      delete tw;    // reported
    } else {
      std::thread([tw] { delete tw; }).join();  // reported
    }
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  blocker_release.store(true, std::memory_order_release);
  _exit(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT ? 41 : 42);
}

TEST_F(ExitFromUserCode, ForkedChildThatAddsThenDestroysGetsTheLostJobReport) {
  EXPECT_EXIT(fork_lost_body(0), ::testing::ExitedWithCode(41),
              "mpscq::task_work: destroyed in a forked child while its fallback job was running on the parent's "
              "fallback thread at the fork");
}

TEST_F(ExitFromUserCode, ForkedChildsNewThreadThatDestroysGetsTheLostJobReport) {
  EXPECT_EXIT(fork_lost_body(1), ::testing::ExitedWithCode(41),
              "mpscq::task_work: destroyed in a forked child while its fallback job was running on the parent's "
              "fallback thread at the fork");
}

}  // namespace
