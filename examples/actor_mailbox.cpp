// actor_mailbox: thousands of actors whose mailboxes are mpscq::task_work,
// scheduled onto a small thread pool.
//
//   actor_mailbox [--actors=N] [--workers=W] [--messages=M] [--seed=S]
//                 [--inject=lose|dup|reorder]
//
// Each actor owns a task_work (its mailbox) and one embedded pool job. The
// mailbox's scheduler submits that job to a pool worker; the job runs the
// mailbox with a cap and submits itself again while run() says `more`.
// Because task_work calls the scheduler exactly once per empty -> non-empty
// cycle and a run never overlaps another, one intrusive job per actor is
// enough (it is never queued twice), and an actor's handler needs no lock:
// its messages run one at a time, each seeing what the previous one did, on
// whichever worker the job landed.
//
// Every actor talks to 8 neighbours. Messages carry a per-(sender, receiver)
// sequence number; a handler checks it is exactly the next one from that
// sender, then forwards a new message to a random neighbour until the budget
// of M messages is spent. At the end every pair's "sent" count must equal the
// receiver's "received" count for that sender. Summary line ends in OK, or FAIL with what was
// wrong; exit status 1 on FAIL. --inject breaks the bookkeeping on purpose
// so the checks can be seen to fail.
#include <mpscq/queue.hpp>
#include <mpscq/task_work.hpp>

#include "common/example_support.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int neighbours = 8;

// --- a small thread pool: one mpscq::queue of jobs per worker --------------

class worker {
 public:
  void submit(mpscq::work& job) {
    if (jobs_.push(&job.hook)) {  // was empty: the worker may be asleep
      {
        std::lock_guard<std::mutex> lock(mutex_);
        signalled_ = true;
      }
      wake_.notify_one();
    }
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
  }
  void loop() {
    mpscq::consumer jobs(jobs_);
    for (;;) {
      if (mpscq::node* n = jobs.pop()) {
        mpscq::work::from_hook(n)(mpscq::run_state{});
        continue;
      }
      if (!jobs_.empty()) {  // a submit inside its push's in-flight window
        std::this_thread::yield();
        continue;
      }
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return signalled_ || stopping_; });
      if (!signalled_ && stopping_) return;
      signalled_ = false;
    }
  }

 private:
  mpscq::queue jobs_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool signalled_ = false;
  bool stopping_ = false;
};

class thread_pool {
 public:
  explicit thread_pool(int n) : workers_(static_cast<std::size_t>(n)) {
    for (auto& w : workers_) threads_.emplace_back([&w] { w.loop(); });
  }
  ~thread_pool() {
    for (auto& w : workers_) w.stop();
    for (auto& t : threads_) t.join();
  }
  // Round robin from each submitting thread.
  void submit(mpscq::work& job) {
    thread_local std::size_t next = 0;
    workers_[next++ % workers_.size()].submit(job);
  }

 private:
  std::vector<worker> workers_;
  std::vector<std::thread> threads_;
};

// --- actors ------------------------------------------------------------------

struct world;

struct message {
  mpscq::work tw{{}, &message::deliver};
  struct actor* to = nullptr;
  bool start = false;           // "send your first message" (from main)
  std::uint32_t from_slot = 0;  // which of the receiver's neighbours sent it
  std::uint32_t seq = 0;        // per (sender, receiver) pair
  static void deliver(mpscq::work& w, mpscq::run_state st) noexcept;
};

struct actor {
  actor(world& w, std::uint32_t id);

  void send_to_neighbour(int slot);
  void receive(message& m);
  void start();

  world& w;
  std::uint32_t id;
  // Plain state: only this actor's own messages touch it, one at a time.
  std::uint32_t sent_to[neighbours] = {};
  std::uint32_t expected_from[neighbours] = {};  // next sequence number
  std::uint32_t count_from[neighbours] = {};     // messages received
  std::uint64_t received = 0;
  std::minstd_rand rng;

  mpscq::work run_job{{}, &actor::run_mailbox};
  mpscq::task_work mailbox;

  static void run_mailbox(mpscq::work& job, mpscq::run_state st) noexcept;
};

struct world {
  std::vector<std::unique_ptr<actor>> actors;
  std::unique_ptr<thread_pool> pool;
  int offsets[neighbours] = {};
  std::atomic<std::int64_t> budget{0};  // messages still to be sent
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> reordered{0};
  std::atomic<std::uint64_t> schedules{0}, runs{0}, capped_runs{0}, handoffs{0};
  std::string inject;

  actor& neighbour(const actor& a, int slot) {
    return *actors[(a.id + static_cast<std::uint32_t>(offsets[slot])) % actors.size()];
  }
};

actor::actor(world& world_ref, std::uint32_t actor_id)
    : w(world_ref),
      id(actor_id),
      rng(actor_id + 1),
      mailbox(
          [this](mpscq::task_work&) {
            w.schedules.fetch_add(1, std::memory_order_relaxed);
            w.pool->submit(run_job);  // the only schedule for this cycle
            return true;
          },
          mpscq::default_fallback_executor()) {}

void actor::run_mailbox(mpscq::work& job, mpscq::run_state) noexcept {
  actor& self = mpscq::container_of<&actor::run_job>(job);
  const mpscq::run_result r = self.mailbox.run(64);
  self.w.runs.fetch_add(1, std::memory_order_relaxed);
  if (r.handed_off) self.w.handoffs.fetch_add(1, std::memory_order_relaxed);
  if (r.more) {
    // Still ours, and nobody else will schedule it: go to the back of the
    // pool's line so other actors get their turn.
    self.w.capped_runs.fetch_add(1, std::memory_order_relaxed);
    self.w.pool->submit(self.run_job);
  }
}

void actor::send_to_neighbour(int slot) {
  actor& to = w.neighbour(*this, slot);
  auto* m = new message;
  m->to = &to;
  // The receiver knows us as its neighbour at the same slot, from the other
  // side: offsets are symmetric (slot k and slot k ^ 1 are +d and -d).
  m->from_slot = static_cast<std::uint32_t>(slot ^ 1);
  m->seq = sent_to[slot]++;
  to.mailbox.add(m->tw);
}

void actor::receive(message& m) {
  std::uint32_t& expected = expected_from[m.from_slot];
  if (m.seq != expected) w.reordered.fetch_add(1, std::memory_order_relaxed);
  expected = m.seq + 1;
  ++count_from[m.from_slot];
  ++received;
  // Pass it on while the budget lasts.
  if (w.budget.fetch_sub(1, std::memory_order_relaxed) > 0) send_to_neighbour(static_cast<int>(rng() % neighbours));
}

void message::deliver(mpscq::work& w, mpscq::run_state st) noexcept {
  message& self = mpscq::container_of<&message::tw>(w);
  actor& to = *self.to;
  world& world_ref = to.w;
  const bool start = self.start;
  if (!st.cancel) {
    if (start) {
      to.start();
    } else {
      to.receive(self);
      if (world_ref.inject == "dup" && to.id == 0 && self.seq == 1) to.receive(self);  // deliver twice
    }
  }
  delete &self;
  if (!start) world_ref.delivered.fetch_add(1, std::memory_order_release);
}

// Runs in the actor's own context, like any message: main never touches an
// actor's state directly (its handlers may already be running elsewhere).
void actor::start() {
  if (w.inject == "lose" && id == 0) sent_to[0]++;  // a message "sent" that never goes out
  if (w.inject == "reorder" && id == 0) {  // two messages, the second overtaking the first
    actor& to = w.neighbour(*this, 2);
    auto* first = new message;
    auto* second = new message;
    first->to = second->to = &to;
    first->from_slot = second->from_slot = 3;
    first->seq = sent_to[2]++;
    second->seq = sent_to[2]++;
    to.mailbox.add(second->tw);
    to.mailbox.add(first->tw);
  }
  send_to_neighbour(static_cast<int>(rng() % neighbours));
}

}  // namespace

int main(int argc, char** argv) {
  example::args args(argc, argv, "[--actors=N] [--workers=W] [--messages=M] [--seed=S] [--inject=lose|dup|reorder]\n");
  const int actor_count = args.number("actors", 4000);
  const int workers = args.number("workers", static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  const std::int64_t messages = args.number<std::int64_t>("messages", 5000000);
  const unsigned seed = args.number("seed", 1u);
  world w;
  w.inject = args.text("inject", "");
  args.done(w.inject.empty() || w.inject == "lose" || w.inject == "dup" || w.inject == "reorder");
  if (actor_count < 2 * neighbours || workers < 1 || messages < actor_count) {
    std::fputs("actor_mailbox: need actors >= 16, workers >= 1, messages >= actors\n", stderr);
    return 2;
  }

  // Neighbour offsets in +/- pairs, so slot k of A -> B is slot k ^ 1 of B -> A.
  std::minstd_rand rng(seed);
  for (int k = 0; k < neighbours; k += 2) {
    const int d = 1 + static_cast<int>(rng() % static_cast<unsigned>(actor_count / 2 - 1));
    w.offsets[k] = d;
    w.offsets[k + 1] = actor_count - d;
  }
  w.pool = std::make_unique<thread_pool>(workers);
  for (int i = 0; i < actor_count; ++i) w.actors.push_back(std::make_unique<actor>(w, static_cast<std::uint32_t>(i)));

  // Seed: every actor gets a start message and sends one message; the rest
  // are forwards.
  w.budget.store(messages - actor_count, std::memory_order_relaxed);
  const auto start = example::clock_type::now();
  for (auto& a : w.actors) {
    auto* m = new message;
    m->to = a.get();
    m->start = true;
    a->mailbox.add(m->tw);
  }
  // Every message is delivered exactly once: wait until all are.
  const std::uint64_t expected_total =
      static_cast<std::uint64_t>(messages) + (w.inject == "reorder" ? 2 : 0);
  const auto deadline = start + std::chrono::seconds(60);
  while (w.delivered.load(std::memory_order_acquire) < expected_total && example::clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double seconds = example::seconds_since(start);
  w.pool.reset();  // stop and join the workers: the actors are quiet now

  // Every pair: what A sent to B equals what B expects next from A.
  std::uint64_t lost = 0, duplicated = 0, received = 0;
  for (auto& a : w.actors) {
    received += a->received;
    for (int k = 0; k < neighbours; ++k) {
      const actor& b = w.neighbour(*a, k);
      const std::uint32_t sent = a->sent_to[k];
      const std::uint32_t got = b.count_from[k ^ 1];
      if (sent > got) lost += sent - got;
      if (got > sent) duplicated += got - sent;
    }
  }
  const std::uint64_t delivered = w.delivered.load();
  if (delivered < expected_total) lost += expected_total - delivered;
  example::checks check;
  check(lost == 0, "messages lost");
  check(duplicated == 0, "messages delivered more than once");
  check(w.reordered.load() == 0, "messages out of per-sender order");
  check(received == expected_total, "messages received != messages expected");
  const bool ok = check.ok();
  std::printf(
      "actor_mailbox: actors=%d workers=%d messages=%llu delivered=%llu in %.3f s: %.2f M messages/s; "
      "schedules=%llu runs=%llu capped=%llu handed_off=%llu | lost=%llu duplicated=%llu reordered=%llu %s\n",
      actor_count, workers, static_cast<unsigned long long>(expected_total),
      static_cast<unsigned long long>(delivered), seconds, static_cast<double>(delivered) / seconds / 1e6,
      static_cast<unsigned long long>(w.schedules.load()), static_cast<unsigned long long>(w.runs.load()),
      static_cast<unsigned long long>(w.capped_runs.load()), static_cast<unsigned long long>(w.handoffs.load()),
      static_cast<unsigned long long>(lost), static_cast<unsigned long long>(duplicated),
      static_cast<unsigned long long>(w.reordered.load()), ok ? "OK" : "FAIL");
  return ok ? 0 : 1;
}
