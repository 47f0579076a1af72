// bench/contenders_mpscq.cpp - mpscq::queue (pop and pop_batch), mpscq::llist,
// mutex + std::deque, and the single-thread plain-array floor.
#include <mpscq/llist.hpp>
#include <mpscq/queue.hpp>

#include <deque>
#include <mutex>

#include "scenarios.hpp"

namespace bench {
namespace {

struct mpscq_queue_adaptor {
  static constexpr const char* name = "mpscq::queue";
  static constexpr guarantees traits{"global (exchange order)", "unbounded", true,
                                     "wait-free push (1 xchg + 1 store); pop never spins"};
  mpscq::queue q;
  explicit mpscq_queue_adaptor(std::size_t) {}
  struct producer_t {
    explicit producer_t(mpscq_queue_adaptor&) {}
  };
  struct consumer_t {
    mpscq::consumer c;
    explicit consumer_t(mpscq_queue_adaptor& a) : c(a.q) {}
  };
  bool try_push(producer_t&, item* it) noexcept {
    q.push(make_hook<mpscq::node>(it));
    return true;
  }
  item* try_pop(consumer_t& k) noexcept {
    mpscq::node* n = k.c.pop();
    return n == nullptr ? nullptr : hook_item(n);
  }
};

// mpscq::queue through consumer::pop_batch. The scenarios take one item per
// try_pop, so the consumer keeps what one pop_batch call handed out (at most
// batch_size items) in a small buffer and returns them from there, as the
// llist adaptor does with its del_all chain. Items in the buffer are already
// out of the queue; the scenarios count them consumed only when try_pop
// returns them.
struct mpscq_batch_adaptor {
  static constexpr const char* name = "mpscq batch";
  static constexpr guarantees traits{"global (exchange order)", "unbounded", true,
                                     "wait-free push (1 xchg + 1 store); pop_batch never spins"};
  static constexpr int batch_size = 64;
  mpscq::queue q;
  explicit mpscq_batch_adaptor(std::size_t) {}
  struct producer_t {
    explicit producer_t(mpscq_batch_adaptor&) {}
  };
  struct consumer_t {
    mpscq::consumer c;
    int next = 0, count = 0;
    item* buf[batch_size];
    explicit consumer_t(mpscq_batch_adaptor& a) : c(a.q) {}
  };
  bool try_push(producer_t&, item* it) noexcept {
    q.push(make_hook<mpscq::node>(it));
    return true;
  }
  item* try_pop(consumer_t& k) noexcept {
    if (k.next == k.count) {
      int got = 0;
      k.c.pop_batch(batch_size, [&](mpscq::node* n) noexcept { k.buf[got++] = hook_item(n); });
      k.next = 0;
      k.count = got;
      if (got == 0) return nullptr;
    }
    return k.buf[k.next++];
  }
};

// The baseline the seed replaces: LIFO list, cmpxchg push; the consumer takes
// everything with del_all, reverses it, then walks the batch in FIFO order.
struct llist_adaptor {
  static constexpr const char* name = "mpscq::llist (del_all+reverse)";
  static constexpr guarantees traits{"global per del_all batch (CAS order)", "unbounded", true,
                                     "lock-free push (CAS loop); del_all + O(n) reverse"};
  mpscq::llist l;
  explicit llist_adaptor(std::size_t) {}
  struct producer_t {
    explicit producer_t(llist_adaptor&) {}
  };
  struct consumer_t {
    mpscq::node* batch = nullptr;
    explicit consumer_t(llist_adaptor&) {}
  };
  bool try_push(producer_t&, item* it) noexcept {
    l.add(make_hook<mpscq::node>(it));
    return true;
  }
  item* try_pop(consumer_t& k) noexcept {
    if (k.batch == nullptr) {
      k.batch = mpscq::llist::reverse(l.del_all());
      if (k.batch == nullptr) return nullptr;
    }
    mpscq::node* n = k.batch;
    k.batch = n->next.load(std::memory_order_relaxed);  // read before the item is handed out
    return hook_item(n);
  }
};

struct mutex_deque_adaptor {
  static constexpr const char* name = "mutex+std::deque";
  static constexpr guarantees traits{"global (lock order)", "unbounded", false, "blocking (std::mutex)"};
  std::mutex m;
  std::deque<item*> d;
  explicit mutex_deque_adaptor(std::size_t) {}
  struct producer_t {
    explicit producer_t(mutex_deque_adaptor&) {}
  };
  struct consumer_t {
    explicit consumer_t(mutex_deque_adaptor&) {}
  };
  bool try_push(producer_t&, item* it) {
    std::lock_guard<std::mutex> lock(m);
    d.push_back(it);
    return true;
  }
  item* try_pop(consumer_t&) {
    std::lock_guard<std::mutex> lock(m);
    if (d.empty()) return nullptr;
    item* it = d.front();
    d.pop_front();
    return it;
  }
};

// Not a concurrent queue: a power-of-two ring with no atomics, the floor that
// single-thread costs are compared with (S1, S4, callgrind).
struct plain_array_adaptor {
  static constexpr const char* name = "plain array (1 thread only)";
  static constexpr guarantees traits{"global", "bounded", false, "none: single thread only (the floor)"};
  std::vector<item*> buf;
  std::size_t head = 0, tail = 0, mask;
  explicit plain_array_adaptor(std::size_t capacity) {
    std::size_t c = 16;
    while (c < capacity) c *= 2;
    buf.resize(c);
    mask = c - 1;
  }
  struct producer_t {
    explicit producer_t(plain_array_adaptor&) {}
  };
  struct consumer_t {
    explicit consumer_t(plain_array_adaptor&) {}
  };
  bool try_push(producer_t&, item* it) noexcept {
    if (tail - head > mask) return false;
    buf[tail++ & mask] = it;
    return true;
  }
  item* try_pop(consumer_t&) noexcept {
    if (head == tail) return nullptr;
    return buf[head++ & mask];
  }
};

// Deliberately wrong (a LIFO stack): only with --inject-fault, to show that
// the checks catch a contender that breaks its promise (CTest runs it and
// expects failure).
struct lifo_fault_adaptor {
  static constexpr const char* name = "fault injection (LIFO stack)";
  static constexpr guarantees traits{"claims FIFO, is LIFO", "unbounded", false, "mutex"};
  std::mutex m;
  std::vector<item*> v;
  explicit lifo_fault_adaptor(std::size_t) {}
  struct producer_t {
    explicit producer_t(lifo_fault_adaptor&) {}
  };
  struct consumer_t {
    explicit consumer_t(lifo_fault_adaptor&) {}
  };
  bool try_push(producer_t&, item* it) {
    std::lock_guard<std::mutex> lock(m);
    v.push_back(it);
    return true;
  }
  item* try_pop(consumer_t&) {
    std::lock_guard<std::mutex> lock(m);
    if (v.empty()) return nullptr;
    item* it = v.back();
    v.pop_back();
    return it;
  }
};

}  // namespace

void register_fault(std::vector<queue_contender>& out) { out.push_back(make_contender<lifo_fault_adaptor>()); }

void register_mpscq(std::vector<queue_contender>& out) {
  out.push_back(make_contender<mpscq_queue_adaptor>());
  out.push_back(make_contender<mpscq_batch_adaptor>());
  out.push_back(make_contender<llist_adaptor>());
  out.push_back(make_contender<mutex_deque_adaptor>());
  queue_contender floor = make_contender<plain_array_adaptor>();
  floor.mt = nullptr;  // not thread-safe
  out.push_back(floor);
}

}  // namespace bench
