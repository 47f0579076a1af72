// tests/model/relacy/model_cli.hpp - the command line every Relacy model shares.
//
//   <model> [...] [random N | bound K | full]
//
// random N: N iterations of Relacy's random scheduler; bound K: the fair
// context-bound search with bound K (default 2); full: the fair full search.
// Include after the mpscq headers (they bring Relacy in through the seam).
#ifndef MPSCQ_TESTS_MODEL_CLI_HPP
#define MPSCQ_TESTS_MODEL_CLI_HPP

#include <chrono>
#include <cstddef>
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

/// One model a program can run: its name on the command line and its
/// simulation (model_cli::simulate<Model>).
struct model {
  const char* name;
  bool (*simulate)(const rl::test_params&);
};

/// Runs one Relacy model with a copy of `base` (Relacy updates its params).
template <class Model>
bool simulate(const rl::test_params& base) {
  rl::test_params params = base;
  return rl::simulate<Model>(params);
}

/// The whole main() of a model program:
///   <tool> <model>|all [random N | bound K | full]
/// Prints "<tool>: model=... scheduler=...", runs the named model (or all),
/// then "<tool>: all checks passed in S s" or "<tool>: FAILED in S s" - the
/// text the CTest fragments match. Returns the exit status.
template <std::size_t N>
int run_main(int argc, char** argv, const char* tool, const model (&models)[N],
             unsigned long long default_iterations) {
  auto usage = [&] {
    std::fprintf(stderr, "usage: %s", tool);
    for (std::size_t i = 0; i < N; ++i) std::fprintf(stderr, "%s%s", i == 0 ? " " : "|", models[i].name);
    std::fprintf(stderr, "|all [random N | bound K | full]\n");
    return 2;
  };
  if (argc < 2) return usage();
  const char* wanted = argv[1];
  rl::test_params params = defaults(default_iterations);
  const char* scheduler = nullptr;
  if (!parse_scheduler(argc, argv, 2, params, scheduler)) return usage();
  quiet_progress quiet;
  quiet.attach(params);
  std::printf("%s: model=%s", tool, wanted);
  print_scheduler(params, scheduler);
  std::printf("\n");
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  bool ok = true;
  bool known = false;
  for (const model& m : models) {
    if (std::strcmp(wanted, m.name) != 0 && std::strcmp(wanted, "all") != 0) continue;
    known = true;
    ok = m.simulate(params) && ok;
  }
  if (!known) return usage();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %s in %.2f s\n", tool, ok ? "all checks passed" : "FAILED", seconds);
  return ok ? 0 : 1;
}

}  // namespace model_cli

#endif  // MPSCQ_TESTS_MODEL_CLI_HPP
