// phase.cpp - one phase of sock_test: one variant, one client count, one
// repetition. Sets up the connections and buffers, runs the sender, receiver
// and owner threads, then checks the bookkeeping and computes the shares.
#include "sock_test/sock_test.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

namespace sock_test {

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
  ph.hard_deadline = ph.start + example::to_duration(opt.seconds) +
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
  res.items_per_rx_batch = ph.rx_batches > 0 ? static_cast<double>(ph.items_added) / static_cast<double>(ph.rx_batches) : 0;
  res.wakes_per_kitem = items > 0 ? static_cast<double>(ph.stats.wakes) * 1000.0 / items : 0;
  if (opt.owner == "busy") {
    // No sleeps: run+slp is run, all% is queue%.
    res.run_all_ns = res.run_ns;
    res.share_all = res.share_queue;
    res.share_owner = res.cpu_owner_ns > 0 ? res.run_ns * items / res.cpu_owner_ns * 100.0 : 0;
    // The owner's own work: the clean iterations' mean, for all of them.
    res.own_ns = ph.own_clean > 0 ? to_ns(ph.own_ticks) / static_cast<double>(ph.own_clean) : 0;
    const double own_total = res.own_ns * static_cast<double>(ph.iterations);
    res.share_net = res.cpu_total_ns > own_total ? (res.add_ns + res.run_ns) * items / (res.cpu_total_ns - own_total) * 100.0 : 0;
    res.payload_ns = ph.nosleep_items > 0 ? to_ns(ph.clean_payload_ticks) / static_cast<double>(ph.nosleep_items) : 0;
    res.iterations = ph.iterations;
    res.tsc_pair_ns = ph.tsc_pair_ticks / ticks_per_ns;
    res.owner_busy = res.seconds > 0 ? res.cpu_owner_ns / 1e9 / res.seconds * 100.0 : 0;
    res.run_calls = ph.run_calls;
    res.waits = ph.run_calls;
    res.items_per_run = ph.run_calls > 0 ? items / static_cast<double>(ph.run_calls) : 0;
    // Percentiles over run() calls; the item-weighted mean is the depth the
    // average item was run from (sum n^2 / sum n).
    double sq = 0;
    std::uint64_t seen = 0;
    bool p50 = false, p90 = false;
    for (std::size_t n = 0; n < ph.run_hist.size(); ++n) {
      const std::uint64_t c = ph.run_hist[n];
      if (c == 0) continue;
      sq += static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(c);
      seen += c;
      if (!p50 && 2 * seen >= ph.run_calls) {
        res.run_p50 = static_cast<double>(n);
        p50 = true;
      }
      if (!p90 && 10 * seen >= 9 * ph.run_calls) {
        res.run_p90 = static_cast<double>(n);
        p90 = true;
      }
      res.run_max = static_cast<double>(n);
    }
    res.item_weighted_depth = items > 0 ? sq / items : 0;
  }
  res.add_outliers = ph.add_outliers;
  res.dirty_calls = ph.dirty_calls;
  res.enobufs = ph.enobufs;

  char where[96];
  std::snprintf(where, sizeof where, " [%s, %d clients, rep %d]", res.variant.c_str(), nclients, rep);
  example::checks check(where);
  check(ph.sender_ok && ph.receiver_ok && ph.owner_ok, "a thread reported an error", 0);
  check(ph.sent_total != 0, "nothing was sent", 0);
  check(ph.sent_total == ph.received_total && ph.received_total == ph.consumed_total,
        "bytes sent != received != consumed", ph.sent_total - ph.consumed_total);
  check(conn_bad == 0, "connections whose bytes do not add up", conn_bad);
  check(eof_missing == 0, "connections that never reached EOF", eof_missing);
  check(ph.mismatches == 0, "buffers whose bytes do not match the pattern", ph.mismatches);
  check(ph.order_violations == 0, "buffers that ran out of receive order", ph.order_violations);
  check(ph.items_added == ph.ran, "items handed over != items run", ph.items_added - ph.ran);
  check(ph.exactly_once_violations == 0 && buf_bad == 0, "buffers not run / returned exactly once",
        ph.exactly_once_violations + buf_bad);
  check(ph.ran_cancelled == 0, "items ran cancelled", ph.ran_cancelled);
  res.ok = check.ok();
  return res;
}

template result run_phase<mpscq::local_work>(const options&, int, int, bool, unsigned char*);
template result run_phase<mpscq::baseline::llist_local_work>(const options&, int, int, bool, unsigned char*);

}  // namespace sock_test
