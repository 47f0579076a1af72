#include <mpscq/local_work.hpp>
#include <cstdlib>
#include <vector>
struct it { mpscq::work w{{}, &it::run}; static inline long n = 0; static void run(mpscq::work&, mpscq::run_state) noexcept { ++n; } };
int main(int argc, char** argv) {
  const int reps = std::atoi(argv[1]);
  mpscq::local_work_options o; 
#ifdef LIMIT
  if (argc > 2) o.limit = std::atoi(argv[2]);
#endif

  mpscq::local_work lw(o);
  std::vector<it> items(1024);
  for (int r = 0; r < reps; ++r) {
    for (auto& x : items) lw.add(x.w, mpscq::wake::lazy);
    lw.run(1024);
  }
  return it::n == long(reps) * 1024 ? 0 : 1;
}
