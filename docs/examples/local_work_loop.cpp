// docs/examples/local_work_loop.cpp - mpscq::local_work: an owner thread that
// runs work only when it calls run() or wait() (DEFER_TASKRUN), lazy and
// eager adds, countdown waits, min_wait, close() with cancel, the owner
// check, and (Linux) the eventfd. Shown in docs/api.md; built and run as the
// CTest test doc_local_work_loop. Exits non-zero if any check fails.
#include <mpscq/local_work.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <poll.h>
#endif

namespace {

using namespace std::chrono_literals;

int failures = 0;
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ++failures;
  }
}

// A completion handed to the owner thread.
struct completion {
  int producer = 0;
  int seq = 0;
  int* expected_seq = nullptr;  // the owner's per-producer expectation (owner-only state)
  bool* in_order = nullptr;
  int* cancelled = nullptr;
  mpscq::work tw{{}, &completion::run};

  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    completion& c = mpscq::container_of<&completion::tw>(w);
    if (st.cancel) {  // close() or an add after close(): release, do not work
      if (c.cancelled != nullptr) ++*c.cancelled;
      return;
    }
    if (c.expected_seq != nullptr) {
      // Runs on the owner thread: owner-only state needs no lock.
      *c.in_order = *c.in_order && c.seq == c.expected_seq[c.producer];
      c.expected_seq[c.producer] = c.seq + 1;
    }
  }
};

// 1. Everything on the owner thread: run(cap) leaves the rest queued.
void run_with_a_cap() {
  mpscq::local_work lw;  // the first thread to call run()/wait()/close() becomes the owner
  completion c[3];
  for (auto& x : c) lw.add(x.tw);  // eager is the default; adding from the owner is fine
  check(lw.has_work(), "the add that found the queue empty raised has_work()");
  check(lw.run(2) == 2, "run(2) runs two items");
  check(lw.has_work(), "... and says work is left");
  check(lw.run(64) == 1, "the next run() takes the rest");
  check(!lw.has_work(), "nothing left");
}

// 2. Producers on other threads, the owner waits in batches.
void producers_and_a_waiting_owner() {
  constexpr int producers = 2;
  constexpr int per_producer = 5000;
  mpscq::local_work lw;
  int expected_seq[producers] = {};
  bool in_order = true;
  std::vector<std::unique_ptr<completion[]>> items;
  for (int p = 0; p < producers; ++p) {
    items.emplace_back(new completion[per_producer]);
    for (int i = 0; i < per_producer; ++i) {
      completion& c = items.back()[i];
      c.producer = p;
      c.seq = i;
      c.expected_seq = expected_seq;
      c.in_order = &in_order;
    }
  }
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        // Every 100th add is eager (wake a sleeping owner now), the rest lazy
        // (count towards the owner's min_events; only the add that completes
        // the count wakes it).
        lw.add(items[p][i].tw, i % 100 == 99 ? mpscq::wake::eager : mpscq::wake::lazy);
      }
    });
  }
  int ran = 0;
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (ran < producers * per_producer && std::chrono::steady_clock::now() < give_up) {
    // At least 64 items, or whatever ran by the 10 ms timeout; after 1 ms
    // (min_wait) any single item is enough.
    ran += lw.wait(64, 10ms, 1ms);
  }
  for (auto& t : threads) t.join();
  ran += lw.run(producers * per_producer);  // anything a timed-out wait left
  check(ran == producers * per_producer, "every item ran once on the owner");
  check(in_order, "each producer's items ran in its add order");
  const mpscq::local_work_stats s = lw.stats();
  check(s.items_run == static_cast<std::uint64_t>(ran), "stats().items_run counts them");
  check(s.wakes <= s.wait_cycles, "at most one futex wake per wait cycle");
}

// 3. min_wait: one queued item is enough once min_wait has passed.
void min_wait() {
  mpscq::local_work lw;
  completion c;
  std::thread([&] { lw.add(c.tw, mpscq::wake::lazy); }).join();
  const auto start = std::chrono::steady_clock::now();
  const int n = lw.wait(16, 5s, 2ms);  // wants 16, but after 2 ms one will do
  check(n == 1, "wait() returned after min_wait with the one item");
  check(std::chrono::steady_clock::now() - start >= 2ms, "... not before min_wait");
}

// 4. close(): leftovers run once with cancel = true; later adds run inline.
void close_and_cancel() {
  int cancelled = 0;
  completion c[3];
  for (auto& x : c) x.cancelled = &cancelled;
  mpscq::local_work lw;
  lw.add(c[0].tw);
  lw.add(c[1].tw);
  lw.close();  // owner only: waits out adds in flight, then drains with cancel
  check(cancelled == 2, "close() ran the queued items with cancel = true");
  lw.add(c[2].tw);  // after close(): runs at once, on this thread, cancelled
  check(cancelled == 3, "an add after close() runs its item inline, cancelled");
  check(lw.run(8) == 0 && lw.wait(1, 1ms) == 0, "run()/wait() after close() return 0");
  const mpscq::local_work_stats s = lw.stats();
  check(s.items_cancelled == 2 && s.cancelled_inline == 1, "stats() tells the two apart");
}

// 5. The owner: the first thread that calls run(), wait() or close(), or the
// one named in the options. Owner-only calls from another thread are misuse:
// "mpscq::local_work: run() called from a thread that is not the owner" on
// stderr, then abort (docs/api.md, Contracts). disown() hands ownership on.
void owner_check() {
  mpscq::local_work_options options;
  options.owner = std::this_thread::get_id();  // fix the owner up front
  mpscq::local_work lw(options);
  check(lw.run(1) == 0, "the named owner runs");
  lw.disown();  // the next thread to call run()/wait()/close() becomes the owner
  std::thread([&] { lw.close(); }).join();  // closed on that thread; the destructor may then run anywhere
}

#if defined(__linux__)
// 6. Linux: an eventfd for owners that sleep in poll/epoll instead of wait().
bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

void event_fd() {
  mpscq::local_work_options options;
  options.enable_eventfd = true;
  mpscq::local_work lw(options);
  const int fd = lw.event_fd();
  check(fd >= 0, "event_fd() is a descriptor when enabled");
  check(!readable(fd, 0), "not readable while the queue is empty");
  completion c;
  std::thread([&] { lw.add(c.tw); }).join();
  check(readable(fd, 5000), "readable once work arrived on an empty queue");
  check(lw.has_work(), "has_work() agrees");
  check(lw.run(16) == 1, "run() takes the work ...");
  check(!readable(fd, 0), "... and drains the eventfd itself");
}
#endif

}  // namespace

int main() {
  run_with_a_cap();
  producers_and_a_waiting_owner();
  min_wait();
  close_and_cancel();
  owner_check();
#if defined(__linux__)
  event_fd();
#endif
  {
    mpscq::local_work plain;
    check(plain.event_fd() == -1, "event_fd() is -1 unless enabled");
  }
  if (failures != 0) return 1;
  std::puts("local_work_loop: OK");
  return 0;
}
