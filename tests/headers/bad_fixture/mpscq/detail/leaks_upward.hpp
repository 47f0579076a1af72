// A fixture for the include-rule test: a detail/ header that includes a
// public one. The rule must report it (tests/headers/CMakeLists.txt).
#include <mpscq/queue.hpp>
