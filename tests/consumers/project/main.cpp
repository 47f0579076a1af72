// A downstream program: everything it needs comes from the installed or
// imported mpscq package.
#include <mpscq/mpscq.hpp>

#include <cstdio>

struct message {
  int value;
  mpscq::node hook;
};

int main() {
  mpscq::intrusive_queue<message, &message::hook> q;
  message m[3] = {{1, {}}, {2, {}}, {3, {}}};
  for (auto& x : m) q.push(&x);
  mpscq::intrusive_queue<message, &message::hook>::consumer c(q);
  int expect = 1;
  while (message* got = c.pop()) {
    if (got->value != expect++) return 1;
  }
  std::printf("consumer project: %d items in order (mpscq %s, C++ %ld)\n", expect - 1, MPSCQ_VERSION_STRING,
              static_cast<long>(__cplusplus));
  return expect == 4 ? 0 : 1;
}
