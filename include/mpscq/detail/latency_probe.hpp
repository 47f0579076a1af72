// mpscq/detail/latency_probe.hpp - local_work's add-to-run latency probe:
// one internal item, pushed on request with a timestamp and run by the
// owner like any item, which records how long it waited in a log2
// histogram (issue 21, item 2).
//
// Internal header: not part of the public API, not general purpose.
//
// WHY A PROBE (and not a timestamp per item)
//   Stamping every add would put a clock read on the add path and a store
//   next to the item; run_items() would read the clock per item. Both cost
//   whether or not anybody looks. A probe costs nothing until someone asks
//   for a sample (local_work::sample_latency()): then one item, in FIFO
//   order among the others, measures exactly what an add made at that
//   instant waits: a timed ping through the queue, the way a monitor
//   measures an event loop's lag by scheduling a callback and timing when
//   it runs (the figure tokio#6314 and tokio-console#278 ask for; the
//   kernel's io_uring has none).
//
// THE PROTOCOL (one probe per object; at most one in flight)
//   P1. A sampler (any thread) claims the probe: busy_ false -> true
//       (exchange). Only the claimer writes the stamp and pushes the node,
//       so the node is queued at most once (a queue node must not be pushed
//       twice).
//   P2. The claimer stamps, then pushes (local_work::sample_latency(),
//       inside the adder gate). The push publishes the stamp to the owner
//       (the queue's release link / acquire pop).
//   P3. The owner runs the node (run_items(), or close()'s drain with
//       cancel = true): it records now - stamp (not when cancelled), counts
//       the run in runs_ (so that run_items() can leave it out of what it
//       returns), and clears busy_ last (release): the next claimer's
//       acquire exchange sees the node handed out and the stamp read.
//   P4. A claimer that finds the object closed gives the claim back
//       (unclaim()) without pushing.
//
// WHO WRITES WHAT
//   busy_, stamp_, node_.hook  samplers (the claimer) and the owner (P3);
//                              their own line.
//   runs_                      the owner only (plain).
//   bucket_[], max_            the owner only: relaxed load + store (as
//                              local_work_core's owner_counter); any thread
//                              reads them (snapshot()).
//
// ATOMICS (rows of docs/design.md, section 3.5b)
//   [P1] try_claim  busy_.load relaxed, then exchange(true) acquire;
//                   pairs with [P3]
//   [P3] ran        busy_.store(false) release; pairs with [P1]
//   [P4] unclaim    busy_.store(false) release; pairs with [P1]
//   [P5] histogram  relaxed load + store (owner) / relaxed load (readers)
#ifndef MPSCQ_DETAIL_LATENCY_PROBE_HPP
#define MPSCQ_DETAIL_LATENCY_PROBE_HPP

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>

#include <mpscq/detail/atomic.hpp>
#include <mpscq/detail/cache_line.hpp>
#include <mpscq/node.hpp>

namespace mpscq::detail {

/// Item: the public work type (mpscq::work: a `hook` node and a `func`
/// taking (Item&, Item::run_state_type)); detail/ does not name it.
template <class Item>
class latency_probe {
 public:
  using clock = std::chrono::steady_clock;
  /// Histogram buckets: bucket k holds latencies of k significant bits,
  /// [2^(k-1), 2^k - 1] ns (bucket 0: 0 ns); 64 cover every nanoseconds
  /// value.
  static constexpr int bucket_count = 64;

  latency_probe() noexcept { node_.func = &latency_probe::on_run; }
  latency_probe(const latency_probe&) = delete;
  latency_probe& operator=(const latency_probe&) = delete;

  /// Any thread: claims the probe (P1). True: the caller owns it until it
  /// pushes it (then the owner does) or unclaim()s it.
  bool try_claim() noexcept {
    // [P1] A relaxed load first: while a probe is in flight, samplers write
    // nothing. Then acquire: pairs with [P3]/[P4]'s release, so the owner's
    // last reads of the node and stamp happen-before our writes.
    if (busy_.load(std::memory_order_relaxed)) return false;  // [P1]
    return !busy_.exchange(true, std::memory_order_acquire);  // [P1]
  }

  /// The claimer, when the object turned out closed (P4): no push.
  void unclaim() noexcept { busy_.store(false, std::memory_order_release); }  // [P4]

  /// The probe's node (the owner's room count tells it from items).
  const node* hook() const noexcept { return &node_.hook; }

  /// The claimer, right before its push (P2): the stamp, and the node to push.
  node& stamp() noexcept {
    stamp_ = clock::now();
    return node_.hook;
  }

  /// Owner only: run_items() brackets its loop with these so that the
  /// probe, which runs among the items, is not counted as one, also when an
  /// item re-enters (a nested run() keeps its own count): begin() saves
  /// the count of the call around it and starts at zero; take() returns the
  /// probe runs since and restarts at zero; end() puts the saved count back.
  unsigned begin() noexcept {
    const unsigned outer = runs_;
    runs_ = 0;
    return outer;
  }
  unsigned take() noexcept {
    const unsigned n = runs_;
    if (n != 0) runs_ = 0;
    return n;
  }
  void end(unsigned outer) noexcept { runs_ = outer; }

  /// Any thread: the histogram, as a relaxed snapshot, bucket by bucket
  /// (not one consistent cut; `count` is the sum of the buckets read).
  template <class Snapshot>
  Snapshot snapshot() const noexcept {
    Snapshot s;
    static_assert(sizeof(s.buckets) / sizeof(s.buckets[0]) == bucket_count);
    for (int k = 0; k < bucket_count; ++k) {
      s.buckets[k] = bucket_[k].load(std::memory_order_relaxed);  // [P5]
      s.count += s.buckets[k];
    }
    s.max = std::chrono::nanoseconds(max_.load(std::memory_order_relaxed));  // [P5]
    return s;
  }

  /// The bucket of a latency of `ns` nanoseconds (>= 0).
  static int bucket_of(std::uint64_t ns) noexcept { return std::bit_width(ns); }

 private:
  // P3: the owner runs the node.
  static void on_run(Item& w, typename Item::run_state_type st) noexcept {
    latency_probe& self = *owner_of<latency_probe, Item, &latency_probe::node_>(&w);
    self.ran(st.cancel);
  }

  void ran(bool cancel) noexcept {
    if (!cancel) {
      const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - stamp_).count();
      const std::uint64_t ns = waited > 0 ? static_cast<std::uint64_t>(waited) : 0;
      std::atomic<std::uint64_t>& b = bucket_[bucket_of(ns)];
      // [P5] relaxed load + store: one writer (the owner), any reader.
      b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      if (ns > max_.load(std::memory_order_relaxed)) max_.store(ns, std::memory_order_relaxed);  // [P5]
    }
    ++runs_;
    // [P3] Release, last: pairs with the next claimer's [P1]; from here the
    // node may be pushed again (it was handed out before we were called).
    busy_.store(false, std::memory_order_release);
  }

  // --- the claim line: written by the claimer and by the owner once per
  // sample, never on the add path.
  alignas(cache_line) atomic<bool> busy_{false};
  clock::time_point stamp_{};
  Item node_{};
  // --- the owner's line(s): the probe runs of the current run_items() call,
  // and the histogram (read by latency() snapshots).
  alignas(cache_line) unsigned runs_ = 0;
  std::atomic<std::uint64_t> max_{0};
  std::atomic<std::uint64_t> bucket_[bucket_count] = {};
};

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_LATENCY_PROBE_HPP
