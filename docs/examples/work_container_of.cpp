// docs/examples/work_container_of.cpp - mpscq::work, run_state and
// container_of: embedding a task-work item in your own object and getting
// back to the object inside the item's function; context_work outside a
// task_work. Shown in docs/api.md; built and run as the CTest test
// doc_work_container_of. Exits non-zero if any check fails.
#include <mpscq/task_work.hpp>  // context_work, task_context (work.hpp comes with it)
#include <mpscq/work.hpp>

#include <cstdio>
#include <string>

namespace {

int failures = 0;
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ++failures;
  }
}

// The work member need not be first: container_of subtracts its offset.
struct request {
  std::string name;
  int result = 0;
  bool failed = false;
  mpscq::work tw{{}, &request::complete};

  static void complete(mpscq::work& w, mpscq::run_state st) noexcept {
    request& r = mpscq::container_of<&request::tw>(w);
    if (st.cancel) {  // the runner is closing or gone: release, do not work
      r.failed = true;
      return;
    }
    r.result = static_cast<int>(r.name.size());
  }
};

struct counting_context final : mpscq::task_context {
  int entered = 0;
  void enter() noexcept override { ++entered; }
};

struct tagged {
  int handled = 0;
  mpscq::context_work cw;
  static void handle(mpscq::context_work& w, mpscq::run_state) noexcept {
    ++mpscq::container_of<&tagged::cw>(w).handled;
  }
};

}  // namespace

int main() {
  request ok;
  ok.name = "hello";
  request gone;
  gone.name = "bye";

  // What local_work / task_work do with an item: find it from its queue hook,
  // call it with a run_state.
  mpscq::work& w = mpscq::work::from_hook(&ok.tw.hook);
  check(&w == &ok.tw, "work::from_hook finds the item from its hook");
  w(mpscq::run_state{});                    // cancel == false
  gone.tw(mpscq::run_state{true});          // cancel == true
  check(ok.result == 5 && !ok.failed, "a normal run does the work");
  check(gone.result == 0 && gone.failed, "a cancelled run only releases");

  // context_work: an item that names a task_context. task_work's run loop
  // groups consecutive items of one context; any other runner just calls it.
  counting_context ctx;
  tagged t;
  t.cw.context = &ctx;
  t.cw.handler = &tagged::handle;
  check(mpscq::context_work::from(t.cw) == &t.cw, "context_work::from recognises a context_work");
  check(mpscq::context_work::from(ok.tw) == nullptr, "... and not a plain work item");
  t.cw(mpscq::run_state{});
  check(t.handled == 1, "run outside task_work, a context_work calls its handler");
  check(ctx.entered == 0, "... without entering its context (only task_work::run does that)");

  if (failures != 0) return 1;
  std::puts("work_container_of: OK");
  return 0;
}
