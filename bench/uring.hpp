// bench/uring.hpp - the kernel's own task-work paths through liburing, for
// S6. Kept apart from every other header: <liburing.h> pulls in <linux/fs.h>,
// whose BLOCK_SIZE macro breaks moodycamel's concurrentqueue.h.
#ifndef MPSCQ_BENCH_URING_HPP
#define MPSCQ_BENCH_URING_HPP

#include <cstdint>
#include <memory>
#include <string>

namespace bench::uring {

struct probe_result {
  bool msg_ring = false;   // MSG_RING into a SINGLE_ISSUER|DEFER_TASKRUN ring works
  bool nop_tw = false;     // IORING_NOP_TW | IORING_NOP_INJECT_RESULT echoes the injected result
  std::string msg_ring_why, nop_tw_why;
};
// Creates its rings on the calling thread.
probe_result probe();

// The owner's ring: SINGLE_ISSUER | DEFER_TASKRUN, created by (and only used
// on) the owner thread.
class owner_ring {
 public:
  static std::unique_ptr<owner_ring> create(std::string& err);
  ~owner_ring();
  int fd() const noexcept;
  // Enters the kernel until at least min_events CQEs are there (or timeout);
  // calls on(ctx, user_data) for each CQE reaped. Returns the count.
  int wait(int min_events, long timeout_ns, void (*on)(void*, std::uint64_t), void* ctx);

 private:
  struct impl;
  explicit owner_ring(std::unique_ptr<impl> p);
  std::unique_ptr<impl> p_;
};

// A producer's plain ring that sends MSG_RING SQEs (CQE skipped on success),
// created by the producer thread.
class sender_ring {
 public:
  static std::unique_ptr<sender_ring> create(std::string& err);
  ~sender_ring();
  // One MSG_RING to `target_fd` carrying `data`, submitted at once.
  bool send(int target_fd, std::uint64_t data);
  std::uint64_t errors() const noexcept;

 private:
  struct impl;
  explicit sender_ring(std::unique_ptr<impl> p);
  std::unique_ptr<impl> p_;
};

// NOPs in batches of `batch` through a DEFER_TASKRUN ring made on the calling
// thread: ns per NOP, plain and with IORING_NOP_TW (completed through the
// kernel's task work), interleaved in `blocks` alternating blocks.
struct nop_cost {
  bool ok = false;
  std::string why;
  double plain_ns = 0, tw_ns = 0;
};
nop_cost measure_nop(std::size_t items, int batch, bool with_tw);

}  // namespace bench::uring

#endif  // MPSCQ_BENCH_URING_HPP
