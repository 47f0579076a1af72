// bench/contenders_xenium.cpp - xenium's ramalhete_queue (FAAArrayQueue,
// unbounded, epoch-based reclamation) and vyukov_bounded_queue.
#include <xenium/ramalhete_queue.hpp>
#include <xenium/reclamation/generic_epoch_based.hpp>
#include <xenium/vyukov_bounded_queue.hpp>

#include "scenarios.hpp"

namespace bench {
namespace {

struct ramalhete_adaptor {
  static constexpr const char* name = "xenium ramalhete_queue";
  static constexpr guarantees traits{"global (FAA order)", "unbounded (512-entry nodes)", false,
                                     "lock-free (FAA; epoch-based reclamation)"};
  xenium::ramalhete_queue<item*, xenium::policy::reclaimer<xenium::reclamation::epoch_based<>>> q;
  explicit ramalhete_adaptor(std::size_t) {}
  struct producer_t {
    explicit producer_t(ramalhete_adaptor&) {}
  };
  struct consumer_t {
    explicit consumer_t(ramalhete_adaptor&) {}
  };
  bool try_push(producer_t&, item* it) {
    q.push(it);
    return true;
  }
  item* try_pop(consumer_t&) {
    item* it = nullptr;
    return q.try_pop(it) ? it : nullptr;
  }
};

struct vyukov_bounded_adaptor {
  static constexpr const char* name = "xenium vyukov_bounded_queue";
  static constexpr guarantees traits{"global (ticket order)", "bounded (2^n)", false,
                                     "not lock-free: per-slot sequence numbers"};
  xenium::vyukov_bounded_queue<item*> q;
  static std::size_t pow2(std::size_t c) {
    std::size_t p = 2;
    while (p < c) p *= 2;
    return p;
  }
  explicit vyukov_bounded_adaptor(std::size_t capacity) : q(pow2(capacity)) {}
  struct producer_t {
    explicit producer_t(vyukov_bounded_adaptor&) {}
  };
  struct consumer_t {
    explicit consumer_t(vyukov_bounded_adaptor&) {}
  };
  bool try_push(producer_t&, item* it) { return q.try_push(it); }
  item* try_pop(consumer_t&) {
    item* it = nullptr;
    return q.try_pop(it) ? it : nullptr;
  }
};

}  // namespace

void register_xenium(std::vector<queue_contender>& out) {
  out.push_back(make_contender<ramalhete_adaptor>());
  out.push_back(make_contender<vyukov_bounded_adaptor>());
}

}  // namespace bench
