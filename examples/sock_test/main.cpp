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
// BUSY OWNER (--owner=busy)
//   The default owner sleeps in wait(min_events = --batch), so every take is
//   about --batch deep whatever the client count, and the llist's reverse pass
//   stays short. The kernel meets task work differently: the task is busy
//   with its own work and runs whatever piled up when it passes through the
//   kernel. --owner=busy does that: per loop iteration, own_work() (a fixed
//   computation, --own-us of CPU or --own-iters steps), then - if has_work()
//   - one run(--run-cap, default no cap) of everything queued; no wait(), so
//   no futex sleep and no wake (the lazy adds find no waiter). Still one item
//   per completion (one per receive buffer).
//   Measured per run() call: TSC around the call minus the TSC inside the
//   item callbacks, minus one rdtsc pair per item and per call (what the
//   callbacks' own clock reads cost outside their window: measured 19-23
//   ticks against a pair of 22-25 on the 2-vCPU VM); calls preempted
//   (ru_nivcsw) or paused for a push in flight are left out and counted.
//   Printed: items per run() (mean, p50/p90/max, item-weighted), buffers per
//   receiver pass (rx/b: where the piles come from), owner CPU / wall (ocpu%:
//   a starved owner is what makes the piles deep on a loaded machine), the
//   add / run / payload ns per item, and queue% (as above), net% (queue% with
//   the owner's own_work() time taken out of the CPU total, so it does not
//   depend on --own-us) and owner% (run x items / owner CPU). The summary
//   gives median [min..max] over --reps next to the seed's figures.
//   callgrind_share.py (next to this file) counts the same machinery in
//   instructions under valgrind, which repeat where times do not.
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
//             [--owner=wait|busy] [--own-us=U] [--own-iters=N] [--run-cap=N]
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
//   owner.cpp           the owner thread (wait or busy) and the item's callback
//   callgrind_share.py  --owner=busy under callgrind: machinery instructions
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
                  "  --inject=corrupt|lose         break one buffer on purpose; the run must then fail\n"
                  "  --owner=wait|busy  wait: the owner sleeps in wait(--batch) (default); busy: the owner\n"
                  "                    does its own work, then run()s what piled up (see BUSY OWNER)\n"
                  "  --own-us=U        busy: own work per loop iteration, in us of CPU (default 50)\n"
                  "  --own-iters=N     busy: own work in steps instead (a fixed instruction count)\n"
                  "  --run-cap=N       busy: max_events per run() (default 0: no cap)\n");
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
  o.owner = a.text("owner", o.owner);
  o.own_us = a.number("own-us", o.own_us);
  o.own_iters = a.number("own-iters", o.own_iters);
  o.run_cap = a.number("run-cap", o.run_cap);
  bool ok = o.seconds > 0 && o.seconds <= 600 && o.reps >= 1 && o.reps <= 100 && o.max_mib >= 1 && o.batch >= 1 &&
            o.timeout_us >= 1 && o.buf_kib >= 1 && o.buf_kib <= 1024 && o.bufs >= 8 && o.bufs <= 32768 &&
            (o.bufs & (o.bufs - 1)) == 0 && !o.clients.empty();
  for (int c : o.clients) ok = ok && c >= 1 && c <= 8192;
  ok = ok && (o.receiver == "auto" || o.receiver == "uring" || o.receiver == "epoll");
  ok = ok && (o.variants == "both" || o.variants == "mpscq" || o.variants == "legacy");
  ok = ok && (o.inject.empty() || o.inject == "corrupt" || o.inject == "lose");
  ok = ok && (o.owner == "wait" || o.owner == "busy") && o.own_us >= 0 && o.own_us <= 1e6 && o.run_cap >= 0;
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

// --owner=busy: own_work() steps for --own-us of this thread's CPU (the
// fastest of a few tries; noise only makes a try slower).
std::uint64_t calibrate_own_work(double us) {
  constexpr std::uint64_t probe = 200000;
  double best = 1e300;
  std::uint64_t x = 1;
  for (int i = 0; i < 7; ++i) {
    const std::uint64_t t0 = thread_cpu_ns();
    x = own_work(probe, x);
    const std::uint64_t t1 = thread_cpu_ns();
    best = std::min(best, static_cast<double>(t1 - t0) / static_cast<double>(probe));
  }
  asm volatile("" : : "r"(x));
  return static_cast<std::uint64_t>(us * 1000.0 / std::max(best, 1e-3) + 0.5);
}

struct spread {
  double med = 0, lo = 0, hi = 0;
};

spread spread_of(const std::vector<double>& v) {
  if (v.empty()) return {};
  return {median(v), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
}

}  // namespace

int main(int argc, char** argv) {
  options opt = parse(argc, argv);
  const bool busy = opt.owner == "busy";
  if (busy && opt.own_iters == 0) opt.own_iters = calibrate_own_work(opt.own_us);
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

  const char* receiver_name = !use_uring ? "epoll + recv()"
                              : receiver_ring_flags != 0
                                  ? "io_uring multishot recv + provided buffer ring (SINGLE_ISSUER|DEFER_TASKRUN)"
                                  : "io_uring multishot recv + provided buffer ring (plain ring: the kernel refused DEFER_TASKRUN)";
  if (!busy) {
    std::printf("sock_test: loopback 127.0.0.1; receiver: %s; owner: local_work::wait(min_events=%d, timeout=%d us), lazy adds; "
                "%u x %u KiB buffers; %.1f s per phase; TSC %.3f GHz\n",
                receiver_name, opt.batch, opt.timeout_us, opt.bufs, opt.buf_kib, opt.seconds, ticks_per_ns);
    std::printf("%7s %3s %-6s %6s %8s %6s %6s %7s | %6s %6s %7s | %6s %6s %6s | %9s %s\n", "clients", "rep", "var", "Gb/s",
                "items/s", "it/wt", "wk/ki", "wake us", "add", "run", "run+slp", "queue%", "owner%", "all%", "excluded",
                "checks");
  } else {
    const std::uint64_t t0 = thread_cpu_ns();
    const std::uint64_t x = own_work(opt.own_iters, 1);
    const std::uint64_t t1 = thread_cpu_ns();
    asm volatile("" : : "r"(x));
    std::printf("sock_test: loopback 127.0.0.1; receiver: %s; owner: busy: own_work(%llu steps, ~%.1f us) then, if "
                "has_work(), run(%s) per loop iteration (no wait), lazy adds; %u x %u KiB buffers; %.1f s per phase; "
                "TSC %.3f GHz\n",
                receiver_name, static_cast<unsigned long long>(opt.own_iters), static_cast<double>(t1 - t0) / 1000.0,
                opt.run_cap > 0 ? std::to_string(opt.run_cap).c_str() : "no cap", opt.bufs, opt.buf_kib, opt.seconds,
                ticks_per_ns);
    std::printf("%7s %3s %-6s %6s %8s %5s | %6s %5s %5s %5s %6s %5s | %5s %5s %6s | %6s %6s %6s | %9s %s\n", "clients",
                "rep", "var", "Gb/s", "items/s", "ocpu%", "it/run", "p50", "p90", "max", "it-wtd", "rx/b", "add", "run",
                "pay", "queue%", "net%", "owner%", "excluded", "checks");
  }
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
        if (busy) {
          std::printf("%7d %3d %-6s %6.2f %8.0f %5.0f | %6.1f %5.0f %5.0f %5.0f %6.1f %5.1f | %5.1f %5.1f %6.0f | %6.3f %6.3f %6.3f | %4llu+%-4llu %s\n",
                      r.clients, r.rep, r.variant.c_str(), r.gbps, static_cast<double>(r.items) / r.seconds, r.owner_busy,
                      r.items_per_run, r.run_p50, r.run_p90, r.run_max, r.item_weighted_depth, r.items_per_rx_batch,
                      r.add_ns, r.run_ns, r.payload_ns, r.share_queue, r.share_net, r.share_owner,
                      static_cast<unsigned long long>(r.add_outliers), static_cast<unsigned long long>(r.dirty_calls),
                      r.ok ? "ok" : "FAILED");
          std::fflush(stdout);
          all.push_back(r);
          continue;
        }
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
  if (busy) {
    std::printf(
        "columns: ocpu%% owner CPU / wall time (the busy owner never sleeps: under 100 it was starved by the other\n"
        "  threads or by other load on the machine, and completions piled up meanwhile);\n"
        "  it/run items per run() call (calls made when has_work() was true), p50/p90/max over those calls,\n"
        "  it-wtd the item-weighted mean (sum n^2 / sum n: the list length the average item was taken from);\n"
        "  rx/b buffers the receiver handed over per pass of its loop (one batch of CQEs, or one epoll_wait);\n"
        "  ns per item: add (receiver, no syscall: push + wake rule), run (owner: TSC of each run() call minus\n"
        "  the item callbacks' TSC, minus the rdtsc cost: pops (or take + reverse) and dispatch), pay (the item\n"
        "  callback: verify 16 KiB + queue the buffer for return);\n"
        "  queue%% = (add + run) x items / CPU of all threads (the seed's accounting); net%% = the same with the\n"
        "  owner's own_work() time taken out of the CPU total (independent of --own-us); owner%% = run x items /\n"
        "  owner CPU (own work included); excluded = preempted adds + run() calls preempted or paused for a push\n"
        "  in flight (their per-item cost is taken from the clean ones).\n");
  } else {
    std::printf(
        "columns: it/wt items per wait(); wk/ki futex wakes per 1000 items; wake us: median wall time of an add that\n"
        "  woke the owner (its syscall, often plus the woken owner preempting the adder; not in any share);\n"
        "  ns per item: add (no syscall: push + wake rule), run (wait()s that did not sleep: pop or take+reverse,\n"
        "  dispatch, arm + re-check), run+slp (all wait()s: futex sleeps and the wake-up's CPU included);\n"
        "  queue%% = (add + run) x items / CPU of all threads (the seed's accounting: the add and run functions);\n"
        "  owner%% = run+slp x items / owner CPU; all%% = (add + run+slp) x items / CPU of all threads;\n"
        "  excluded = preempted adds + preempted wait()s (their per-item cost is taken from the clean ones).\n");
  }
  if (busy) {
    std::vector<double> pairs;
    for (const result& r : all) pairs.push_back(r.tsc_pair_ns);
    std::printf("  run is corrected by one rdtsc pair per item and per call: %.2f ns (median over phases)\n",
                median(pairs));
  }
  if (busy && want_mpscq && want_legacy) {
    std::printf("\nsummary, --owner=busy, over %d reps: median [min..max]; ratios are mpscq / legacy per A B pair (median)\n",
                opt.reps);
    std::printf("%7s %-6s | %-21s | %-21s | %-19s | %6s | %6s | %6s | %s\n", "clients", "var", "queue%", "net%",
                "run ns/item", "add ns", "it/run", "Gb/s", "seed (kernel perf share of add+run)");
    for (int clients : opt.clients) {
      std::vector<double> q[2], o[2], rn[2], ad[2], ir[2], g[2];
      for (const result& r : all) {
        if (r.clients != clients) continue;
        const int k = r.variant == "mpscq" ? 0 : 1;
        q[k].push_back(r.share_queue);
        o[k].push_back(r.share_net);
        rn[k].push_back(r.run_ns);
        ad[k].push_back(r.add_ns);
        ir[k].push_back(r.items_per_run);
        g[k].push_back(r.gbps);
      }
      const char* seed[2][2] = {{"2.11% @ ~53 Gb/s (mpscq)", "1.32% @ ~26 Gb/s (mpscq)"},
                                {"2.64% @ ~46 Gb/s (llist)", "3.50% @ ~24 Gb/s (llist)"}};
      for (int k : {1, 0}) {
        const spread sq = spread_of(q[k]), so = spread_of(o[k]), sr = spread_of(rn[k]);
        std::printf("%7d %-6s | %5.3f [%5.3f..%5.3f] | %5.3f [%5.3f..%5.3f] | %5.1f [%5.1f..%5.1f] | %6.1f | %6.1f | %6.2f | %s\n",
                    clients, k == 0 ? "mpscq" : "legacy", sq.med, sq.lo, sq.hi, so.med, so.lo, so.hi, sr.med, sr.lo,
                    sr.hi, median(ad[k]), median(ir[k]), median(g[k]),
                    clients == 8 ? seed[k][0] : clients == 1024 ? seed[k][1] : "-");
      }
      std::vector<double> qr, nr, rr, gr;
      for (std::size_t i = 0; i < q[0].size() && i < q[1].size(); ++i) {
        if (q[1][i] > 0) qr.push_back(q[0][i] / q[1][i]);
        if (o[1][i] > 0) nr.push_back(o[0][i] / o[1][i]);
        if (rn[1][i] > 0) rr.push_back(rn[0][i] / rn[1][i]);
        if (g[1][i] > 0) gr.push_back(g[0][i] / g[1][i]);
      }
      std::printf("%7s %-6s | queue%% %.3f, net%% %.3f, run ns %.3f, Gb/s %.3f%s\n", "", "ratio", median(qr), median(nr),
                  median(rr), median(gr),
                  clients == 8 ? "   (seed: 0.80, 1.15x Gb/s)" : clients == 1024 ? "   (seed: 0.38, 1.08x Gb/s)" : "");
    }
  }
  if (!busy && want_mpscq && want_legacy) {
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
