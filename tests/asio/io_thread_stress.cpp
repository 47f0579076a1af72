// tests/asio/io_thread_stress.cpp - io_thread's idle <-> busy transitions,
// hunting lost wakes (mpscq/asio_thread.hpp, THE WAIT'S RACE WINDOW).
//
// Producers run closed loops against one io_thread: post one function
// through get_executor() (or a burst, or a plain mpscq::work item through
// work().add()), wait until it ran, pause a varying while (none, a yield, a
// short sleep) so the owner goes back to its eventfd wait, repeat. A
// steady_timer on the io_context re-arms itself every 50 us, so the
// io_context polls its reactor between the owner's passes (the epoll_wait()s
// that could swallow an eventfd edge while no wait is armed). A watchdog
// fails the run ("LOST WAKE") when a round makes no progress for 5 s; the
// end checks every function ran exactly once, on the io_thread's thread.
//
// Usage: io_thread_stress [rounds per producer, default 20000] [producers, default 2]
#include "asio_flavour.hpp"

#include <mpscq/asio_thread.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

namespace {

namespace net = mpscq::asio::net;
using clock_type = std::chrono::steady_clock;

struct producer_state {
  std::atomic<std::uint64_t> ran{0};  // functions run for this producer
  std::uint64_t posted = 0;           // the producer's own
};

struct plain_item {
  mpscq::work hook{{}, &plain_item::run};
  producer_state* p = nullptr;
  static void run(mpscq::work& w, mpscq::run_state st) noexcept {
    auto& self = mpscq::container_of<&plain_item::hook>(w);
    if (!st.cancel) self.p->ran.fetch_add(1, std::memory_order_release);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t rounds = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  const int producers = argc > 2 ? std::atoi(argv[2]) : 2;
  std::atomic<bool> wrong_thread{false};
  std::vector<producer_state> state(static_cast<std::size_t>(producers));
  std::atomic<std::uint64_t> progress{0};
  std::atomic<bool> done{false};
  {
    mpscq::asio::io_thread io(mpscq::asio::io_thread_options{4});  // small batches: more passes, more arms
    const std::thread::id owner = io.get_id();

    net::steady_timer tick(io.io_context());
    std::atomic<bool> ticking{true};
    std::function<void()> arm_tick = [&] {
      tick.expires_after(std::chrono::microseconds(50));
      tick.async_wait([&](const auto&) {
        if (ticking.load(std::memory_order_relaxed)) arm_tick();
      });
    };
    net::post(io.io_context(), arm_tick);

    std::thread watchdog([&] {
      std::uint64_t last = ~std::uint64_t(0);
      auto since = clock_type::now();
      while (!done.load(std::memory_order_acquire)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        const std::uint64_t now = progress.load(std::memory_order_relaxed);
        if (now != last) {
          last = now;
          since = clock_type::now();
        } else if (clock_type::now() - since > std::chrono::seconds(5)) {
          std::printf("io_thread_stress: FAIL: LOST WAKE: no function ran for 5 s (after %llu rounds)\n",
                      static_cast<unsigned long long>(now));
          std::fflush(stdout);
          std::_Exit(1);
        }
      }
    });

    std::vector<std::thread> threads;
    for (int t = 0; t < producers; ++t) {
      threads.emplace_back([&, t] {
        producer_state& me = state[static_cast<std::size_t>(t)];
        std::minstd_rand rng(static_cast<unsigned>(t) * 7919u + 1u);
        plain_item item;
        item.p = &me;
        for (std::uint64_t r = 0; r < rounds; ++r) {
          const unsigned shape = rng() % 16;
          const std::uint64_t n = shape == 0 ? 1 + rng() % 64 : 1;  // a burst now and then
          for (std::uint64_t i = 0; i < n; ++i) {
            if (shape == 1) {
              io.work().add(item.hook);  // a plain item (n == 1 here)
            } else {
              net::post(io.get_executor(), [&me, &wrong_thread, owner] {
                if (std::this_thread::get_id() != owner) wrong_thread.store(true, std::memory_order_relaxed);
                me.ran.fetch_add(1, std::memory_order_release);
              });
            }
          }
          me.posted += n;
          // Closed loop: wait for our own functions (the owner goes idle meanwhile).
          for (unsigned spins = 0; me.ran.load(std::memory_order_acquire) != me.posted; ++spins) {
            if (spins < 64) std::this_thread::yield();
            else std::this_thread::sleep_for(std::chrono::microseconds(20));
          }
          progress.fetch_add(1, std::memory_order_relaxed);
          switch (rng() % 4) {
            case 0: break;
            case 1: std::this_thread::yield(); break;
            default: std::this_thread::sleep_for(std::chrono::microseconds(rng() % 30)); break;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    ticking.store(false, std::memory_order_relaxed);
    net::post(io.io_context(), [&] { tick.cancel(); });
    io.stop();
    io.join();
    done.store(true, std::memory_order_release);
    watchdog.join();
  }
  std::uint64_t posted = 0, ran = 0;
  for (auto& p : state) {
    posted += p.posted;
    ran += p.ran.load();
  }
  if (ran != posted || wrong_thread.load()) {
    std::printf("io_thread_stress: FAIL: posted %llu, ran %llu, wrong thread %d\n", static_cast<unsigned long long>(posted),
                static_cast<unsigned long long>(ran), int(wrong_thread.load()));
    return 1;
  }
  std::printf("io_thread_stress: %llu rounds x %d producers, %llu functions, OK\n",
              static_cast<unsigned long long>(rounds), producers, static_cast<unsigned long long>(posted));
  return 0;
}
