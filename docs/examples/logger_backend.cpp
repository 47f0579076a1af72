// docs/examples/logger_backend.cpp - a logger's backend on mpscq::local_work:
// any thread logs (one allocation it already makes, no lock, usually no
// syscall), one backend thread writes in batches and sleeps in between, a
// stop from outside with interrupt(), and nothing lost at shutdown - records
// still queued, and records logged while the logger shuts down, are written
// too. Shown in docs/api.md ("A logger's backend"); built and run as the CTest
// tests doc_logger_backend (unbounded), doc_logger_backend_block and
// doc_logger_backend_drop. Exits non-zero if a record is lost, doubled or
// out of order, or if the counts below disagree.
//
// Why local_work and not a typed channel: a log record is already a heap
// object the producer builds, so the work item lives inside it (no second
// allocation, no copy into a node), and local_work's sleeping consumer is
// the library's one proven wait protocol (countdown wakes: a burst of N lazy
// records costs one futex wake; see docs/api.md).
//
// Bounded mode (mpscq/bounded.hpp, local_work_options::limit): at most LIMIT
// records accepted and not yet written, in one of the two policies loggers
// ask for when the backend cannot keep up:
//   block  the logging thread waits for room (quill's blocking queue,
//          spdlog's overflow_policy::block): nothing is dropped, a slow sink
//          slows the application down;
//   drop   the record is discarded and counted (spdlog's
//          overflow_policy::discard_new): the application never waits, the
//          backend reports how many records it lost.
//
// Usage: logger_backend [unbounded | block LIMIT | drop LIMIT] [THREADS [RECORDS [stop-early]]]
//   default: unbounded 4 5000 (4 threads log 5000 records each)
//   e.g.     logger_backend block 256 4 200000
//            logger_backend drop 256 4 200000
//   stop-early: main stops the logger while the threads still log (the
//   shutdown path: producers waiting for room get "closed", records logged
//   after the stop are written by log() itself); then each record is checked
//   once, without the per-thread order (see logger::stop()).
#include <mpscq/bounded.hpp>
#include <mpscq/local_work.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// What log() does when the queue is full (only with a limit).
enum class overflow { unbounded, block, drop };

// How many records wake the backend. With a limit, wake it when the queue is
// half full, never at more than the limit: a lazy add only counts towards the
// wait's min_events, and room comes back only when a backend pass has run, so
// with min_events > limit the producers would sit at the limit until min_wait
// (2 ms) woke the backend.
int batch_for(std::uint32_t limit) {
  if (limit == 0) return 64;
  return static_cast<int>(std::clamp<std::uint32_t>(limit / 2, 1, 64));
}

class logger {
 public:
  // limit 0: unbounded (policy ignored). Otherwise at most `limit` records
  // are queued; `policy` says what a log() that finds no room does.
  logger(std::FILE* sink, std::uint32_t limit, overflow policy)
      : sink_(sink),
        policy_(limit == 0 ? overflow::unbounded : policy),
        lw_(options_for(limit)),
        batch_(batch_for(limit)),
        backend_([this] { backend_loop(); }) {}

  // Stops the backend (see stop()).
  ~logger() { stop(); }

  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  // Any thread. Lazy: the backend is woken once per batch (batch_ records,
  // or 2 ms after the first one - the wait() below), not once per record.
  void log(std::string text) {
    auto* r = new record{{}, std::move(text), this};
    r->tw.func = &record::write;
    switch (policy_) {
      case overflow::unbounded:
        lw_.add(r->tw, mpscq::wake::lazy);  // never refused; after close() it writes r here
        return;
      case overflow::block:
        return log_or_wait(r);
      case overflow::drop:
        return log_or_drop(r);
    }
  }

  // Stops the backend: it writes what is queued, closes (records that are
  // still arriving are written by their own log() call), and exits; a
  // producer waiting for room gets "closed" and writes its record itself.
  // Ordering: each thread's records are written in its order if they were
  // logged before the stop. A record logged while the logger stops is
  // written at once by its own log() call, so it may come out before that
  // thread's older records that close() is still writing. Lifetime: a log()
  // must not begin once the destructor is past stop() (the members are being
  // destroyed): stop the logging threads first, as with any object.
  void stop() {
    if (!backend_.joinable()) return;
    stop_.store(true, std::memory_order_relaxed);  // seen by the backend: interrupt() orders it
    lw_.interrupt();                               // ends the backend's current (or next) wait()
    backend_.join();
  }

  // The figures, exact once the logging threads are joined and stop() has
  // returned (before that, relaxed snapshots).
  struct figures {
    std::uint64_t written;        // records written to the sink
    std::uint64_t dropped;        // drop: records discarded because the queue was full
    std::uint64_t waits;          // block: log() calls that found it full and waited
    double waited_ms;             // block: the time they waited, all threads together
    std::uint64_t closed_inline;  // log() found the logger closed and wrote the record itself
    std::uint64_t max_batch;      // the most records one wait() of the backend wrote
    mpscq::local_work_stats stats;
  };
  figures report() const {
    return {written_.load(std::memory_order_relaxed),
            dropped_.load(std::memory_order_relaxed),
            waits_.load(std::memory_order_relaxed),
            static_cast<double>(waited_ns_.load(std::memory_order_relaxed)) / 1e6,
            closed_inline_.load(std::memory_order_relaxed) + lw_.stats().cancelled_inline,
            max_batch_.load(std::memory_order_relaxed),
            lw_.stats()};
  }

 private:
  struct record {
    mpscq::work tw;
    std::string text;
    logger* owner;

    // On the backend thread (cancel == false), or with cancel == true: in
    // close()'s drain (backend thread) or, after close, inline in log() on
    // the logging thread. A logger writes the record either way: "cancel"
    // means the backend is going away, not that the record is unwanted.
    static void write(mpscq::work& w, mpscq::run_state) noexcept {
      std::unique_ptr<record> r(&mpscq::container_of<&record::tw>(w));
      r->owner->write_line(r->text);
    }
  };

  static mpscq::local_work_options options_for(std::uint32_t limit) {
    mpscq::local_work_options o;
    o.limit = limit;  // 0: no limit, and add() costs what it always did
    return o;
  }

  // Block: try_add() first, so the common case (room) costs no clock read;
  // only a log() that finds the queue full times its wait. try_add_for()
  // with nanoseconds::max() waits for room without a deadline: it returns
  // added, or closed once the logger stops (then the record is still ours).
  // (A deadline would be try_add_for(w, 10ms): timed_out leaves the record
  // with the caller, to drop and count, or to write here.)
  void log_or_wait(record* r) {
    mpscq::add_status s = lw_.try_add(r->tw, mpscq::wake::lazy);
    if (s == mpscq::add_status::full) {
      const clock_type::time_point t0 = clock_type::now();
      s = lw_.try_add_for(r->tw, std::chrono::nanoseconds::max(), mpscq::wake::lazy);
      const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0);
      waits_.fetch_add(1, std::memory_order_relaxed);
      waited_ns_.fetch_add(static_cast<std::uint64_t>(waited.count()), std::memory_order_relaxed);
    }
    if (s == mpscq::add_status::added) return;
    write_inline(r);  // closed: the backend is gone, so write it here, as add() would
  }

  // Drop: try_add() once. Full: the record was not queued and is untouched,
  // so it is simply freed and counted (a real logger might count per level).
  void log_or_drop(record* r) {
    const mpscq::add_status s = lw_.try_add(r->tw, mpscq::wake::lazy);
    if (s == mpscq::add_status::added) return;
    if (s == mpscq::add_status::full) {
      delete r;
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    write_inline(r);  // closed: as in log_or_wait()
  }

  void write_inline(record* r) {
    closed_inline_.fetch_add(1, std::memory_order_relaxed);
    record::write(r->tw, mpscq::run_state{true});
  }

  // One line, whole: the lock keeps an inline write (after close) from
  // splitting one of the backend's lines.
  void write_line(const std::string& text) noexcept {
    flockfile(sink_);
    std::fputs(text.c_str(), sink_);
    std::fputc('\n', sink_);
    funlockfile(sink_);
    written_.fetch_add(1, std::memory_order_relaxed);
  }

  void backend_loop() {
    while (!stop_.load(std::memory_order_relaxed)) {
      // At least batch_ records, or one record once 2 ms have passed, or
      // 100 ms (a periodic flush point): whichever comes first. interrupt()
      // ends it. The pass gives the room of the records it wrote back and
      // wakes the producers waiting for it.
      const auto ran = static_cast<std::uint64_t>(lw_.wait(batch_, 100ms, 2ms));
      // The largest batch one wait wrote (exact; with a limit, a wait's
      // passes each hold at most `limit` records).
      if (ran > max_batch_.load(std::memory_order_relaxed)) max_batch_.store(ran, std::memory_order_relaxed);
      std::fflush(sink_);
    }
    lw_.close();  // writes whatever is still queued (cancel == true); wakes waiting producers
    std::fflush(sink_);
  }

  std::FILE* sink_;
  overflow policy_;
  std::atomic<bool> stop_{false};
  // Figures (relaxed counters: statistics, not synchronization).
  std::atomic<std::uint64_t> written_{0}, dropped_{0}, waits_{0}, waited_ns_{0}, closed_inline_{0}, max_batch_{0};
  mpscq::local_work lw_;  // before backend_: constructed before the thread starts
  int batch_;
  std::thread backend_;
};

bool parse(int argc, char** argv, std::uint32_t& limit, overflow& policy, int& threads, int& per_thread,
           bool& stop_early) {
  int i = 1;
  if (i < argc && std::strcmp(argv[i], "unbounded") == 0) {
    ++i;
  } else if (i + 1 < argc && (std::strcmp(argv[i], "block") == 0 || std::strcmp(argv[i], "drop") == 0)) {
    policy = argv[i][0] == 'b' ? overflow::block : overflow::drop;
    const long l = std::atol(argv[i + 1]);
    if (l < 1 || l > 1 << 30) return false;
    limit = static_cast<std::uint32_t>(l);
    i += 2;
  }
  if (i < argc) threads = std::atoi(argv[i++]);
  if (i < argc) per_thread = std::atoi(argv[i++]);
  if (i < argc && std::strcmp(argv[i], "stop-early") == 0) {
    stop_early = true;
    ++i;
  }
  return i == argc && threads >= 1 && threads <= 256 && per_thread >= 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint32_t limit = 0;
  overflow policy = overflow::unbounded;
  int threads = 4;
  int per_thread = 5000;
  bool stop_early = false;
  if (!parse(argc, argv, limit, policy, threads, per_thread, stop_early)) {
    std::fprintf(stderr, "usage: %s [unbounded | block LIMIT | drop LIMIT] [THREADS [RECORDS [stop-early]]]\n",
                 argv[0]);
    return 2;
  }
  const char* mode = policy == overflow::block ? "block" : policy == overflow::drop ? "drop" : "unbounded";
  std::FILE* sink = std::tmpfile();
  if (sink == nullptr) {
    std::perror("tmpfile");
    return 1;
  }
  logger::figures f{};
  double log_s = 0;
  double total_s = 0;
  {
    logger log(sink, limit, policy);
    const clock_type::time_point t0 = clock_type::now();
    std::vector<std::thread> apps;
    for (int t = 0; t < threads; ++t) {
      apps.emplace_back([&log, t, per_thread] {
        for (int i = 0; i < per_thread; ++i) log.log("thread " + std::to_string(t) + " record " + std::to_string(i));
      });
    }
    if (stop_early) {
      std::this_thread::sleep_for(1ms);
      log.stop();  // while they log: from now on log() writes its record itself
    }
    for (auto& a : apps) a.join();
    const clock_type::time_point t1 = clock_type::now();
    log.stop();  // writes what is still queued; every accepted record is in the file now
    const clock_type::time_point t2 = clock_type::now();
    log_s = std::chrono::duration<double>(t1 - t0).count();
    total_s = std::chrono::duration<double>(t2 - t0).count();
    f = log.report();  // exact now: every thread that touched the logger is joined
  }

  // Check: every accepted record exactly once, each thread's records in its
  // order (with gaps where records were dropped; stop-early: once, in any
  // order, since a record logged after the stop may overtake older ones).
  std::rewind(sink);
  std::vector<int> next(static_cast<std::size_t>(threads), 0);
  std::vector<std::vector<bool>> seen(static_cast<std::size_t>(threads),
                                      std::vector<bool>(static_cast<std::size_t>(per_thread), false));
  std::uint64_t lines = 0;
  int t = 0;
  int i = 0;
  bool ok = true;
  while (std::fscanf(sink, "thread %d record %d\n", &t, &i) == 2) {
    ++lines;
    if (t < 0 || t >= threads) {
      ok = false;
      continue;
    }
    if (i < 0 || i >= per_thread || seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)]) {
      ok = false;  // out of range, or twice
      continue;
    }
    seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)] = true;
    int& n = next[static_cast<std::size_t>(t)];
    if (!stop_early && (policy == overflow::drop ? i < n : i != n)) ok = false;  // drop: gaps, never back
    n = i + 1;
  }
  std::fclose(sink);
  const std::uint64_t logged = static_cast<std::uint64_t>(threads) * static_cast<std::uint64_t>(per_thread);
  // What must hold, exactly:
  //  - every record is written or dropped, none twice: written + dropped == logged;
  //  - the file holds what the logger wrote;
  //  - block (and unbounded) drop nothing;
  //  - stats().refused counts each try_add*() call that returned anything
  //    but added: in drop mode one per dropped record, in block mode one per
  //    try_add() that found the queue full (that record then waited, and was
  //    added), plus, in both, the calls that found the logger closed.
  const std::uint64_t refused_expected =
      (policy == overflow::drop ? f.dropped : policy == overflow::block ? f.waits : 0) +
      (policy == overflow::unbounded ? 0 : f.closed_inline);
  bool counts = f.written + f.dropped == logged && lines == f.written && f.stats.refused == refused_expected;
  if (policy != overflow::drop) counts = counts && f.dropped == 0 && lines == logged;
  if (limit == 0) counts = counts && f.stats.refused == 0;

  std::printf("logger_backend: %s", mode);
  if (limit != 0) std::printf(" (limit %u records, backend woken every %d)", limit, batch_for(limit));
  std::printf(", %d threads x %d records%s\n", threads, per_thread, stop_early ? ", stopped early" : "");
  std::printf("  written %llu, dropped %llu (stats().refused %llu), written inline after close %llu\n",
              static_cast<unsigned long long>(f.written), static_cast<unsigned long long>(f.dropped),
              static_cast<unsigned long long>(f.stats.refused), static_cast<unsigned long long>(f.closed_inline));
  if (policy == overflow::block)
    std::printf("  producers found it full %llu times and waited %.1f ms in all (%.2f us per wait)\n",
                static_cast<unsigned long long>(f.waits), f.waited_ms,
                f.waits == 0 ? 0.0 : f.waited_ms * 1e3 / static_cast<double>(f.waits));
  if (limit != 0)
    std::printf("  largest batch one backend wait() wrote %llu (limit %u)\n", static_cast<unsigned long long>(f.max_batch),
                limit);
  std::printf("  backend: wrote %llu records, slept %llu times, woken %llu times\n",
              static_cast<unsigned long long>(f.stats.items_run + f.stats.items_cancelled),
              static_cast<unsigned long long>(f.stats.sleeps), static_cast<unsigned long long>(f.stats.wakes));
  std::printf("  %.0f records/s logged (%.3f s until the last log() returned), %.0f records/s written (%.3f s "
              "until stop() returned)\n",
              static_cast<double>(logged) / log_s, log_s, static_cast<double>(f.written) / total_s, total_s);
  if (!ok || !counts) {
    std::fprintf(stderr, "FAIL: %llu lines of %llu written (%llu logged, %llu dropped), in order: %s, counts agree: %s\n",
                 static_cast<unsigned long long>(lines), static_cast<unsigned long long>(f.written),
                 static_cast<unsigned long long>(logged), static_cast<unsigned long long>(f.dropped),
                 ok ? "yes" : "no", counts ? "yes" : "no");
    return 1;
  }
  std::printf("  every accepted record once%s\n", stop_early ? "" : ", in per-thread order");
  return 0;
}
