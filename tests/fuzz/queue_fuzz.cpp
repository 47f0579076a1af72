// libFuzzer target: single-threaded operation sequences on mpscq::queue and
// mpscq::llist, checked against a std::deque model after every operation.
//
// Each input byte is one operation on a pool of 64 items:
//   push one item, push_batch of 2-4 items, pop, pop_batch (or poll, at odd
//   input positions), detach +
//   re-attach the consumer, hold a push inside its in-flight window (publish
//   without link) and release it later, llist add / del_all+reverse.
// pop_batch takes max 1, 2, 4 or 64, and a callback that only checks, or
// also pushes the node again, pushes a fresh item, calls pop() re-entrantly,
// or throws (when exceptions are on) on one of the nodes.
// Checked: FIFO order against the model; push()'s was-empty result against
// the model's idea of empty (the stub is the tail); emptied() after every
// pop that returned a node, inside every pop_batch callback, and after every
// pop_batch (that of its last hand-out); pop() == nullptr exactly when the
// model is empty or an in-flight push blocks the head; pop_batch's count:
// it stops before max only when the next pop() would return nullptr or its
// last hand-out emptied the queue, and returns 0 only in the first case;
// empty(); llist order after reverse.
// Built with clang only (-fsanitize=fuzzer,address,undefined); CTest runs it
// for a fixed number of inputs from a fixed seed.
#include <mpscq/llist.hpp>
#include <mpscq/queue.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace {

struct item {
  int id = 0;
  mpscq::node hook;
};

item* owner(mpscq::node* n) { return mpscq::intrusive_queue<item, &item::hook>::from_hook(n); }

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "queue_fuzz: %s\n", what);
  std::abort();
}
void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

constexpr int pool_size = 64;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto pool = std::make_unique<item[]>(pool_size);
  std::vector<int> free_ids;
  for (int i = pool_size - 1; i >= 0; --i) {
    pool[i].id = i;
    free_ids.push_back(i);
  }
  auto take = [&]() -> item* {
    if (free_ids.empty()) return nullptr;
    item* it = &pool[free_ids.back()];
    free_ids.pop_back();
    return it;
  };

  mpscq::queue q;
  std::optional<mpscq::consumer> c;
  c.emplace(q);
  std::deque<int> linked;        // the model: ids reachable by pop, in order
  std::deque<int> behind;        // pushed after an in-flight push: unreachable until it links
  bool stub_is_tail = true;      // the model's "queue empty" (tail == stub)
  struct in_flight_push {
    mpscq::node* prev;
    item* it;
  };
  std::optional<in_flight_push> held;

  mpscq::llist l;
  std::deque<int> llist_model;  // oldest first

  // push(it) checked against the model (was-empty), then into the model.
  auto push_item = [&](item* it) {
    const bool was_empty = q.push(&it->hook);
    check(was_empty == stub_is_tail, "push: was-empty disagrees with the model");
    stub_is_tail = false;
    (held ? behind : linked).push_back(it->id);
  };
  // pop() checked against the model. Returns emptied() after it when it
  // handed out a node (freed at once), nothing when it returned nullptr.
  auto pop_one = [&]() -> std::optional<bool> {
    mpscq::node* n = c->pop();
    if (linked.empty()) {
      check(n == nullptr, "pop: returned a node the model does not have");
      check(q.empty() == stub_is_tail, "empty() disagrees with the model");
      return std::nullopt;
    }
    // The head is blocked only when it is the last linked node and a
    // push is in flight behind it (it cannot be handed out yet).
    const bool blocked = linked.size() == 1 && held.has_value();
    if (blocked) {
      check(n == nullptr, "pop: handed out the last node while a push behind it is in flight");
      check(!c->emptied(), "emptied() true while a push is in flight");
      return std::nullopt;
    }
    check(n != nullptr, "pop: nullptr while the head is linked and not blocked");
    check(owner(n)->id == linked.front(), "pop: FIFO order broken");
    linked.pop_front();
    const bool now_empty = linked.empty() && behind.empty() && !held;
    check(c->emptied() == now_empty, "emptied() disagrees with the model");
    if (now_empty) stub_is_tail = true;
    free_ids.push_back(owner(n)->id);  // re-usable at once
    return now_empty;
  };

  for (std::size_t i = 0; i < size; ++i) {
    const std::uint8_t op = data[i];
    switch (op % 8) {
      case 0:
      case 1: {  // push one
        if (item* it = take()) push_item(it);
        break;
      }
      case 2: {  // push_batch of 2..4
        const int k = 2 + (op >> 3) % 3;
        if (static_cast<int>(free_ids.size()) < k) break;
        item* first = take();
        item* last = first;
        std::vector<int> ids{first->id};
        for (int j = 1; j < k; ++j) {
          item* next = take();
          last->hook.next.store(&next->hook, std::memory_order_relaxed);
          last = next;
          ids.push_back(next->id);
        }
        const bool was_empty = q.push_batch(&first->hook, &last->hook);
        check(was_empty == stub_is_tail, "push_batch: was-empty disagrees with the model");
        stub_is_tail = false;
        for (int id : ids) (held ? behind : linked).push_back(id);
        break;
      }
      case 3: {  // pop
        pop_one();
        break;
      }
      case 4: {  // pop_batch
        static constexpr int maxes[4] = {1, 2, 4, 64};
        const int max = maxes[(op >> 3) % 4];
        const int mode = (op >> 5) % 5;  // 0: check only, 1: re-push, 2: push fresh, 3: pop() inside, 4: throw
        const int throw_at = 1 + (op >> 3) % 4;  // which hand-out throws (mode 4)
        // Odd input positions go through poll() (pop_batch paced): the same
        // contract, checked by the same model.
        const bool use_poll = (i % 2) == 1;
        int handed = 0;
        bool last_emptied = false;
        bool threw = false;
        auto f = [&](mpscq::node* n) {
          ++handed;
          check(handed <= max, "pop_batch: handed out more than max");
          // The model's pop: the node must be the one pop() would return now.
          check(!linked.empty(), "pop_batch: handed out a node the model does not have");
          check(!(linked.size() == 1 && held.has_value()),
                "pop_batch: handed out the last node while a push behind it is in flight");
          check(owner(n)->id == linked.front(), "pop_batch: FIFO order broken");
          linked.pop_front();
          const bool now_empty = linked.empty() && behind.empty() && !held;
          check(c->emptied() == now_empty, "pop_batch: emptied() inside the callback disagrees with the model");
          if (now_empty) stub_is_tail = true;
          last_emptied = now_empty;
          switch (mode) {
            case 1:  // the node goes straight back in, onto this queue
              push_item(owner(n));
              return;
            case 2:  // a fresh item goes in; the node is free again
              free_ids.push_back(owner(n)->id);
              if (item* it = take()) push_item(it);
              return;
            case 3:  // take one more with pop(), re-entrantly
              free_ids.push_back(owner(n)->id);
              if (const std::optional<bool> e = pop_one()) last_emptied = *e;
              return;
            default:
              free_ids.push_back(owner(n)->id);
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
              if (mode == 4 && handed == throw_at) throw handed;
#endif
              return;
          }
        };
        int got = -1;
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
        try {
          got = use_poll ? c->poll(max, f) : c->pop_batch(max, f);
        } catch (int at) {
          check(at == handed && mode == 4, "pop_batch: unexpected exception");
          threw = true;
        }
#else
        got = use_poll ? c->poll(max, f) : c->pop_batch(max, f);
#endif
        if (handed > 0) check(c->emptied() == last_emptied, "pop_batch: emptied() afterwards is not its last hand-out's");
        if (threw) break;  // the rest stays queued: later pops check it
        check(got == handed, "pop_batch: returned count differs from the callbacks");
        // It stops before max only when the next pop() would return nullptr
        // or its last hand-out emptied the queue; 0 only in the first case.
        const bool pop_would_fail = linked.empty() || (linked.size() == 1 && held.has_value());
        if (got < max) check(pop_would_fail || (got > 0 && last_emptied), "pop_batch: stopped early");
        if (got == 0) {
          check(pop_would_fail, "pop_batch: returned 0 while pop() would return a node");
          if (linked.empty()) check(q.empty() == stub_is_tail, "empty() disagrees with the model");
          if (!linked.empty()) check(!c->emptied(), "emptied() true while a push is in flight");
        }
        break;
      }
      case 5: {  // detach and re-attach the consumer
        c.reset();
        c.emplace(q);
        break;
      }
      case 6: {  // start or finish an in-flight push
        if (held) {
          mpscq::detail::queue_access::link(held->prev, &held->it->hook);
          linked.push_back(held->it->id);
          for (int id : behind) linked.push_back(id);
          behind.clear();
          held.reset();
        } else if (item* it = take()) {
          mpscq::node* prev = mpscq::detail::queue_access::publish(q, &it->hook, &it->hook);
          check((prev == mpscq::detail::queue_access::stub(q)) == stub_is_tail,
                "publish: previous tail disagrees with the model");
          stub_is_tail = false;
          held = in_flight_push{prev, it};
        }
        break;
      }
      case 7: {  // llist: add, or take all and check the order
        if ((op >> 3) % 2 == 0) {
          item* it = take();
          if (it == nullptr) break;
          check(l.add(&it->hook) == llist_model.empty(), "llist add: was-empty disagrees");
          llist_model.push_back(it->id);
        } else {
          mpscq::node* n = mpscq::llist::reverse(l.del_all());
          while (n != nullptr) {
            mpscq::node* next = n->next.load(std::memory_order_relaxed);
            check(!llist_model.empty() && owner(n)->id == llist_model.front(), "llist: order after reverse");
            llist_model.pop_front();
            free_ids.push_back(owner(n)->id);
            n = next;
          }
          check(llist_model.empty() && l.empty(), "llist: del_all left items");
        }
        break;
      }
    }
  }
  // Finish: link any held push, drain, and check everything came out.
  if (held) {
    mpscq::detail::queue_access::link(held->prev, &held->it->hook);
    linked.push_back(held->it->id);
    for (int id : behind) linked.push_back(id);
    behind.clear();
  }
  while (!linked.empty()) {
    mpscq::node* n = c->pop();
    check(n != nullptr && owner(n)->id == linked.front(), "final drain: order or loss");
    linked.pop_front();
  }
  check(c->emptied() && q.empty() && c->pop() == nullptr, "final drain: queue not empty");
  return 0;
}
