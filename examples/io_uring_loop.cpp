// io_uring_loop - mpscq::local_work next to a SINGLE_ISSUER | DEFER_TASKRUN ring.
//
// WHAT IT SHOWS
//   A ring set up with IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
//   may be used by one thread only: the thread that created it (the owner).
//   Other threads cannot submit to it, so they hand work to the owner through
//   a local_work, and the owner waits for ring completions and for local_work
//   items in ONE wait: an IORING_OP_POLL_ADD on local_work's eventfd sits in
//   the ring next to a timeout SQE (a periodic 2 ms tick), and
//   io_uring_submit_and_wait() returns when either completes or when a
//   request the owner submitted completes.
//
//   Here each item is a request from a worker thread "please submit this on
//   the ring": when the owner runs it, it queues an IORING_OP_NOP whose
//   user_data names the item, and the NOP's completion marks the request done.
//   Before every wait the owner asks has_work() (no syscall): when items are
//   pending it runs them and only submits and reaps, without blocking.
//
//   If the kernel refuses the flags (older than 6.1), the example falls back
//   to SINGLE_ISSUER alone, then to a plain ring, and says so; --plain forces
//   the plain ring. If io_uring is unavailable altogether it exits with 77
//   (CTest: skipped).
//
// WHAT IT CHECKS (exit status 1 on any failure)
//   Every item added ran exactly once and its NOP completed exactly once, per
//   worker in FIFO order, none cancelled; the eventfd read and the timeout
//   both completed. --inject=lose|dup corrupts the bookkeeping on purpose.
//
// USAGE
//   io_uring_loop [--seconds=S] [--workers=W] [--items=N] [--cap=C] [--plain] [--inject=lose|dup]
//
// liburing.h pulls in <linux/fs.h>; nothing here minds its macros, but keep
// mpscq's headers first so no macro of that header can reach them.
#include <mpscq/local_work.hpp>
#include <mpscq/work.hpp>

#include "common/example_support.hpp"

#include <liburing.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
  bool plain = false;
  std::string inject;
};

options parse(int argc, char** argv) {
  example::args a(argc, argv,
                  "[--seconds=S] [--workers=W] [--items=N] [--cap=C] [--plain] [--inject=lose|dup]\n"
                  "  --seconds  how long the workers add (default 2)\n"
                  "  --workers  adding threads (default 2)\n"
                  "  --items    most items per worker (default 200000)\n"
                  "  --cap      max_events per run() (default 64)\n"
                  "  --plain    use a plain ring (no SINGLE_ISSUER / DEFER_TASKRUN)\n"
                  "  --inject   corrupt the bookkeeping on purpose; the run must then fail\n");
  options o;
  o.plain = a.flag("plain");
  o.seconds = a.number("seconds", o.seconds);
  o.workers = a.number("workers", o.workers);
  o.items_per_worker = a.number("items", o.items_per_worker);
  o.cap = a.number("cap", o.cap);
  o.inject = a.text("inject", o.inject);
  a.done(o.seconds > 0 && o.workers >= 1 && o.workers <= 64 && o.items_per_worker >= 1 &&
         o.items_per_worker <= (1u << 24) && o.cap >= 1 && (o.inject.empty() || o.inject == "lose" || o.inject == "dup"));
  return o;
}

// user_data of the owner's own SQEs; an item's NOP carries its slot index.
constexpr std::uint64_t tag_eventfd = 1ull << 62;
constexpr std::uint64_t tag_timeout = 1ull << 61;

struct owner_state;

struct item {
  mpscq::work tw{{}, &item::on_run};
  owner_state* owner = nullptr;
  std::uint32_t worker = 0;
  std::uint32_t seq = 0;
  std::uint32_t slot = 0;

  static void on_run(mpscq::work& w, mpscq::run_state st) noexcept;
};

// Owner-only state (the ring and the bookkeeping of the items it ran).
struct owner_state {
  io_uring ring{};
  std::vector<std::uint32_t> runs;         // per slot: times its item ran
  std::vector<std::uint32_t> completions;  // per slot: times its NOP completed
  std::vector<std::int64_t> last_seq;      // per worker
  std::uint64_t ran = 0, ran_cancelled = 0, order_violations = 0, nops = 0, completed = 0;
  std::uint64_t submit_full = 0;           // SQ was full: submitted early

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (s == nullptr) {
      ++submit_full;
      const int r = io_uring_submit(&ring);
      if (r < 0) die("io_uring_submit", -r);
      s = io_uring_get_sqe(&ring);
      if (s == nullptr) die("io_uring_get_sqe", EBUSY);
    }
    return s;
  }
};

void item::on_run(mpscq::work& w, mpscq::run_state st) noexcept {
  item& it = mpscq::container_of<&item::tw>(w);
  owner_state& o = *it.owner;
  ++o.runs[it.slot];
  ++o.ran;
  if (static_cast<std::int64_t>(it.seq) <= o.last_seq[it.worker]) ++o.order_violations;
  o.last_seq[it.worker] = it.seq;
  if (st.cancel) {  // the owner is closing: complete without submitting
    ++o.ran_cancelled;
    return;
  }
  io_uring_sqe* s = o.sqe();
  io_uring_prep_nop(s);
  io_uring_sqe_set_data64(s, it.slot);
  ++o.nops;
}

struct ring_counters {
  std::uint64_t waits = 0;           // io_uring_submit_and_wait(.., 1)
  std::uint64_t waits_skipped = 0;   // has_work() said run instead of waiting
  std::uint64_t eventfd_polls = 0;      // the eventfd poll completed
  std::uint64_t signal_before_flag = 0;  // ... before the adder had raised has_work()
  std::uint64_t timeouts = 0;
  std::uint64_t run_calls = 0;
  std::uint64_t cqes = 0;
  std::uint64_t empty_runs = 0;      // run() found nothing although has_work() said so
};

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  const std::size_t total_slots = static_cast<std::size_t>(opt.workers) * opt.items_per_worker;
  std::vector<item> items(total_slots);
  owner_state o;
  o.runs.assign(total_slots, 0);
  o.completions.assign(total_slots, 0);
  o.last_seq.assign(static_cast<std::size_t>(opt.workers), -1);
  for (std::size_t i = 0; i < total_slots; ++i) {
    items[i].owner = &o;
    items[i].worker = static_cast<std::uint32_t>(i / opt.items_per_worker);
    items[i].seq = static_cast<std::uint32_t>(i % opt.items_per_worker);
    items[i].slot = static_cast<std::uint32_t>(i);
  }

  // 0: not ready, 1: ready, 2: io_uring unavailable (skip), 3: failed.
  std::atomic<int> setup{0};
  std::atomic<mpscq::local_work*> shared_lw{nullptr};
  std::atomic<bool> producers_done{false};
  std::vector<std::uint32_t> added(static_cast<std::size_t>(opt.workers), 0);
  std::uint64_t total_added = 0;
  ring_counters c;
  std::string ring_kind;
  bool loop_ok = true;
  std::uint64_t ran_at_close = 0;

  std::thread owner([&] {
    // The ring is created HERE, on the thread that will use it: with
    // SINGLE_ISSUER the creator is the only task allowed to submit, and with
    // DEFER_TASKRUN completions are posted only when this task waits.
    struct attempt {
      unsigned flags;
      const char* name;
    };
    const attempt attempts[] = {
        {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "SINGLE_ISSUER | DEFER_TASKRUN"},
        {IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER (kernel refused DEFER_TASKRUN: fallback)"},
        {0, "plain (kernel refused SINGLE_ISSUER: fallback)"},
    };
    int r = -EINVAL;
    for (const attempt& a : attempts) {
      if (opt.plain && a.flags != 0) continue;
      io_uring_params p{};
      p.flags = a.flags | IORING_SETUP_CQSIZE;
      p.cq_entries = 4096;
      r = io_uring_queue_init_params(256, &o.ring, &p);
      if (r == 0) {
        ring_kind = opt.plain ? "plain (--plain)" : a.name;
        break;
      }
      if (r != -EINVAL) break;  // not a flag problem
    }
    if (r != 0) {
      std::fprintf(stderr, "io_uring_loop: io_uring_queue_init: %s\n", std::strerror(-r));
      setup.store((r == -ENOSYS || r == -EPERM) ? 2 : 3, std::memory_order_release);
      return;
    }

    mpscq::local_work_options lwo;
    lwo.enable_eventfd = true;
    mpscq::local_work lw(lwo);
    const int efd = lw.event_fd();
    if (efd < 0) {
      std::fprintf(stderr, "io_uring_loop: local_work has no eventfd although it was enabled\n");
      setup.store(3, std::memory_order_release);
      return;
    }

    // The two requests that make the one wait cover local_work and time.
    // A one-shot POLL_ADD, not a READ: the eventfd is local_work's
    // (non-blocking, so a READ would complete at once with -EAGAIN), and
    // run() drains it itself when it takes the work. The poll is
    // level-triggered: re-armed while the fd is readable it completes at once.
    __kernel_timespec tick{};
    tick.tv_nsec = 2'000'000;
    auto arm_eventfd_poll = [&] {
      io_uring_sqe* s = o.sqe();
      io_uring_prep_poll_add(s, efd, POLLIN);
      io_uring_sqe_set_data64(s, tag_eventfd);
    };
    auto arm_timeout = [&] {
      io_uring_sqe* s = o.sqe();
      io_uring_prep_timeout(s, &tick, 0, 0);
      io_uring_sqe_set_data64(s, tag_timeout);
    };
    arm_eventfd_poll();
    arm_timeout();
    shared_lw.store(&lw, std::memory_order_release);
    setup.store(1, std::memory_order_release);

    clock_type::time_point drain_deadline{};
    for (;;) {
      // Work pending: run it and only reap, without blocking in the kernel.
      bool pending = lw.has_work();
      if (pending) {
        ++c.run_calls;
        if (lw.run(opt.cap) == 0) {
          // has_work() but nothing to pop: a producer is inside the queue's
          // in-flight window. Its add found the queue non-empty, so it will
          // not signal the eventfd; do not spin, block until the next tick.
          ++c.empty_runs;
          pending = false;
        }
      }
      int ret;
      if (pending) {
        ++c.waits_skipped;
        // Submit what the items queued and reap without waiting. With
        // DEFER_TASKRUN the ring's own task work (the eventfd read's
        // completion, the timeout) is run only by a GETEVENTS enter, which
        // submit_and_get_events does in the same syscall.
        ret = io_uring_submit_and_get_events(&o.ring);
      } else {
        ++c.waits;
        ret = io_uring_submit_and_wait(&o.ring, 1);
      }
      if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY && ret != -ETIME) die("io_uring_enter", -ret);

      unsigned head;
      io_uring_cqe* cqe;
      unsigned seen = 0;
      bool rearm_eventfd = false, rearm_timeout = false;
      io_uring_for_each_cqe(&o.ring, head, cqe) {
        ++seen;
        const std::uint64_t ud = io_uring_cqe_get_data64(cqe);
        if (ud == tag_eventfd) {
          if (cqe->res < 0) die("eventfd poll", -cqe->res);
          if (!(cqe->res & POLLIN)) die("eventfd poll: not readable", EINVAL);
          ++c.eventfd_polls;
          rearm_eventfd = true;
        } else if (ud == tag_timeout) {
          if (cqe->res != -ETIME) die("timeout", -cqe->res);
          ++c.timeouts;
          rearm_timeout = true;
        } else if (ud < total_slots) {
          if (cqe->res != 0) die("nop", -cqe->res);
          ++o.completions[ud];
          ++o.completed;
        } else {
          std::fprintf(stderr, "io_uring_loop: unexpected cqe user_data %llu\n", static_cast<unsigned long long>(ud));
          std::exit(1);
        }
      }
      io_uring_cq_advance(&o.ring, seen);
      c.cqes += seen;
      if (rearm_eventfd) {
        if (lw.has_work()) {
          ++c.run_calls;
          lw.run(opt.cap);  // drains the eventfd (or re-signals it if work is left)
        } else {
          // Woken inside an add's signal -> flag window (it writes the
          // eventfd just before it raises has_work()). The fd stays readable
          // and the re-armed poll completes at once: let the adder finish.
          ++c.signal_before_flag;
          std::this_thread::yield();
        }
        arm_eventfd_poll();
      }
      if (rearm_timeout) arm_timeout();

      if (producers_done.load(std::memory_order_acquire)) {
        if (drain_deadline == clock_type::time_point{}) drain_deadline = clock_type::now() + std::chrono::seconds(2);
        if (o.ran >= total_added && o.completed >= o.nops) break;  // nops: prepared; each must complete
        if (clock_type::now() > drain_deadline) {
          std::fprintf(stderr, "io_uring_loop: FAIL: %llu of %llu items ran, %llu of %llu NOPs completed 2 s after the workers finished\n",
                       static_cast<unsigned long long>(o.ran), static_cast<unsigned long long>(total_added),
                       static_cast<unsigned long long>(o.completed), static_cast<unsigned long long>(o.nops));
          loop_ok = false;
          // Diagnose: is the work still queued while has_work() says no?
          // (Then no add will raise the flag again: only an add that finds
          // the queue empty does.) Run it here so close() finds none.
          const bool flag = lw.has_work();
          const std::uint64_t before = o.ran;
          lw.run(1 << 30);
          std::fprintf(stderr,
                       "io_uring_loop: has_work() was %s; run() then found %llu queued items%s\n", flag ? "true" : "false",
                       static_cast<unsigned long long>(o.ran - before),
                       (!flag && o.ran > before) ? ": a lost has_work() signal (the library's bug, not the loop's)" : "");
          break;
        }
      }
    }
    // Tear the ring down first (it cancels the eventfd poll and the timeout
    // still in flight), then close the local_work: anything still queued
    // runs with cancel = true and then must not touch the ring.
    io_uring_queue_exit(&o.ring);
    const std::uint64_t before = o.ran;
    lw.close();
    ran_at_close = o.ran - before;
  });

  int st;
  while ((st = setup.load(std::memory_order_acquire)) == 0) std::this_thread::yield();
  if (st != 1) {
    owner.join();
    if (st == 2) {
      std::printf("io_uring_loop: SKIPPED: io_uring is not available here\n");
      return 77;
    }
    return 1;
  }
  mpscq::local_work& lw = *shared_lw.load(std::memory_order_acquire);

  const auto start = clock_type::now();
  const auto end = start + example::to_duration(opt.seconds);
  std::vector<std::thread> workers;
  for (int w = 0; w < opt.workers; ++w) {
    workers.emplace_back([&, w] {
      std::minstd_rand rng(static_cast<unsigned>(w) * 104729u + 3u);
      item* mine = items.data() + static_cast<std::size_t>(w) * opt.items_per_worker;
      std::uint32_t n = 0;
      while (n < opt.items_per_worker && clock_type::now() < end) {
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
  producers_done.store(true, std::memory_order_release);
  owner.join();
  const double elapsed = example::seconds_since(start);

  if (opt.inject == "lose" && total_added > 0) o.runs[0] = 0;
  if (opt.inject == "dup" && total_added > 0) ++o.completions[0];

  std::uint64_t lost = 0, duplicated = 0, phantom = 0, nop_missing = 0, nop_dup = 0;
  for (std::size_t i = 0; i < total_slots; ++i) {
    const bool was_added = items[i].seq < added[items[i].worker];
    const std::uint32_t r = o.runs[i], cpl = o.completions[i];
    if (was_added) {
      if (r == 0) ++lost;
      else if (r > 1) duplicated += r - 1;
      if (cpl == 0) ++nop_missing;
      else if (cpl > 1) nop_dup += cpl - 1;
    } else if (r != 0 || cpl != 0) {
      ++phantom;
    }
  }

  std::printf("io_uring_loop: ring %s, %d workers, %.2f s, cap %d\n", ring_kind.c_str(), opt.workers, elapsed, opt.cap);
  std::printf("  items       added %llu, ran %llu (%.2f M/s), NOPs completed %llu, ran at close %llu, cancelled %llu\n",
              static_cast<unsigned long long>(total_added), static_cast<unsigned long long>(o.ran),
              static_cast<double>(o.ran) / elapsed / 1e6, static_cast<unsigned long long>(o.completed),
              static_cast<unsigned long long>(ran_at_close), static_cast<unsigned long long>(o.ran_cancelled));
  std::printf("  loop        blocking waits %llu, skipped by has_work() %llu, run() %llu (%llu found nothing: in-flight), CQEs %llu, SQ-full submits %llu\n",
              static_cast<unsigned long long>(c.waits), static_cast<unsigned long long>(c.waits_skipped),
              static_cast<unsigned long long>(c.run_calls), static_cast<unsigned long long>(c.empty_runs),
              static_cast<unsigned long long>(c.cqes),
              static_cast<unsigned long long>(o.submit_full));
  std::printf("  wakes       eventfd polls %llu (%.1f items each; %llu inside the signal->flag window), timeouts %llu\n",
              static_cast<unsigned long long>(c.eventfd_polls),
              c.eventfd_polls ? static_cast<double>(o.ran) / static_cast<double>(c.eventfd_polls) : 0.0,
              static_cast<unsigned long long>(c.signal_before_flag), static_cast<unsigned long long>(c.timeouts));
  std::printf("  checks      lost %llu, duplicated %llu, never-added ran %llu, NOP missing %llu, NOP twice %llu, out of order %llu\n",
              static_cast<unsigned long long>(lost), static_cast<unsigned long long>(duplicated),
              static_cast<unsigned long long>(phantom), static_cast<unsigned long long>(nop_missing),
              static_cast<unsigned long long>(nop_dup), static_cast<unsigned long long>(o.order_violations));

  example::checks check;
  if (!loop_ok) check.fail();
  check(total_added > 0, "no item was added");
  check(lost == 0, "items lost");
  check(duplicated == 0, "items ran more than once");
  check(phantom == 0, "items ran that were never added");
  check(nop_missing == 0, "an item's NOP never completed");
  check(nop_dup == 0, "an item's NOP completed more than once");
  check(o.order_violations == 0, "items of one worker ran out of order");
  check(o.ran_cancelled == 0, "items ran cancelled although the owner drained before close()");
  check(c.eventfd_polls > 0, "the eventfd poll never completed");
  check(elapsed < 0.1 || c.timeouts > 0, "the timeout never fired");
  return check.summary();
}
