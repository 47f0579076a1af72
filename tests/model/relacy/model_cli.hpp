// tests/model/relacy/model_cli.hpp - the command line every Relacy model shares.
//
//   <model> [...] [random N | bound K | full]
//
// random N: N iterations of Relacy's random scheduler; bound K: the fair
// context-bound search with bound K (default 2); full: the fair full search.
// Include after the mpscq headers (they bring Relacy in through the seam).
#ifndef MPSCQ_TESTS_MODEL_CLI_HPP
#define MPSCQ_TESTS_MODEL_CLI_HPP

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <streambuf>

namespace model_cli {

/// Test parameters with the models' common defaults: the random scheduler
/// with `iterations`, and a depth limit that only bounds the wait loops when
/// an item was lost (reported as LIVELOCK).
inline rl::test_params defaults(unsigned long long iterations) {
  rl::test_params params;
  params.search_type = rl::random_scheduler_type;
  params.iteration_count = iterations;
  params.execution_depth_limit = 20000;
  return params;
}

/// Reads the scheduler words from argv[first..argc); none keeps the defaults.
/// Returns false for an unknown scheduler word. `name` gets the word used.
inline bool parse_scheduler(int argc, char** argv, int first, rl::test_params& params, const char*& name) {
  name = "random";
  if (argc <= first) return true;
  name = argv[first];
  const char* arg = argc > first + 1 ? argv[first + 1] : nullptr;
  if (std::strcmp(name, "random") == 0) {
    params.search_type = rl::random_scheduler_type;
    if (arg != nullptr) params.iteration_count = std::strtoull(arg, nullptr, 10);
  } else if (std::strcmp(name, "bound") == 0) {
    params.search_type = rl::fair_context_bound_scheduler_type;
    params.context_bound = arg != nullptr ? static_cast<unsigned>(std::strtoul(arg, nullptr, 10)) : 2;
  } else if (std::strcmp(name, "full") == 0) {
    params.search_type = rl::fair_full_search_scheduler_type;
  } else {
    return false;
  }
  return true;
}

/// Prints " scheduler=NAME" and the iterations or the bound (no newline).
inline void print_scheduler(const rl::test_params& params, const char* name) {
  std::printf(" scheduler=%s", name);
  if (params.search_type == rl::random_scheduler_type) {
    std::printf(" iterations=%llu", static_cast<unsigned long long>(params.iteration_count));
  }
  if (params.search_type == rl::fair_context_bound_scheduler_type) std::printf(" bound=%u", params.context_bound);
}

/// Drops Relacy's progress lines: attach() points params at it; it must
/// outlive the simulation.
class quiet_progress {
 public:
  void attach(rl::test_params& params) { params.progress_stream = &stream_; }

 private:
  struct null_buffer : std::streambuf {
    int overflow(int c) override { return c; }
  };
  null_buffer buffer_;
  std::ostream stream_{&buffer_};
};

}  // namespace model_cli

#endif  // MPSCQ_TESTS_MODEL_CLI_HPP
