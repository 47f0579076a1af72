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
//   The same load runs with mpscq::local_work and mpscq::legacy::local_work
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
#include <mpscq/legacy/local_work.hpp>
#include <mpscq/local_work.hpp>
#include <mpscq/queue.hpp>
#include <mpscq/work.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

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
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [options]\n"
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
               "  --inject=corrupt|lose         break one buffer on purpose; the run must then fail\n",
               argv0);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view key) -> const char* {
      if (a.substr(0, key.size()) == key && a.size() > key.size() && a[key.size()] == '=')
        return argv[i] + key.size() + 1;
      return nullptr;
    };
    if (const char* v = value("--seconds")) o.seconds = std::atof(v);
    else if (const char* v = value("--clients")) {
      o.clients.clear();
      for (const char* p = v; *p != '\0';) {
        char* e = nullptr;
        o.clients.push_back(static_cast<int>(std::strtol(p, &e, 10)));
        if (e == p) usage(argv[0]);
        p = (*e == ',') ? e + 1 : e;
      }
    } else if (const char* v = value("--reps")) o.reps = std::atoi(v);
    else if (const char* v = value("--max-mib")) o.max_mib = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("--batch")) o.batch = std::atoi(v);
    else if (const char* v = value("--timeout-us")) o.timeout_us = std::atoi(v);
    else if (const char* v = value("--buf-kib")) o.buf_kib = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    else if (const char* v = value("--bufs")) o.bufs = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    else if (const char* v = value("--receiver")) o.receiver = v;
    else if (const char* v = value("--variants")) o.variants = v;
    else if (const char* v = value("--inject")) o.inject = v;
    else usage(argv[0]);
  }
  bool ok = o.seconds > 0 && o.seconds <= 600 && o.reps >= 1 && o.reps <= 100 && o.max_mib >= 1 && o.batch >= 1 &&
            o.timeout_us >= 1 && o.buf_kib >= 1 && o.buf_kib <= 1024 && o.bufs >= 8 && o.bufs <= 32768 &&
            (o.bufs & (o.bufs - 1)) == 0 && !o.clients.empty();
  for (int c : o.clients) ok = ok && c >= 1 && c <= 8192;
  ok = ok && (o.receiver == "auto" || o.receiver == "uring" || o.receiver == "epoll");
  ok = ok && (o.variants == "both" || o.variants == "mpscq" || o.variants == "legacy");
  ok = ok && (o.inject.empty() || o.inject == "corrupt" || o.inject == "lose");
  if (!ok) usage(argv[0]);
  return o;
}

[[noreturn]] void die(const char* what, int err) {
  std::fprintf(stderr, "sock_test: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

// ----------------------------------------------------------------- timing --

inline std::uint64_t ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return static_cast<std::uint64_t>(clock_type::now().time_since_epoch().count());
#endif
}

double ticks_per_ns = 1.0;

void calibrate_ticks() {
  const auto t0 = clock_type::now();
  const std::uint64_t c0 = ticks();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::uint64_t c1 = ticks();
  const auto t1 = clock_type::now();
  ticks_per_ns = static_cast<double>(c1 - c0) / static_cast<double>(std::chrono::nanoseconds(t1 - t0).count());
  if (!(ticks_per_ns > 0)) ticks_per_ns = 1.0;
}

double to_ns(std::uint64_t t) { return static_cast<double>(t) / ticks_per_ns; }

std::uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Involuntary context switches of this thread so far (a wait() call during
// which this changed was preempted, so the TSC time of its payload may
// include another thread's time).
long involuntary_switches() {
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
std::vector<unsigned char> pattern_table;  // period + largest chunk

std::size_t pattern_phase(std::uint32_t conn, std::uint64_t offset) {
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
struct variant<mpscq::legacy::local_work> {
  using work_type = mpscq::legacy::work;  // an mpscq::work with the old nr_tw counter
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
  double wakes_per_kitem = 0, wake_median_ns = 0;
  double cpu_total_ns = 0, cpu_owner_ns = 0;
  std::uint64_t add_outliers = 0, dirty_calls = 0, enobufs = 0;
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
  bool owner_ok = true;
  clock_type::time_point owner_end{};
  bool inject_lose_pending = false, inject_corrupt_pending = false;
};

template <class LW>
void buffer<LW>::on_run(mpscq::work& w, mpscq::run_state st) noexcept {
  const std::uint64_t t0 = ticks();
  buffer& b = mpscq::container_of<&buffer::tw>(static_cast<typename variant<LW>::work_type&>(w));
  phase<LW>& ph = *b.ph;
  ++ph.ran;
  if (st.cancel) ++ph.ran_cancelled;
  if (++b.runs != b.adds) ++ph.exactly_once_violations;
  // Consume: the bytes must continue this connection's stream exactly.
  std::uint64_t& done = ph.consumed[b.conn];
  if (b.offset != done) ++ph.order_violations;
  if (std::memcmp(b.data, pattern_table.data() + pattern_phase(b.conn, b.offset), b.len) != 0) ++ph.mismatches;
  done = b.offset + b.len;
  ph.consumed_total += b.len;
  // Queue the buffer for return (one push_batch after the wait).
  b.ret_hook.next.store(nullptr, std::memory_order_relaxed);
  if (ph.ret_last != nullptr) ph.ret_last->ret_hook.next.store(&b.ret_hook, std::memory_order_relaxed);
  else ph.ret_first = &b;
  ph.ret_last = &b;
  const std::uint64_t t1 = ticks();
  ph.call_payload_ticks += t1 - t0;
}

// ---------------------------------------------------------------- sockets --

void set_nonblocking(int fd) {
  const int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) die("fcntl", errno);
}

// N connected pairs over 127.0.0.1 (connect one, accept one).
void connect_pairs(int n, std::vector<int>& clients, std::vector<int>& servers) {
  const int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls < 0) die("socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind 127.0.0.1", errno);
  socklen_t len = sizeof addr;
  if (getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len) != 0) die("getsockname", errno);
  if (listen(ls, 64) != 0) die("listen", errno);
  for (int i = 0; i < n; ++i) {
    const int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0) die("socket (raise RLIMIT_NOFILE?)", errno);
    if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect", errno);
    const int s = accept4(ls, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (s < 0) die("accept4", errno);
    set_nonblocking(c);
    clients.push_back(c);
    servers.push_back(s);
  }
  ::close(ls);
}

void close_pairs(std::vector<int>& clients, std::vector<int>& servers) {
  // Reset rather than close gracefully: no TIME_WAIT left behind per phase.
  const linger lg{1, 0};
  for (int c : clients) {
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(c);
  }
  for (int s : servers) ::close(s);
  clients.clear();
  servers.clear();
}

// ----------------------------------------------------------------- sender --

template <class LW>
void sender(phase<LW>& ph) {
  const std::uint64_t cpu0 = thread_cpu_ns();
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1", errno);
  for (int i = 0; i < ph.nclients; ++i) {
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ph.client_fds[static_cast<std::size_t>(i)], &ev) != 0) die("epoll_ctl", errno);
  }
  while (!ph.receiver_armed.load(std::memory_order_acquire) && !ph.abort.load(std::memory_order_relaxed))
    std::this_thread::yield();
  const std::uint64_t cap = ph.opt->max_mib * 1024 * 1024;
  const auto deadline = ph.start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(ph.opt->seconds));
  std::uint64_t total = 0;
  std::vector<epoll_event> evs(512);
  while (total < cap && clock_type::now() < deadline && !ph.abort.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait (sender)", errno);
    }
    for (int i = 0; i < n && total < cap; ++i) {
      const std::uint32_t c = evs[static_cast<std::size_t>(i)].data.u32;
      std::uint64_t& off = ph.sent[c];
      const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(send_chunk, cap - total));
      const ssize_t r = send(ph.client_fds[c], pattern_table.data() + pattern_phase(c, off), len, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r > 0) {
        off += static_cast<std::uint64_t>(r);
        total += static_cast<std::uint64_t>(r);
      } else if (r < 0 && errno != EAGAIN && errno != EINTR) {
        std::fprintf(stderr, "sock_test: send: %s\n", std::strerror(errno));
        ph.sender_ok = false;
        ph.abort.store(true, std::memory_order_relaxed);
        break;
      }
    }
  }
  for (int fd : ph.client_fds) shutdown(fd, SHUT_WR);  // the receiver sees EOF on each
  ::close(ep);
  ph.sent_total = total;
  ph.send_cpu_ns = thread_cpu_ns() - cpu0;
}

// --------------------------------------------------------------- receiver --

template <class LW>
struct receiver_common {
  phase<LW>& ph;
  LW& lw;
  typename mpscq::intrusive_queue<buffer<LW>, &buffer<LW>::ret_hook>::consumer returns;
  std::uint64_t corrupt_at = 0;

  explicit receiver_common(phase<LW>& p) : ph(p), lw(*p.lw.load(std::memory_order_acquire)), returns(p.returns) {}

  // Hands a filled buffer to the owner as lazy task work.
  void hand_over(buffer<LW>& b, std::uint32_t conn, std::uint32_t len) {
    conn_recv& rc = ph.rconn[conn];
    b.conn = conn;
    b.len = len;
    b.offset = rc.received;
    rc.received += len;
    ph.received_total += len;
    if (b.adds != b.returns) {  // handed over again before it came back
      std::fprintf(stderr, "sock_test: buffer %u reused before it was returned\n", b.bid);
      ph.receiver_ok = false;
    }
    ++b.adds;
    ++ph.items_added;
    if (ph.inject_corrupt_pending && ph.items_added > 100) {
      ph.inject_corrupt_pending = false;
      b.data[len / 2] ^= 0x5a;
    }
    if (ph.inject_lose_pending && ph.items_added > 100) {
      ph.inject_lose_pending = false;  // counted as handed over, never added
      return;
    }
    const std::uint64_t t0 = ticks();
    lw.add(b.tw, mpscq::wake::lazy);
    const std::uint64_t dt = ticks() - t0;
    const double ns = to_ns(dt);
    if (ns < 2'000.0) {
      ph.add_ticks += dt;  // no syscall: the push and the wake rule
    } else if (ns < 100'000.0) {
      // It issued the futex wake; the woken owner may also have preempted
      // us inside it, so keep a histogram and charge the median.
      ++ph.add_slow_hist[static_cast<std::size_t>(ns / 250.0)];
      ++ph.add_slow;
    } else {
      ++ph.add_outliers;  // preempted inside add(): not the add's cost
    }
  }

  // Takes back what the owner returned. Returns the buffers, and whether a
  // push is still in flight (pop() said nullptr while the queue is not empty).
  template <class F>
  bool take_returns(F&& give_back) {
    while (buffer<LW>* b = returns.pop()) {
      if (++b->returns != b->runs) {
        std::fprintf(stderr, "sock_test: buffer %u returned without having run once\n", b->bid);
        ph.receiver_ok = false;
      }
      give_back(*b);
    }
    return !ph.returns.empty();
  }

  bool past_deadline() {
    if (clock_type::now() < ph.hard_deadline) return false;
    std::fprintf(stderr, "sock_test: receiver: connections still open at the hard deadline\n");
    ph.receiver_ok = false;
    ph.abort.store(true, std::memory_order_relaxed);
    return true;
  }
};

// Can this kernel + liburing do multishot receive from a provided buffer
// ring? Tried once on a socketpair; the reason goes into `why` if not.
bool probe_uring(std::string& why) {
  io_uring ring{};
  int r = io_uring_queue_init(8, &ring, 0);
  if (r < 0) {
    why = std::string("io_uring_queue_init: ") + std::strerror(-r);
    return false;
  }
  bool ok = false;
  int sv[2] = {-1, -1};
  void* mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  alignas(64) static unsigned char data[8][64];
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
  reg.ring_entries = 8;
  reg.bgid = 7;
  if (mem == MAP_FAILED) {
    why = "mmap";
  } else if ((r = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
    why = std::string("io_uring_register_buf_ring: ") + std::strerror(-r);
  } else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    why = "socketpair";
  } else {
    auto* br = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(br);
    for (int i = 0; i < 8; ++i)
      io_uring_buf_ring_add(br, data[i], 64, static_cast<unsigned short>(i), io_uring_buf_ring_mask(8), i);
    io_uring_buf_ring_advance(br, 8);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(sqe, sv[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 7;
    io_uring_submit(&ring);
    if (write(sv[1], "ab", 2) != 2) why = "write";
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{};
    ts.tv_sec = 1;
    r = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
    if (r < 0) why = std::string("no completion: ") + std::strerror(-r);
    else if (cqe->res != 2 || !(cqe->flags & IORING_CQE_F_BUFFER) || !(cqe->flags & IORING_CQE_F_MORE))
      why = "multishot receive not supported (res " + std::to_string(cqe->res) + ")";
    else ok = true;
  }
  if (sv[0] >= 0) ::close(sv[0]);
  if (sv[1] >= 0) ::close(sv[1]);
  io_uring_queue_exit(&ring);
  if (mem != MAP_FAILED) munmap(mem, 4096);
  return ok;
}

// SINGLE_ISSUER | DEFER_TASKRUN where the kernel takes them (probed).
unsigned receiver_ring_flags = 0;

unsigned probe_ring_flags() {
  const unsigned wanted = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  io_uring ring{};
  io_uring_params p{};
  p.flags = wanted;
  if (io_uring_queue_init_params(8, &ring, &p) != 0) return 0;  // older kernel: a plain ring
  io_uring_queue_exit(&ring);
  return wanted;
}

constexpr std::uint64_t tag_returns = 1ull << 62;
constexpr std::uint16_t buffer_group = 1;

// Receiver with io_uring multishot receive and a provided buffer ring.
template <class LW>
void receiver_uring(phase<LW>& ph) {
  const std::uint64_t cpu0 = thread_cpu_ns();
  receiver_common<LW> rx(ph);
  io_uring ring{};
  // Created on this thread, which is the ring's only user.
  io_uring_params p{};
  p.flags = receiver_ring_flags | IORING_SETUP_CQSIZE;
  p.cq_entries = 32768;
  int r = io_uring_queue_init_params(1024, &ring, &p);
  if (r < 0) die("io_uring_queue_init_params (receiver)", -r);

  const std::uint32_t n = ph.opt->bufs;
  const std::size_t br_bytes = (sizeof(io_uring_buf) * n + 4095) & ~std::size_t{4095};
  void* br_mem = mmap(nullptr, br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (br_mem == MAP_FAILED) die("mmap (buffer ring)", errno);
  auto* br = static_cast<io_uring_buf_ring*>(br_mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(br_mem);
  reg.ring_entries = n;
  reg.bgid = buffer_group;
  if ((r = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) die("io_uring_register_buf_ring", -r);
  io_uring_buf_ring_init(br);
  const int mask = io_uring_buf_ring_mask(n);
  for (std::uint32_t i = 0; i < n; ++i)
    io_uring_buf_ring_add(br, ph.bufs[i].data, ph.buf_size, static_cast<unsigned short>(i), mask, static_cast<int>(i));
  io_uring_buf_ring_advance(br, static_cast<int>(n));
  std::uint32_t in_ring = n;  // buffers the kernel may still fill

  auto get_sqe = [&]() {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (s == nullptr) {
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
      if (s == nullptr) die("io_uring_get_sqe", EBUSY);
    }
    return s;
  };
  auto arm = [&](std::uint32_t c) {
    io_uring_sqe* s = get_sqe();
    io_uring_prep_recv_multishot(s, ph.rconn[c].fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = buffer_group;
    io_uring_sqe_set_data64(s, c);
  };
  std::uint64_t efd_value = 0;
  auto arm_returns = [&] {
    io_uring_sqe* s = get_sqe();
    io_uring_prep_read(s, ph.ret_efd, &efd_value, sizeof efd_value, 0);
    io_uring_sqe_set_data64(s, tag_returns);
  };
  for (std::uint32_t c = 0; c < static_cast<std::uint32_t>(ph.nclients); ++c) arm(c);
  arm_returns();
  io_uring_submit(&ring);
  ph.receiver_armed.store(true, std::memory_order_release);

  int open = ph.nclients;
  std::vector<std::uint32_t> to_arm;
  bool in_flight = false;
  int returned_since_advance = 0;
  while (open > 0 && !rx.past_deadline()) {
    __kernel_timespec ts{};
    ts.tv_nsec = in_flight ? 50'000 : 10'000'000;
    io_uring_cqe* first = nullptr;
    r = io_uring_submit_and_wait_timeout(&ring, &first, 1, &ts, nullptr);
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) die("io_uring_submit_and_wait_timeout", -r);
    unsigned head;
    io_uring_cqe* cqe;
    unsigned seen = 0;
    bool rearm_returns = false;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      const std::uint64_t ud = io_uring_cqe_get_data64(cqe);
      if (ud == tag_returns) {
        if (cqe->res != static_cast<int>(sizeof efd_value)) die("read(eventfd) (receiver)", -cqe->res);
        rearm_returns = true;
        continue;
      }
      const auto c = static_cast<std::uint32_t>(ud);
      if (cqe->res > 0) {
        if (!(cqe->flags & IORING_CQE_F_BUFFER)) die("recv completion without a buffer", EINVAL);
        const std::uint32_t bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        --in_ring;
        rx.hand_over(ph.bufs[bid], c, static_cast<std::uint32_t>(cqe->res));
        if (!(cqe->flags & IORING_CQE_F_MORE)) to_arm.push_back(c);  // terminated: arm again
      } else if (cqe->res == 0) {
        if (!ph.rconn[c].eof) {
          ph.rconn[c].eof = true;
          --open;
        }
      } else if (cqe->res == -ENOBUFS) {
        ++ph.enobufs;
        to_arm.push_back(c);  // out of buffers: arm again once some are back
      } else {
        die("multishot receive", -cqe->res);
      }
    }
    io_uring_cq_advance(&ring, seen);
    if (rearm_returns) arm_returns();  // re-arm the eventfd read before draining
    returned_since_advance = 0;
    in_flight = rx.take_returns([&](buffer<LW>& b) {
      io_uring_buf_ring_add(br, b.data, ph.buf_size, static_cast<unsigned short>(b.bid), mask, returned_since_advance++);
    });
    if (returned_since_advance > 0) {
      io_uring_buf_ring_advance(br, returned_since_advance);
      in_ring += static_cast<std::uint32_t>(returned_since_advance);
    }
    if (in_ring > 0 && !to_arm.empty()) {
      for (std::uint32_t c : to_arm)
        if (!ph.rconn[c].eof) {
          arm(c);
        }
      to_arm.clear();
    }
  }
  io_uring_queue_exit(&ring);
  munmap(br_mem, br_bytes);
  ph.recv_cpu_ns = thread_cpu_ns() - cpu0;
  ph.receiver_done.store(true, std::memory_order_release);
}

// Receiver with epoll + recv() (fallback, or --receiver=epoll).
template <class LW>
void receiver_epoll(phase<LW>& ph) {
  const std::uint64_t cpu0 = thread_cpu_ns();
  receiver_common<LW> rx(ph);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1", errno);
  constexpr std::uint32_t tag = 0xffffffffu;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = tag;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ph.ret_efd, &ev) != 0) die("epoll_ctl", errno);
  for (std::uint32_t c = 0; c < static_cast<std::uint32_t>(ph.nclients); ++c) {
    ev.data.u32 = c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ph.rconn[c].fd, &ev) != 0) die("epoll_ctl", errno);
  }
  std::vector<buffer<LW>*> free_bufs;
  for (auto& b : ph.bufs) free_bufs.push_back(&b);
  ph.receiver_armed.store(true, std::memory_order_release);
  std::vector<epoll_event> evs(512);
  int open = ph.nclients;
  bool in_flight = false;
  while (open > 0 && !rx.past_deadline()) {
    in_flight = rx.take_returns([&](buffer<LW>& b) { free_bufs.push_back(&b); });
    if (free_bufs.empty()) {
      // Out of buffers: wait for the owner's return signal only (clear it,
      // then drain at the top of the loop).
      pollfd p{ph.ret_efd, POLLIN, 0};
      const int pr = poll(&p, 1, 1);
      if (pr < 0 && errno != EINTR) die("poll", errno);
      std::uint64_t v;
      if (pr > 0 && (p.revents & POLLIN) && read(ph.ret_efd, &v, sizeof v) < 0) die("read(eventfd)", errno);
      continue;
    }
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), in_flight ? 1 : 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait (receiver)", errno);
    }
    for (int i = 0; i < n; ++i) {
      const std::uint32_t c = evs[static_cast<std::size_t>(i)].data.u32;
      if (c == tag) {
        std::uint64_t v;  // readable: this read does not block
        if (read(ph.ret_efd, &v, sizeof v) < 0) die("read(eventfd)", errno);
        continue;
      }
      if (free_bufs.empty()) continue;  // level-triggered: it comes back
      buffer<LW>* b = free_bufs.back();
      const ssize_t r = recv(ph.rconn[c].fd, b->data, ph.buf_size, MSG_DONTWAIT);
      if (r > 0) {
        free_bufs.pop_back();
        rx.hand_over(*b, c, static_cast<std::uint32_t>(r));
      } else if (r == 0) {
        ph.rconn[c].eof = true;
        --open;
        epoll_ctl(ep, EPOLL_CTL_DEL, ph.rconn[c].fd, nullptr);
      } else if (errno != EAGAIN && errno != EINTR) {
        die("recv", errno);
      }
    }
  }
  ::close(ep);
  ph.recv_cpu_ns = thread_cpu_ns() - cpu0;
  ph.receiver_done.store(true, std::memory_order_release);
}

// ------------------------------------------------------------------ owner --

template <class LW>
void owner(phase<LW>& ph) {
  LW lw;  // constructed on the owner thread
  // Calibrate the pair of thread-CPU clock reads that brackets each wait():
  // what a bracket around nothing measures (precise: CLOCK_THREAD_CPUTIME_ID
  // brings the running thread's time up to date; getrusage() would not).
  double pair_cost_ns = 0;
  {
    constexpr int n = 2000;
    std::uint64_t sum = 0;
    for (int i = 0; i < n; ++i) {
      const std::uint64_t a = thread_cpu_ns();
      const std::uint64_t b = thread_cpu_ns();
      sum += b - a;
    }
    pair_cost_ns = static_cast<double>(sum) / n;
  }
  ph.lw.store(&lw, std::memory_order_release);
  const std::uint64_t cpu0 = thread_cpu_ns();
  const auto timeout = std::chrono::microseconds(ph.opt->timeout_us);
  clock_type::time_point drain_deadline{};
  for (;;) {
    const mpscq::local_work_stats s0 = lw.stats();  // relaxed loads, outside the bracket
    const long sw0 = involuntary_switches();
    ph.call_payload_ticks = 0;
    const std::uint64_t cpu_a = thread_cpu_ns();
    const int ran = lw.wait(ph.opt->batch, timeout);
    const std::uint64_t cpu_b = thread_cpu_ns();
    const long sw1 = involuntary_switches();
    const mpscq::local_work_stats s1 = lw.stats();
    ++ph.waits;
    if (ran < ph.opt->batch) ++ph.waits_short;
    if (sw1 == sw0) {
      const double machinery = static_cast<double>(cpu_b - cpu_a) - pair_cost_ns - to_ns(ph.call_payload_ticks);
      const auto items = static_cast<std::uint64_t>(std::max(ran, 0));
      if (s1.sleeps == s0.sleeps && s1.in_flight_backoffs == s0.in_flight_backoffs) {
        ++ph.nosleep_calls;  // queue work only: pops (or take + reverse), dispatch, arm + re-check
        ph.nosleep_items += items;
        ph.nosleep_machinery_ns += machinery;
      } else {
        ++ph.sleep_calls;  // plus futex_wait / back-off sleeps and the wake-up
        ph.sleep_items += items;
        ph.sleep_machinery_ns += machinery;
      }
    } else {
      ++ph.dirty_calls;  // preempted: the payload's TSC time may include another thread's
    }
    // Return the buffers of this batch: one exchange, and an eventfd signal
    // only when the return queue was empty.
    if (ph.ret_first != nullptr) {
      if (ph.returns.push_batch(ph.ret_first, ph.ret_last)) {
        const std::uint64_t one = 1;
        if (write(ph.ret_efd, &one, sizeof one) != sizeof one) die("write(eventfd)", errno);
      }
      ph.ret_first = ph.ret_last = nullptr;
    }
    if (ph.receiver_done.load(std::memory_order_acquire)) {
      if (ph.ran >= ph.items_added) break;
      if (drain_deadline == clock_type::time_point{}) drain_deadline = clock_type::now() + std::chrono::seconds(2);
      if (clock_type::now() > drain_deadline) {
        std::fprintf(stderr, "sock_test: owner: %llu of %llu items ran 2 s after the receiver finished\n",
                     static_cast<unsigned long long>(ph.ran), static_cast<unsigned long long>(ph.items_added));
        ph.owner_ok = false;
        break;
      }
    } else if (ph.abort.load(std::memory_order_relaxed) && clock_type::now() > ph.hard_deadline + std::chrono::seconds(5)) {
      std::fprintf(stderr, "sock_test: owner: the receiver did not finish\n");
      ph.owner_ok = false;
      std::exit(1);
    }
  }
  ph.owner_end = clock_type::now();
  ph.owner_cpu_ns = thread_cpu_ns() - cpu0;
  ph.stats = lw.stats();
  lw.close();  // in a correct run nothing is left to cancel
  if (ph.ret_first != nullptr) {
    ph.returns.push_batch(ph.ret_first, ph.ret_last);
    ph.ret_first = ph.ret_last = nullptr;
  }
}

// ------------------------------------------------------------- one phase --

template <class LW>
result run_phase(const options& opt, int nclients, int rep, bool use_uring, unsigned char* memory) {
  phase<LW> ph;
  ph.opt = &opt;
  ph.nclients = nclients;
  ph.use_uring = use_uring;
  ph.buf_size = opt.buf_kib * 1024;
  ph.inject_corrupt_pending = opt.inject == "corrupt";
  ph.inject_lose_pending = opt.inject == "lose";
  connect_pairs(nclients, ph.client_fds, ph.server_fds);
  ph.sent.assign(static_cast<std::size_t>(nclients), 0);
  ph.consumed.assign(static_cast<std::size_t>(nclients), 0);
  ph.rconn.resize(static_cast<std::size_t>(nclients));
  for (int i = 0; i < nclients; ++i) ph.rconn[static_cast<std::size_t>(i)].fd = ph.server_fds[static_cast<std::size_t>(i)];
  ph.bufs = std::vector<buffer<LW>>(opt.bufs);
  for (std::uint32_t i = 0; i < opt.bufs; ++i) {
    ph.bufs[i].ph = &ph;
    ph.bufs[i].bid = i;
    ph.bufs[i].data = memory + static_cast<std::size_t>(i) * ph.buf_size;
  }
  // Blocking: the io_uring receiver READs it (a READ of a non-blocking fd
  // completes at once with -EAGAIN); the epoll receiver reads it only when
  // it is readable.
  ph.ret_efd = eventfd(0, EFD_CLOEXEC);
  if (ph.ret_efd < 0) die("eventfd", errno);

  ph.start = clock_type::now();
  ph.hard_deadline = ph.start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(opt.seconds)) +
                     std::chrono::seconds(20);
  std::thread own([&] { owner(ph); });
  while (ph.lw.load(std::memory_order_acquire) == nullptr) std::this_thread::yield();
  std::thread rcv([&] {
    if (ph.use_uring) receiver_uring(ph);
    else receiver_epoll(ph);
  });
  std::thread snd([&] { sender(ph); });
  snd.join();
  rcv.join();
  own.join();

  // Buffers still in the return queue come back here.
  {
    typename mpscq::intrusive_queue<buffer<LW>, &buffer<LW>::ret_hook>::consumer c(ph.returns);
    while (buffer<LW>* b = c.pop()) ++b->returns;
  }
  std::uint64_t buf_bad = 0;
  for (auto& b : ph.bufs)
    if (b.adds != b.runs || b.runs != b.returns) ++buf_bad;
  std::uint64_t conn_bad = 0, eof_missing = 0;
  for (int i = 0; i < nclients; ++i) {
    const auto u = static_cast<std::size_t>(i);
    if (ph.sent[u] != ph.rconn[u].received || ph.rconn[u].received != ph.consumed[u]) ++conn_bad;
    if (!ph.rconn[u].eof) ++eof_missing;
  }
  close_pairs(ph.client_fds, ph.server_fds);
  ::close(ph.ret_efd);

  result res;
  res.variant = variant<LW>::name;
  res.clients = nclients;
  res.rep = rep;
  res.seconds = std::chrono::duration<double>(ph.owner_end - ph.start).count();
  res.bytes = ph.consumed_total;
  res.items = ph.ran;
  res.waits = ph.waits;
  res.waits_short = ph.waits_short;
  res.gbps = res.seconds > 0 ? static_cast<double>(res.bytes) * 8.0 / res.seconds / 1e9 : 0;
  const double items = static_cast<double>(ph.ran);
  const double adds_fast = static_cast<double>(ph.items_added - ph.add_outliers - ph.add_slow);
  res.add_ns = adds_fast > 0 ? to_ns(ph.add_ticks) / adds_fast : 0;
  // The adds that issued the futex wake: median wall time (information only).
  double wake_median_ns = 0;
  for (std::uint64_t seen = 0, i = 0; i < ph.add_slow_hist.size(); ++i) {
    seen += ph.add_slow_hist[i];
    if (2 * seen >= ph.add_slow && ph.add_slow > 0) {
      wake_median_ns = (static_cast<double>(i) + 0.5) * 250.0;
      break;
    }
  }
  res.wake_median_ns = wake_median_ns;
  const double nosleep_items = static_cast<double>(ph.nosleep_items);
  const double clean_items = static_cast<double>(ph.nosleep_items + ph.sleep_items);
  res.run_ns = nosleep_items > 0 ? ph.nosleep_machinery_ns / nosleep_items : 0;
  res.run_all_ns = clean_items > 0 ? (ph.nosleep_machinery_ns + ph.sleep_machinery_ns) / clean_items : 0;
  res.cpu_owner_ns = static_cast<double>(ph.owner_cpu_ns);
  res.cpu_total_ns = static_cast<double>(ph.owner_cpu_ns + ph.recv_cpu_ns + ph.send_cpu_ns);
  if (res.cpu_total_ns > 0) {
    res.share_queue = (res.add_ns + res.run_ns) * items / res.cpu_total_ns * 100.0;
    res.share_all = (res.add_ns + res.run_all_ns) * items / res.cpu_total_ns * 100.0;
  }
  res.share_owner = res.cpu_owner_ns > 0 ? res.run_all_ns * items / res.cpu_owner_ns * 100.0 : 0;
  res.wakes_per_kitem = items > 0 ? static_cast<double>(ph.stats.wakes) * 1000.0 / items : 0;
  res.add_outliers = ph.add_outliers;
  res.dirty_calls = ph.dirty_calls;
  res.enobufs = ph.enobufs;

  auto fail = [&](bool bad, const char* what, std::uint64_t n) {
    if (bad) {
      std::printf("  FAIL [%s, %d clients, rep %d]: %s (%llu)\n", res.variant.c_str(), nclients, rep, what,
                  static_cast<unsigned long long>(n));
      res.ok = false;
    }
  };
  fail(!ph.sender_ok || !ph.receiver_ok || !ph.owner_ok, "a thread reported an error", 0);
  fail(ph.sent_total == 0, "nothing was sent", 0);
  fail(ph.sent_total != ph.received_total || ph.received_total != ph.consumed_total,
       "bytes sent != received != consumed", ph.sent_total - ph.consumed_total);
  fail(conn_bad != 0, "connections whose bytes do not add up", conn_bad);
  fail(eof_missing != 0, "connections that never reached EOF", eof_missing);
  fail(ph.mismatches != 0, "buffers whose bytes do not match the pattern", ph.mismatches);
  fail(ph.order_violations != 0, "buffers that ran out of receive order", ph.order_violations);
  fail(ph.items_added != ph.ran, "items handed over != items run", ph.items_added - ph.ran);
  fail(ph.exactly_once_violations != 0 || buf_bad != 0, "buffers not run / returned exactly once",
       ph.exactly_once_violations + buf_bad);
  fail(ph.ran_cancelled != 0, "items ran cancelled", ph.ran_cancelled);
  return res;
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
  bool ok = true;
  for (int clients : opt.clients) {
    for (int rep = 1; rep <= opt.reps; ++rep) {
      for (int v = 0; v < 2; ++v) {
        result r;
        if (v == 0 && want_mpscq) r = run_phase<mpscq::local_work>(opt, clients, rep, use_uring, memory);
        else if (v == 1 && want_legacy) r = run_phase<mpscq::legacy::local_work>(opt, clients, rep, use_uring, memory);
        else continue;
        ok = ok && r.ok;
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
  std::printf("sock_test: %s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
