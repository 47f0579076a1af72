// docs/examples/task_work_executor.cpp - mpscq::task_work: work scheduled
// exactly once onto a target. Here the target is a mailbox on a one-thread
// executor: the add that finds the queue empty submits one drain job; the
// job runs a capped batch and submits itself again while run() says `more`.
// Also: contexts (context_work / task_context), should_yield, a refusing
// target and the fallback executor, close(). Shown in docs/api.md; built and
// run as the CTest test doc_task_work_executor. Exits non-zero if any check
// fails.
#include <mpscq/task_work.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

int failures = 0;
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ++failures;
  }
}

// A minimal executor: one thread runs submitted jobs in order. Its
// destructor runs every job already submitted, then joins.
class executor {
 public:
  executor() : thread_([this] { loop(); }) {}
  ~executor() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void submit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

// The target: a mailbox whose items run one at a time on the executor.
struct mailbox {
  explicit mailbox(executor& ex) : ex_(ex) {}

  // Called by the one add per empty -> non-empty cycle. The executor's queue
  // (a mutex) makes that add happen-before the drain job.
  mpscq::task_work tw{[this](mpscq::task_work&) {
    schedules.fetch_add(1, std::memory_order_relaxed);
    ex_.submit([this] { drain(); });
    return true;  // accepted: we owe the queue a run
  }};

  void drain() {
    // A capped batch. `more`: this run still owns the queue and nobody else
    // will schedule it - submit ourselves again (fair to other mailboxes).
    if (tw.run(16).more) ex_.submit([this] { drain(); });
  }

  std::atomic<int> schedules{0};
  // Mailbox state touched only by the items: items of one task_work run one
  // at a time, each seeing what the previous one did, so no lock.
  std::vector<int> expected_seq = std::vector<int>(4, 0);
  bool in_order = true;
  std::atomic<int> processed{0};

 private:
  executor& ex_;
};

struct letter {
  int producer = 0;
  int seq = 0;
  mailbox* box = nullptr;
  mpscq::work tw{{}, &letter::deliver};

  static void deliver(mpscq::work& w, mpscq::run_state st) noexcept {
    letter& l = mpscq::container_of<&letter::tw>(w);
    mailbox& box = *l.box;
    if (!st.cancel) {
      box.in_order = box.in_order && l.seq == box.expected_seq[static_cast<std::size_t>(l.producer)];
      box.expected_seq[static_cast<std::size_t>(l.producer)] = l.seq + 1;
    }
    box.processed.fetch_add(1, std::memory_order_release);  // the last access to `l` is above
  }
};

void mailbox_on_an_executor() {
  constexpr int producers = 4;
  constexpr int per_producer = 5000;
  std::vector<std::unique_ptr<letter[]>> letters;
  auto ex = std::make_unique<executor>();
  auto box = std::make_unique<mailbox>(*ex);
  for (int p = 0; p < producers; ++p) {
    letters.emplace_back(new letter[per_producer]);
    for (int i = 0; i < per_producer; ++i) {
      letter& l = letters.back()[i];
      l.producer = p;
      l.seq = i;
      l.box = box.get();
    }
  }
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) box->tw.add(letters[p][i].tw);  // any thread, wait-free push
    });
  }
  for (auto& t : threads) t.join();
  while (box->processed.load(std::memory_order_acquire) < producers * per_producer) std::this_thread::yield();
  ex.reset();  // runs the jobs still submitted (each finds nothing or ends its cycle), joins

  check(box->in_order, "each producer's letters ran in its add order, one at a time");
  // One schedule per empty -> non-empty cycle, and each cycle ended with one
  // emptying pop (readable now: no run can be active).
  check(box->schedules.load() > 0, "the mailbox was scheduled");
  check(static_cast<std::uint64_t>(box->schedules.load()) == box->tw.cycles_ended(),
        "schedules == cycles ended by an emptying pop");
  check(box->tw.empty(), "nothing left queued");
}

// Contexts: consecutive items of one context share one enter()/leave() pair.
struct connection final : mpscq::task_context {
  int enters = 0;
  int leaves = 0;
  void enter() noexcept override { ++enters; }
  void leave() noexcept override { ++leaves; }
};

struct packet {
  int handled = 0;
  mpscq::context_work cw;  // names a task_context; do not overwrite cw.func
  static void handle(mpscq::context_work& w, mpscq::run_state) noexcept {
    ++mpscq::container_of<&packet::cw>(w).handled;
  }
};

void contexts_and_should_yield() {
  int schedules = 0;
  // A scheduler that only records the request; this thread is the target and
  // calls run() itself.
  mpscq::task_work tw([&](mpscq::task_work&) {
    ++schedules;
    return true;
  });
  connection a, b;
  packet p[5];
  for (int i = 0; i < 5; ++i) {
    p[i].cw.context = i < 3 ? &a : &b;  // a a a b b
    p[i].cw.handler = &packet::handle;
    tw.add(p[i].cw);
  }
  check(schedules == 1, "five adds, one schedule");

  int calls = 0;
  // should_yield: asked after every item; true ends the run with `more`.
  mpscq::run_result r = tw.run(mpscq::task_work::unlimited, [&] { return ++calls == 2; });
  check(r.ran == 2 && r.more, "should_yield ended the run after two items; we still own the queue");
  check(a.enters == 1 && a.leaves == 1, "the run left context a before it returned");
  r = tw.run();
  check(r.ran == 3 && !r.more && r.cycles_ended == 1, "the next run finished the cycle");
  check(a.enters == 2 && b.enters == 1 && b.leaves == 1, "one enter/leave per stretch of one context");
  for (const packet& x : p) check(x.handled == 1, "every packet handled once");
  check(tw.cycles_ended() == 1, "one cycle");
}

// A fallback executor that the example drives by hand (a real one runs the
// jobs on a thread of its own; mpscq::default_fallback_executor() does).
class manual_fallback final : public mpscq::fallback_executor {
 public:
  void execute(mpscq::work& job) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(&job);
  }
  int run_all() {
    std::vector<mpscq::work*> jobs;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs.swap(jobs_);
    }
    for (mpscq::work* job : jobs) (*job)(mpscq::run_state{true});  // never touch job afterwards
    return static_cast<int>(jobs.size());
  }

 private:
  std::mutex mutex_;
  std::vector<mpscq::work*> jobs_;
};

struct note {
  int runs = 0;
  int cancelled = 0;
  mpscq::work tw{{}, &note::run};
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    note& n = mpscq::container_of<&note::tw>(w);
    ++n.runs;
    n.cancelled += st.cancel ? 1 : 0;
  }
};

void refusal_fallback_and_close() {
  manual_fallback fallback;  // must outlive the task_work
  bool accept = false;
  int schedules = 0;
  mpscq::task_work tw(
      [&](mpscq::task_work&) {
        ++schedules;
        return accept;  // false: the target is exiting
      },
      fallback);
  note n[5];
  tw.add(n[0].tw);
  tw.add(n[1].tw);
  check(schedules == 1, "refused once: the queue went to the fallback");
  check(fallback.run_all() == 1, "one fallback job for the cycle");
  check(n[0].cancelled == 1 && n[1].cancelled == 1, "the fallback ran both items with cancel = true");

  accept = true;
  tw.add(n[2].tw);  // not closed: the next cycle asks the target again
  check(schedules == 2, "a new cycle, a new schedule");
  tw.close();  // the target is gone; a schedule accepted before must still be run
  tw.add(n[3].tw);  // joins the cycle that is owed a run
  check(schedules == 2, "after close() the scheduler is never called");
  const mpscq::run_result r = tw.run();
  check(r.ran == 2 && !r.more, "the owed run comes");
  check(n[2].cancelled == 1 && n[3].cancelled == 1, "after close() its items run cancelled");
  tw.add(n[4].tw);  // a new cycle after close(): straight to the fallback
  check(fallback.run_all() == 1 && n[4].cancelled == 1, "... via the fallback");
  for (const note& x : n) check(x.runs == 1, "every item ran exactly once");
}

}  // namespace

int main() {
  mailbox_on_an_executor();
  contexts_and_should_yield();
  refusal_fallback_and_close();
  if (failures != 0) return 1;
  std::puts("task_work_executor: OK");
  return 0;
}
