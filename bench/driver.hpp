// bench/driver.hpp - what the scenario drivers share: the run context and the
// scenarios implemented outside main.cpp.
#ifndef MPSCQ_BENCH_DRIVER_HPP
#define MPSCQ_BENCH_DRIVER_HPP

#include "bench.hpp"

#include <random>
#include <string>

namespace bench {

struct context {
  options opt;
  sizes sz;
  results res;
  std::mt19937_64 rng;
};

// Prints the legend lines of the blocking / task-work contenders.
void legend_blocking();

// S2 with a consumer that sleeps when idle (blocking.cpp).
void scenario_s2_blocking(context& ctx);
// S5: the seed's table, local_work vs baseline::llist_local_work (taskwork.cpp).
void scenario_s5(context& ctx);
// S6: hand-off to a sleeping owner, wakes per wait cycle, kernel task-work
// cost (handoff.cpp, uring.cpp).
void scenario_s6(context& ctx);

// Whether the task-work headers are in the tree (S5/S6 and the local_work
// contenders need them); the reason when not.
bool have_local_work(std::string& why);

}  // namespace bench

#endif  // MPSCQ_BENCH_DRIVER_HPP
