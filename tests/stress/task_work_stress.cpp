// Stress test for mpscq::task_work.
//
//   task_work_stress [--producers P] [--runners R] [--seconds S]
//
// Half the time runs one long-lived task_work ("steady"), the other half a
// series of short rounds that close the target while producers keep adding
// ("close"). In both, P producers add heap-allocated items numbered 0, 1, 2,
// ... and the target is a pool of R runner threads: the scheduler posts a
// token to the pool (refusing now and then, which sends the cycle to the
// fallback executor), a runner takes it and calls run() with a random cap and
// a random should_yield; a run that returns `more` is posted again for any
// runner. Items name one of two contexts.
//
// Checks (each counted; any non-zero count fails the run):
//   overlaps         two items of the task_work running at once (two runs
//                    serving the queue at once)
//   double_schedules the scheduler called while a schedule it accepted has
//                    not been taken by a run (the "Boom")
//   lost/dup/reorder per producer, every item runs exactly once, in order
//   after_close      an item added after close() returned ran uncancelled
//   context_errors   enter/leave not paired, or an item run outside its
//                    context
//   accounting       cycles scheduled (accepted + handed to the fallback)
//                    != pops that emptied the queue (steady, and the close
//                    rounds that wait for quiescence before destroying)
// Items free themselves when they run, so ASan sees any later touch. Every
// other close round destroys the task_work while fallback jobs may still be
// pending (the destructor must wait for them).
// The last line is a summary ending in OK or FAIL; any mismatch exits 1.
#include <mpscq/task_work.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using mpscq::run_result;
using mpscq::run_state;
using mpscq::task_work;
using mpscq::work;

constexpr std::uint64_t max_backlog = 4096;  // items a producer may be ahead of the runs

struct counters {
  std::atomic<std::uint64_t> overlaps{0}, double_schedules{0}, lost{0}, dup{0}, reorder{0}, after_close{0},
      context_errors{0}, accounting{0};
  std::atomic<std::uint64_t> items{0}, cancelled{0}, target_runs{0}, handoffs{0}, more{0}, schedules{0},
      refusals{0}, fallback_jobs{0}, emptied{0}, rounds{0}, close_rounds{0};
  bool failed() const {
    return overlaps + double_schedules + lost + dup + reorder + after_close + context_errors + accounting != 0;
  }
};
counters stats;

// A fallback executor with its own thread that counts what it ran.
class counting_executor final : public mpscq::fallback_executor {
 public:
  counting_executor() : thread_([this] { loop(); }) {}
  ~counting_executor() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void execute(work& job) noexcept override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(&job);
      ++submitted_;
    }
    wake_.notify_all();
  }
  // Waits until every job handed over so far has returned.
  void wait_idle() {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [this] { return done_ == submitted_; });
  }
  std::uint64_t submitted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return submitted_;
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      work* job = jobs_.front();
      jobs_.pop_front();
      lock.unlock();
      (*job)(run_state{true});  // `job` (and its task_work) may be gone after this
      lock.lock();
      ++done_;
      wake_.notify_all();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<work*> jobs_;
  std::uint64_t submitted_ = 0, done_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// A context that checks enter/leave pairing; items check they run inside it.
struct checked_context final : mpscq::task_context {
  std::atomic<int> depth{0};
  void enter() noexcept override {
    if (depth.fetch_add(1, std::memory_order_relaxed) != 0) stats.context_errors.fetch_add(1);
  }
  void leave() noexcept override {
    if (depth.fetch_sub(1, std::memory_order_relaxed) != 1) stats.context_errors.fetch_add(1);
  }
};

struct round_state;

struct item {
  mpscq::context_work tw;
  round_state* round = nullptr;
  std::uint32_t producer = 0;
  std::uint64_t seq = 0;
  bool after_close = false;
  static void run(mpscq::context_work& w, run_state st) noexcept;
};

// One task_work's target: the runner pool, its tokens and the per-producer
// trackers (plain memory, touched only inside items: the test relies on the
// library's "items run one at a time, each after the previous" guarantee,
// which TSan checks).
struct round_state {
  explicit round_state(int producers) : next_expected(producers, 0), consumed(producers) {}

  std::unique_ptr<task_work> tw;
  checked_context contexts[2];
  std::vector<std::uint64_t> next_expected;
  std::vector<std::atomic<std::uint64_t>> consumed;  // backpressure, and "all ran" at the end
  std::atomic<int> in_item{0};
  std::atomic<int> pending_schedules{0};  // accepted, not yet taken by a run
  std::atomic<bool> closed{false};        // set once close() has returned
  std::atomic<std::uint64_t> accepted{0};
  std::uint32_t refuse_one_in = 64;

  // The pool's tokens. `rerun` tokens are runs that returned `more`.
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<bool> tokens;  // true: rerun
  int busy = 0;
  bool stop_when_idle = false;

  bool schedule() {
    thread_local std::minstd_rand rng(std::random_device{}());
    stats.schedules.fetch_add(1, std::memory_order_relaxed);
    if (rng() % refuse_one_in == 0) {
      stats.refusals.fetch_add(1, std::memory_order_relaxed);
      return false;  // the target is "busy exiting": the fallback runs it
    }
    if (pending_schedules.fetch_add(1, std::memory_order_acq_rel) != 0)
      stats.double_schedules.fetch_add(1, std::memory_order_relaxed);
    accepted.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex);
      tokens.push_back(false);
    }
    wake.notify_one();
    return true;
  }

  void runner() {
    std::minstd_rand rng(std::random_device{}());
    static constexpr std::size_t caps[] = {1, 2, 3, 8, 64, task_work::unlimited};
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      wake.wait(lock, [this] { return !tokens.empty() || (stop_when_idle && busy == 0); });
      if (tokens.empty()) {
        wake.notify_all();
        return;
      }
      const bool rerun = tokens.front();
      tokens.pop_front();
      ++busy;
      lock.unlock();
      if (!rerun) pending_schedules.fetch_sub(1, std::memory_order_acq_rel);
      for (;;) {
        const std::size_t cap = caps[rng() % std::size(caps)];
        const bool yields = rng() % 4 == 0;
        const run_result r = tw->run(cap, [&] { return yields && rng() % 16 == 0; });
        stats.target_runs.fetch_add(1, std::memory_order_relaxed);
        if (r.handed_off) stats.handoffs.fetch_add(1, std::memory_order_relaxed);
        if (!r.more) break;
        stats.more.fetch_add(1, std::memory_order_relaxed);
        if (rng() % 2 == 0) {  // hand the rerun to any runner
          lock.lock();
          tokens.push_back(true);
          --busy;
          wake.notify_one();
          goto next;
        }
      }
      lock.lock();
      --busy;
      wake.notify_all();
    next:;
    }
  }

  void on_item(item& it, run_state st) noexcept {
    thread_local std::minstd_rand rng(std::random_device{}());
    if (in_item.fetch_add(1, std::memory_order_acq_rel) != 0) stats.overlaps.fetch_add(1);
    // Now and then a slow item: the next cycle's run may then start on another
    // runner while this one is still running (the hand-off window).
    if (rng() % 16 == 0) std::this_thread::yield();
    if (contexts[it.seq % 2].depth.load(std::memory_order_relaxed) != 1) stats.context_errors.fetch_add(1);
    std::uint64_t& next = next_expected[it.producer];
    if (it.seq < next) {
      stats.dup.fetch_add(1);
    } else {
      if (it.seq > next) stats.reorder.fetch_add(1);
      next = it.seq + 1;
    }
    if (it.after_close && !st.cancel) stats.after_close.fetch_add(1);
    if (st.cancel) stats.cancelled.fetch_add(1, std::memory_order_relaxed);
    stats.items.fetch_add(1, std::memory_order_relaxed);
    in_item.fetch_sub(1, std::memory_order_acq_rel);
    consumed[it.producer].fetch_add(1, std::memory_order_release);
  }
};

void item::run(mpscq::context_work& w, run_state st) noexcept {
  item& self = mpscq::container_of<&item::tw>(w);
  self.round->on_item(self, st);
  delete &self;  // ASan: neither the queue nor the run loop may touch it again
}

void producer(round_state& r, std::uint32_t p, clock_type::time_point until, std::uint64_t& pushed) {
  std::minstd_rand rng(std::random_device{}() + p);
  std::uint64_t seq = 0;
  std::uint32_t burst = 0;
  while (clock_type::now() < until) {
    // Bursts of 1..32 items, then a pause: the queue empties often, so there
    // are many empty -> non-empty cycles (schedules, hand-offs, fallbacks).
    if (burst == 0) {
      burst = 1 + rng() % 32;
      if (rng() % 4 == 0)
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 50));
      else
        std::this_thread::yield();
      // Let the runs catch up to a small random backlog, whatever their speed
      // (sanitizers slow the items down far more than the adds).
      const std::uint64_t limit = rng() % 64;
      while (seq - r.consumed[p].load(std::memory_order_acquire) > limit && clock_type::now() < until)
        std::this_thread::yield();
    }
    --burst;
    // Backpressure: stay at most max_backlog items ahead of the runs.
    while (seq - r.consumed[p].load(std::memory_order_acquire) >= max_backlog) {
      if (clock_type::now() >= until) {
        pushed = seq;
        return;
      }
      std::this_thread::yield();
    }
    auto* it = new item;
    it->round = &r;
    it->producer = p;
    it->seq = seq;
    it->tw.context = &r.contexts[seq % 2];
    it->tw.handler = &item::run;
    // Acquire: pairs with the release store after close() returned.
    it->after_close = r.closed.load(std::memory_order_acquire);
    ++seq;
    r.tw->add(it->tw);
  }
  pushed = seq;
}

enum class mode { steady, close_and_wait, close_and_destroy };

void run_round(counting_executor& fallback, int producers, int runners, std::chrono::microseconds duration,
               mode m, std::minstd_rand& rng) {
  round_state r(producers);
  const std::uint64_t jobs_before = fallback.submitted();
  r.tw = std::make_unique<task_work>([&r](task_work&) { return r.schedule(); }, fallback);
  std::vector<std::thread> pool;
  for (int i = 0; i < runners; ++i) pool.emplace_back([&r] { r.runner(); });
  std::vector<std::uint64_t> pushed(producers, 0);
  const auto until = clock_type::now() + duration;
  std::vector<std::thread> adders;
  for (int p = 0; p < producers; ++p)
    adders.emplace_back([&r, p, until, &pushed] { producer(r, static_cast<std::uint32_t>(p), until, pushed[p]); });
  if (m != mode::steady) {
    // The target goes away while the producers keep adding.
    std::this_thread::sleep_for(duration * (rng() % 60) / 100);
    r.tw->close();
    r.closed.store(true, std::memory_order_release);
  }
  for (auto& t : adders) t.join();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    r.stop_when_idle = true;  // the runners serve every token posted, then leave
  }
  r.wake.notify_all();
  for (auto& t : pool) t.join();
  std::uint64_t added = 0;
  for (int p = 0; p < producers; ++p) added += pushed[p];
  if (m != mode::close_and_destroy) {
    fallback.wait_idle();
    // Quiescent: every cycle has been served, so the queue is empty and each
    // cycle's scheduling add is matched by one emptying pop.
    const std::uint64_t cycles = r.accepted.load() + (fallback.submitted() - jobs_before);
    if (cycles != r.tw->cycles_ended() || !r.tw->empty()) {
      std::fprintf(stderr, "accounting: %llu cycles scheduled, %llu emptying pops, empty=%d\n",
                   static_cast<unsigned long long>(cycles), static_cast<unsigned long long>(r.tw->cycles_ended()),
                   r.tw->empty() ? 1 : 0);
      stats.accounting.fetch_add(1);
    }
  }
  // The destructor waits for pending fallback jobs and runs anything left.
  r.tw.reset();
  stats.fallback_jobs.fetch_add(fallback.submitted() - jobs_before, std::memory_order_relaxed);
  for (int p = 0; p < producers; ++p) {
    const std::uint64_t ran = r.consumed[p].load();
    if (ran != pushed[p] || r.next_expected[p] != pushed[p]) {
      std::fprintf(stderr, "producer %d: pushed %llu, ran %llu, next expected %llu\n", p,
                   static_cast<unsigned long long>(pushed[p]), static_cast<unsigned long long>(ran),
                   static_cast<unsigned long long>(r.next_expected[p]));
      stats.lost.fetch_add(pushed[p] > ran ? pushed[p] - ran : 1);
    }
  }
  (void)added;
  stats.rounds.fetch_add(1);
  if (m != mode::steady) stats.close_rounds.fetch_add(1);
}

int usage() {
  std::fputs("usage: task_work_stress [--producers P] [--runners R] [--seconds S]\n", stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int producers = 3;
  int runners = 2;
  double seconds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    if (arg == "--producers") {
      producers = std::atoi(argv[++i]);
    } else if (arg == "--runners") {
      runners = std::atoi(argv[++i]);
    } else if (arg == "--seconds") {
      seconds = std::atof(argv[++i]);
    } else {
      return usage();
    }
  }
  if (producers < 1 || runners < 1 || seconds <= 0) return usage();

  std::minstd_rand rng(std::random_device{}());
  counting_executor fallback;
  const auto total = std::chrono::microseconds(static_cast<long long>(seconds * 1e6));
  const auto start = clock_type::now();
  // Half the time: one long-lived task_work.
  run_round(fallback, producers, runners, total / 2, mode::steady, rng);
  // The other half: short rounds that close the target under load.
  for (int round = 0; clock_type::now() - start < total; ++round) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(total - (clock_type::now() - start));
    const auto length = std::min<std::chrono::microseconds>(std::chrono::microseconds(20000 + rng() % 30000), left);
    run_round(fallback, producers, runners, std::max(length, std::chrono::microseconds(1000)),
              round % 2 == 0 ? mode::close_and_wait : mode::close_and_destroy, rng);
  }

  const bool ok = !stats.failed();
  std::printf(
      "task_work_stress: producers=%d runners=%d seconds=%.1f rounds=%llu close_rounds=%llu items=%llu "
      "cancelled=%llu target_runs=%llu handoffs=%llu more=%llu schedules=%llu refusals=%llu fallback_jobs=%llu | "
      "overlaps=%llu double_schedules=%llu lost=%llu dup=%llu reorder=%llu after_close=%llu context_errors=%llu "
      "accounting=%llu %s\n",
      producers, runners, seconds, static_cast<unsigned long long>(stats.rounds.load()),
      static_cast<unsigned long long>(stats.close_rounds.load()), static_cast<unsigned long long>(stats.items.load()),
      static_cast<unsigned long long>(stats.cancelled.load()),
      static_cast<unsigned long long>(stats.target_runs.load()),
      static_cast<unsigned long long>(stats.handoffs.load()), static_cast<unsigned long long>(stats.more.load()),
      static_cast<unsigned long long>(stats.schedules.load()), static_cast<unsigned long long>(stats.refusals.load()),
      static_cast<unsigned long long>(stats.fallback_jobs.load()),
      static_cast<unsigned long long>(stats.overlaps.load()),
      static_cast<unsigned long long>(stats.double_schedules.load()), static_cast<unsigned long long>(stats.lost.load()),
      static_cast<unsigned long long>(stats.dup.load()), static_cast<unsigned long long>(stats.reorder.load()),
      static_cast<unsigned long long>(stats.after_close.load()),
      static_cast<unsigned long long>(stats.context_errors.load()),
      static_cast<unsigned long long>(stats.accounting.load()), ok ? "OK" : "FAIL");
  return ok ? 0 : 1;
}
