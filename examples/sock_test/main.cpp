// sock_test - the seed's experiment (patch 3/6) on loopback, in user space.
//
// WHAT IT REPRODUCES
//   Patch 3 measured the kernel's local task work with multishot receives for
//   8 and for 1024 clients on one ring: the add side (io_req_local_work_add)
//   plus the run side (__io_run_local_work, llist_reverse_order) cost 2.64%
//   at ~46 Gb/s with the llist and 2.11% at ~53 Gb/s with the mpscq (8
//   clients), 3.50% at ~24 Gb/s and 1.32% at ~26 Gb/s (1024 clients).
//
//   Here the same shape runs in one process over 127.0.0.1:
//     sender thread    N client sockets, non-blocking sends driven by epoll,
//                      a known byte pattern per connection; stops by itself
//                      after --seconds or --max-mib, then shuts the
//                      connections down.
//     receiver thread  the "network side": reads the N server sockets with
//                      io_uring multishot receive from a provided buffer ring
//                      (its own SINGLE_ISSUER | DEFER_TASKRUN ring), or with
//                      epoll + recv() where that is unavailable, and hands
//                      each filled buffer to the owner as LAZY task work.
//     owner thread     the "ring's task": local_work::wait(min_events =
//                      --batch, timeout) runs the items; each item verifies
//                      its bytes against the pattern and queues the buffer
//                      for return; after each wait the owner returns them in
//                      one push_batch to a plain mpscq::queue (plus an
//                      eventfd signal on empty -> non-empty) to the receiver.
//   The same load runs with mpscq::local_work and mpscq::baseline::llist_local_work
//   (the llist + reverse scheme the seed replaced), alternating A B A B in
//   one run, for each client count.
//
// HOW THE MACHINERY SHARE IS MEASURED (both sides, as in the seed's profile)
//   add side   TSC cycles around every local_work::add() on the receiver.
//              Under 2 us: the add proper (push + wake rule) -> "add".
//              2..100 us: it issued the futex wake -> "wake", charged at the
//              median of those adds (the woken owner may preempt the adder
//              inside its syscall, which inflates the mean). Over 100 us:
//              preempted inside, left out and counted ("excluded").
//   run side   the owner's CPU time inside each wait() call (CLOCK_THREAD_
//              CPUTIME_ID before and after, so time asleep costs nothing)
//              minus the TSC time of the item callbacks inside it (the
//              payload: verify + queue the buffer for return), minus the
//              calibrated cost of the clock-read pair. wait() calls that did
//              not sleep (local_work stats: no futex sleep, no back-off) give
//              "run": pops (or take + reverse), dispatch, arming and
//              re-checking the countdown. All calls together give "run+slp",
//              which adds the futex_wait syscalls and the wake-up's CPU. A
//              call during which the owner was preempted (getrusage ru_nivcsw
//              changed) is left out and counted ("excluded"); the per-item
//              figures of the clean calls are applied to all items.
//   shares     queue% = (add + run) x items / CPU time of all three threads:
//              what the seed's perf percentages count (the add and run
//              functions, not the scheduler). all% adds the wake and sleep
//              costs; owner% = run+slp x items / owner CPU time.
//   Both variants carry the same instrumentation. The kernel's TCP work runs
//   in our threads' syscalls and counts in the total, as it did in the
//   seed's profile. On a 2-core VM the three threads share two CPUs: expect
//   noise; compare the variants within one repetition (the A B pairs).
//
// WHAT IT CHECKS (exit status 1 on any failure)
//   Bytes sent == received == consumed per connection; every byte matches
//   the pattern; each connection's buffers ran in receive order; every
//   buffer handed over ran exactly once and came back exactly once; every
//   connection reached EOF; nothing ran cancelled. --inject=corrupt|lose
//   breaks one buffer on purpose to show the checks fire.
//
// USAGE
//   sock_test [--seconds=S] [--clients=8,1024] [--reps=R] [--max-mib=M]
//             [--batch=B] [--timeout-us=T] [--buf-kib=K] [--bufs=N]
//             [--receiver=auto|uring|epoll] [--variants=both|mpscq|legacy]
//             [--inject=corrupt|lose]
//
// FILES (examples/sock_test/)
//   main.cpp            this: options, the A B A B schedule, the table
//   sock_test.hpp       shared types: options, clocks, pattern, variants,
//                       buffer (the task-work item), phase, result
//   phase.cpp           one phase: set up, run the three threads, check
//   sockets.cpp         the loopback connections
//   sender.cpp          the sender thread (client side)
//   receiver.hpp        what both receivers share (hand_over, returns)
//   receiver_uring.cpp  the receiver with multishot receive (+ probes)
//   receiver_epoll.cpp  the receiver with epoll + recv()
//   owner.cpp           the owner thread and the item's callback
#include "sock_test/sock_test.hpp"

#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace sock_test;

namespace {

options parse(int argc, char** argv) {
  example::args a(argc, argv,
                  "[options]\n"
                  "  --seconds=S       sending time per phase (default 2)\n"
                  "  --clients=A,B,..  client counts (default 8,1024)\n"
                  "  --reps=R          repetitions of the A B pair per client count (default 2)\n"
                  "  --max-mib=M       most MiB sent per phase (default 65536)\n"
                  "  --batch=B         owner's min_events per wait (default 32)\n"
                  "  --timeout-us=T    owner's wait timeout (default 1000)\n"
                  "  --buf-kib=K       receive buffer size (default 16)\n"
                  "  --bufs=N          receive buffers, a power of two <= 32768 (default 4096)\n"
                  "  --receiver=auto|uring|epoll   how the receiver reads (default auto: uring if it works)\n"
                  "  --variants=both|mpscq|legacy  (default both)\n"
                  "  --inject=corrupt|lose         break one buffer on purpose; the run must then fail\n");
  options o;
  o.seconds = a.number("seconds", o.seconds);
  const std::string clients = a.text("clients", "8,1024");
  o.clients.clear();
  for (const char* p = clients.c_str(); *p != '\0';) {
    char* e = nullptr;
    o.clients.push_back(static_cast<int>(std::strtol(p, &e, 10)));
    if (e == p) a.usage();
    p = (*e == ',') ? e + 1 : e;
  }
  o.reps = a.number("reps", o.reps);
  o.max_mib = a.number("max-mib", o.max_mib);
  o.batch = a.number("batch", o.batch);
  o.timeout_us = a.number("timeout-us", o.timeout_us);
  o.buf_kib = a.number("buf-kib", o.buf_kib);
  o.bufs = a.number("bufs", o.bufs);
  o.receiver = a.text("receiver", o.receiver);
  o.variants = a.text("variants", o.variants);
  o.inject = a.text("inject", o.inject);
  bool ok = o.seconds > 0 && o.seconds <= 600 && o.reps >= 1 && o.reps <= 100 && o.max_mib >= 1 && o.batch >= 1 &&
            o.timeout_us >= 1 && o.buf_kib >= 1 && o.buf_kib <= 1024 && o.bufs >= 8 && o.bufs <= 32768 &&
            (o.bufs & (o.bufs - 1)) == 0 && !o.clients.empty();
  for (int c : o.clients) ok = ok && c >= 1 && c <= 8192;
  ok = ok && (o.receiver == "auto" || o.receiver == "uring" || o.receiver == "epoll");
  ok = ok && (o.variants == "both" || o.variants == "mpscq" || o.variants == "legacy");
  ok = ok && (o.inject.empty() || o.inject == "corrupt" || o.inject == "lose");
  a.done(ok);
  return o;
}

// ---------------------------------------------------------------- report --

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void raise_nofile(const options& opt) {
  const int most = *std::max_element(opt.clients.begin(), opt.clients.end());
  const rlim_t need = static_cast<rlim_t>(2 * most + 64);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit", errno);
  if (rl.rlim_cur >= need) return;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
    std::fprintf(stderr,
                 "sock_test: %d clients need %llu file descriptors; the hard limit is %llu. Raise it "
                 "(ulimit -Hn %llu, or LimitNOFILE=) or use fewer --clients.\n",
                 most, static_cast<unsigned long long>(need), static_cast<unsigned long long>(rl.rlim_max),
                 static_cast<unsigned long long>(need));
    std::exit(1);
  }
  rl.rlim_cur = need;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit(RLIMIT_NOFILE)", errno);
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  raise_nofile(opt);
  calibrate_ticks();
  pattern_table.resize(pattern_period + send_chunk + 1024 * 1024);
  for (std::size_t i = 0; i < pattern_table.size(); ++i) pattern_table[i] = static_cast<unsigned char>(i % pattern_period);

  bool use_uring = opt.receiver != "epoll";
  std::string why;
  if (use_uring && !probe_uring(why)) {
    if (opt.receiver == "uring") {
      std::fprintf(stderr, "sock_test: io_uring multishot receive unavailable: %s\n", why.c_str());
      return 1;
    }
    std::printf("sock_test: io_uring multishot receive unavailable (%s): falling back to epoll\n", why.c_str());
    use_uring = false;
  }
  if (use_uring) receiver_ring_flags = probe_ring_flags();
  const std::size_t mem_bytes = static_cast<std::size_t>(opt.bufs) * opt.buf_kib * 1024;
  void* mem = mmap(nullptr, mem_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) die("mmap (buffers)", errno);
  auto* memory = static_cast<unsigned char*>(mem);
  std::memset(memory, 0, mem_bytes);

  std::printf("sock_test: loopback 127.0.0.1; receiver: %s; owner: local_work::wait(min_events=%d, timeout=%d us), lazy adds; "
              "%u x %u KiB buffers; %.1f s per phase; TSC %.3f GHz\n",
              !use_uring ? "epoll + recv()"
              : receiver_ring_flags != 0
                  ? "io_uring multishot recv + provided buffer ring (SINGLE_ISSUER|DEFER_TASKRUN)"
                  : "io_uring multishot recv + provided buffer ring (plain ring: the kernel refused DEFER_TASKRUN)",
              opt.batch, opt.timeout_us, opt.bufs, opt.buf_kib, opt.seconds, ticks_per_ns);
  std::printf("%7s %3s %-6s %6s %8s %6s %6s %7s | %6s %6s %7s | %6s %6s %6s | %9s %s\n", "clients", "rep", "var", "Gb/s",
              "items/s", "it/wt", "wk/ki", "wake us", "add", "run", "run+slp", "queue%", "owner%", "all%", "excluded",
              "checks");
  std::fflush(stdout);

  const bool want_mpscq = opt.variants != "legacy";
  const bool want_legacy = opt.variants != "mpscq";
  std::vector<result> all;
  example::checks runs;  // each phase reports its own failures
  for (int clients : opt.clients) {
    for (int rep = 1; rep <= opt.reps; ++rep) {
      for (int v = 0; v < 2; ++v) {
        result r;
        if (v == 0 && want_mpscq) r = run_phase<mpscq::local_work>(opt, clients, rep, use_uring, memory);
        else if (v == 1 && want_legacy) r = run_phase<mpscq::baseline::llist_local_work>(opt, clients, rep, use_uring, memory);
        else continue;
        if (!r.ok) runs.fail();
        std::printf("%7d %3d %-6s %6.2f %8.0f %6.1f %6.1f %7.1f | %6.1f %6.1f %7.1f | %6.2f %6.2f %6.2f | %4llu+%-4llu %s\n",
                    r.clients, r.rep, r.variant.c_str(), r.gbps, static_cast<double>(r.items) / r.seconds,
                    r.waits ? static_cast<double>(r.items) / static_cast<double>(r.waits) : 0.0, r.wakes_per_kitem,
                    r.wake_median_ns / 1000.0, r.add_ns, r.run_ns, r.run_all_ns, r.share_queue, r.share_owner,
                    r.share_all, static_cast<unsigned long long>(r.add_outliers),
                    static_cast<unsigned long long>(r.dirty_calls), r.ok ? "ok" : "FAILED");
        std::fflush(stdout);
        all.push_back(r);
      }
    }
  }

  std::uint64_t enobufs = 0;
  for (const result& r : all) enobufs += r.enobufs;
  if (enobufs > 0)
    std::printf("receiver: multishot receives ran out of buffers %llu times (re-armed when buffers came back)\n",
                static_cast<unsigned long long>(enobufs));
  std::printf(
      "columns: it/wt items per wait(); wk/ki futex wakes per 1000 items; wake us: median wall time of an add that\n"
      "  woke the owner (its syscall, often plus the woken owner preempting the adder; not in any share);\n"
      "  ns per item: add (no syscall: push + wake rule), run (wait()s that did not sleep: pop or take+reverse,\n"
      "  dispatch, arm + re-check), run+slp (all wait()s: futex sleeps and the wake-up's CPU included);\n"
      "  queue%% = (add + run) x items / CPU of all threads (the seed's accounting: the add and run functions);\n"
      "  owner%% = run+slp x items / owner CPU; all%% = (add + run+slp) x items / CPU of all threads;\n"
      "  excluded = preempted adds + preempted wait()s (their per-item cost is taken from the clean ones).\n");
  if (want_mpscq && want_legacy) {
    std::printf("\nsummary, median over %d reps (per-rep ratios are mpscq / legacy of the A B pair):\n", opt.reps);
    std::printf("%7s | %-30s | %-30s | %-24s | %s\n", "clients", "legacy: Gb/s queue% owner%", "mpscq: Gb/s queue% owner%",
                "ratio: Gb/s queue% owner%", "seed (kernel perf, llist -> mpscq)");
    for (int clients : opt.clients) {
      std::vector<double> g[2], q[2], o[2], gr, qr, orr;
      for (const result& r : all) {
        if (r.clients != clients) continue;
        const int k = r.variant == "mpscq" ? 0 : 1;
        g[k].push_back(r.gbps);
        q[k].push_back(r.share_queue);
        o[k].push_back(r.share_owner);
      }
      auto ratio = [](double x, double y) { return y > 0 ? x / y : 0.0; };
      for (std::size_t i = 0; i < g[0].size() && i < g[1].size(); ++i) {
        gr.push_back(ratio(g[0][i], g[1][i]));
        qr.push_back(ratio(q[0][i], q[1][i]));
        orr.push_back(ratio(o[0][i], o[1][i]));
      }
      const char* seed = clients == 8      ? "2.64% @ ~46 -> 2.11% @ ~53 Gb/s"
                         : clients == 1024 ? "3.50% @ ~24 -> 1.32% @ ~26 Gb/s"
                                           : "-";
      std::printf("%7d | %7.2f %10.2f%% %9.2f%% | %7.2f %10.2f%% %9.2f%% | %6.3f %8.3f %8.3f | %s\n", clients,
                  median(g[1]), median(q[1]), median(o[1]), median(g[0]), median(q[0]), median(o[0]), median(gr),
                  median(qr), median(orr), seed);
    }
  }
  munmap(mem, mem_bytes);
  return runs.summary();
}
