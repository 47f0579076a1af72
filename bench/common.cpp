// bench/common.cpp - clocks, pinning, back-off, sizes, the result store.
#include "bench.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdarg>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>

namespace bench {

std::uint64_t thread_cpu_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

long thread_voluntary_switches() noexcept {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nvcsw;
}

const std::vector<int>& allowed_cpus() {
  static const std::vector<int> cpus = [] {
    std::vector<int> v;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) v.push_back(c);
    }
    if (v.empty()) v.push_back(0);
    return v;
  }();
  return cpus;
}

bool pin_to(int cpu) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0) {
    for (int c : allowed_cpus()) CPU_SET(c, &set);
  } else {
    CPU_SET(cpu, &set);
  }
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

int cpu_for(int index) noexcept {
  const auto& cpus = allowed_cpus();
  const int n = static_cast<int>(cpus.size());
  if (index == 0 || n == 1) return cpus[0];
  return cpus[static_cast<std::size_t>(1 + (index - 1) % (n - 1))];
}

void backoff::pause() noexcept {
  if ((++n & mask) != 0) {
    mpscq::detail::cpu_relax();
  } else {
    sched_yield();
  }
}

void busy_load::start(int threads) {
  stop();
  stop_.store(false, std::memory_order_relaxed);
  slots_ = std::make_unique<slot[]>(static_cast<std::size_t>(std::max(threads, 1)));
  cpu_s_ = wall_s_ = 0;
  t_start_ = now_ns();
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i] {
      // xorshift64 in a register: no memory traffic at all inside the inner
      // loop, and a dependency chain the compiler cannot fold away.
      std::uint64_t x = 0x9e3779b97f4a7c15ull + static_cast<std::uint64_t>(i);
      while (!stop_.load(std::memory_order_relaxed)) {
        for (int k = 0; k < (1 << 16); ++k) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          asm volatile("" : "+r"(x));
        }
      }
      slots_[static_cast<std::size_t>(i)].sink = x;
      slots_[static_cast<std::size_t>(i)].cpu_ns = thread_cpu_ns();
    });
  }
}

double busy_load::stop() {
  if (threads_.empty()) return cpu_s_;
  stop_.store(true, std::memory_order_relaxed);
  for (auto& t : threads_) t.join();
  wall_s_ = static_cast<double>(now_ns() - t_start_) / 1e9;
  std::uint64_t cpu = 0;
  for (std::size_t i = 0; i < threads_.size(); ++i) cpu += slots_[i].cpu_ns;
  cpu_s_ = static_cast<double>(cpu) / 1e9;
  threads_.clear();
  return cpu_s_;
}

bool options::wants_contender(const std::string& name) const {
  if (contenders.empty()) return true;
  std::string lower = name;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const std::string& c : contenders)
    if (lower.find(c) != std::string::npos) return true;
  return false;
}

void start_line::arrive_and_wait() noexcept {
  ready.fetch_add(1, std::memory_order_acq_rel);
  while (!go.load(std::memory_order_acquire)) mpscq::detail::cpu_relax();
}

void start_line::release_when(int count) noexcept {
  while (ready.load(std::memory_order_acquire) < count) std::this_thread::yield();
  go.store(true, std::memory_order_release);
}

sizes sizes_for(const options& o) {
  sizes s{};
  if (o.smoke) {
    s.s1_ms = 0.2;
    s.s1_n = {8, 1024, 4096};
    s.mt_ms = 200;
    s.mt_max_items = 4000;
    s.ring = 1024;
    s.s4_warm_drains = 20;
    s.s4_cold_rounds = 1;
    s.s4_arena_mib = 4;
    s.s4_flush_mib = 4;
    s.s5_ms = 200;
    s.s5_max_items = 3000;
    s.s6_samples = 50;
    s.s6_cycles = 10;
    s.s6_batch = 8;
    s.handoff_trials = 5;
    s.capacity = 4096;
  } else if (o.full) {
    s.s1_ms = 80;
    s.s1_n = {8, 1024, 65536};
    s.mt_ms = 1000;
    s.mt_max_items = 1'000'000'000;
    s.ring = 16384;
    s.s4_warm_drains = 20000;
    s.s4_cold_rounds = 8;
    s.s4_arena_mib = 64;
    s.s4_flush_mib = 96;
    s.s5_ms = 1500;
    s.s5_max_items = 200'000'000;
    s.s6_samples = 10000;
    s.s6_cycles = 1000;
    s.s6_batch = 16;
    s.handoff_trials = 41;
  } else {
    s.s1_ms = 30;
    s.s1_n = {8, 1024, 65536};
    s.mt_ms = 450;
    s.mt_max_items = 200'000'000;
    s.ring = 16384;
    s.s4_warm_drains = 4000;
    s.s4_cold_rounds = 3;
    s.s4_arena_mib = 64;
    s.s4_flush_mib = 96;
    s.s5_ms = 600;
    s.s5_max_items = 60'000'000;
    s.s6_samples = 4000;
    s.s6_cycles = 150;
    s.s6_batch = 16;
    s.handoff_trials = 21;
  }
  return s;
}

// ---------------------------------------------------------------------------

stats summarize(std::vector<double> v) {
  stats s{std::nan(""), std::nan(""), std::nan(""), std::nan(""), std::nan(""), std::nan("")};
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  s.p99 = v[std::min(n - 1, static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n))) - 1)];
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(n);
  const std::size_t keep = std::max<std::size_t>(1, n - n / 20);
  double low = 0;
  for (std::size_t i = 0; i < keep; ++i) low += v[i];
  s.low_mean = low / static_cast<double>(keep);
  return s;
}

std::vector<std::size_t> shuffled(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

item_slots::item_slots(std::size_t n, item_layout l, std::uint64_t seed) : slot(n) {
  if (l == item_layout::ring) {
    storage = item_array(n);
    for (std::size_t i = 0; i < n; ++i) slot[i] = &storage[i];
    return;
  }
  // The first n steps of a Fisher-Yates shuffle of the buffer's line
  // indices: n distinct lines, uniformly chosen, in a uniformly random order.
  const std::size_t lines = n * scattered_spread;
  storage = item_array(lines);
  std::vector<std::uint32_t> index(lines);
  for (std::size_t i = 0; i < lines; ++i) index[i] = static_cast<std::uint32_t>(i);
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    std::uniform_int_distribution<std::size_t> pick(i, lines - 1);
    std::swap(index[i], index[pick(rng)]);
    slot[i] = &storage[index[i]];
  }
}

void flush_caches(std::size_t mib) {
  static std::vector<std::uint64_t> buffer;
  const std::size_t words = mib * 1024 * 1024 / sizeof(std::uint64_t);
  if (buffer.size() < words) buffer.assign(words, 1);
  // Write one word per cache line: every line of the buffer is brought in
  // and dirtied, which evicts whatever the caches held before.
  for (std::size_t i = 0; i < words; i += 8) buffer[i] += i;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

// ---------------------------------------------------------------------------
// Progress

namespace {
std::uint64_t g_start = now_ns();
bool g_tty = isatty(2) != 0;
bool g_pending = false;
}  // namespace

void progress(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  const double t = static_cast<double>(now_ns() - g_start) / 1e9;
  if (g_tty) {
    std::fprintf(stderr, "\r\033[K[%6.1fs] %s", t, buf);
    g_pending = true;
  } else {
    std::fprintf(stderr, "[%6.1fs] %s\n", t, buf);
  }
  std::fflush(stderr);
}

void progress_done() {
  if (g_tty && g_pending) std::fprintf(stderr, "\r\033[K");
  g_pending = false;
  std::fflush(stderr);
}

// ---------------------------------------------------------------------------
// Results

void results::add(const std::string& scenario, const std::string& case_name, const std::string& contender,
                  const std::string& metric, const std::string& unit, better dir, int rep, double value,
                  const std::string& layout) {
  std::lock_guard<std::mutex> lock(m_);
  rows_.push_back(row{scenario, case_name, contender, metric, unit, dir, rep, value, layout});
}

void results::violation(const std::string& scenario, const std::string& contender, const std::string& what) {
  std::string line = scenario + " " + contender + ": " + what;
  {
    std::lock_guard<std::mutex> lock(m_);
    violations_.push_back(line);
  }
  progress_done();
  std::printf("VIOLATION %s\n", line.c_str());
  std::fprintf(stderr, "VIOLATION %s\n", line.c_str());
  std::fflush(stdout);
}

void results::note(const std::string& text) {
  std::lock_guard<std::mutex> lock(m_);
  notes_.push_back(text);
}

double results::median(const std::string& scenario, const std::string& case_name, const std::string& contender,
                       const std::string& metric, const std::string& layout) const {
  std::vector<double> v;
  for (const row& r : rows_)
    if (r.scenario == scenario && r.case_name == case_name && r.contender == contender && r.metric == metric &&
        r.layout == layout)
      v.push_back(r.value);
  return summarize(v).median;
}

double results::ratio_median(const std::string& scenario, const std::string& case_name,
                             const std::string& contender, const std::string& metric,
                             const std::string& reference, const std::string& layout) const {
  return ratio_median_of(scenario, case_name, contender, metric, layout, reference, layout);
}

double results::ratio_median_of(const std::string& scenario, const std::string& case_name,
                                const std::string& contender, const std::string& metric,
                                const std::string& layout, const std::string& reference,
                                const std::string& ref_layout) const {
  std::map<int, double> ref;
  for (const row& r : rows_)
    if (r.scenario == scenario && r.case_name == case_name && r.contender == reference && r.metric == metric &&
        r.layout == ref_layout)
      ref[r.rep] = r.value;
  std::vector<double> ratios;
  for (const row& r : rows_) {
    if (r.scenario != scenario || r.case_name != case_name || r.contender != contender || r.metric != metric ||
        r.layout != layout)
      continue;
    auto it = ref.find(r.rep);
    if (it != ref.end() && it->second != 0 && !std::isnan(it->second) && !std::isnan(r.value))
      ratios.push_back(r.value / it->second);
  }
  return summarize(ratios).median;
}

void results::print_table(const std::string& scenario, const std::string& metric, const std::string& reference,
                          const std::string& title, int precision) const {
  std::vector<std::string> cases, contenders, layouts;
  std::string unit;
  better dir = better::lower;
  for (const row& r : rows_) {
    if (r.scenario != scenario || r.metric != metric) continue;
    if (std::find(cases.begin(), cases.end(), r.case_name) == cases.end()) cases.push_back(r.case_name);
    if (std::find(contenders.begin(), contenders.end(), r.contender) == contenders.end())
      contenders.push_back(r.contender);
    if (std::find(layouts.begin(), layouts.end(), r.layout) == layouts.end()) layouts.push_back(r.layout);
    unit = r.unit;
    dir = r.dir;
  }
  if (cases.empty()) return;
  std::stable_sort(contenders.begin(), contenders.end(), [&](const std::string& a, const std::string& b) {
    auto rank = [&](const std::string& x) {
      return static_cast<std::size_t>(std::find(order_.begin(), order_.end(), x) - order_.begin());
    };
    return rank(a) < rank(b);
  });
  // "" (no layout), then "ring", then "scattered": the order they sort in.
  std::sort(layouts.begin(), layouts.end());
  const bool with_layout = layouts.size() > 1 || !layouts.front().empty();
  const int nw = name_width(contenders);
  const bool with_vs_ring =
      std::find(layouts.begin(), layouts.end(), layout_name(item_layout::ring)) != layouts.end() && layouts.size() > 1;
  std::printf("\n%s\n", title.c_str());
  std::printf("  %s (%s is better); ratio = value / %s's in the same repetition%s, median over repetitions\n",
              unit.c_str(), dir == better::lower ? "lower" : "higher", reference.c_str(),
              with_layout ? " and layout" : "");
  if (with_vs_ring)
    std::printf("  vs ring = the same contender's scattered / ring value in the same repetition, median over "
                "repetitions\n");
  if (with_layout)
    std::printf("  %-20s %-9s %-*s %12s %12s %12s %8s %8s %5s\n", "case", "layout", nw, "contender", "median", "min",
                "max", "ratio", with_vs_ring ? "vs ring" : "", "reps");
  else
    std::printf("  %-20s %-*s %12s %12s %12s %8s %5s\n", "case", nw, "contender", "median", "min", "max", "ratio",
                "reps");
  auto fmt_ratio = [](double x, char* buf, std::size_t n) {
    if (std::isnan(x))
      std::snprintf(buf, n, "-");
    else
      std::snprintf(buf, n, "%.2f", x);
  };
  for (const std::string& c : cases) {
    bool first = true;
    for (const std::string& l : layouts) {
      for (const std::string& k : contenders) {
        std::vector<double> v;
        for (const row& r : rows_)
          if (r.scenario == scenario && r.metric == metric && r.case_name == c && r.contender == k && r.layout == l)
            v.push_back(r.value);
        if (v.empty()) continue;
        stats s = summarize(v);
        char rbuf[32], vbuf[32];
        fmt_ratio(ratio_median(scenario, c, k, metric, reference, l), rbuf, sizeof rbuf);
        vbuf[0] = 0;
        if (with_vs_ring && l != layout_name(item_layout::ring))
          fmt_ratio(ratio_median_of(scenario, c, k, metric, l, k, layout_name(item_layout::ring)), vbuf,
                    sizeof vbuf);
        if (with_layout)
          std::printf("  %-20s %-9s %-*s %12.*f %12.*f %12.*f %8s %8s %5zu\n", first ? c.c_str() : "", l.c_str(),
                      nw, k.c_str(), precision, s.median, precision, s.min, precision, s.max, rbuf, vbuf, v.size());
        else
          std::printf("  %-20s %-*s %12.*f %12.*f %12.*f %8s %5zu\n", first ? c.c_str() : "", nw, k.c_str(),
                      precision, s.median, precision, s.min, precision, s.max, rbuf, v.size());
        first = false;
      }
    }
  }
  std::fflush(stdout);
}

void results::print_medians(const std::string& scenario, const std::vector<column>& columns,
                            const std::string& title, int precision) const {
  if (columns.empty()) return;
  std::vector<std::string> cases, contenders, layouts;
  for (const row& r : rows_) {
    if (r.scenario != scenario || r.metric != columns.front().metric) continue;
    if (std::find(cases.begin(), cases.end(), r.case_name) == cases.end()) cases.push_back(r.case_name);
    if (std::find(contenders.begin(), contenders.end(), r.contender) == contenders.end())
      contenders.push_back(r.contender);
    if (std::find(layouts.begin(), layouts.end(), r.layout) == layouts.end()) layouts.push_back(r.layout);
  }
  if (cases.empty()) return;
  std::stable_sort(contenders.begin(), contenders.end(), [&](const std::string& a, const std::string& b) {
    auto rank = [&](const std::string& x) {
      return static_cast<std::size_t>(std::find(order_.begin(), order_.end(), x) - order_.begin());
    };
    return rank(a) < rank(b);
  });
  std::sort(layouts.begin(), layouts.end());
  std::printf("%s\n", title.c_str());
  const int nw = name_width(contenders);
  std::printf("  %-20s %-9s %-*s", "case", "layout", nw, "contender");
  for (const column& c : columns) std::printf(" %*s", std::max(8, static_cast<int>(c.header.size())), c.header.c_str());
  std::printf("\n");
  for (const std::string& c : cases) {
    bool first = true;
    for (const std::string& l : layouts) {
      for (const std::string& k : contenders) {
        if (std::isnan(median(scenario, c, k, columns.front().metric, l))) continue;
        std::printf("  %-20s %-9s %-*s", first ? c.c_str() : "", l.c_str(), nw, k.c_str());
        for (const column& col : columns) {
          const int w = std::max(8, static_cast<int>(col.header.size()));
          const double v = median(scenario, c, k, col.metric, l);
          if (std::isnan(v))
            std::printf(" %*s", w, "-");
          else
            std::printf(" %*.*f", w, precision, v * col.scale);
        }
        std::printf("\n");
        first = false;
      }
    }
  }
  std::fflush(stdout);
}

// The contender column's width: 34, or the longest name in the table (the
// polled local_work rows' names are longer).
int results::name_width(const std::vector<std::string>& names) {
  std::size_t w = 34;
  for (const std::string& n : names) w = std::max(w, n.size());
  return static_cast<int>(w);
}

bool results::write_csv(const std::string& path) const {
  std::ofstream f(path);
  if (!f) return false;
  // `layout` is the last column (added after the others): readers of the
  // older ten-column files, by name or by position, read these unchanged.
  // It is "ring" or "scattered" in the scenarios that run both item layouts
  // (S2, S2b, S3, S7), empty elsewhere; ratio_to_reference is then to the
  // reference's row of the same layout.
  f << "scenario,case,contender,metric,unit,better,rep,value,ratio_to_reference,reference,layout\n";
  // Rows grouped by scenario, metric, case (in first-run order) and layout
  // (ring before scattered), then by contender in declared order, then
  // repetition.
  auto key = [](const row& r) { return r.scenario + '\x1f' + r.metric + '\x1f' + r.case_name; };
  std::vector<std::string> keys;
  for (const row& r : rows_) {
    const std::string k = key(r);
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  auto rank = [&](const std::string& c) {
    return static_cast<std::size_t>(std::find(order_.begin(), order_.end(), c) - order_.begin());
  };
  std::vector<row> sorted = rows_;
  std::stable_sort(sorted.begin(), sorted.end(), [&](const row& a, const row& b) {
    const auto ka = std::find(keys.begin(), keys.end(), key(a));
    const auto kb = std::find(keys.begin(), keys.end(), key(b));
    if (ka != kb) return ka < kb;
    if (a.layout != b.layout) return a.layout < b.layout;
    if (rank(a.contender) != rank(b.contender)) return rank(a.contender) < rank(b.contender);
    return a.rep < b.rep;
  });
  for (const row& r : sorted) {
    auto rit = refs_.find(r.scenario);
    std::string ref = rit == refs_.end() ? "" : rit->second;
    double ratio = std::nan("");
    for (const row& q : rows_)
      if (q.scenario == r.scenario && q.case_name == r.case_name && q.metric == r.metric && q.rep == r.rep &&
          q.layout == r.layout && q.contender == ref && q.value != 0)
        ratio = r.value / q.value;
    auto quote = [](const std::string& s) {
      if (s.find_first_of(",\"") == std::string::npos) return s;
      std::string o = "\"";
      for (char c : s) {
        if (c == '"') o += '"';
        o += c;
      }
      return o + "\"";
    };
    char vbuf[64], rbuf[64];
    std::snprintf(vbuf, sizeof vbuf, "%.6g", r.value);
    if (std::isnan(ratio))
      rbuf[0] = 0;
    else
      std::snprintf(rbuf, sizeof rbuf, "%.6g", ratio);
    f << quote(r.scenario) << ',' << quote(r.case_name) << ',' << quote(r.contender) << ',' << quote(r.metric)
      << ',' << quote(r.unit) << ',' << (r.dir == better::lower ? "lower" : "higher") << ',' << r.rep << ','
      << vbuf << ',' << rbuf << ',' << quote(ref) << ',' << quote(r.layout) << '\n';
  }
  return static_cast<bool>(f);
}

void results::print_summary() const {
  if (!notes_.empty()) {
    std::printf("\nNotes:\n");
    for (const auto& n : notes_) std::printf("  - %s\n", n.c_str());
  }
  if (violations_.empty()) {
    std::printf("\nViolations: none (every contender's count, per-producer order and payload checked)\n");
  } else {
    std::printf("\nVIOLATIONS (%zu):\n", violations_.size());
    for (const auto& v : violations_) std::printf("  %s\n", v.c_str());
  }
  std::fflush(stdout);
}

}  // namespace bench
