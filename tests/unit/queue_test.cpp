#include <mpscq/queue.hpp>

#include <gtest/gtest.h>

namespace {

struct item {
  int value = 0;
  mpscq::node hook;
};

TEST(Queue, FifoSingleThread) {
  mpscq::intrusive_queue<item, &item::hook> q;
  item items[4];
  for (int i = 0; i < 4; ++i) items[i].value = i;
  EXPECT_TRUE(q.push(&items[0]));
  EXPECT_FALSE(q.push(&items[1]));
  mpscq::intrusive_queue<item, &item::hook>::consumer c(q);
  for (int i = 0; i < 2; ++i) {
    item* got = c.pop();
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->value, i);
  }
  EXPECT_TRUE(c.emptied());
  EXPECT_EQ(c.pop(), nullptr);
  EXPECT_TRUE(q.empty());
}

}  // namespace
