// tests/support/queue_producers.hpp - threads that push tagged nodes onto one
// mpscq::queue, and the per-producer order check, for the unit tests of pop()
// and pop_batch() under concurrent producers.
#ifndef MPSCQ_TESTS_SUPPORT_QUEUE_PRODUCERS_HPP
#define MPSCQ_TESTS_SUPPORT_QUEUE_PRODUCERS_HPP

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include <mpscq/queue.hpp>

namespace mpscq_test {

// `producers` threads each push `per_producer` nodes tagged (producer, seq)
// in seq order, after start(); every `yield_every` pushes they yield (0:
// never), so the consumer can empty the queue now and then. was_empty() is
// how many pushes found the queue empty; check() follows each producer's
// sequence as the consumer receives nodes.
class queue_producers {
 public:
  struct tagged {
    mpscq::node hook;  // first member: a node* is a tagged*
    int producer;
    int seq;
  };

  queue_producers(mpscq::queue& q, int producers, int per_producer, int yield_every = 0)
      : q_(q), per_producer_(per_producer), next_(static_cast<std::size_t>(producers), 0) {
    for (int p = 0; p < producers; ++p) {
      storage_.push_back(std::make_unique<tagged[]>(static_cast<std::size_t>(per_producer)));
      for (int i = 0; i < per_producer; ++i) {
        storage_.back()[i].producer = p;
        storage_.back()[i].seq = i;
      }
    }
    for (int p = 0; p < producers; ++p) {
      threads_.emplace_back([this, p, yield_every] {
        while (!go_.load(std::memory_order_acquire)) std::this_thread::yield();
        int mine = 0;
        for (int i = 0; i < per_producer_; ++i) {
          mine += q_.push(&storage_[static_cast<std::size_t>(p)][i].hook) ? 1 : 0;
          if (yield_every > 0 && i % yield_every == yield_every - 1) std::this_thread::yield();
        }
        was_empty_.fetch_add(mine, std::memory_order_relaxed);
      });
    }
  }
  queue_producers(const queue_producers&) = delete;
  queue_producers& operator=(const queue_producers&) = delete;
  ~queue_producers() { join(); }

  void start() { go_.store(true, std::memory_order_release); }
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  int total() const { return per_producer_ * static_cast<int>(next_.size()); }
  int was_empty() const { return was_empty_.load(std::memory_order_relaxed); }

  // The consumer received `n`: counts it, and an order violation if it is
  // not its producer's next sequence number.
  void check(mpscq::node* n) {
    auto* t = reinterpret_cast<tagged*>(n);
    int& next = next_[static_cast<std::size_t>(t->producer)];
    if (t->seq != next) ++out_of_order_;
    next = t->seq + 1;
    ++received_;
  }
  int received() const { return received_; }
  int out_of_order() const { return out_of_order_; }
  // Every producer's last node arrived.
  bool all_complete() const {
    for (int n : next_)
      if (n != per_producer_) return false;
    return true;
  }

 private:
  mpscq::queue& q_;
  int per_producer_;
  std::vector<std::unique_ptr<tagged[]>> storage_;
  std::vector<std::thread> threads_;
  std::atomic<bool> go_{false};
  std::atomic<int> was_empty_{0};
  std::vector<int> next_;
  int received_ = 0;
  int out_of_order_ = 0;
};

}  // namespace mpscq_test

#endif  // MPSCQ_TESTS_SUPPORT_QUEUE_PRODUCERS_HPP
