// bench/sleepers.hpp - contenders whose consumer (owner) sleeps when idle,
// shared by S2's second table and S6: a bare futex, a bench-local mpscq::queue
// + futex consumer, and the local_work item trampolines.
#ifndef MPSCQ_BENCH_SLEEPERS_HPP
#define MPSCQ_BENCH_SLEEPERS_HPP

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <mpscq/queue.hpp>

#include "bench.hpp"

#if __has_include(<mpscq/local_work.hpp>)
#include <mpscq/local_work.hpp>
#define MPSCQ_BENCH_HAVE_LOCAL_WORK 1
#else
#define MPSCQ_BENCH_HAVE_LOCAL_WORK 0
#endif
#if __has_include(<mpscq/baseline/llist_local_work.hpp>)
#include <mpscq/baseline/llist_local_work.hpp>
#define MPSCQ_BENCH_HAVE_LEGACY 1
#else
#define MPSCQ_BENCH_HAVE_LEGACY 0
#endif

namespace bench {

inline long futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, long timeout_ns) {
  timespec ts{timeout_ns / 1000000000L, timeout_ns % 1000000000L};
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, &ts, nullptr,
                 0);
}
inline long futex_wake(std::atomic<std::uint32_t>& word, int n) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

// mpscq::queue with the smallest correct sleeping consumer, written here (not
// local_work): the consumer announces `sleeping`, fences, re-checks the queue,
// then futex-waits; a producer whose push found the queue empty (the only push
// a sleeper can be waiting for) fences, and wakes if the flag is set. The two
// seq_cst fences make a Dekker pair: either the producer sees the flag or the
// consumer's re-check sees the push.
class mpscq_futex_queue {
 public:
  void push(item* it) noexcept {
    if (q_.push(make_hook<mpscq::node>(it))) {
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (sleeping_.load(std::memory_order_relaxed) != 0 && sleeping_.exchange(0, std::memory_order_relaxed) != 0) {
        futex_wake(sleeping_, 1);
        wakes_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  // Owner: the next item, sleeping up to timeout_ns when there is none
  // (nullptr then). In-flight pushes: spin on them as every polling loop of
  // the bench does (backoff: pauses, one yield per 16k), never sleep on
  // them. (It yielded on every poll after 64 pauses: under load each yield
  // gave a busy thread a whole time slice.) The owner runs pinned to its
  // own CPU wherever this contender runs (S2's sleeping table, S6).
  item* pop_wait(long timeout_ns) noexcept {
    backoff b(true);
    for (;;) {
      if (mpscq::node* n = c_.pop()) return hook_item(n);
      if (!q_.empty(std::memory_order_acquire)) {
        b.pause();
        continue;
      }
      sleeping_.store(1, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (!q_.empty(std::memory_order_relaxed)) {
        sleeping_.store(0, std::memory_order_relaxed);
        continue;
      }
      futex_wait(sleeping_, 1, timeout_ns);
      const bool woken = sleeping_.exchange(0, std::memory_order_relaxed) == 0;
      if (!woken && q_.empty(std::memory_order_acquire)) return nullptr;  // timed out
    }
  }
  std::uint64_t wakes() const noexcept { return wakes_.load(std::memory_order_relaxed); }

 private:
  mpscq::queue q_;
  alignas(64) std::atomic<std::uint32_t> sleeping_{0};
  std::atomic<std::uint64_t> wakes_{0};
  alignas(64) mpscq::consumer c_{q_};
};

#if MPSCQ_BENCH_HAVE_LOCAL_WORK
// An item run by a local_work: the item's hook holds an mpscq::work whose func
// calls the sink the owner installed (one indirect call, as every task-work
// item pays).
struct work_sink {
  void* ctx = nullptr;
  void (*fn)(void* ctx, item& it, bool cancel) = nullptr;
};
#endif

}  // namespace bench

#endif  // MPSCQ_BENCH_SLEEPERS_HPP
