// bench/contenders_moodycamel.cpp - moodycamel::ConcurrentQueue, with and
// without tokens.
#include <concurrentqueue/concurrentqueue.h>

#include "scenarios.hpp"

namespace bench {
namespace {

struct moodycamel_adaptor {
  static constexpr const char* name = "moodycamel (no tokens)";
  static constexpr guarantees traits{"per-producer only", "unbounded (allocates blocks)", false,
                                     "lock-free (implicit producer lookup per call)"};
  moodycamel::ConcurrentQueue<item*> q;
  explicit moodycamel_adaptor(std::size_t capacity) : q(std::min<std::size_t>(capacity, 4096)) {}
  struct producer_t {
    explicit producer_t(moodycamel_adaptor&) {}
  };
  struct consumer_t {
    explicit consumer_t(moodycamel_adaptor&) {}
  };
  bool try_push(producer_t&, item* it) { return q.enqueue(it); }
  item* try_pop(consumer_t&) {
    item* it = nullptr;
    return q.try_dequeue(it) ? it : nullptr;
  }
};

struct moodycamel_token_adaptor {
  static constexpr const char* name = "moodycamel (tokens)";
  static constexpr guarantees traits{"per-producer only", "unbounded (allocates blocks)", false,
                                     "lock-free (explicit producer/consumer tokens)"};
  moodycamel::ConcurrentQueue<item*> q;
  explicit moodycamel_token_adaptor(std::size_t capacity) : q(std::min<std::size_t>(capacity, 4096)) {}
  struct producer_t {
    moodycamel::ProducerToken t;
    explicit producer_t(moodycamel_token_adaptor& a) : t(a.q) {}
  };
  struct consumer_t {
    moodycamel::ConsumerToken t;
    explicit consumer_t(moodycamel_token_adaptor& a) : t(a.q) {}
  };
  bool try_push(producer_t& p, item* it) { return q.enqueue(p.t, it); }
  item* try_pop(consumer_t& c) {
    item* it = nullptr;
    return q.try_dequeue(c.t, it) ? it : nullptr;
  }
};

}  // namespace

void register_moodycamel(std::vector<queue_contender>& out) {
  out.push_back(make_contender<moodycamel_adaptor>());
  out.push_back(make_contender<moodycamel_token_adaptor>());
}

}  // namespace bench
