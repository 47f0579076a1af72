// bench/contenders_urcu.cpp - liburcu's wait-free concurrent queue (cds_wfcq),
// the same algorithm family as mpscq::queue. The inline (_LGPL_SOURCE)
// versions; the non-blocking dequeue (the blocking one sleeps 10 ms after 10
// spins on an in-flight enqueue).
#define _LGPL_SOURCE 1
#include <urcu/wfcqueue.h>

#include <new>

#include "scenarios.hpp"

namespace bench {
namespace {

struct urcu_adaptor {
  static constexpr const char* name = "liburcu cds_wfcq";
  static constexpr guarantees traits{"global (xchg order)", "unbounded", true,
                                     "wait-free enqueue (xchg + store); non-blocking dequeue"};
  struct alignas(64) head_t {
    __cds_wfcq_head h;
  } head;
  struct alignas(64) tail_t {
    cds_wfcq_tail t;
  } tail;
  explicit urcu_adaptor(std::size_t) { __cds_wfcq_init(&head.h, &tail.t); }
  struct producer_t {
    explicit producer_t(urcu_adaptor&) {}
  };
  struct consumer_t {
    explicit consumer_t(urcu_adaptor&) {}
  };
  bool try_push(producer_t&, item* it) noexcept {
    cds_wfcq_node* n = make_hook<cds_wfcq_node>(it);
    cds_wfcq_node_init(n);
    cds_wfcq_enqueue(__cds_wfcq_head_cast(&head.h), &tail.t, n);
    return true;
  }
  item* try_pop(consumer_t&) noexcept {
    cds_wfcq_node* n = __cds_wfcq_dequeue_nonblocking(__cds_wfcq_head_cast(&head.h), &tail.t);
    if (n == nullptr || n == CDS_WFCQ_WOULDBLOCK) return nullptr;
    return hook_item(n);
  }
};

}  // namespace

void register_urcu(std::vector<queue_contender>& out) { out.push_back(make_contender<urcu_adaptor>()); }

}  // namespace bench
