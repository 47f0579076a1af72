// docs/examples/logger_backend.cpp - a logger's backend on mpscq::local_work:
// any thread logs (one allocation it already makes, no lock, usually no
// syscall), one backend thread writes in batches and sleeps in between, a
// stop from outside with interrupt(), and nothing lost at shutdown - records
// still queued, and records logged while the logger shuts down, are written
// too. Shown in docs/api.md ("A logger's backend"); built and run as the CTest
// test doc_logger_backend. Exits non-zero if a record is lost or doubled.
//
// Why local_work and not a typed channel: a log record is already a heap
// object the producer builds, so the work item lives inside it (no second
// allocation, no copy into a node), and local_work's sleeping consumer is
// the library's one proven wait protocol (countdown wakes: a burst of N lazy
// records costs one futex wake; see docs/api.md).
#include <mpscq/local_work.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

class logger {
 public:
  explicit logger(std::FILE* sink) : sink_(sink), backend_([this] { backend_loop(); }) {}

  // Stops the backend: it writes what is queued, closes (records that are
  // still arriving are written by their own log() call), and exits.
  // Ordering: each thread's records are written in its order if they were
  // logged before the stop. A record logged while the logger stops is
  // written at once by its own log() call, so it may come out before that
  // thread's older records that close() is still writing. Lifetime: a log()
  // must not begin once this destructor is past backend_.join() (the members
  // are being destroyed): stop the logging threads first, as with any object.
  ~logger() {
    stop_.store(true, std::memory_order_relaxed);  // seen by the backend: interrupt() orders it
    lw_.interrupt();                               // ends the backend's current (or next) wait()
    backend_.join();
  }

  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  // Any thread. Lazy: the backend is woken once per batch (64 records, or
  // 2 ms after the first one - the wait() below), not once per record.
  void log(std::string text) {
    auto* r = new record{{}, std::move(text), sink_};
    r->tw.func = &record::write;
    lw_.add(r->tw, mpscq::wake::lazy);
  }

 private:
  struct record {
    mpscq::work tw;
    std::string text;
    std::FILE* sink;

    // On the backend thread (cancel == false), or with cancel == true: in
    // close()'s drain (backend thread) or, after close, inline in log() on
    // the logging thread. A logger writes the record either way: "cancel"
    // means the backend is going away, not that the record is unwanted.
    // stdio locks the FILE, so the inline writes may come from any thread.
    static void write(mpscq::work& w, mpscq::run_state) noexcept {
      std::unique_ptr<record> r(&mpscq::container_of<&record::tw>(w));
      std::fputs(r->text.c_str(), r->sink);
      std::fputc('\n', r->sink);
    }
  };

  void backend_loop() {
    while (!stop_.load(std::memory_order_relaxed)) {
      // At least 64 records, or one record once 2 ms have passed, or 100 ms
      // (a periodic flush point): whichever comes first. interrupt() ends it.
      lw_.wait(64, 100ms, 2ms);
      std::fflush(sink_);
    }
    lw_.close();  // writes whatever is still queued (cancel == true)
    std::fflush(sink_);
  }

  std::FILE* sink_;
  std::atomic<bool> stop_{false};
  mpscq::local_work lw_;  // before backend_: constructed before the thread starts
  std::thread backend_;
};

}  // namespace

int main() {
  std::FILE* sink = std::tmpfile();
  if (sink == nullptr) {
    std::perror("tmpfile");
    return 1;
  }
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  {
    logger log(sink);
    std::vector<std::thread> apps;
    for (int t = 0; t < threads; ++t) {
      apps.emplace_back([&log, t] {
        for (int i = 0; i < per_thread; ++i) log.log("thread " + std::to_string(t) + " record " + std::to_string(i));
      });
    }
    for (auto& a : apps) a.join();
  }  // ~logger: stop, interrupt, drain; every record is in the file now

  // Check: every record exactly once, each thread's records in its order.
  std::rewind(sink);
  std::vector<int> next(threads, 0);
  int lines = 0;
  int t = 0;
  int i = 0;
  bool ok = true;
  while (std::fscanf(sink, "thread %d record %d\n", &t, &i) == 2) {
    ++lines;
    if (t < 0 || t >= threads || i != next[static_cast<std::size_t>(t)]) ok = false;
    if (t >= 0 && t < threads) next[static_cast<std::size_t>(t)] = i + 1;
  }
  std::fclose(sink);
  if (!ok || lines != threads * per_thread) {
    std::fprintf(stderr, "FAIL: %d of %d records, in order: %s\n", lines, threads * per_thread, ok ? "yes" : "no");
    return 1;
  }
  std::printf("logger_backend: %d records from %d threads, each once, in per-thread order\n", lines, threads);
  return 0;
}
