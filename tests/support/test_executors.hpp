// tests/support/test_executors.hpp - fallback executors the tests drive, for
// task_work's cancel path (shared by the unit, coroutine and Asio tests).
#ifndef MPSCQ_TESTS_SUPPORT_TEST_EXECUTORS_HPP
#define MPSCQ_TESTS_SUPPORT_TEST_EXECUTORS_HPP

#include <cstddef>
#include <mutex>
#include <vector>

#include <mpscq/fallback_executor.hpp>
#include <mpscq/work.hpp>

namespace mpscq_test {

// execute() only records the job; the test runs the jobs handed over so far
// with run_all() (as a fallback thread would). Any thread.
class manual_executor final : public mpscq::fallback_executor {
 public:
  void execute(mpscq::work& job) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(&job);
  }
  std::size_t pending() {
    std::lock_guard<std::mutex> lock(mutex_);
    return jobs_.size();
  }
  std::size_t run_all() {
    std::vector<mpscq::work*> jobs;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs.swap(jobs_);
    }
    for (mpscq::work* job : jobs) (*job)(mpscq::run_state{true});  // never touch job afterwards
    return jobs.size();
  }

 private:
  std::mutex mutex_;
  std::vector<mpscq::work*> jobs_;
};

// Runs each job inside execute(), on the adding thread (allowed where the
// adding thread may run items).
class inline_executor final : public mpscq::fallback_executor {
 public:
  void execute(mpscq::work& job) noexcept override { job(mpscq::run_state{true}); }
};

}  // namespace mpscq_test

#endif  // MPSCQ_TESTS_SUPPORT_TEST_EXECUTORS_HPP
