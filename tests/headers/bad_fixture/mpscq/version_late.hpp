// Fixture: a public header that includes another mpscq header before
// mpscq/version.hpp (the C++20 check would no longer come first).
#include <mpscq/node.hpp>
#include <mpscq/version.hpp>
