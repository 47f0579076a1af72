// epoll_loop - mpscq::local_work inside an epoll event loop.
//
// WHAT IT SHOWS
//   One loop thread owns a local_work whose eventfd is enabled, and watches
//   that eventfd in epoll next to a real timerfd (a periodic 1 ms tick, the
//   stand-in for the loop's own I/O). Worker threads add work items from
//   outside. The loop
//     - runs work when epoll reports the eventfd (local_work signals it once
//       per empty -> non-empty transition, not once per item, and run()
//       drains it when it takes the work, so the loop never reads it),
//     - drains with run(cap), so a burst never starves the timer,
//     - asks has_work() (a load of the owner-side pending flag, no syscall)
//       before every epoll_wait: while work is pending it runs it instead of
//       entering the kernel, and enters epoll only every few rounds with a
//       zero timeout, so timer ticks are still served under load.
//   No wake is lost: an add that lands after run() emptied the queue finds it
//   empty and signals the eventfd again; run() leaving work behind (the cap)
//   re-signals it too.
//
// WHAT IT CHECKS (exit status 1 on any failure)
//   Every item added ran exactly once (none lost, none twice), items of one
//   worker ran in that worker's order (local_work is FIFO), none ran with
//   cancel = true while the loop was live, the eventfd and the timer both
//   fired. --inject=lose|dup corrupts the bookkeeping on purpose, to show that
//   the checks catch it (CTest runs both and expects failure).
//
// USAGE
//   epoll_loop [--seconds=S] [--workers=W] [--items=N] [--cap=C] [--inject=lose|dup]
#include <mpscq/local_work.hpp>
#include <mpscq/work.hpp>

#include "common/example_support.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using example::clock_type;
using example::die;

struct options {
  double seconds = 2.0;
  int workers = 2;
  std::uint32_t items_per_worker = 200000;
  int cap = 64;
  std::string inject;  // "", "lose", "dup"
};

options parse(int argc, char** argv) {
  example::args a(argc, argv,
                  "[--seconds=S] [--workers=W] [--items=N] [--cap=C] [--inject=lose|dup]\n"
                  "  --seconds  how long the workers add (default 2)\n"
                  "  --workers  adding threads (default 2)\n"
                  "  --items    most items per worker (default 200000)\n"
                  "  --cap      max_events per run() (default 64)\n"
                  "  --inject   corrupt the bookkeeping on purpose; the run must then fail\n");
  options o;
  o.seconds = a.number("seconds", o.seconds);
  o.workers = a.number("workers", o.workers);
  o.items_per_worker = a.number("items", o.items_per_worker);
  o.cap = a.number("cap", o.cap);
  o.inject = a.text("inject", o.inject);
  a.done(o.seconds > 0 && o.workers >= 1 && o.workers <= 64 && o.items_per_worker >= 1 && o.cap >= 1 &&
         (o.inject.empty() || o.inject == "lose" || o.inject == "dup"));
  return o;
}

struct loop_state;

// One work item. It is added once, by the worker that owns its slot.
struct item {
  mpscq::work tw{{}, &item::on_run};
  loop_state* loop = nullptr;
  std::uint32_t worker = 0;
  std::uint32_t seq = 0;  // position in its worker's add order

  static void on_run(mpscq::work& w, mpscq::run_state st) noexcept;
};

// Everything the loop thread (the owner) writes while running items. Only the
// owner touches it until the loop has finished, so it needs no atomics.
struct loop_state {
  std::vector<std::uint32_t> runs;         // per item: how often it ran
  std::vector<std::int64_t> last_seq;      // per worker: last seq that ran
  std::uint64_t ran = 0;
  std::uint64_t ran_cancelled = 0;
  std::uint64_t order_violations = 0;
  std::uint32_t items_per_worker = 0;
};

void item::on_run(mpscq::work& w, mpscq::run_state st) noexcept {
  item& it = mpscq::container_of<&item::tw>(w);
  loop_state& s = *it.loop;
  ++s.runs[static_cast<std::size_t>(it.worker) * s.items_per_worker + it.seq];
  ++s.ran;
  if (st.cancel) ++s.ran_cancelled;
  if (static_cast<std::int64_t>(it.seq) <= s.last_seq[it.worker]) ++s.order_violations;
  s.last_seq[it.worker] = it.seq;
}

struct loop_counters {
  std::uint64_t epoll_waits = 0;
  std::uint64_t epoll_skipped = 0;   // rounds where has_work() let us skip epoll_wait
  std::uint64_t eventfd_wakeups = 0;   // epoll_wait reported the eventfd readable
  std::uint64_t signal_before_flag = 0;  // ... before the adder had raised has_work()
  std::uint64_t timer_ticks = 0;
  std::uint64_t run_calls = 0;
  std::uint64_t empty_runs = 0;      // run() found nothing although has_work() said so
};

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  const std::size_t total_slots = static_cast<std::size_t>(opt.workers) * opt.items_per_worker;
  std::vector<item> items(total_slots);

  loop_state state;
  state.runs.assign(total_slots, 0);
  state.last_seq.assign(static_cast<std::size_t>(opt.workers), -1);
  state.items_per_worker = opt.items_per_worker;
  for (std::size_t i = 0; i < total_slots; ++i) {
    items[i].loop = &state;
    items[i].worker = static_cast<std::uint32_t>(i / opt.items_per_worker);
    items[i].seq = static_cast<std::uint32_t>(i % opt.items_per_worker);
  }

  std::atomic<mpscq::local_work*> shared_lw{nullptr};
  std::atomic<bool> producers_done{false};
  std::vector<std::uint32_t> added(static_cast<std::size_t>(opt.workers), 0);  // each worker's own slot
  loop_counters c;
  mpscq::local_work_stats st;
  bool loop_ok = true;
  std::uint64_t lost_at_close = 0;
  std::uint64_t total_added = 0;

  // The loop thread: constructs the local_work (it is the owner) and runs the
  // event loop until every added item has run.
  std::thread loop([&] {
    mpscq::local_work_options lwo;
    lwo.enable_eventfd = true;
    mpscq::local_work lw(lwo);
    const int efd = lw.event_fd();
    if (efd < 0) {
      std::fprintf(stderr, "epoll_loop: local_work has no eventfd although it was enabled\n");
      std::exit(1);
    }
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0) die("timerfd_create");
    itimerspec tick{};
    tick.it_interval.tv_nsec = 1'000'000;  // 1 ms
    tick.it_value.tv_nsec = 1'000'000;
    if (timerfd_settime(tfd, 0, &tick, nullptr) != 0) die("timerfd_settime");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = efd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) != 0) die("epoll_ctl(eventfd)");
    ev.data.fd = tfd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) != 0) die("epoll_ctl(timerfd)");

    shared_lw.store(&lw, std::memory_order_release);  // workers may add from now on

    constexpr int max_skips = 16;  // rounds without epoll_wait while work is pending
    int skips = 0;
    int poll_timeout_ms = 50;
    clock_type::time_point drain_deadline{};
    for (;;) {
      if (lw.has_work() && skips < max_skips) {
        // Pending work: run it without entering the kernel.
        ++skips;
        ++c.epoll_skipped;
        ++c.run_calls;
        if (lw.run(opt.cap) == 0) {
          // A producer is inside the queue's in-flight window (it exchanged
          // the tail but has not linked its node yet). Its add did not find
          // the queue empty, so no eventfd signal will come: do not spin,
          // poll again after a short sleep in epoll_wait.
          ++c.empty_runs;
          skips = max_skips;
          poll_timeout_ms = 1;
        }
      } else {
        skips = 0;
        const int timeout = lw.has_work() ? 0 : poll_timeout_ms;
        poll_timeout_ms = 50;
        epoll_event evs[4];
        ++c.epoll_waits;
        const int n = epoll_wait(ep, evs, 4, timeout);
        if (n < 0) {
          if (errno == EINTR) continue;
          die("epoll_wait");
        }
        bool efd_ready = false;
        for (int i = 0; i < n; ++i) {
          if (evs[i].data.fd == efd) {
            // Not read here: run() drains the eventfd when it takes the work
            // (local_work keeps "readable" and has_work() in step).
            efd_ready = true;
            ++c.eventfd_wakeups;
          } else if (evs[i].data.fd == tfd) {
            std::uint64_t v = 0;
            if (read(tfd, &v, sizeof v) == sizeof v) c.timer_ticks += v;
            else if (errno != EAGAIN) die("read(timerfd)");
          }
        }
        if (lw.has_work()) {
          ++c.run_calls;
          if (lw.run(opt.cap) == 0) {
            ++c.empty_runs;
            poll_timeout_ms = 1;
          }
        } else if (efd_ready) {
          // An add signals the eventfd just before it raises the flag: we
          // woke inside that window. The fd stays readable, so epoll_wait
          // returns again at once; let the adder finish first.
          ++c.signal_before_flag;
          std::this_thread::yield();
        }
      }
      if (producers_done.load(std::memory_order_acquire)) {
        if (drain_deadline == clock_type::time_point{}) drain_deadline = clock_type::now() + std::chrono::seconds(2);
        if (state.ran >= total_added) break;
        if (clock_type::now() > drain_deadline) {
          std::fprintf(stderr, "epoll_loop: FAIL: %llu of %llu items ran 2 s after the workers finished\n",
                       static_cast<unsigned long long>(state.ran), static_cast<unsigned long long>(total_added));
          loop_ok = false;
          // Diagnose: is the work still queued while has_work() says no?
          // (Then no add will raise the flag again: only an add that finds
          // the queue empty does.) Run it here so close() finds none.
          const bool flag = lw.has_work();
          const std::uint64_t before = state.ran;
          lw.run(1 << 30);
          std::fprintf(stderr,
                       "epoll_loop: has_work() was %s; run() then found %llu queued items%s\n", flag ? "true" : "false",
                       static_cast<unsigned long long>(state.ran - before),
                       (!flag && state.ran > before) ? ": a lost has_work() signal (the library's bug, not the loop's)" : "");
          break;
        }
      }
    }
    // Anything still queued runs now with cancel = true (nothing is lost);
    // in a correct run nothing is left.
    const std::uint64_t before_close = state.ran;
    lw.close();
    lost_at_close = state.ran - before_close;
    st = lw.stats();
    ::close(tfd);
    ::close(ep);
  });

  while (shared_lw.load(std::memory_order_acquire) == nullptr) std::this_thread::yield();
  mpscq::local_work& lw = *shared_lw.load(std::memory_order_acquire);

  const auto start = clock_type::now();
  const auto end = start + example::to_duration(opt.seconds);
  std::vector<std::thread> workers;
  for (int w = 0; w < opt.workers; ++w) {
    workers.emplace_back([&, w] {
      std::minstd_rand rng(static_cast<unsigned>(w) * 7919u + 1u);
      item* mine = items.data() + static_cast<std::size_t>(w) * opt.items_per_worker;
      std::uint32_t n = 0;
      while (n < opt.items_per_worker && clock_type::now() < end) {
        // Bursts of 1..64 items, then a short pause, so that the loop sees
        // both batches and empty -> non-empty transitions.
        const std::uint32_t burst = 1 + rng() % 64;
        for (std::uint32_t b = 0; b < burst && n < opt.items_per_worker; ++b) lw.add(mine[n++].tw);
        if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
        else std::this_thread::yield();
      }
      added[static_cast<std::size_t>(w)] = n;
    });
  }
  for (auto& t : workers) t.join();
  for (std::uint32_t a : added) total_added += a;
  producers_done.store(true, std::memory_order_release);  // publishes total_added and added[]
  loop.join();
  const double elapsed = example::seconds_since(start);

  if (opt.inject == "lose" && total_added > 0) state.runs[0] = 0;  // pretend item 0 never ran
  if (opt.inject == "dup" && total_added > 0) ++state.runs[0];     // pretend item 0 ran twice

  std::uint64_t lost = 0, duplicated = 0, phantom = 0;
  for (int w = 0; w < opt.workers; ++w) {
    for (std::uint32_t s = 0; s < opt.items_per_worker; ++s) {
      const std::uint32_t r = state.runs[static_cast<std::size_t>(w) * opt.items_per_worker + s];
      if (s < added[static_cast<std::size_t>(w)]) {
        if (r == 0) ++lost;
        else if (r > 1) duplicated += r - 1;
      } else if (r != 0) {
        ++phantom;  // ran although never added
      }
    }
  }

  std::printf("epoll_loop: %d workers, %.2f s, cap %d\n", opt.workers, elapsed, opt.cap);
  std::printf("  items       added %llu, ran %llu (%.2f M/s), ran at close %llu, cancelled %llu\n",
              static_cast<unsigned long long>(total_added), static_cast<unsigned long long>(state.ran),
              static_cast<double>(state.ran) / elapsed / 1e6, static_cast<unsigned long long>(lost_at_close),
              static_cast<unsigned long long>(state.ran_cancelled));
  std::printf("  loop        epoll_wait %llu, skipped by has_work() %llu, run() %llu (%llu found nothing: in-flight)\n",
              static_cast<unsigned long long>(c.epoll_waits), static_cast<unsigned long long>(c.epoll_skipped),
              static_cast<unsigned long long>(c.run_calls), static_cast<unsigned long long>(c.empty_runs));
  std::printf("  wakes       eventfd wakeups %llu (%.1f items each; %llu inside the signal->flag window), timer ticks %llu\n",
              static_cast<unsigned long long>(c.eventfd_wakeups),
              c.eventfd_wakeups ? static_cast<double>(state.ran) / static_cast<double>(c.eventfd_wakeups) : 0.0,
              static_cast<unsigned long long>(c.signal_before_flag), static_cast<unsigned long long>(c.timer_ticks));
  std::printf("  local_work  items_run %llu, cancelled %llu, futex wakes %llu (no wait() here: expect 0)\n",
              static_cast<unsigned long long>(st.items_run), static_cast<unsigned long long>(st.items_cancelled),
              static_cast<unsigned long long>(st.wakes));
  std::printf("  checks      lost %llu, duplicated %llu, never-added ran %llu, out of order %llu\n",
              static_cast<unsigned long long>(lost), static_cast<unsigned long long>(duplicated),
              static_cast<unsigned long long>(phantom), static_cast<unsigned long long>(state.order_violations));

  example::checks check;
  if (!loop_ok) check.fail();
  check(total_added > 0, "no item was added");
  check(lost == 0, "items lost");
  check(duplicated == 0, "items ran more than once");
  check(phantom == 0, "items ran that were never added");
  check(state.order_violations == 0, "items of one worker ran out of order");
  check(state.ran_cancelled == 0, "items ran cancelled although the loop drained before close()");
  check(c.eventfd_wakeups > 0, "the eventfd never fired");
  check(st.items_run == state.ran, "local_work's items_run disagrees with the items that ran");
  check(elapsed < 0.1 || c.timer_ticks > 0, "the timerfd never fired");
  return check.summary();
}
