// Stress test for mpscq::queue (default) and mpscq::llist (--llist).
//
//   queue_stress [--llist | --poll] <producers> <items_per_producer> <seconds>
//
// --poll: the consumer takes items with consumer::poll(64, f) (pop_batch,
// paced: detail/pacer.hpp) instead of pop().
//
// Each producer pushes heap-allocated items numbered 0, 1, 2, ... until it has
// pushed <items_per_producer> or <seconds> have passed, whichever comes first.
// One consumer takes everything, frees each item at once (ASan checks that the
// queue no longer touches it), and checks per producer that every sequence
// number arrives exactly once and in order. At the end it checks that nothing
// was lost and that the empty -> non-empty accounting holds:
//   queue:  pushes that returned true == pops after which emptied() was true
//           (+1 if the queue ends non-empty; it should end empty)
//   llist:  adds that returned true == del_all() calls that took something
//           (+1 if the list ends non-empty)
// The last line is a summary ending in OK or FAIL; any mismatch exits 1.
//
// The consumer never spins on the in-flight window: a nullptr from pop() with
// !empty() means a producer is between its exchange and its link, so the
// consumer yields and tries again. Producers stay at most `max_backlog` items
// ahead of the consumer, so memory stays bounded on a slow (sanitized,
// oversubscribed) machine.
#include <mpscq/llist.hpp>
#include <mpscq/queue.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t max_backlog = 1 << 15;  // items a producer may be ahead of the consumer
constexpr auto stall_limit = std::chrono::seconds(5);  // no progress for this long: report lost items

struct item {
  mpscq::node hook;  // first member: node* and item* convert directly
  std::uint32_t producer;
  std::uint64_t seq;
};
item* as_item(mpscq::node* n) { return reinterpret_cast<item*>(n); }

struct alignas(64) producer_slot {
  std::atomic<std::uint64_t> consumed{0};  // written by the consumer, read by the producer (backpressure)
  std::uint64_t pushed = 0;                // written by the producer, read after join
  std::uint64_t found_empty = 0;           // pushes / adds that returned true
};

// Consumer-side bookkeeping per producer.
struct tracker {
  std::vector<bool> seen;
  std::uint64_t next_expected = 0;
  std::uint64_t unique = 0;
};

struct totals {
  std::uint64_t out = 0;  // items received, duplicates included
  std::uint64_t unique = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t reorders = 0;
  std::uint64_t bad_items = 0;  // producer or sequence number out of range
};

class checker {
 public:
  checker(std::vector<producer_slot>& slots, std::uint64_t items) : slots_(slots), per_(slots.size()), items_(items) {}

  // Checks one received item; frees it unless it is a duplicate (whose
  // memory the first delivery already freed).
  void receive(item* it) {
    ++t_.out;
    if (it->producer >= per_.size() || it->seq >= items_) {
      ++t_.bad_items;
      return;
    }
    tracker& tr = per_[it->producer];
    const std::uint64_t seq = it->seq;
    if (seq >= tr.seen.size()) tr.seen.resize(std::max<std::uint64_t>(seq + 1, tr.seen.size() * 2), false);
    if (tr.seen[seq]) {
      ++t_.duplicates;
      return;
    }
    tr.seen[seq] = true;
    ++tr.unique;
    ++t_.unique;
    if (seq != tr.next_expected) ++t_.reorders;
    tr.next_expected = std::max(tr.next_expected, seq + 1);
    slots_[it->producer].consumed.store(tr.unique, std::memory_order_relaxed);
    delete it;
  }

  const totals& result() const { return t_; }

 private:
  std::vector<producer_slot>& slots_;
  std::vector<tracker> per_;
  std::uint64_t items_;
  totals t_;
};

// Producers alternate between two kinds of segment of `segment_items` items:
// a flood (push as fast as the backlog limit allows: contention on the tail,
// long chains) and a trickle (bursts of 1..16 items, then wait until the
// consumer has taken all of this producer's items: the queue keeps going
// empty, which exercises the stub path and the empty -> non-empty accounting).
constexpr std::uint64_t segment_items = 1 << 14;

template <class Push>
void produce(std::uint32_t p, std::uint64_t items, clock_type::time_point deadline, producer_slot& slot,
             Push push) {
  std::uint64_t seq = 0;
  std::uint32_t rng = 0x9e3779b9u * (p + 1);
  std::uint64_t burst_left = 0;
  // Waits until the consumer has taken all but `allowed` of our items; false
  // when the deadline passes first (items lost: the consumer reports them).
  auto wait_for_consumer = [&](std::uint64_t allowed) {
    for (unsigned spins = 0; seq - slot.consumed.load(std::memory_order_relaxed) > allowed; ++spins) {
      if (spins % 1024 == 1023 && clock_type::now() >= deadline) return false;
      std::this_thread::yield();
    }
    return true;
  };
  for (; seq < items; ++seq) {
    if (seq % 256 == 0) {
      if (clock_type::now() >= deadline || !wait_for_consumer(max_backlog)) break;
    }
    if ((seq / segment_items) % 2 == 1) {  // trickle segment
      if (burst_left == 0) {
        if (!wait_for_consumer(0)) break;
        rng = rng * 1664525u + 1013904223u;
        burst_left = 1 + (rng >> 28);
      }
      --burst_left;
    }
    auto* it = new item{{}, p, seq};
    if (push(&it->hook)) ++slot.found_empty;
  }
  slot.pushed = seq;
}

clock_type::time_point deadline_after(double seconds) {
  return clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
}

struct run_result {
  totals t;
  std::uint64_t in = 0;
  std::uint64_t found_empty = 0;   // pushes / adds that returned true
  std::uint64_t emptied = 0;       // pops that emptied / non-empty takes
  std::uint64_t inflight_waits = 0;  // queue: pop() == nullptr while !empty()
  std::uint64_t polls = 0;           // queue --poll: poll() calls that handed out items
  bool ends_empty = true;
  bool stalled = false;
};

run_result run_queue(unsigned producers, std::uint64_t items, double seconds, bool poll_mode) {
  mpscq::queue q;
  std::vector<producer_slot> slots(producers);
  std::atomic<unsigned> done{0};
  const auto deadline = deadline_after(seconds);
  std::vector<std::thread> threads;
  for (unsigned p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      produce(p, items, deadline, slots[p], [&](mpscq::node* n) { return q.push(n); });
      done.fetch_add(1, std::memory_order_release);
    });
  }
  run_result r;
  checker check(slots, items);
  {
    mpscq::consumer c(q);
    auto last_progress = clock_type::now();
    for (;;) {
      if (poll_mode) {
        // consumer::poll (pop_batch, paced): emptied() inside f describes
        // the node being handed out, as after the equivalent pop().
        const int got = c.poll(64, [&](mpscq::node* n) {
          if (c.emptied()) ++r.emptied;
          check.receive(as_item(n));
        });
        if (got > 0) {
          ++r.polls;
          last_progress = clock_type::now();
          continue;
        }
      } else if (mpscq::node* n = c.pop()) {
        if (c.emptied()) ++r.emptied;
        check.receive(as_item(n));
        last_progress = clock_type::now();
        continue;
      }
      if (!q.empty()) {
        // A producer is inside its window (or nodes are stuck: the stall
        // check below ends that). Let it run; never spin on the queue.
        ++r.inflight_waits;
      } else if (done.load(std::memory_order_acquire) == producers && q.empty()) {
        // Every push has completed and the queue is empty: all received.
        break;
      }
      if (done.load(std::memory_order_acquire) == producers && clock_type::now() - last_progress > stall_limit) {
        r.stalled = true;  // producers finished, yet nodes do not come out
        break;
      }
      std::this_thread::yield();
    }
    r.ends_empty = q.empty();
  }
  for (auto& th : threads) th.join();
  for (auto& s : slots) {
    r.in += s.pushed;
    r.found_empty += s.found_empty;
  }
  r.t = check.result();
  return r;
}

run_result run_llist(unsigned producers, std::uint64_t items, double seconds) {
  mpscq::llist l;
  std::vector<producer_slot> slots(producers);
  std::atomic<unsigned> done{0};
  const auto deadline = deadline_after(seconds);
  std::vector<std::thread> threads;
  for (unsigned p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      produce(p, items, deadline, slots[p], [&](mpscq::node* n) { return l.add(n); });
      done.fetch_add(1, std::memory_order_release);
    });
  }
  run_result r;
  checker check(slots, items);
  for (;;) {
    // Read `done` before the take: if every producer had finished, this take
    // gets everything that is left.
    const bool all_done = done.load(std::memory_order_acquire) == producers;
    mpscq::node* n = mpscq::llist::reverse(l.del_all());
    if (n != nullptr) ++r.emptied;
    while (n != nullptr) {
      mpscq::node* next = n->next.load(std::memory_order_relaxed);
      check.receive(as_item(n));
      n = next;
    }
    if (all_done) break;
    std::this_thread::yield();
  }
  r.ends_empty = l.empty();
  for (auto& th : threads) th.join();
  for (auto& s : slots) {
    r.in += s.pushed;
    r.found_empty += s.found_empty;
  }
  r.t = check.result();
  return r;
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--llist | --poll] <producers> <items_per_producer> <seconds>\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool llist_mode = false;
  bool poll_mode = false;
  std::vector<const char*> args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--llist") == 0) {
      llist_mode = true;
    } else if (std::strcmp(argv[i], "--poll") == 0) {
      poll_mode = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  if (args.size() != 3) return usage(argv[0]);
  char* end = nullptr;
  const unsigned long producers = std::strtoul(args[0], &end, 10);
  if (*end != '\0' || producers == 0 || producers > 1024) return usage(argv[0]);
  const unsigned long long items = std::strtoull(args[1], &end, 10);
  if (*end != '\0') return usage(argv[0]);
  const double seconds = std::strtod(args[2], &end);
  if (*end != '\0' || !(seconds > 0)) return usage(argv[0]);

  const auto start = clock_type::now();
  const run_result r = llist_mode ? run_llist(static_cast<unsigned>(producers), items, seconds)
                                  : run_queue(static_cast<unsigned>(producers), items, seconds, poll_mode);
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();

  const std::uint64_t lost = r.in > r.t.unique ? r.in - r.t.unique : 0;
  // Every empty -> non-empty transition ends in a pop that emptied the queue,
  // except the last one if the queue ends non-empty.
  const std::uint64_t expected_emptied = r.found_empty - (r.ends_empty || r.found_empty == 0 ? 0 : 1);
  std::string failures;
  if (r.t.unique != r.in) failures += " in!=out";
  if (r.t.duplicates != 0) failures += " duplicates";
  if (r.t.reorders != 0) failures += " reorders";
  if (r.t.bad_items != 0) failures += " bad_items";
  if (r.stalled) failures += " stalled";
  if (!r.ends_empty) failures += " ends_non_empty";
  if ((r.in > 0 && r.found_empty == 0) || r.emptied != expected_emptied) failures += " empty_to_nonempty!=emptied";

  if (llist_mode) {
    std::printf(
        "llist-stress: producers=%lu items_per_producer=%llu seconds=%.2f in=%llu out=%llu duplicates=%llu "
        "reorders=%llu lost=%llu empty_to_nonempty_adds=%llu nonempty_takes=%llu %s%s\n",
        producers, items, elapsed, static_cast<unsigned long long>(r.in), static_cast<unsigned long long>(r.t.out),
        static_cast<unsigned long long>(r.t.duplicates), static_cast<unsigned long long>(r.t.reorders),
        static_cast<unsigned long long>(lost), static_cast<unsigned long long>(r.found_empty),
        static_cast<unsigned long long>(r.emptied), failures.empty() ? "OK" : "FAIL:", failures.c_str());
  } else {
    std::printf(
        "queue-stress: producers=%lu items_per_producer=%llu seconds=%.2f in=%llu out=%llu duplicates=%llu "
        "reorders=%llu lost=%llu empty_to_nonempty_pushes=%llu emptied_pops=%llu inflight_waits=%llu "
        "consumer=%s polls=%llu %s%s\n",
        producers, items, elapsed, static_cast<unsigned long long>(r.in), static_cast<unsigned long long>(r.t.out),
        static_cast<unsigned long long>(r.t.duplicates), static_cast<unsigned long long>(r.t.reorders),
        static_cast<unsigned long long>(lost), static_cast<unsigned long long>(r.found_empty),
        static_cast<unsigned long long>(r.emptied), static_cast<unsigned long long>(r.inflight_waits),
        poll_mode ? "poll" : "pop", static_cast<unsigned long long>(r.polls), failures.empty() ? "OK" : "FAIL:",
        failures.c_str());
  }
  return failures.empty() ? 0 : 1;
}
