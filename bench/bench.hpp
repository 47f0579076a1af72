// bench/bench.hpp - what every part of mpscq-bench shares: the 64-byte item
// and its checks, clocks, CPU pinning, back-off, the options and run sizes,
// and the result store that prints tables and writes the CSV.
//
// Method (see bench/README.md): every contender runs inside every repetition,
// in a shuffled order, and each value is also divided by the reference
// contender's value from the same repetition; the tables report the median of
// those per-repetition ratios, which holds far better than absolute numbers
// on a noisy two-core VM.
#ifndef MPSCQ_BENCH_BENCH_HPP
#define MPSCQ_BENCH_BENCH_HPP

#include <mpscq/queue.hpp>
#include <mpscq/work.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace bench {

// ---------------------------------------------------------------------------
// Clock

inline std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// CPU time of the calling thread (user + system), in ns.
std::uint64_t thread_cpu_ns() noexcept;
// Voluntary context switches of the calling thread so far (each one a sleep).
long thread_voluntary_switches() noexcept;

// ---------------------------------------------------------------------------
// The item every queue contender moves: 64 bytes, one cache line. Intrusive
// contenders build their hook in `hook` when they push it (an mpscq::node or
// mpscq::work, a baseline::llist_work, liburcu's cds_wfcq_node: each fits); the others
// move the item's address. The producer writes producer/seq/data, the
// consumer reads them all and checks them.

struct alignas(64) item {
  alignas(8) unsigned char hook[24];      // the contender's intrusive hook, built in place
  std::uint32_t producer = 0;
  std::uint32_t flags = 0;                // item_end marks a producer's last item
  std::uint64_t seq = 0;
  std::uint64_t data[3] = {};
};
static_assert(sizeof(item) == 64, "one cache line per item");
static_assert(offsetof(item, hook) == 0, "the hook is the item's address");

// Builds a hook of type H in the item (ending whatever hook was there) and
// returns it; hook_item() goes back from a hook to its item.
template <class H>
inline H* make_hook(item* it) noexcept {
  static_assert(sizeof(H) <= sizeof(it->hook) && alignof(H) <= 8, "the hook fits");
  return ::new (static_cast<void*>(it->hook)) H;
}
template <class H>
inline item* hook_item(H* h) noexcept {
  return reinterpret_cast<item*>(reinterpret_cast<unsigned char*>(h));
}

inline constexpr std::uint32_t item_end = 1;

inline std::uint64_t mix(std::uint32_t producer, std::uint64_t seq) noexcept {
  return (seq * 0x9e3779b97f4a7c15ull) ^ (std::uint64_t{producer} << 40);
}

inline void fill(item& it, std::uint32_t producer, std::uint64_t seq) noexcept {
  it.producer = producer;
  it.flags = 0;
  it.seq = seq;
  const std::uint64_t m = mix(producer, seq);
  it.data[0] = m;
  it.data[1] = m + 1;
  it.data[2] = m + 2;
}

// The consumer's checks: per-producer sequence (no loss inside a producer's
// stream, no duplicate, no reorder) and the payload (no stale or torn item).
struct order_check {
  std::vector<std::uint64_t> next;
  std::uint64_t received = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t corrupt = 0;
  std::uint64_t sum = 0;  // keeps the payload reads alive

  explicit order_check(std::size_t producers = 1) : next(producers, 0) {}

  // Returns false on a violation (already counted).
  bool on(const item& it) noexcept {
    ++received;
    const std::uint64_t m = mix(it.producer, it.seq);
    sum += it.data[0] + it.data[1] + it.data[2];
    bool ok = true;
    if (it.data[0] != m || it.data[1] != m + 1 || it.data[2] != m + 2 || it.producer >= next.size()) {
      ++corrupt;
      return false;
    }
    std::uint64_t& expected = next[it.producer];
    if (it.seq != expected) {
      ++out_of_order;
      ok = false;
    }
    expected = it.seq + 1;
    return ok;
  }
  bool clean() const noexcept { return out_of_order == 0 && corrupt == 0; }
};

// Cache-line aligned array of items.
struct item_array {
  std::unique_ptr<item[]> p;
  std::size_t n = 0;
  explicit item_array(std::size_t count = 0) : p(count ? new item[count] : nullptr), n(count) {}
  item& operator[](std::size_t i) noexcept { return p[i]; }
  item* data() noexcept { return p.get(); }
};

// Where a threaded producer's recycled items lie (S2 both tables, S3, S7).
// Every such scenario runs both layouts in the same repetitions, so a table
// can show whether a contender's figure depends on the prefetcher.
//   ring:      the N slots are one array and are pushed in address order, so
//              consecutive pushes touch consecutive cache lines (the
//              hardware prefetchers follow that stream, for the producer that
//              fills and for the consumer that reads);
//   scattered: the N slots are N lines drawn at random, without repetition,
//              from a buffer scattered_spread times larger, and pushed in
//              that random order, so consecutive pushes touch unrelated lines
//              and mostly unrelated pages (as nodes from a long-lived heap do).
// Both go through the same table of slot addresses, so the layouts differ in
// the addresses only, not in the code that reaches them.
enum class item_layout { ring, scattered };
inline constexpr item_layout item_layouts[] = {item_layout::ring, item_layout::scattered};
inline constexpr std::size_t scattered_spread = 8;
inline const char* layout_name(item_layout l) noexcept { return l == item_layout::ring ? "ring" : "scattered"; }

struct item_slots {
  item_array storage;
  std::vector<item*> slot;  // slot i: the item a producer fills for its sequence numbers i, i + N, i + 2N, ...
  item_slots() = default;
  // N slots in layout `l`; `seed` draws the scattered choice and order.
  item_slots(std::size_t n, item_layout l, std::uint64_t seed);
  item& operator[](std::size_t i) noexcept { return *slot[i]; }
  std::size_t size() const noexcept { return slot.size(); }
};

// ---------------------------------------------------------------------------
// Threads

const std::vector<int>& allowed_cpus();
// Pins the calling thread; a negative cpu leaves it free. Returns false if the
// kernel refused.
bool pin_to(int cpu) noexcept;
// The CPU for role `index` (0 = consumer/owner, 1.. = producers) when pinned:
// producers go round-robin over every CPU but the consumer's, where possible.
int cpu_for(int index) noexcept;

// How every polling loop of the bench waits (each contender's producer when
// full or out of slots, its consumer when empty): spin with a pause, and give
// the CPU away only rarely - one sched_yield per `yield_every` pauses, then
// spin again - as a real polling consumer does. Never a yield per poll: with
// another runnable thread on the CPU (--load, other builds) each sched_yield
// hands it a whole time slice, so a loop that yields on every empty poll
// measures the scheduler, not the queue. Threads pinned to their own CPU
// yield once per 16384 pauses (~0.4 ms of pauses here, more with the polls
// between them); oversubscribed threads (S3: more threads than CPUs) once
// per 64 (~2 us), because the thread they wait for may need their CPU.
// bench/README.md, "Polling loops", has the reasons and the figures.
struct backoff {
  static constexpr unsigned pinned_yield_every = 1u << 14;
  static constexpr unsigned shared_yield_every = 64;
  static_assert((pinned_yield_every & (pinned_yield_every - 1)) == 0 &&
                    (shared_yield_every & (shared_yield_every - 1)) == 0,
                "powers of two: pause() masks the count");
  unsigned mask = shared_yield_every - 1;
  unsigned n = 0;  // pauses since the last reset (wraps; only its low bits matter)
  backoff() = default;
  explicit backoff(bool pinned) : mask((pinned ? pinned_yield_every : shared_yield_every) - 1) {}
  void pause() noexcept;  // one cpu pause, or every yield_every-th call one sched_yield instead
  void reset() noexcept { n = 0; }
};

// --load N: N busy threads (normal priority, unpinned) burning CPU in a loop
// that touches no shared memory but its stop flag (read once per ~65k
// iterations), from start() until stop(). They stand for the other work of
// a loaded machine (compilers, other services).
class busy_load {
 public:
  busy_load() = default;
  busy_load(const busy_load&) = delete;
  busy_load& operator=(const busy_load&) = delete;
  ~busy_load() { stop(); }
  void start(int threads);
  // Stops and joins them (idempotent); returns the CPU seconds they got.
  double stop();
  int threads() const noexcept { return static_cast<int>(threads_.size()); }
  double wall_s() const noexcept { return wall_s_; }

 private:
  struct alignas(64) slot {
    std::uint64_t cpu_ns = 0;
    std::uint64_t sink = 0;
  };
  std::vector<std::thread> threads_;
  std::unique_ptr<slot[]> slots_;
  alignas(64) std::atomic<bool> stop_{false};
  std::uint64_t t_start_ = 0;
  double cpu_s_ = 0, wall_s_ = 0;
};

// A start line: every thread checks in, then all go at once.
struct start_line {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  void arrive_and_wait() noexcept;
  void release_when(int count) noexcept;  // called by the controlling thread
};

// ---------------------------------------------------------------------------
// Options, sizes

struct options {
  bool smoke = false;
  bool full = false;
  int reps = 5;
  std::set<std::string> only;      // empty: all scenarios
  std::string csv;
  std::string plot;
  int producers = 0;               // S7's P; 0: cores - 1 clamped to [1, 15]
  std::string valgrind;            // "", "callgrind" or "cachegrind": the deterministic mode
  std::uint64_t seed = 0;
  bool inject_fault = false;       // add a deliberately broken contender (checks the checks)
  int load = 0;                    // --load N: busy threads running during every case
  std::vector<std::string> contenders;  // --contenders: lower-case name substrings; empty: all

  // Whether the contender named `name` is selected by --contenders.
  bool wants_contender(const std::string& name) const;

  bool wants(const std::string& scenario) const { return only.empty() || only.count(scenario) != 0; }
};

struct sizes {
  double s1_ms;                    // per S1 measurement
  std::vector<std::size_t> s1_n;
  double mt_ms;                    // per threaded throughput measurement (S2, S3, S7)
  std::uint64_t mt_max_items;      // cap on items per threaded measurement
  std::size_t ring;                // per-producer recycling ring (items)
  std::size_t s4_warm_drains;      // timed drains per S4 contiguous measurement
  std::size_t s4_cold_rounds;      // flush+drain rounds per S4 scattered measurement
  std::size_t s4_arena_mib;        // scattered arena
  std::size_t s4_flush_mib;        // buffer touched to flush caches
  double s5_ms;                    // per S5 measurement
  std::uint64_t s5_max_items;
  std::size_t s6_samples;          // latency samples per contender per rep
  std::size_t s6_cycles;           // lazy wait cycles per contender per rep
  int s6_batch;                    // min_events of a lazy wait cycle
  std::size_t handoff_trials;      // probe
  std::size_t capacity = 65536;    // bounded contenders' capacity
};

sizes sizes_for(const options& o);

// ---------------------------------------------------------------------------
// Results

enum class better { lower, higher };

struct guarantees {
  const char* fifo;       // "global", "per-producer", ...
  const char* bound;      // "unbounded", "bounded 65536", ...
  bool intrusive;
  const char* progress;   // "wait-free push, lock-free pop", "mutex", ...
};

class results {
 public:
  // `layout`: the item layout (layout_name()) of scenarios that run both,
  // "" elsewhere. Rows of different layouts never meet: each layout has its
  // own reference row per repetition.
  void add(const std::string& scenario, const std::string& case_name, const std::string& contender,
           const std::string& metric, const std::string& unit, better dir, int rep, double value,
           const std::string& layout = "");
  // A violation or other fact that must not be hidden: printed now and in the summary.
  void violation(const std::string& scenario, const std::string& contender, const std::string& what);
  void note(const std::string& text);  // printed in the summary
  // Prints one table: every case and contender of `metric` in `scenario`, with
  // median/min/max and the median of per-repetition ratios to `reference`
  // (within the row's layout). Where rows carry a layout, every row names it,
  // and scattered rows add the median of per-repetition scattered / ring
  // ratios of the same contender.
  void print_table(const std::string& scenario, const std::string& metric, const std::string& reference,
                   const std::string& title, int precision = 2) const;
  // Median over repetitions (NaN if absent).
  double median(const std::string& scenario, const std::string& case_name, const std::string& contender,
                const std::string& metric, const std::string& layout = "") const;
  double ratio_median(const std::string& scenario, const std::string& case_name,
                      const std::string& contender, const std::string& metric,
                      const std::string& reference, const std::string& layout = "") const;
  // Prints one line per case, layout and contender of `scenario` that has
  // rows of the first metric: the median over repetitions of each metric
  // (header, metric, scale: value shown = median * scale; "-" where absent).
  struct column {
    std::string header, metric;
    double scale = 1;
  };
  void print_medians(const std::string& scenario, const std::vector<column>& columns, const std::string& title,
                     int precision = 1) const;
  void set_reference(const std::string& scenario, const std::string& reference) { refs_[scenario] = reference; }
  // Tables list contenders in the order they were declared (registration
  // order), not in the shuffled order they first ran.
  void declare(const std::string& contender) {
    if (std::find(order_.begin(), order_.end(), contender) == order_.end()) order_.push_back(contender);
  }
  bool write_csv(const std::string& path) const;
  std::size_t violations() const { return violations_.size(); }
  void print_summary() const;

 private:
  struct row {
    std::string scenario, case_name, contender, metric, unit;
    better dir;
    int rep;
    double value;
    std::string layout;
  };
  // Median of per-repetition value(contender, layout) / value(reference, ref_layout).
  double ratio_median_of(const std::string& scenario, const std::string& case_name, const std::string& contender,
                         const std::string& metric, const std::string& layout, const std::string& reference,
                         const std::string& ref_layout) const;
  std::vector<row> rows_;
  std::vector<std::string> violations_;
  std::vector<std::string> notes_;
  std::map<std::string, std::string> refs_;
  static int name_width(const std::vector<std::string>& names);
  std::vector<std::string> order_;
  mutable std::mutex m_;
  friend struct results_access;
};

// Progress on stderr: one line, rewritten in place on a terminal.
void progress(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_done();

struct stats {
  double median, min, max, p99, mean;
  double low_mean;  // mean of the lowest 95%: interrupts only ever add time, and
                    // averaging dithers the clock's ~10 ns granularity away
};
stats summarize(std::vector<double> v);

// Sleeps until `ms` have passed or done() is true (checked every 0.5 ms).
template <class Done>
void sleep_until_or(double ms, Done&& done) {
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(ms * 1e6);
  while (now_ns() < deadline && !done()) std::this_thread::sleep_for(std::chrono::microseconds(500));
}

// Shuffled order of n contenders for one repetition.
std::vector<std::size_t> shuffled(std::size_t n, std::mt19937_64& rng);

// Flush the data caches by touching a big buffer (allocated once).
void flush_caches(std::size_t mib);

}  // namespace bench

#endif  // MPSCQ_BENCH_BENCH_HPP
