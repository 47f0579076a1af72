// bench/contenders_mpscq.cpp - mpscq::queue (poll, pop_batch and pop), mpscq::llist,
// mutex + std::deque, and the single-thread plain-array floor.
#include <mpscq/llist.hpp>
#include <mpscq/queue.hpp>

#include <deque>
#include <mutex>
#include <type_traits>

#include "scenarios.hpp"

namespace bench {
namespace {

// mpscq::queue as its polling consumer reads it: consumer::poll() (queue.hpp,
// CHOOSING A CALL), pop_batch paced off busy producers' frontier
// (detail/pacer.hpp). This is the row every ratio is taken against. poll
// hands out through f exactly as pop_batch does (scenarios.hpp's
// try_pop_batch contract); max is pop_batch_max (64), or fewer when a loop
// has fewer items left.
struct mpscq_queue_adaptor {
  static constexpr const char* name = "mpscq::queue";
  static constexpr guarantees traits{"global (exchange order)", "unbounded", true,
                                     "wait-free push (1 xchg + 1 store); poll: pop_batch paced up to 16 us"};
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
  template <class F>
  int try_pop_batch(consumer_t& k, int max, F&& f) noexcept(std::is_nothrow_invocable_v<F&, item*>) {
    return k.c.poll(max, [&f](mpscq::node* n) noexcept(std::is_nothrow_invocable_v<F&, item*>) {
      f(hook_item(n));
    });
  }
  item* try_pop(consumer_t& k) noexcept {
    item* out = nullptr;
    k.c.poll(1, [&out](mpscq::node* n) noexcept { out = hook_item(n); });
    return out;
  }
  bool push_in_flight(consumer_t&) const noexcept { return !q.empty(); }
};

// mpscq::queue one node per consumer::pop() call (exact, never waits).
struct mpscq_pop_adaptor {
  static constexpr const char* name = "mpscq pop";
  static constexpr guarantees traits{"global (exchange order)", "unbounded", true,
                                     "wait-free push (1 xchg + 1 store); pop never spins"};
  mpscq::queue q;
  explicit mpscq_pop_adaptor(std::size_t) {}
  struct producer_t {
    explicit producer_t(mpscq_pop_adaptor&) {}
  };
  struct consumer_t {
    mpscq::consumer c;
    explicit consumer_t(mpscq_pop_adaptor& a) : c(a.q) {}
  };
  bool try_push(producer_t&, item* it) noexcept {
    q.push(make_hook<mpscq::node>(it));
    return true;
  }
  item* try_pop(consumer_t& k) noexcept {
    mpscq::node* n = k.c.pop();
    return n == nullptr ? nullptr : hook_item(n);
  }
  bool push_in_flight(consumer_t&) const noexcept { return !q.empty(); }
};

// mpscq::queue through consumer::pop_batch, called as a batch consumer calls
// it: every scenario loop pops through try_pop_batch (scenarios.hpp), whose
// `max` goes straight to pop_batch and whose f (the scenario's per-item check
// and hand-back) runs inside pop_batch's loop - no buffer, no call per item.
// max is scenarios.hpp's pop_batch_max = 64 (queue.hpp's example figure: a
// consumer that does not know how much is queued caps one call), or fewer
// when a loop has fewer items left to pop; the reasons are there. pop_batch
// moves its cursor past a node before f and never touches it after, so f may
// hand the slot back to its producer. try_pop, for any loop that still pops
// one at a time (none in scenarios.hpp does), is pop_batch with max 1; with
// no buffer the two may be mixed freely.
struct mpscq_batch_adaptor {
  static constexpr const char* name = "mpscq batch";
  static constexpr guarantees traits{"global (exchange order)", "unbounded", true,
                                     "wait-free push (1 xchg + 1 store); pop_batch never spins"};
  mpscq::queue q;
  explicit mpscq_batch_adaptor(std::size_t) {}
  struct producer_t {
    explicit producer_t(mpscq_batch_adaptor&) {}
  };
  struct consumer_t {
    mpscq::consumer c;
    explicit consumer_t(mpscq_batch_adaptor& a) : c(a.q) {}
  };
  bool try_push(producer_t&, item* it) noexcept {
    q.push(make_hook<mpscq::node>(it));
    return true;
  }
  template <class F>
  int try_pop_batch(consumer_t& k, int max, F&& f) noexcept(std::is_nothrow_invocable_v<F&, item*>) {
    return k.c.pop_batch(max, [&f](mpscq::node* n) noexcept(std::is_nothrow_invocable_v<F&, item*>) {
      f(hook_item(n));
    });
  }
  item* try_pop(consumer_t& k) noexcept {
    item* out = nullptr;
    k.c.pop_batch(1, [&out](mpscq::node* n) noexcept { out = hook_item(n); });
    return out;
  }
  // The stall diagnostic's hook (scenarios.hpp): after a pop came back
  // empty, a queue that is not empty holds a push in flight (a producer
  // between its tail exchange and its link store).
  bool push_in_flight(consumer_t&) const noexcept { return !q.empty(); }
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
  // The batch hook, chosen because it is what a real llist consumer writes
  // (llist.hpp's example, the kernel's task-work runners): del_all, reverse,
  // then one tight walk over the chain, reading `next` before each node is
  // handed out (f may hand the slot back). The walk stops after `max` nodes
  // and keeps the rest for the next call, as io_uring's capped runner keeps
  // the rest of its reversed chain (io_handle_tw_list returns it); with the
  // scenarios' max (64, or the items left) it walks the whole chain when 8
  // are queued (S1 N=8, S4 K=8), in 64-node strides otherwise. Fair to both
  // sides: the walk has the same cap compare per node as pop_batch and
  // nothing else of the scenario's; without it llist would pay a call per
  // item that mpscq batch no longer pays. The O(n) reverse pass is still
  // inside the measured loop.
  template <class F>
  int try_pop_batch(consumer_t& k, int max, F&& f) noexcept(std::is_nothrow_invocable_v<F&, item*>) {
    if (max <= 0) return 0;
    mpscq::node* n = k.batch;
    if (n == nullptr) {
      n = mpscq::llist::reverse(l.del_all());
      if (n == nullptr) return 0;
    }
    int left = max;
    do {
      mpscq::node* next = n->next.load(std::memory_order_relaxed);  // read before the item is handed out
      f(hook_item(n));
      n = next;
    } while (--left != 0 && n != nullptr);
    k.batch = n;
    return max - left;
  }
  // The stall diagnostic's hook (scenarios.hpp): never. add() publishes a
  // node whole with its CAS; there is no state in which the list holds a
  // node del_all() cannot take.
  bool push_in_flight(consumer_t&) const noexcept { return false; }
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
  out.push_back(make_contender<mpscq_pop_adaptor>());
  out.push_back(make_contender<llist_adaptor>());
  out.push_back(make_contender<mutex_deque_adaptor>());
  queue_contender floor = make_contender<plain_array_adaptor>();
  floor.mt = nullptr;  // not thread-safe
  out.push_back(floor);
}

}  // namespace bench
