// bench/contenders_atomic_queue.cpp - atomic_queue::AtomicQueueB (run-time
// capacity, ring of atomic pointers, MPMC).
#include <atomic_queue/atomic_queue.h>

#include "scenarios.hpp"

namespace bench {
namespace {

struct atomic_queue_adaptor {
  static constexpr const char* name = "atomic_queue (AtomicQueueB)";
  static constexpr guarantees traits{"global (ticket order)", "bounded (capacity rounded to 2^n)", false,
                                     "not lock-free: pop spins on a slot a preempted producer claimed"};
  atomic_queue::AtomicQueueB<item*> q;
  explicit atomic_queue_adaptor(std::size_t capacity) : q(static_cast<unsigned>(capacity)) {}
  struct producer_t {
    explicit producer_t(atomic_queue_adaptor&) {}
  };
  struct consumer_t {
    explicit consumer_t(atomic_queue_adaptor&) {}
  };
  bool try_push(producer_t&, item* it) noexcept { return q.try_push(it); }
  item* try_pop(consumer_t&) noexcept {
    item* it = nullptr;
    return q.try_pop(it) ? it : nullptr;
  }
};

}  // namespace

void register_atomic_queue(std::vector<queue_contender>& out) {
  out.push_back(make_contender<atomic_queue_adaptor>());
}

}  // namespace bench
