// asio_threadring - Asio's threadring (its cpp14/executors/actor.cpp: actors
// in a ring, tokens passed from each to the next, strands over single-thread
// pools) on mpscq::asio::work_thread and mpscq::asio::task_strand
// (mpscq/asio_thread.hpp, mpscq/asio_strand.hpp).
//
// WHAT IT SHOWS
//   Asio's program with two types swapped, and nothing else to write:
//     asio::thread_pool(1)       -> mpscq::asio::work_thread (a thread that
//                                   owns an mpscq::local_work; posts are
//                                   wait-free adds; stop/join in its
//                                   destructor);
//     asio::strand<executor>     -> mpscq::asio::task_strand over a
//                                   work_thread's executor (an mpscq::task_work
//                                   drained by jobs posted to that thread: one
//                                   push per message, one post to the thread
//                                   per empty -> non-empty cycle).
//   As in Asio's program, `--actors` actors form a ring; actor i lives on
//   work_thread (i / (actors / threads)) % threads, so runs of neighbours
//   share a thread; each actor's messages run through its own strand; a
//   member's token handler passes the token on with asio::defer (tail_send)
//   until the token's hops are spent, then hands it back to the receiver
//   (Asio's receiver<int>: a mutex and a condition variable; here it is
//   called directly, where Asio posts to it through system_executor). The
//   ring is built the same way, with one "init" message per actor naming its
//   successor. The hops are split over `--tokens` tokens (default: one per
//   actor, all sent at once, as in Asio) so that they add up to exactly
//   `--hops`.
//   --direct: no strands; each actor posts straight to its work_thread's
//   executor (a single thread needs no strand).
//   Teardown is scope order, with nothing to get right: actors (they hold
//   executors), strands (handles: a drain job still in flight keeps its
//   strand's state), work_threads (each runs what is queued, then joins).
//
// WHAT IT CHECKS (exit status 1 on any failure)
//   Every token made exactly its share of the hops (the shares add up to
//   --hops) and came back from the actor where its last hop ended; every
//   delivery came from the actor before the receiver in the ring and landed
//   on the actor the token's hop count says (ring order); every actor saw
//   exactly the deliveries the ring predicts; every handler ran on its
//   actor's work_thread (get_id()) and never two at once for one actor.
//   Prints the elapsed time from the first token sent to the last one back.
//
// USAGE
//   asio_threadring [--actors=N] [--threads=K] [--hops=H] [--tokens=T]
//                   [--direct] [--inject=misroute]
//   Asio's figures are --actors=503 --threads=16; its hops 50M (default here
//   5M). --inject=misroute makes actor 0 pass a token to itself once instead
//   of to its successor, so the ring-order checks can be seen to fire.
//
// Build: needs standalone Asio (libasio-dev) or Boost.Asio (-DMPSCQ_ASIO_USE_BOOST=1).
#include <utility>  // first: Boost 1.74's Asio headers use std::exchange without it

#if MPSCQ_ASIO_USE_BOOST
#include <boost/asio/defer.hpp>
#include <boost/asio/post.hpp>
#else
#include <asio/defer.hpp>
#include <asio/post.hpp>
#endif

#include <mpscq/asio_strand.hpp>
#include <mpscq/asio_thread.hpp>

#include "common/example_support.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = mpscq::asio::net;
using mpscq::asio::task_strand;
using mpscq::asio::work_thread;

struct options {
  std::size_t actors = 503;
  std::size_t threads = 16;
  std::uint64_t hops = 5'000'000;
  std::size_t tokens = 0;  // 0: one per actor
  bool direct = false;
  bool misroute = false;
};

options parse(int argc, char** argv) {
  example::args a(argc, argv,
                  "[--actors=N] [--threads=K] [--hops=H] [--tokens=T] [--direct] [--inject=misroute]\n"
                  "  --actors   actors in the ring (default 503, as Asio's)\n"
                  "  --threads  mpscq::asio::work_threads (default 16, as Asio's thread_pool(1)s)\n"
                  "  --hops     actor-to-actor hops in all, split over the tokens (default 5000000)\n"
                  "  --tokens   tokens sent around at once (default: one per actor, as Asio's)\n"
                  "  --direct   no task_strand: each actor posts straight to its work_thread\n"
                  "  --inject=misroute  actor 0 passes a token to itself once (the checks must fail)\n");
  options o;
  o.actors = a.number("actors", o.actors);
  o.threads = a.number("threads", o.threads);
  o.hops = a.number("hops", o.hops);
  o.tokens = a.number("tokens", o.tokens);
  o.direct = a.flag("direct");
  const std::string inject = a.text("inject", "");
  o.misroute = inject == "misroute";
  a.done(o.actors >= 2 && o.threads >= 1 && (inject.empty() || o.misroute));
  if (o.tokens == 0) o.tokens = o.actors;
  return o;
}

// What travels round the ring. `left`: hops still to make; `hop`: hops made.
struct token {
  std::uint32_t id;
  std::uint32_t start;  // the actor it was first sent to
  std::uint64_t left;
  std::uint64_t hop;
};

// Asio's receiver<int>: collects the tokens that are done (any thread) and
// lets main() wait for them.
class receiver {
 public:
  struct arrival {
    token t;
    std::size_t last;  // the actor that handed it back
  };

  // Notifies under the lock (as Asio's receiver): once main() has the last
  // token it destroys the receiver, so the condition variable must not be
  // touched after the unlock.
  void deliver(const token& t, std::size_t last) {
    const std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back({t, last});
    condition_.notify_one();
  }

  arrival wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    condition_.wait(lock, [this] { return !queue_.empty(); });
    const arrival a = queue_.front();
    queue_.pop_front();
    return a;
  }

 private:
  std::mutex mutex_;
  std::condition_variable condition_;
  std::deque<arrival> queue_;
};

// Asio's member, for one executor type: a task_strand's (each actor its own
// strand) or a work_thread's (--direct). Its state is touched only by its
// own handlers, which run one at a time, so it has no locks.
template <class Executor>
class member {
 public:
  member(Executor ex, std::size_t index, std::size_t ring, std::thread::id thread, bool misroute)
      : executor_(std::move(ex)), index_(index), ring_(ring), thread_(thread), misroute_(misroute) {}

  // send(): a message from outside the ring (Asio: post to the target's
  // executor).
  template <class Handler>
  void send(Handler&& h) {
    net::post(executor_, std::forward<Handler>(h));
  }

  // Asio's init_handler: the successor, and who gets the tokens back.
  void init_handler(member* next, receiver* caller) {
    enter();
    next_ = next;
    caller_ = caller;
    leave();
  }

  // Asio's token_handler: pass it on while hops are left, else back to the
  // caller. `from`: the actor that passed it (nullptr: main).
  void token_handler(token t, const member* from) {
    enter();
    ++deliveries_;
    if (t.hop == 0 ? from != nullptr : from == nullptr || from->next_ != this) ++order_errors_;
    if ((t.start + t.hop) % ring_ != index_) ++order_errors_;
    if (t.left == 0) {
      leave();  // first: once main() has every token back it destroys the actors
      caller_->deliver(t, index_);
      return;
    }
    --t.left;
    ++t.hop;
    member* to = next_;
    if (misroute_) {  // --inject=misroute: keep the token here, once
      misroute_ = false;
      to = this;
    }
    leave();
    to->tail_send(t, this);
  }

  std::uint64_t deliveries() const { return deliveries_; }
  std::uint64_t order_errors() const { return order_errors_; }
  std::uint64_t wrong_thread() const { return wrong_thread_; }
  std::uint64_t overlaps() const { return overlaps_.load(std::memory_order_relaxed); }

 private:
  // Asio's tail_send: a message sent from inside a handler, with defer (a
  // continuation of the sender's handler).
  void tail_send(token t, const member* from) {
    net::defer(executor_, [this, t, from] { token_handler(t, from); });
  }

  // The handler's checks: on the actor's thread, and alone (the strand's
  // promise). Relaxed is enough: a second handler inside the first would see
  // `busy_` set by the first whatever the order (one location's
  // modification order), and nothing else is published through it.
  void enter() {
    if (std::this_thread::get_id() != thread_) ++wrong_thread_;
    if (busy_.exchange(true, std::memory_order_relaxed)) overlaps_.fetch_add(1, std::memory_order_relaxed);
  }
  void leave() { busy_.store(false, std::memory_order_relaxed); }

  Executor executor_;
  const std::size_t index_;
  const std::size_t ring_;
  const std::thread::id thread_;
  bool misroute_;
  member* next_ = nullptr;
  receiver* caller_ = nullptr;
  std::uint64_t deliveries_ = 0;
  std::uint64_t order_errors_ = 0;
  std::uint64_t wrong_thread_ = 0;
  std::atomic<bool> busy_{false};
  std::atomic<std::uint64_t> overlaps_{0};
};

// The ring's run and checks, for one executor per actor. `executor_for(i)`
// gives actor i's executor; `thread_of(i)` the work_thread it must run on.
template <class Executor, class ExecutorFor, class ThreadOf>
bool run_ring(const options& o, ExecutorFor executor_for, ThreadOf thread_of, const char* what) {
  example::checks check;
  const std::size_t n = o.actors;

  std::vector<std::unique_ptr<member<Executor>>> members;
  members.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    members.push_back(
        std::make_unique<member<Executor>>(executor_for(i), i, n, thread_of(i), o.misroute && i == 0));
  receiver rcvr;

  // Initialise the actors by passing each one the address of the next actor
  // in the ring (Asio's loop, with the same order).
  for (std::size_t i = n, next_i = 0; i > 0; next_i = --i) {
    member<Executor>* m = members[i - 1].get();
    member<Executor>* next = members[next_i].get();
    m->send([m, next, r = &rcvr] { m->init_handler(next, r); });
  }

  // The hops, split over the tokens so that they add up to exactly --hops;
  // token k starts at actor k * n / tokens. Each token visits its start
  // actor, then one actor per hop: count what each actor must see.
  const std::size_t tokens = o.tokens;
  std::vector<std::uint64_t> share(tokens), expected(n, 0);
  std::uint64_t running = 0;  // prefix sums of a difference array over the ring
  std::vector<std::int64_t> diff(n + 1, 0);
  for (std::size_t k = 0; k < tokens; ++k) {
    share[k] = o.hops / tokens + (k < o.hops % tokens ? 1 : 0);
    const std::size_t start = k * n / tokens;
    const std::uint64_t visits = share[k] + 1;
    running += visits / n;  // every actor, visits / n times
    const std::size_t rest = static_cast<std::size_t>(visits % n);  // then start .. start + rest - 1
    if (start + rest <= n) {
      diff[start] += 1;
      diff[start + rest] -= 1;
    } else {
      diff[start] += 1;
      diff[n] -= 1;
      diff[0] += 1;
      diff[start + rest - n] -= 1;
    }
  }
  std::int64_t acc = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc += diff[i];
    expected[i] = running + static_cast<std::uint64_t>(acc);
  }

  // Send exactly one message to each token's start actor, then wait for all
  // of them to come back.
  const auto start_time = example::clock_type::now();
  for (std::size_t k = 0; k < tokens; ++k) {
    const auto start = static_cast<std::uint32_t>(k * n / tokens);
    member<Executor>* m = members[start].get();
    const token t{static_cast<std::uint32_t>(k), start, share[k], 0};
    m->send([m, t] { m->token_handler(t, nullptr); });
  }
  std::vector<std::uint8_t> back(tokens, 0);
  std::uint64_t hops_made = 0, wrong_hops = 0, wrong_end = 0, not_once = 0;
  for (std::size_t k = 0; k < tokens; ++k) {
    const receiver::arrival a = rcvr.wait();
    if (a.t.id >= tokens || back[a.t.id]++ != 0) {
      ++not_once;
      continue;
    }
    hops_made += a.t.hop;
    if (a.t.hop != share[a.t.id] || a.t.left != 0) ++wrong_hops;
    if (a.last != (a.t.start + share[a.t.id]) % n) ++wrong_end;
  }
  const double seconds = example::seconds_since(start_time);

  // Every handler that touched an actor happened-before its token came back
  // (each is a link in some token's chain of posts), so the counts are
  // final; the drain jobs may still be returning, which touches nothing here.
  std::uint64_t wrong_deliveries = 0, order_errors = 0, wrong_thread = 0, overlaps = 0, deliveries = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const member<Executor>& m = *members[i];
    deliveries += m.deliveries();
    if (m.deliveries() != expected[i]) ++wrong_deliveries;
    order_errors += m.order_errors();
    wrong_thread += m.wrong_thread();
    overlaps += m.overlaps();
  }

  using ull = unsigned long long;
  std::printf("%s: %zu actors on %zu work_threads (%s), %llu hops by %zu tokens in %.3f s (%.1f ns/hop)\n",
              example::program_name.c_str(), n, o.threads, what, static_cast<ull>(hops_made), tokens, seconds,
              hops_made != 0 ? seconds * 1e9 / static_cast<double>(hops_made) : 0.0);
  check(not_once == 0, "every token came back exactly once", not_once);
  check(hops_made == o.hops, "the tokens made exactly --hops hops", hops_made);
  check(wrong_hops == 0, "each token made exactly its share of the hops", wrong_hops);
  check(wrong_end == 0, "each token came back from the actor its last hop reached", wrong_end);
  check(order_errors == 0, "every delivery followed the ring order", order_errors);
  check(wrong_deliveries == 0, "every actor saw the deliveries the ring predicts", wrong_deliveries);
  check(deliveries == o.hops + tokens, "deliveries = hops + one first delivery per token", deliveries);
  check(wrong_thread == 0, "every handler ran on its actor's work_thread", wrong_thread);
  check(overlaps == 0, "no actor ran two handlers at once", overlaps);
  return check.ok();
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  example::checks check;

  // Asio: single_thread_pool pools[num_threads].
  std::vector<std::unique_ptr<work_thread>> pools;
  for (std::size_t t = 0; t < o.threads; ++t) pools.push_back(std::make_unique<work_thread>());
  const std::size_t actors_per_thread = o.actors / o.threads == 0 ? 1 : o.actors / o.threads;
  auto pool_of = [&](std::size_t i) -> work_thread& { return *pools[(i / actors_per_thread) % o.threads]; };
  auto thread_of = [&](std::size_t i) { return pool_of(i).get_id(); };

  bool ok = false;
  if (o.direct) {
    ok = run_ring<work_thread::executor_type>(
        o, [&](std::size_t i) { return pool_of(i).get_executor(); }, thread_of, "each actor posts to its thread");
  } else {
    // Asio: strand<executor> per actor. Declared after the pools: the
    // handles go first (a drain job in flight keeps its strand's state).
    using strand = task_strand<work_thread::executor_type>;
    std::vector<strand> strands;
    strands.reserve(o.actors);
    for (std::size_t i = 0; i < o.actors; ++i) strands.emplace_back(pool_of(i));
    ok = run_ring<strand::executor_type>(
        o, [&](std::size_t i) { return strands[i].get_executor(); }, thread_of, "a task_strand per actor");
  }
  if (!ok) check.fail();

  // The work_threads stop here: each runs what is still queued (nothing:
  // every token is back), then joins.
  pools.clear();
  return check.summary();
}
