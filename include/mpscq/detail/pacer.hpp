// mpscq/detail/pacer.hpp - the consumer's pacing: how long a consumer that
// has just caught up with its producers waits before it reads the queue
// again (issue 19; consumer::poll() and local_work::wait() use it).
//
// WHY
//   A Vyukov consumer that keeps pace with a busy producer reads each node's
//   link while the producer is still writing the next one: the node's cache
//   line crosses between the two cores once or twice per item, and the
//   producer stalls on it. The Linux llist never has this contact: its
//   consumer takes a whole batch with one exchange and walks lines the
//   producers have finished with. A consumer that, after reaching the
//   producers' frontier, waits a few microseconds before it looks again
//   lets a batch build up behind the frontier, and then walks finished lines
//   too (measured on a ring of reused items: 0.13x llist's items without,
//   1.2-1.7x with; docs/api.md, "Which consumer").
//
// THE RULE (owner-only state, no atomics: nothing here is shared)
//   - Arming. A call that hands out nothing never arms the pause (an empty
//     poll is not traffic), and a call that stops at its `max` does not
//     either (more is queued: go on at once). A call that hands out items
//     and stops at the frontier (the queue emptied, or the next node is not
//     linked yet) arms it, with the current `pace`: the next call first
//     waits until `pace` nanoseconds after this one ended.
//   - Engaging. `pace` starts at 0. It becomes pace_step_ns when the
//     traffic between two frontier calls is heavy: at least one item per
//     heavy_traffic_ns. Below that the consumer keeps up item by item at a
//     cost the producers do not feel, and a pause would only add latency.
//   - Judging. A pause must pay for itself in items. At the frontier call
//     that ends a paced interval (pause plus drain), the traffic over that
//     interval must still be heavy, or `pace` drops to 0: in a closed loop
//     (a client re-adds only after its item ran) pausing the consumer only
//     slows the producers, and few items come in during the pause. While it
//     stays heavy, `pace` doubles (plus pace_step_ns), up to max_pace_ns.
//     A pause that really waits also compares the producers' tail before
//     and after it (one relaxed load each): if no push happened during it
//     (the consumer thread is its own producer, or traffic stopped), `pace`
//     drops to 0 at once. A drop skips engaging for the next 2, 4, ...,
//     1024 frontier calls (reset only by an interval that stays heavy with
//     the longest pause), so a thread that posts to itself, or a closed
//     loop, pays a few short pauses per 1024 catch-ups at most.
//   - The wait spins on the clock with the CPU's pause instruction: it is at
//     most max_pace_ns, far below a scheduler slice, and a sleep that short
//     would oversleep by the timer slack (50 us by default). A caller that
//     did other work in between waits only for what is left, or not at all
//     (and that pause is not judged).
//   Costs: items that arrive during a pause wait for it (at most
//   max_pace_ns, only under heavy traffic); the consumer's CPU spins for up
//   to max_pace_ns per frontier call; one clock read per frontier call and
//   two per pause, plus two tail loads per pause; nothing per item.
//
// Under the model checker the pacer is inert (no clock): paced calls are
// then exactly their unpaced counterparts, which is what the models check.
#ifndef MPSCQ_DETAIL_PACER_HPP
#define MPSCQ_DETAIL_PACER_HPP

#include <chrono>
#include <cstdint>

#include <mpscq/detail/atomic.hpp>

namespace mpscq::detail {

/// The pacer's clock: steady_clock in nanoseconds.
struct steady_ns {
  static std::uint64_t now() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
  }
};

/// The rule above, on a clock with a static now() in nanoseconds (tests
/// drive it with their own); `pacer` below is the library's.
template <class Clock>
class basic_pacer {
 public:
  /// The longest pause: 16 us. Long enough that one contact with the
  /// frontier (~1 us of line transfers) is spread over the batch that builds
  /// up meanwhile, short against a scheduler slice (~3 ms).
  static constexpr std::uint64_t max_pace_ns = 16384;
  /// Added on each doubling, so the pace leaves 0 at once.
  static constexpr std::uint64_t pace_step_ns = 1024;
  /// Heavy traffic: at least one item per 512 ns (2 M items/s) between two
  /// frontier calls. Below it the consumer keeps up item by item at a cost
  /// the producers do not feel, and pausing would only add latency.
  static constexpr std::uint64_t heavy_traffic_ns = 512;

  /// Called before a paced call reads the queue: waits out an armed pause,
  /// but never past `limit_ns` (a steady-clock time: the caller's own
  /// deadline), and judges it. `tail()` returns the producers' tail (a
  /// relaxed snapshot; any value that changes with every push). Disarms.
  template <class Tail>
  void wait_turn(Tail&& tail, std::uint64_t limit_ns = ~std::uint64_t{0}) noexcept {
    if (resume_ns_ == 0) return;
    const std::uint64_t until = resume_ns_ < limit_ns ? resume_ns_ : limit_ns;
    resume_ns_ = 0;
    if (now_ns() >= until) return;  // the caller's own work covered it: not judged
    const auto before = tail();
    while (now_ns() < until) cpu_relax();
    if (tail() == before) drop();  // nothing arrived: the pause only added latency
  }

  /// Called after a paced call: it handed out `n` items and stopped at the
  /// producers' frontier (`frontier`) or at its max (!frontier).
  void after(int n, bool frontier) noexcept {
    if constexpr (model_build) return;
    if (n <= 0) return;  // an empty poll is not traffic
    since_ += static_cast<std::uint64_t>(n);
    if (!frontier) return;  // more is queued: the next call goes on at once
    const std::uint64_t now = now_ns();
    const bool heavy = last_ns_ != 0 && since_ * heavy_traffic_ns >= now - last_ns_;
    if (pace_ != 0) {
      // The interval since the last frontier call held a pause: did the
      // traffic over it stay heavy?
      if (heavy) {
        // Only an interval that stays heavy with the longest pause proves
        // open traffic and forgets earlier misses; a closed loop never gets
        // there (its N outstanding items cover at most N * heavy_traffic_ns
        // of pause), so its misses add up and its probes grow rare.
        if (pace_ == max_pace_ns) misses_ = 0;
        pace_ = pace_ * 2 + pace_step_ns;
        if (pace_ > max_pace_ns) pace_ = max_pace_ns;
      } else {
        drop();
      }
    } else if (skip_ > 0) {
      --skip_;
    } else if (heavy) {
      pace_ = pace_step_ns;  // heavy traffic: try a pause
    }
    last_ns_ = now;
    since_ = 0;
    resume_ns_ = pace_ == 0 ? 0 : now + pace_;
  }

  /// The current pause (ns), for statistics and tests.
  std::uint64_t pace_ns() const noexcept { return pace_; }
  /// Whether the next call waits (until its time is reached).
  bool armed() const noexcept { return resume_ns_ != 0; }

  static std::uint64_t now_ns() noexcept { return Clock::now(); }

  /// Frontier calls left before pausing may engage again (tests).
  unsigned skip() const noexcept { return skip_; }

 private:
  // A pause that did not pay: stop pausing, and probe again only after
  // 2, 4, ..., 1024 frontier calls.
  void drop() noexcept {
    pace_ = 0;
    if (misses_ < max_misses) ++misses_;
    skip_ = 1u << misses_;
  }

  std::uint64_t resume_ns_ = 0;  // 0: not armed; else the next call waits until then
  std::uint64_t last_ns_ = 0;    // when the previous frontier call ended (0: none yet)
  std::uint64_t since_ = 0;      // items handed out since then
  std::uint64_t pace_ = 0;       // the current pause, ns
  unsigned misses_ = 0;          // pauses in a row that gained nothing
  unsigned skip_ = 0;            // frontier calls left before engaging again
  static constexpr unsigned max_misses = 10;  // skip at most 1024 frontier calls
};

using pacer = basic_pacer<steady_ns>;

}  // namespace mpscq::detail

#endif  // MPSCQ_DETAIL_PACER_HPP
