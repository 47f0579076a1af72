// docs/examples/queue_basics.cpp - mpscq::queue and mpscq::intrusive_queue:
// push / pop, the empty -> non-empty pair (push()'s result, emptied()),
// push_batch, and a consumer that treats "nullptr but not empty" as "come
// back later" instead of spinning. Shown in docs/api.md; built and run as the
// CTest test doc_queue_basics. Exits non-zero if any check fails.
#include <mpscq/queue.hpp>

#include <atomic>
#include <cstdio>
#include <memory>
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

// Your object, with the intrusive hook as a member (anywhere in the object).
struct msg {
  int producer = 0;
  int seq = 0;
  mpscq::node hook;
};
using msg_queue = mpscq::intrusive_queue<msg, &msg::hook>;

void single_thread() {
  msg_queue q;
  msg a{0, 1, {}};
  msg b{0, 2, {}};
  check(q.empty(), "a new queue is empty");
  check(q.push(&a), "the first push finds the queue empty (returns true)");
  check(!q.push(&b), "the second push does not");

  msg_queue::consumer c(q);  // the one consumer; at most one per queue at a time
  check(c.emptied(), "a new consumer starts with emptied() true");
  check(c.pop() == &a, "oldest first");
  check(!c.emptied(), "b is still queued");
  check(c.pop() == &b, "then b");
  check(c.emptied(), "the pop that returned b put the stub back");
  check(c.pop() == nullptr && q.empty(), "empty: pop() returns nullptr and empty() is true");

  // A popped node belongs to the caller at once: push it again (or free it).
  check(q.push(&a), "after an emptying pop, the next push starts a new cycle");
  check(c.pop() == &a && c.emptied(), "a re-pushed node comes back out");
}

void batch() {
  // push_batch: a chain the caller linked itself (first -> ... -> last), one
  // exchange for all of it; the chain stays contiguous and in order.
  mpscq::queue q;
  mpscq::node n[3];
  // Relaxed: the nodes are not shared yet; push_batch's exchange publishes them.
  n[0].next.store(&n[1], std::memory_order_relaxed);
  n[1].next.store(&n[2], std::memory_order_relaxed);
  check(q.push_batch(&n[0], &n[2]), "a batch onto an empty queue reports the empty -> non-empty edge once");
  mpscq::consumer c(q);
  check(c.pop() == &n[0] && c.pop() == &n[1] && c.pop() == &n[2], "the chain comes out in its order");
  check(c.emptied(), "and the last pop emptied the queue");
}

void threads() {
  constexpr int producers = 3;
  constexpr int per_producer = 20000;
  msg_queue q;
  std::vector<std::unique_ptr<msg[]>> items;
  for (int p = 0; p < producers; ++p) {
    items.emplace_back(new msg[per_producer]);
    for (int i = 0; i < per_producer; ++i) {
      items.back()[i].producer = p;
      items.back()[i].seq = i;
    }
  }
  std::atomic<int> was_empty_pushes{0};
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      int mine = 0;
      for (int i = 0; i < per_producer; ++i) mine += q.push(&items[p][i]) ? 1 : 0;
      was_empty_pushes.fetch_add(mine, std::memory_order_relaxed);
      finished.fetch_add(1, std::memory_order_release);  // all our pushes are complete
    });
  }

  msg_queue::consumer c(q);
  int next[producers] = {};
  int popped = 0;
  int emptying_pops = 0;
  bool in_order = true;
  for (;;) {
    if (msg* m = c.pop()) {
      in_order = in_order && m->seq == next[m->producer];
      next[m->producer] = m->seq + 1;
      ++popped;
      emptying_pops += c.emptied() ? 1 : 0;
      continue;
    }
    // nullptr: either empty, or a producer sits between its exchange and its
    // link (then !q.empty()). Never spin on it: do something else, or yield.
    const bool all_pushed = finished.load(std::memory_order_acquire) == producers;
    if (all_pushed && q.empty()) break;
    std::this_thread::yield();
  }
  for (auto& t : threads) t.join();

  check(popped == producers * per_producer, "every item popped once");
  check(in_order, "each producer's items in its push order");
  // The queue ends empty, so the two sides of the empty -> non-empty edge match.
  check(was_empty_pushes.load() == emptying_pops, "pushes that returned true == pops that emptied the queue");
}

}  // namespace

int main() {
  single_thread();
  batch();
  threads();
  if (failures != 0) return 1;
  std::puts("queue_basics: OK");
  return 0;
}
