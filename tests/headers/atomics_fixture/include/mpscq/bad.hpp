// Fixture for atomics_rule: not compiled.
struct bad {
  int tagged() const noexcept {
    // [Z1] Acquire: tagged.
    return x_.load(std::memory_order_acquire);
  }
  int untagged() const noexcept { return x_.load(std::memory_order_relaxed); }
  void twice() noexcept { x_.exchange(1, std::memory_order_acq_rel); }  // [Z3] [Z9]
  std::atomic<int> x_;
};
