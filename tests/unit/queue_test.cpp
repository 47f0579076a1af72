// Unit tests for mpscq::queue, mpscq::consumer and intrusive_queue.
#include <mpscq/queue.hpp>

#include <gtest/gtest.h>

#include "queue_producers.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace {

using mpscq::consumer;
using mpscq::node;
using mpscq::queue;
using access = mpscq::detail::queue_access;

struct item {
  int value = 0;
  node hook;
};
using item_queue = mpscq::intrusive_queue<item, &item::hook>;

item* owner(node* n) { return item_queue::from_hook(n); }

// Pops one node and returns its value, or -1 when pop() returned nullptr.
int pop_value(consumer& c) {
  node* n = c.pop();
  return n == nullptr ? -1 : owner(n)->value;
}

TEST(Queue, StartsEmpty) {
  queue q;
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.empty(std::memory_order_seq_cst));
  consumer c(q);
  EXPECT_TRUE(c.emptied());
  EXPECT_EQ(c.pop(), nullptr);
  EXPECT_TRUE(c.emptied());
  EXPECT_EQ(&c.source(), &q);
}

TEST(Queue, FifoSingleThread) {
  item_queue q;
  item items[4];
  for (int i = 0; i < 4; ++i) items[i].value = i;
  EXPECT_TRUE(q.push(&items[0]));
  EXPECT_FALSE(q.push(&items[1]));
  item_queue::consumer c(q);
  for (int i = 0; i < 2; ++i) {
    item* got = c.pop();
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->value, i);
  }
  EXPECT_TRUE(c.emptied());
  EXPECT_EQ(c.pop(), nullptr);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, FifoManyItems) {
  queue q;
  std::vector<item> items(1000);
  for (int i = 0; i < 1000; ++i) items[static_cast<std::size_t>(i)].value = i;
  consumer c(q);
  for (auto& it : items) q.push(&it.hook);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(pop_value(c), i);
    EXPECT_EQ(c.emptied(), i == 999);
    EXPECT_EQ(q.empty(), i == 999);
  }
  EXPECT_EQ(c.pop(), nullptr);
}

TEST(Queue, PushReturnsTrueExactlyOnEmptyToNonEmpty) {
  queue q;
  item a{1, {}}, b{2, {}}, d{3, {}}, e{4, {}};
  consumer c(q);
  EXPECT_TRUE(q.push(&a.hook));   // empty -> non-empty
  EXPECT_FALSE(q.empty());
  EXPECT_FALSE(q.push(&b.hook));  // already non-empty
  EXPECT_EQ(pop_value(c), 1);
  EXPECT_FALSE(c.emptied());
  EXPECT_FALSE(q.push(&d.hook));  // b still queued: not empty
  EXPECT_EQ(pop_value(c), 2);
  EXPECT_FALSE(c.emptied());
  EXPECT_EQ(pop_value(c), 3);
  EXPECT_TRUE(c.emptied());       // that pop put the stub back
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.push(&e.hook));   // so the next push sees an empty queue
  EXPECT_TRUE(c.emptied());       // emptied() describes the last pop, not the queue now
  EXPECT_EQ(pop_value(c), 4);
  EXPECT_TRUE(c.emptied());
}

TEST(Queue, EmptiedCountEqualsWasEmptyPushes) {
  // Pushes that returned true == pops after which emptied() was true, plus one
  // when the queue ends non-empty: checked over an irregular pattern.
  queue q;
  std::vector<item> items(65);
  consumer c(q);
  int was_empty = 0, emptied = 0, next_push = 0, queued = 0;
  unsigned lcg = 12345;
  while (next_push < 64) {
    lcg = lcg * 1103515245u + 12345u;
    if (queued == 0 || (lcg >> 16) % 3 == 0) {
      items[static_cast<std::size_t>(next_push)].value = next_push;
      was_empty += q.push(&items[static_cast<std::size_t>(next_push)].hook) ? 1 : 0;
      ++next_push;
      ++queued;
    } else {
      node* n = c.pop();
      ASSERT_NE(n, nullptr);
      --queued;
      EXPECT_EQ(c.emptied(), queued == 0);
      emptied += c.emptied() ? 1 : 0;
    }
  }
  EXPECT_GT(emptied, 5);  // the pattern went through many empty -> non-empty cycles
  if (queued == 0) {
    EXPECT_TRUE(q.push(&items[64].hook));
    ++was_empty;
  }
  EXPECT_EQ(was_empty, emptied + 1);  // ends non-empty: one more
  while (c.pop() != nullptr) emptied += c.emptied() ? 1 : 0;
  EXPECT_EQ(was_empty, emptied);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, PushBatchKeepsChainOrderAndReportsOnce) {
  queue q;
  item x{0, {}}, a{1, {}}, b{2, {}}, d{3, {}}, y{4, {}};
  a.hook.next.store(&b.hook, std::memory_order_relaxed);
  b.hook.next.store(&d.hook, std::memory_order_relaxed);
  consumer c(q);
  EXPECT_TRUE(q.push(&x.hook));
  EXPECT_FALSE(q.push_batch(&a.hook, &d.hook));  // behind x: not empty
  EXPECT_FALSE(q.push(&y.hook));
  for (int i = 0; i <= 4; ++i) {
    EXPECT_EQ(pop_value(c), i);
    EXPECT_EQ(c.emptied(), i == 4);
  }
  EXPECT_EQ(c.pop(), nullptr);
}

TEST(Queue, PushBatchOnEmptyQueue) {
  queue q;
  item items[5];
  for (int i = 0; i < 5; ++i) {
    items[i].value = i;
    if (i > 0) items[i - 1].hook.next.store(&items[i].hook, std::memory_order_relaxed);
  }
  // The last node's next is the queue's business: garbage there must not leak in.
  item stray{99, {}};
  items[4].hook.next.store(&stray.hook, std::memory_order_relaxed);
  consumer c(q);
  EXPECT_TRUE(q.push_batch(&items[0].hook, &items[4].hook));  // one true for the whole chain
  item after{5, {}};
  EXPECT_FALSE(q.push(&after.hook));
  for (int i = 0; i <= 5; ++i) EXPECT_EQ(pop_value(c), i);
  EXPECT_TRUE(c.emptied());
  EXPECT_EQ(c.pop(), nullptr);
}

TEST(Queue, PushBatchOfOneIsPush) {
  queue q;
  item a{7, {}};
  consumer c(q);
  EXPECT_TRUE(q.push_batch(&a.hook, &a.hook));
  EXPECT_EQ(pop_value(c), 7);
  EXPECT_TRUE(c.emptied());
}

struct padded {
  char tag[3] = {'a', 'b', 'c'};
  double weight = 0.5;
  int id = 0;
  node hook;  // not at offset 0
  long tail_guard = 0x5a5a;
};

TEST(IntrusiveQueue, HookNotAtOffsetZero) {
  static_assert(offsetof(padded, hook) != 0);
  using padded_queue = mpscq::intrusive_queue<padded, &padded::hook>;
  padded_queue q;
  padded p[3];
  for (int i = 0; i < 3; ++i) p[i].id = 10 + i;
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.push(&p[0]));
  p[1].hook.next.store(&p[2].hook, std::memory_order_relaxed);
  EXPECT_FALSE(q.push_batch(&p[1], &p[2]));
  EXPECT_FALSE(q.empty());
  EXPECT_FALSE(q.raw().empty());
  EXPECT_EQ(padded_queue::from_hook(&p[1].hook), &p[1]);
  padded_queue::consumer c(q);
  for (int i = 0; i < 3; ++i) {
    padded* got = c.pop();
    ASSERT_EQ(got, &p[i]);
    EXPECT_EQ(got->id, 10 + i);
    EXPECT_EQ(got->tag[1], 'b');
    EXPECT_EQ(got->tail_guard, 0x5a5a);
    EXPECT_EQ(c.emptied(), i == 2);
  }
  EXPECT_EQ(c.pop(), nullptr);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, PoppedNodeFreedAtOnce) {
  // ASan builds check that nothing touches a node after pop() handed it out.
  queue q;
  consumer c(q);
  int next_value = 0, expected = 0;
  for (int round = 0; round < 50; ++round) {
    const int n = round % 4 + 1;
    for (int i = 0; i < n; ++i) q.push(&(new item{next_value++, {}})->hook);
    // Free each node as soon as it comes out, including the last one (the
    // stub path), then push again onto the queue it just left.
    for (int i = 0; i < n; ++i) {
      node* got = c.pop();
      ASSERT_NE(got, nullptr);
      EXPECT_EQ(owner(got)->value, expected++);
      delete owner(got);
    }
    EXPECT_TRUE(c.emptied());
    EXPECT_TRUE(q.empty());
  }
  EXPECT_EQ(c.pop(), nullptr);
}

TEST(Queue, PoppedNodeRepushedAtOnce) {
  queue q;
  item a{0, {}}, b{1, {}};
  consumer c(q);
  // A single node going round: every push finds the queue empty.
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(q.push(&a.hook));
    ASSERT_EQ(c.pop(), &a.hook);
    EXPECT_TRUE(c.emptied());
  }
  // Two nodes chasing each other: the popped one goes straight back in
  // behind the other, order stays a, b, a, b, ...
  EXPECT_TRUE(q.push(&a.hook));
  EXPECT_FALSE(q.push(&b.hook));
  for (int i = 0; i < 20; ++i) {
    node* got = c.pop();
    ASSERT_EQ(got, i % 2 == 0 ? &a.hook : &b.hook);
    EXPECT_FALSE(c.emptied());
    EXPECT_FALSE(q.push(got));
  }
  EXPECT_EQ(c.pop(), &a.hook);
  EXPECT_EQ(c.pop(), &b.hook);
  EXPECT_TRUE(c.emptied());
}

TEST(Queue, InFlightPushOnEmptyQueue) {
  queue q;
  item a{1, {}}, b{2, {}};
  consumer c(q);
  // Step 1 of a push only: a is the tail but not linked behind the stub.
  node* prev = access::publish(q, &a.hook, &a.hook);
  EXPECT_EQ(prev, access::stub(q));
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(c.pop(), nullptr);  // not empty, yet nothing to hand out
  EXPECT_EQ(c.pop(), nullptr);  // and again: pop never waits
  // A complete push behind the in-flight one is stuck behind it.
  EXPECT_FALSE(q.push(&b.hook));
  EXPECT_EQ(c.pop(), nullptr);
  EXPECT_FALSE(q.empty());
  // Step 2: the link. Both come out, in order.
  access::link(prev, &a.hook);
  EXPECT_EQ(pop_value(c), 1);
  EXPECT_FALSE(c.emptied());
  EXPECT_EQ(pop_value(c), 2);
  EXPECT_TRUE(c.emptied());
  EXPECT_TRUE(q.empty());
}

TEST(Queue, InFlightPushBehindLastLinkedNode) {
  queue q;
  item a{1, {}}, b{2, {}}, d{3, {}};
  consumer c(q);
  EXPECT_TRUE(q.push(&a.hook));
  node* prev = access::publish(q, &b.hook, &b.hook);
  EXPECT_EQ(prev, &a.hook);
  // a is linked, but it is the last linked node and no longer the tail: it
  // cannot be handed out while b's producer still has to store into a->next.
  EXPECT_EQ(c.pop(), nullptr);
  EXPECT_FALSE(q.empty());
  EXPECT_FALSE(q.push(&d.hook));  // a second push behind the in-flight one
  EXPECT_EQ(c.pop(), nullptr);
  access::link(prev, &b.hook);
  EXPECT_EQ(pop_value(c), 1);
  EXPECT_EQ(pop_value(c), 2);
  EXPECT_FALSE(c.emptied());
  EXPECT_EQ(pop_value(c), 3);
  EXPECT_TRUE(c.emptied());
  EXPECT_EQ(c.pop(), nullptr);
}

// Regression (found by the epoll/io_uring examples through local_work's
// has_work()): a pop that steps off the stub onto a new node, and then cannot
// hand it out because a push behind it is in flight, has started a new cycle.
// emptied() must say so, even though that pop returned nullptr: the stale
// "emptied" made local_work drop its pending flag for good.
TEST(Queue, EmptiedTurnsFalseWhenPopStepsOffTheStub) {
  queue q;
  item a{1, {}}, b{2, {}}, d{3, {}};
  consumer c(q);
  EXPECT_TRUE(q.push(&a.hook));
  EXPECT_EQ(pop_value(c), 1);
  EXPECT_TRUE(c.emptied());       // the stub is the tail again
  EXPECT_TRUE(q.push(&b.hook));   // a new cycle
  node* prev = access::publish(q, &d.hook, &d.hook);  // d in flight behind b
  EXPECT_EQ(prev, &b.hook);
  EXPECT_EQ(c.pop(), nullptr);    // steps onto b, cannot hand it out yet
  EXPECT_FALSE(c.emptied());      // ... but the cycle has begun
  EXPECT_FALSE(q.empty());
  access::link(prev, &d.hook);
  EXPECT_EQ(pop_value(c), 2);
  EXPECT_FALSE(c.emptied());
  EXPECT_EQ(pop_value(c), 3);
  EXPECT_TRUE(c.emptied());
}

TEST(Queue, InFlightPushInTheMiddle) {
  queue q;
  item a{1, {}}, b{2, {}}, d{3, {}}, e{4, {}};
  consumer c(q);
  q.push(&a.hook);
  q.push(&b.hook);
  node* prev = access::publish(q, &d.hook, &d.hook);
  EXPECT_EQ(prev, &b.hook);
  q.push(&e.hook);
  EXPECT_EQ(pop_value(c), 1);   // a has a successor: handed out
  EXPECT_EQ(c.pop(), nullptr);  // b waits for d's link
  EXPECT_FALSE(q.empty());
  access::link(prev, &d.hook);
  EXPECT_EQ(pop_value(c), 2);
  EXPECT_EQ(pop_value(c), 3);
  EXPECT_EQ(pop_value(c), 4);
  EXPECT_TRUE(c.emptied());
}

TEST(Queue, ConsumerDetachAndReattachKeepsCursor) {
  queue q;
  std::vector<item> items(6);
  for (int i = 0; i < 6; ++i) items[static_cast<std::size_t>(i)].value = i;
  for (int i = 0; i < 4; ++i) q.push(&items[static_cast<std::size_t>(i)].hook);
  {
    consumer first(q);
    EXPECT_EQ(pop_value(first), 0);
    EXPECT_EQ(pop_value(first), 1);
    EXPECT_FALSE(first.emptied());
  }
  q.push(&items[4].hook);  // while no consumer is attached
  {
    consumer second(q);
    EXPECT_FALSE(second.emptied());  // the parked state comes back too
    EXPECT_EQ(pop_value(second), 2);
    EXPECT_EQ(pop_value(second), 3);
    EXPECT_EQ(pop_value(second), 4);
    EXPECT_TRUE(second.emptied());
  }
  {
    consumer third(q);
    EXPECT_TRUE(third.emptied());
    EXPECT_EQ(third.pop(), nullptr);
    EXPECT_TRUE(q.push(&items[5].hook));
    EXPECT_EQ(pop_value(third), 5);
  }
}

TEST(Queue, ConsumerDetachInsideInFlightWindow) {
  // The first consumer stepped off the stub and then met an in-flight push;
  // its cursor (now on a) must survive the detach.
  queue q;
  item a{1, {}}, b{2, {}};
  q.push(&a.hook);
  node* prev = access::publish(q, &b.hook, &b.hook);
  {
    consumer first(q);
    EXPECT_EQ(first.pop(), nullptr);
  }
  access::link(prev, &b.hook);
  consumer second(q);
  EXPECT_EQ(pop_value(second), 1);
  EXPECT_EQ(pop_value(second), 2);
  EXPECT_TRUE(second.emptied());
}

TEST(Queue, ConsumerReattachOnAnotherThread) {
  queue q;
  std::vector<item> items(10);
  for (int i = 0; i < 10; ++i) {
    items[static_cast<std::size_t>(i)].value = i;
    q.push(&items[static_cast<std::size_t>(i)].hook);
  }
  int expected = 0;
  for (int t = 0; t < 5; ++t) {
    // join() gives the happens-before the header asks for between consumers.
    std::thread([&] {
      consumer c(q);
      EXPECT_EQ(pop_value(c), expected++);
      EXPECT_EQ(pop_value(c), expected++);
    }).join();
  }
  EXPECT_EQ(expected, 10);
  consumer c(q);
  EXPECT_EQ(c.pop(), nullptr);
  EXPECT_TRUE(c.emptied());
}

#if GTEST_HAS_DEATH_TEST
TEST(QueueDeathTest, SecondConsumerAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  queue q;
  consumer c(q);
  EXPECT_DEATH({ consumer second(q); }, "second consumer");
}
#endif

TEST(Queue, ConcurrentProducersKeepPerProducerOrder) {
  queue q;
  mpscq_test::queue_producers producers(q, 4, 20000);
  consumer c(q);
  int emptied = 0;
  producers.start();
  while (producers.received() < producers.total()) {
    node* n = c.pop();
    if (n == nullptr) {
      std::this_thread::yield();  // empty, or a producer inside its window
      continue;
    }
    producers.check(n);
    emptied += c.emptied() ? 1 : 0;
  }
  producers.join();
  EXPECT_EQ(producers.out_of_order(), 0);
  EXPECT_TRUE(producers.all_complete());
  EXPECT_EQ(c.pop(), nullptr);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(producers.was_empty(), emptied);
}

}  // namespace
