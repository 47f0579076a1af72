// Unit tests of task_work's bounded admission (task_work_options::limit,
// mpscq/bounded.hpp): try_add refuses when full and leaves the item with the
// caller; try_add_for/try_add_until wait for room and end on room, timeout,
// stop, close() and destruction; add()/add_batch() are charged, never
// refused; the run loop gives room back after each pass (target runs,
// fallback jobs, close()); a waiting try_add from inside the task_work is
// refused at once (it would wait for itself); many producers against a small
// limit never pass it. No timed checks: deadlines are hang guards only.
#include <mpscq/task_work.hpp>

#include <gtest/gtest.h>

#include "test_executors.hpp"
#include "test_wait.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <ostream>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace mpscq {
// add_status by name in gtest's messages.
inline void PrintTo(add_status s, std::ostream* os) { *os << to_string(s); }
}  // namespace mpscq

namespace {

using mpscq::add_status;
using mpscq::run_state;
using mpscq::task_work;
using mpscq::task_work_options;
using mpscq::work;
using mpscq::detail::task_work_access;
using mpscq_test::manual_executor;
using mpscq_test::wait_for;
using namespace std::chrono_literals;

// A hang guard for a waiting add that must end otherwise (room, close, stop,
// destruction): far beyond any wake, short enough that a lost wake fails the
// test (with timed_out) instead of hanging it.
constexpr auto guard = 10s;

// An item that counts its runs, cancelled or not. (Smaller than a
// context_work: the adds' context_work check must not warn about it.)
struct counted {
  work w{{}, &counted::run};
  std::atomic<int> runs{0};
  std::atomic<int> cancelled{0};
  static void run(work& w, run_state st) noexcept {
    counted& self = mpscq::container_of<&counted::w>(w);
    self.runs.fetch_add(1, std::memory_order_relaxed);
    if (st.cancel) self.cancelled.fetch_add(1, std::memory_order_relaxed);
  }
};

// What a refused item must still be: never run, func as it was, not linked.
void expect_untouched(const counted& c) {
  EXPECT_EQ(c.runs.load(), 0);
  EXPECT_EQ(c.w.func, &counted::run);
  EXPECT_EQ(c.w.hook.next.load(std::memory_order_relaxed), nullptr);
}

// A target that counts schedules; the test calls run() itself.
struct counting_target {
  std::atomic<int> schedules{0};
  bool accept = true;
  mpscq::task_work_scheduler scheduler() {
    return [this](task_work&) {
      schedules.fetch_add(1, std::memory_order_relaxed);
      return accept;
    };
  }
};

// Waits until `n` adds are inside the gate (a try_add waiting for room is).
bool wait_adds_inside(const task_work& tw, std::uint64_t n) {
  return wait_for([&] { return task_work_access::adds_in_flight(tw) == n; });
}

// The calling thread's id for thread_asleep() (0 where there is none).
long this_tid() {
#if defined(__linux__)
  return static_cast<long>(::syscall(SYS_gettid));
#else
  return 0;
#endif
}

// True when thread `tid` of this process is blocked (state S: the waiting
// add's futex sleep - it blocks nowhere else). Without /proc: true.
bool thread_asleep(long tid) {
#if defined(__linux__)
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
  std::FILE* f = std::fopen(path, "r");
  if (f == nullptr) return true;
  char buf[512] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  // "tid (comm) S ...": the state follows the last ')'.
  const char* p = nullptr;
  for (std::size_t i = 0; i < n; ++i)
    if (buf[i] == ')') p = buf + i;
  return p != nullptr && p[1] == ' ' && p[2] == 'S';
#else
  (void)tid;
  return true;
#endif
}

// A producer thread that makes one waiting try_add; the test waits until it
// sleeps for room (so that what ends the wait must wake it), then ends it.
class waiting_producer {
 public:
  template <class Call>
  explicit waiting_producer(Call call)
      : thread_([this, call] {
          tid_ = this_tid();
          started_ = true;
          got_ = call();
          done_ = true;
        }) {}
  ~waiting_producer() {
    if (thread_.joinable()) thread_.join();
  }
  // Inside the gate, and asleep.
  bool wait_asleep(const task_work& tw) {
    return wait_for([&] { return started_.load(); }) && wait_adds_inside(tw, 1) &&
           wait_for([&] { return done_.load() || thread_asleep(tid_.load()); }) && !done_.load();
  }
  add_status join() {
    thread_.join();
    return got_.load();
  }
  bool done() const { return done_.load(); }

 private:
  std::atomic<long> tid_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> done_{false};
  std::atomic<add_status> got_{add_status::full};
  std::thread thread_;
};

TEST(TaskWorkBounded, UnboundedTryAddAddsAndClosedRefuses) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback);
  EXPECT_EQ(tw.limit(), 0u);
  std::vector<std::unique_ptr<counted>> items;
  for (int i = 0; i < 100; ++i) {
    items.push_back(std::make_unique<counted>());
    ASSERT_EQ(tw.try_add(items.back()->w), add_status::added);
  }
  EXPECT_EQ(tw.depth(), 0u);  // no count without a limit
  EXPECT_EQ(target.schedules.load(), 1);
  EXPECT_EQ(tw.run().ran, 100u);
  tw.close();
  // Unlike add(), a try_add after close() does not queue the item to run it
  // cancelled: it refuses, and the caller keeps it.
  counted late;
  EXPECT_EQ(tw.try_add(late.w), add_status::closed);
  EXPECT_EQ(tw.try_add_for(late.w, 1h), add_status::closed);
  EXPECT_EQ(tw.refused(), 2u);
  EXPECT_EQ(fallback.pending(), 0u);
  expect_untouched(late);
}

TEST(TaskWorkBounded, TryAddFullLeavesItemWithCaller) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback, task_work_options{.limit = 2});
  EXPECT_EQ(tw.limit(), 2u);
  counted a, b, c;
  EXPECT_EQ(tw.try_add(a.w), add_status::added);
  EXPECT_EQ(tw.try_add(b.w), add_status::added);
  EXPECT_EQ(tw.depth(), 2u);
  EXPECT_EQ(tw.try_add(c.w), add_status::full);
  EXPECT_EQ(tw.refused(), 1u);
  EXPECT_EQ(target.schedules.load(), 1);  // a refused add schedules nothing
  const mpscq::run_result r = tw.run();
  EXPECT_EQ(r.ran, 2u);
  EXPECT_EQ(tw.depth(), 0u);
  expect_untouched(c);  // not run by the run either: it was never queued
  // The caller still has it and may add it now.
  EXPECT_EQ(tw.try_add(c.w), add_status::added);
  EXPECT_EQ(target.schedules.load(), 2);
  EXPECT_EQ(tw.run().ran, 1u);
  EXPECT_EQ(c.runs.load(), 1);
  EXPECT_EQ(c.cancelled.load(), 0);
}

TEST(TaskWorkBounded, PlainAddIsChargedAndNeverRefused) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback, task_work_options{.limit = 2});
  counted a, b, c, d;
  tw.add(a.w);
  tw.add(b.w);
  tw.add(c.w);  // past the limit: accepted, counted
  EXPECT_EQ(tw.depth(), 3u);
  EXPECT_EQ(tw.try_add(d.w), add_status::full);
  EXPECT_EQ(tw.run().ran, 3u);
  EXPECT_EQ(tw.depth(), 0u);
  EXPECT_EQ(tw.try_add(d.w), add_status::added);
  EXPECT_EQ(tw.run().ran, 1u);
  EXPECT_EQ(tw.refused(), 1u);
}

TEST(TaskWorkBounded, AddBatchIsChargedPerItem) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback, task_work_options{.limit = 4});
  counted items[3];
  mpscq::work_chain chain;
  for (counted& c : items) chain.append(c.w);
  tw.add_batch(chain);
  EXPECT_EQ(tw.depth(), 3u);
  counted x, y;
  EXPECT_EQ(tw.try_add(x.w), add_status::added);
  EXPECT_EQ(tw.try_add(y.w), add_status::full);
  EXPECT_EQ(tw.run().ran, 4u);
  EXPECT_EQ(tw.depth(), 0u);
}

TEST(TaskWorkBounded, RoomComesBackAfterEachPass) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback, task_work_options{.limit = 3});
  counted items[3];
  for (counted& c : items) ASSERT_EQ(tw.try_add(c.w), add_status::added);
  counted more;
  EXPECT_EQ(tw.try_add(more.w), add_status::full);
  // A capped run's pass gives back the room of what it ran, though the run
  // still owns the queue.
  mpscq::run_result r = tw.run(1);
  EXPECT_EQ(r.ran, 1u);
  EXPECT_TRUE(r.more);
  EXPECT_EQ(tw.depth(), 2u);
  EXPECT_EQ(tw.try_add(more.w), add_status::added);
  // should_yield ends a pass too.
  r = tw.run(task_work::unlimited, [] { return true; });
  EXPECT_EQ(r.ran, 1u);
  EXPECT_EQ(tw.depth(), 2u);
  while (tw.run().more) {
  }
  EXPECT_EQ(tw.depth(), 0u);
  EXPECT_EQ(target.schedules.load(), 1);
}

TEST(TaskWorkBounded, FallbackAndCloseGiveRoomBack) {
  counting_target target;
  target.accept = false;  // the target refuses: the cycle goes to the fallback
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback, task_work_options{.limit = 2});
  counted a, b, c;
  EXPECT_EQ(tw.try_add(a.w), add_status::added);
  EXPECT_EQ(tw.try_add(b.w), add_status::added);
  EXPECT_EQ(tw.try_add(c.w), add_status::full);
  EXPECT_EQ(fallback.run_all(), 1u);  // runs them cancelled
  EXPECT_EQ(a.cancelled.load() + b.cancelled.load(), 2);
  EXPECT_EQ(tw.depth(), 0u);
  // close(): a cycle accepted before it runs cancelled, and gives room back.
  target.accept = true;
  EXPECT_EQ(tw.try_add(c.w), add_status::added);
  tw.close();
  counted d;
  EXPECT_EQ(tw.try_add(d.w), add_status::closed);
  EXPECT_EQ(tw.run().ran, 1u);
  EXPECT_EQ(c.cancelled.load(), 1);
  EXPECT_EQ(tw.depth(), 0u);
  // A plain add after close() still goes to the fallback, charged, and its
  // run gives the room back.
  tw.add(d.w);
  EXPECT_EQ(tw.depth(), 1u);
  EXPECT_EQ(fallback.run_all(), 1u);
  EXPECT_EQ(d.cancelled.load(), 1);
  EXPECT_EQ(tw.depth(), 0u);
}

TEST(TaskWorkBounded, WaitingAddTimesOut) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback, task_work_options{.limit = 1});
  counted a, b;
  ASSERT_EQ(tw.try_add(a.w), add_status::added);
  EXPECT_EQ(tw.try_add_for(b.w, 1ms), add_status::timed_out);
  EXPECT_EQ(tw.try_add_for(b.w, 0ns), add_status::timed_out);
  EXPECT_EQ(tw.try_add_for(b.w, -5s), add_status::timed_out);
  EXPECT_EQ(tw.try_add_until(b.w, std::chrono::steady_clock::now() - 1s), add_status::timed_out);
  EXPECT_EQ(tw.refused(), 4u);
  expect_untouched(b);
  EXPECT_EQ(target.schedules.load(), 1);
  EXPECT_EQ(tw.run().ran, 1u);
  // With room, a waiting add adds at once, whatever its timeout.
  EXPECT_EQ(tw.try_add_for(b.w, 0ns), add_status::added);
  EXPECT_EQ(tw.run().ran, 1u);
}

TEST(TaskWorkBounded, WaitingAddGetsRoomFromARunOnAnotherThread) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback, task_work_options{.limit = 1});
  counted a, b;
  ASSERT_EQ(tw.try_add(a.w), add_status::added);
  waiting_producer producer([&] { return tw.try_add_for(b.w, guard); });
  ASSERT_TRUE(producer.wait_asleep(tw));  // waiting for room
  EXPECT_EQ(tw.run().ran, 1u);  // the pass gives a's room back and wakes it
  EXPECT_EQ(producer.join(), add_status::added);
  EXPECT_EQ(tw.run().ran, 1u);
  EXPECT_EQ(b.runs.load(), 1);
  EXPECT_EQ(tw.refused(), 0u);
}

TEST(TaskWorkBounded, CloseWakesWaitingAdd) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback, task_work_options{.limit = 1});
  counted a, b;
  ASSERT_EQ(tw.try_add(a.w), add_status::added);
  waiting_producer producer([&] { return tw.try_add_until(b.w, std::chrono::steady_clock::time_point::max()); });
  ASSERT_TRUE(producer.wait_asleep(tw));
  // close() wakes the waiting add before it waits for the gate to drain
  // (the add is inside it).
  std::atomic<bool> closed{false};
  std::thread closer([&] {
    tw.close();
    closed = true;
  });
  const bool close_returned = wait_for([&] { return closed.load(); });
  EXPECT_TRUE(close_returned) << "close() waits for a producer that nobody woke";
  if (!close_returned) (void)tw.run();  // unstick the test: room lets the add in
  closer.join();
  EXPECT_EQ(producer.join(), add_status::closed);
  expect_untouched(b);
  // The accepted item still runs (cancelled) and gives its room back.
  EXPECT_EQ(tw.run().ran, 1u);
  EXPECT_EQ(a.cancelled.load(), 1);
  EXPECT_EQ(tw.depth(), 0u);
}

TEST(TaskWorkBounded, DestructionWakesWaitingAdd) {
  counting_target target;
  manual_executor fallback;
  auto tw = std::make_unique<task_work>(target.scheduler(), fallback, task_work_options{.limit = 1});
  counted a, b;
  ASSERT_EQ(tw->try_add(a.w), add_status::added);
  task_work* const object = tw.get();  // the producer must not read `tw`, which reset() writes
  waiting_producer producer([&] { return object->try_add_for(b.w, guard); });
  ASSERT_TRUE(producer.wait_asleep(*tw));
  // The destructor closes, wakes the waiting add, waits for it to leave,
  // then runs what is left (a, cancelled: its schedule was never run).
  std::thread destroyer([&] { tw.reset(); });
  destroyer.join();
  EXPECT_EQ(producer.join(), add_status::closed);
  expect_untouched(b);
  EXPECT_EQ(a.cancelled.load(), 1);
}

#if MPSCQ_HAS_STOP_TOKEN
TEST(TaskWorkBounded, StopRequestEndsWaitingAdd) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback, task_work_options{.limit = 1});
  counted a, b;
  ASSERT_EQ(tw.try_add(a.w), add_status::added);
  std::stop_source source;
  // No deadline: only the stop request's wake can end this wait (a timed
  // one would end in stopped too, at its deadline, since a woken add checks
  // the token first).
  waiting_producer producer(
      [&] { return tw.try_add_until(b.w, std::chrono::steady_clock::time_point::max(), source.get_token()); });
  ASSERT_TRUE(producer.wait_asleep(tw));
  source.request_stop();  // its callback wakes the waiting add
  const bool woken = wait_for([&] { return producer.done(); });
  EXPECT_TRUE(woken) << "the stop request did not wake the waiting add";
  if (!woken) (void)tw.run();  // unstick the test: room lets the add in
  EXPECT_EQ(producer.join(), add_status::stopped);
  if (!woken) (void)tw.run();
  expect_untouched(b);
  // A token stopped already: refused at once when there is no room ...
  EXPECT_EQ(tw.try_add_until(b.w, std::chrono::steady_clock::time_point::max(), source.get_token()),
            add_status::stopped);
  // ... and a token with no stop state changes nothing.
  EXPECT_EQ(tw.try_add_for(b.w, 1ms, std::stop_token{}), add_status::timed_out);
  EXPECT_EQ(tw.refused(), 3u);
  EXPECT_EQ(tw.run().ran, 1u);
  // With room, a stopped token does not refuse.
  EXPECT_EQ(tw.try_add_for(b.w, 1ms, source.get_token()), add_status::added);
  EXPECT_EQ(tw.run().ran, 1u);
  EXPECT_EQ(b.runs.load(), 1);
}
#endif

// An item (or the scheduler) of this task_work that waits for its room would
// wait for itself: only its own run makes room, and that run is below it.
TEST(TaskWorkBounded, WaitingAddFromInsideIsRefusedAtOnce) {
  counting_target target;
  manual_executor fallback;
  task_work tw(target.scheduler(), fallback, task_work_options{.limit = 1});
  counted inner;
  add_status from_item = add_status::added;
  struct self_adder {
    task_work* tw;
    counted* inner;
    add_status* got;
    work w{{}, &self_adder::run};
    static void run(work& w, run_state) noexcept {
      self_adder& self = mpscq::container_of<&self_adder::w>(w);
      *self.got = self.tw->try_add_for(self.inner->w, guard);
    }
  } item{&tw, &inner, &from_item};
  ASSERT_EQ(tw.try_add(item.w), add_status::added);
  EXPECT_EQ(tw.run().ran, 1u);
  EXPECT_EQ(from_item, add_status::full);
  expect_untouched(inner);
  EXPECT_EQ(tw.depth(), 0u);
}

TEST(TaskWorkBounded, WaitingAddFromSchedulerIsRefusedAtOnce) {
  manual_executor fallback;
  counted filler, extra;
  add_status from_scheduler = add_status::added;
  int calls = 0;
  task_work tw(
      [&](task_work& self) {
        if (++calls == 1) {
          // The cycle this call was asked to schedule holds the only room.
          from_scheduler = self.try_add_for(extra.w, guard);
        }
        return true;
      },
      fallback, task_work_options{.limit = 1});
  ASSERT_EQ(tw.try_add(filler.w), add_status::added);
  EXPECT_EQ(from_scheduler, add_status::full);
  expect_untouched(extra);
  EXPECT_EQ(tw.run().ran, 1u);
}

// An inline scheduler: the try_add's own call runs the items, and the pass
// inside it gives the room back before the try_add returns.
TEST(TaskWorkBounded, InlineSchedulerGivesRoomBackInsideTheAdd) {
  mpscq_test::inline_executor fallback;
  task_work* self = nullptr;
  task_work tw(
      [&](task_work& t) {
        while (t.run().more) {
        }
        return true;
      },
      fallback, task_work_options{.limit = 1});
  self = &tw;
  counted items[5];
  for (counted& c : items) {
    ASSERT_EQ(self->try_add(c.w), add_status::added);
    EXPECT_EQ(c.runs.load(), 1);
    EXPECT_EQ(tw.depth(), 0u);
  }
}

// Many producers against a small limit, a runner on its own thread: every
// item runs exactly once, no waiting add is left asleep (a lost wake times
// out the hang guard), and depth never passes the limit. With limit 1, an
// item running must see an empty queue: no other item was admitted.
class runner_thread {
 public:
  explicit runner_thread(task_work*& tw) : tw_(tw), thread_([this] { loop(); }) {}
  ~runner_thread() { stop(); }
  // Serves the schedules accepted so far, then ends. Call it before the
  // task_work is destroyed.
  void stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  mpscq::task_work_scheduler scheduler() {
    return [this](task_work&) {
      {
        std::lock_guard<std::mutex> lock(m_);
        ++pending_;
      }
      cv_.notify_one();
      return true;
    };
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || pending_ != 0; });
      if (pending_ == 0) return;
      --pending_;
      lock.unlock();
      // Small caps: many passes, each giving room back.
      while (tw_->run(2).more) {
      }
      lock.lock();
    }
  }
  task_work*& tw_;
  std::mutex m_;
  std::condition_variable cv_;
  int pending_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

void many_producers(std::uint32_t limit, int producers, int per_producer) {
  manual_executor fallback;
  task_work* tw = nullptr;
  std::atomic<int> ran{0};
  std::atomic<int> over_limit{0};
  std::atomic<int> queue_not_empty{0};
  struct item {
    task_work** tw;
    std::atomic<int>* ran;
    std::atomic<int>* over_limit;
    std::atomic<int>* queue_not_empty;
    std::uint32_t limit;
    std::atomic<int> runs{0};
    work w{{}, &item::run};
    static void run(work& w, run_state) noexcept {
      item& self = mpscq::container_of<&item::w>(w);
      if ((*self.tw)->depth() > self.limit) self.over_limit->fetch_add(1);
      if (self.limit == 1 && !(*self.tw)->empty()) self.queue_not_empty->fetch_add(1);
      self.runs.fetch_add(1, std::memory_order_relaxed);
      self.ran->fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::unique_ptr<item>> items;
  for (int i = 0; i < producers * per_producer; ++i)
    items.push_back(std::unique_ptr<item>(new item{&tw, &ran, &over_limit, &queue_not_empty, limit}));
  {
    runner_thread runner(tw);  // stopped before `object` is destroyed
    task_work object(runner.scheduler(), fallback, task_work_options{.limit = limit});
    tw = &object;
    std::atomic<int> timed_out{0};
    std::atomic<int> full{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        // A hang guard: a producer still not done by then gives up.
        const auto give_up = std::chrono::steady_clock::now() + guard;
        for (int i = 0; i < per_producer; ++i) {
          item& it = *items[static_cast<std::size_t>(p * per_producer + i)];
          // Every other producer spins on try_add, the rest wait.
          add_status s;
          if (p % 2 == 0) {
            while ((s = object.try_add(it.w)) == add_status::full) {
              full.fetch_add(1, std::memory_order_relaxed);
              if (std::chrono::steady_clock::now() > give_up) break;
              std::this_thread::yield();
            }
          } else {
            s = object.try_add_until(it.w, give_up);
            if (s == add_status::timed_out) timed_out.fetch_add(1);
          }
          if (object.depth() > limit) over_limit.fetch_add(1);
          if (s != add_status::added) {
            ADD_FAILURE() << "producer " << p << ", item " << i << ": " << to_string(s);
            return;
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(timed_out.load(), 0) << "a waiting add was never woken";
    EXPECT_TRUE(wait_for([&] { return ran.load() == producers * per_producer; }, 5s));
    EXPECT_TRUE(wait_for([&] { return object.depth() == 0; }, 5s));
    EXPECT_EQ(object.refused(), static_cast<std::uint64_t>(full.load() + timed_out.load()));
    object.close();
    runner.stop();  // before the task_work goes: it may still owe a run
  }
  EXPECT_EQ(over_limit.load(), 0);
  EXPECT_EQ(queue_not_empty.load(), 0);
  for (const auto& it : items) EXPECT_EQ(it->runs.load(), 1);
}

TEST(TaskWorkBounded, ManyProducersLimitOne) { many_producers(1, 4, 2000); }
TEST(TaskWorkBounded, ManyProducersSmallLimit) { many_producers(4, 4, 5000); }

class TaskWorkBoundedDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(TaskWorkBoundedDeath, TryAddOfItemWithNoFuncIsReported) {
  EXPECT_DEATH(
      {
        manual_executor fallback;
        task_work tw([](task_work&) { return true; }, fallback, task_work_options{.limit = 1});
        work w;
        (void)tw.try_add_for(w, 1ms);
      },
      "mpscq::task_work: try_add\\(\\): the work item has no func");
}

}  // namespace
