// A fixture for the seam rule: a header that calls the model checker itself.
inline void leaks_model() { rl::yield(1, RL_INFO); }
