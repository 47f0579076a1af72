// bench/contenders_boost.cpp - boost::lockfree::queue (Michael-Scott with a
// node free list).
#include <boost/lockfree/queue.hpp>

#include "scenarios.hpp"

namespace bench {
namespace {

struct boost_adaptor {
  static constexpr const char* name = "boost::lockfree::queue";
  static constexpr guarantees traits{"global (CAS order)", "unbounded (node pool, allocates when empty)", false,
                                     "lock-free (CAS loops, tagged pointers)"};
  boost::lockfree::queue<item*> q;
  explicit boost_adaptor(std::size_t capacity) : q(std::min<std::size_t>(capacity, 65534)) {}
  struct producer_t {
    explicit producer_t(boost_adaptor&) {}
  };
  struct consumer_t {
    explicit consumer_t(boost_adaptor&) {}
  };
  bool try_push(producer_t&, item* it) { return q.push(it); }
  item* try_pop(consumer_t&) {
    item* it = nullptr;
    return q.pop(it) ? it : nullptr;
  }
};

}  // namespace

void register_boost(std::vector<queue_contender>& out) { out.push_back(make_contender<boost_adaptor>()); }

}  // namespace bench
