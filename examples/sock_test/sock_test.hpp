// sock_test.hpp - what sock_test's roles share: the options, the clocks, the
// byte pattern, the two task-work variants, a receive buffer (the task-work
// item), one phase's state and result, and each role's entry point. The
// experiment itself is described in main.cpp.
#pragma once

#include <mpscq/baseline/llist_local_work.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/queue.hpp>
#include <mpscq/work.hpp>

#include "common/example_support.hpp"

#include <sys/resource.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace sock_test {

using example::clock_type;
using example::die;

// ---------------------------------------------------------------- options --

struct options {
  double seconds = 2.0;
  std::vector<int> clients{8, 1024};
  int reps = 2;
  std::uint64_t max_mib = 65536;
  int batch = 32;
  int timeout_us = 1000;
  std::uint32_t buf_kib = 16;
  std::uint32_t bufs = 4096;
  std::string receiver = "auto";
  std::string variants = "both";
  std::string inject;
  // --owner=busy: the owner is busy with its own work (own_iters steps of a
  // fixed computation per loop iteration) and run()s what piled up meanwhile,
  // at most run_cap items per call (0: no cap), instead of wait(batch).
  std::string owner = "wait";
  double own_us = 50;             // calibrated into own_iters (unless --own-iters)
  std::uint64_t own_iters = 0;    // 0: from own_us
  int run_cap = 0;
};

// The busy owner's own computation: `iters` dependent steps of a 64-bit LCG
// plus xorshift (owner.cpp; a fixed instruction count, so callgrind repeats).
std::uint64_t own_work(std::uint64_t iters, std::uint64_t x) noexcept;

// ----------------------------------------------------------------- timing --

inline std::uint64_t ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return static_cast<std::uint64_t>(clock_type::now().time_since_epoch().count());
#endif
}

inline double ticks_per_ns = 1.0;

inline void calibrate_ticks() {
  const auto t0 = clock_type::now();
  const std::uint64_t c0 = ticks();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::uint64_t c1 = ticks();
  const auto t1 = clock_type::now();
  ticks_per_ns = static_cast<double>(c1 - c0) / static_cast<double>(std::chrono::nanoseconds(t1 - t0).count());
  if (!(ticks_per_ns > 0)) ticks_per_ns = 1.0;
}

inline double to_ns(std::uint64_t t) { return static_cast<double>(t) / ticks_per_ns; }

inline std::uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Involuntary context switches of this thread so far (a wait() call during
// which this changed was preempted, so the TSC time of its payload may
// include another thread's time).
inline long involuntary_switches() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nivcsw;
}

// ---------------------------------------------------------------- pattern --

// Byte k of connection c's stream is (k + 17 c) mod 251: a period that never
// lines up with buffer or segment sizes, so a lost, repeated or reordered
// chunk shows as a mismatch.
constexpr std::uint32_t pattern_period = 251;
constexpr std::size_t send_chunk = 64 * 1024;
inline std::vector<unsigned char> pattern_table;  // period + largest chunk

inline std::size_t pattern_phase(std::uint32_t conn, std::uint64_t offset) {
  return static_cast<std::size_t>((offset + 17u * static_cast<std::uint64_t>(conn)) % pattern_period);
}

// ---------------------------------------------------------------- variants --

template <class LW>
struct variant;
template <>
struct variant<mpscq::local_work> {
  using work_type = mpscq::work;
  static constexpr const char* name = "mpscq";
};
template <>
struct variant<mpscq::baseline::llist_local_work> {
  using work_type = mpscq::baseline::llist_work;  // an mpscq::work with the old nr_tw counter
  static constexpr const char* name = "legacy";
};

// ---------------------------------------------------------------- phase --

template <class LW>
struct phase;

// One receive buffer: the task-work item, the return hook, and its bytes.
template <class LW>
struct buffer {
  typename variant<LW>::work_type tw;
  mpscq::node ret_hook;
  phase<LW>* ph = nullptr;
  unsigned char* data = nullptr;
  std::uint32_t bid = 0;
  std::uint32_t conn = 0;
  std::uint32_t len = 0;
  std::uint64_t offset = 0;
  // Exactly-once bookkeeping, one writer each; the queues order them.
  std::uint32_t adds = 0;     // receiver: handed to the owner
  std::uint32_t runs = 0;     // owner: ran
  std::uint32_t returns = 0;  // receiver (or main at the end): came back

  buffer() noexcept { tw.func = &buffer::on_run; }
  static void on_run(mpscq::work& w, mpscq::run_state st) noexcept;
};

struct conn_recv {  // receiver-only
  int fd = -1;
  std::uint64_t received = 0;
  bool eof = false;
};

struct result {
  std::string variant;
  int clients = 0;
  int rep = 0;
  double seconds = 0;
  std::uint64_t bytes = 0, items = 0, waits = 0, waits_short = 0;
  double gbps = 0;
  // Per item, ns: the add without syscalls, the run side in waits that did
  // not sleep, and everything the run side cost (sleeping waits included).
  double add_ns = 0, run_ns = 0, run_all_ns = 0;
  double share_queue = 0;  // (add_ns + run_ns) * items / CPU of all threads: the seed's accounting
  double share_all = 0;    // (add_ns + run_all_ns) * items / CPU of all threads
  double share_owner = 0;  // run_all_ns * items / owner CPU
  // --owner=busy: as share_queue, with the owner's own work left out of the
  // CPU total (so it does not depend on --own-us); and the payload per item.
  double share_net = 0, payload_ns = 0, own_ns = 0;
  double wakes_per_kitem = 0, wake_median_ns = 0;
  double cpu_total_ns = 0, cpu_owner_ns = 0;
  std::uint64_t add_outliers = 0, dirty_calls = 0, enobufs = 0;
  // --owner=busy: owner loop iterations, run() calls (has_work() was true),
  // and the items per run() call: mean, and percentiles over calls.
  std::uint64_t iterations = 0, run_calls = 0;
  double items_per_run = 0, run_p50 = 0, run_p90 = 0, run_max = 0, item_weighted_depth = 0;
  double tsc_pair_ns = 0;  // --owner=busy: see phase::tsc_pair_ticks
  double owner_busy = 0;  // owner CPU / wall, %: under 100 the busy owner was starved (other threads, other load)
  double items_per_rx_batch = 0;  // buffers handed over per receiver pass (one CQE batch / epoll_wait)
  bool ok = true;
};

template <class LW>
struct phase {
  using buf = buffer<LW>;
  const options* opt = nullptr;
  int nclients = 0;
  bool use_uring = true;

  std::vector<int> client_fds, server_fds;
  std::vector<std::uint64_t> sent;          // sender-only
  std::vector<conn_recv> rconn;             // receiver-only
  std::vector<std::uint64_t> consumed;      // owner-only
  std::vector<buf> bufs;
  std::uint32_t buf_size = 0;

  mpscq::intrusive_queue<buf, &buf::ret_hook> returns;
  int ret_efd = -1;

  std::atomic<LW*> lw{nullptr};
  std::atomic<bool> receiver_armed{false};
  std::atomic<bool> receiver_done{false};
  std::atomic<bool> abort{false};
  clock_type::time_point start{}, hard_deadline{};

  // receiver results (read after join / after receiver_done)
  std::uint64_t items_added = 0, add_ticks = 0, add_slow = 0, add_outliers = 0, enobufs = 0, recv_cpu_ns = 0;
  std::vector<std::uint64_t> add_slow_hist = std::vector<std::uint64_t>(400, 0);  // 250 ns buckets up to 100 us
  std::uint64_t received_total = 0;
  std::uint64_t rx_batches = 0;  // receiver loop passes that handed over at least one buffer
  bool receiver_ok = true;
  // sender results
  std::uint64_t sent_total = 0, send_cpu_ns = 0;
  bool sender_ok = true;
  // owner state and results
  std::uint64_t ran = 0, ran_cancelled = 0, consumed_total = 0, mismatches = 0, order_violations = 0,
                exactly_once_violations = 0;
  std::uint64_t call_payload_ticks = 0;  // TSC time in callbacks during the current wait()
  buf* ret_first = nullptr;
  buf* ret_last = nullptr;
  std::uint64_t owner_cpu_ns = 0, waits = 0, waits_short = 0, dirty_calls = 0;
  std::uint64_t nosleep_calls = 0, nosleep_items = 0, sleep_calls = 0, sleep_items = 0;
  double nosleep_machinery_ns = 0, sleep_machinery_ns = 0;
  mpscq::local_work_stats stats{};
  // --owner=busy: loop iterations, run() calls, items per call (index: items,
  // the last bucket collects the rest)
  std::uint64_t iterations = 0, run_calls = 0;
  std::vector<std::uint64_t> run_hist;
  // own_work() time (TSC) of the iterations not preempted, and their count;
  // payload TSC of the clean run() calls
  std::uint64_t own_ticks = 0, own_clean = 0, clean_payload_ticks = 0;
  double tsc_pair_ticks = 0;  // the rdtsc pair the run side is corrected by, per item and per call
  bool owner_ok = true;
  clock_type::time_point owner_end{};
  bool inject_lose_pending = false, inject_corrupt_pending = false;
};

// ------------------------------------------------------------------ roles --
// Each in its own file, instantiated there for both variants.

// sockets.cpp: N connected pairs over 127.0.0.1, and their teardown.
void connect_pairs(int n, std::vector<int>& clients, std::vector<int>& servers);
void close_pairs(std::vector<int>& clients, std::vector<int>& servers);

// sender.cpp: the client side, sending the pattern on every connection.
template <class LW>
void sender(phase<LW>& ph);

// receiver_uring.cpp: the network side with io_uring multishot receive, and
// the probes that decide whether it can run (main sets receiver_ring_flags).
bool probe_uring(std::string& why);
unsigned probe_ring_flags();
inline unsigned receiver_ring_flags = 0;  // SINGLE_ISSUER | DEFER_TASKRUN where the kernel takes them
template <class LW>
void receiver_uring(phase<LW>& ph);

// receiver_epoll.cpp: the network side with epoll + recv().
template <class LW>
void receiver_epoll(phase<LW>& ph);

// owner.cpp: the ring's task, running the buffers as task work (and
// buffer<LW>::on_run, the item itself).
template <class LW>
void owner(phase<LW>& ph);

// phase.cpp: one phase of one variant: set up, run the three roles, check.
template <class LW>
result run_phase(const options& opt, int nclients, int rep, bool use_uring, unsigned char* memory);

}  // namespace sock_test
