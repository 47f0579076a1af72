# asio_threadring: Asio's threadring (cpp14/executors/actor.cpp) on
# mpscq::asio::work_thread (its thread_pool(1)s) and task_strand (its
# strands); --direct without strands. Built against standalone Asio, else
# Boost.Asio (as asio_bridge); skipped (one message line) when neither is
# installed.
find_path(MPSCQ_EXAMPLES_ASIO_INCLUDE asio/version.hpp)
find_path(MPSCQ_EXAMPLES_BOOST_ASIO_INCLUDE boost/asio/version.hpp)
if(MPSCQ_EXAMPLES_ASIO_INCLUDE)
  set(_asio_threadring_boost 0)
  set(_asio_threadring_include ${MPSCQ_EXAMPLES_ASIO_INCLUDE})
elseif(MPSCQ_EXAMPLES_BOOST_ASIO_INCLUDE)
  set(_asio_threadring_boost 1)
  set(_asio_threadring_include ${MPSCQ_EXAMPLES_BOOST_ASIO_INCLUDE})
else()
  mpscq_missing("example asio_threadring" MPSCQ_BUILD_EXAMPLES test "libasio-dev (or libboost-dev)")
  return()
endif()

add_executable(asio_threadring ${CMAKE_CURRENT_LIST_DIR}/asio_threadring.cpp)
target_link_libraries(asio_threadring PRIVATE mpscq::mpscq mpscq_warnings mpscq_examples_support)
target_include_directories(asio_threadring SYSTEM PRIVATE ${_asio_threadring_include})
target_compile_definitions(asio_threadring PRIVATE MPSCQ_ASIO_USE_BOOST=${_asio_threadring_boost})
if(_asio_threadring_boost)
  target_compile_definitions(asio_threadring PRIVATE BOOST_ASIO_HAS_STD_INVOKE_RESULT=1)  # see tests/asio
endif()
# -Wtsan on Asio's own fence under g++ >= 12 -fsanitize=thread: see asio_bridge.cmake.
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-Wno-tsan MPSCQ_EXAMPLES_HAVE_WNO_TSAN)
if(MPSCQ_EXAMPLES_HAVE_WNO_TSAN)
  target_compile_options(asio_threadring PRIVATE -Wno-tsan)
endif()

# Small rings on few threads: a smoke run, not a benchmark (the benchmark's
# threadring is in bench/).
add_test(NAME example_asio_threadring COMMAND asio_threadring --actors=53 --threads=4 --hops=100000)
add_test(NAME example_asio_threadring_one_token COMMAND asio_threadring --actors=17 --threads=3 --hops=5000 --tokens=1)
add_test(NAME example_asio_threadring_direct COMMAND asio_threadring --actors=53 --threads=4 --hops=100000 --direct)
add_test(NAME example_asio_threadring_detects_misroute
         COMMAND asio_threadring --actors=17 --threads=2 --hops=2000 --inject=misroute)
set_tests_properties(example_asio_threadring example_asio_threadring_one_token example_asio_threadring_direct
                     PROPERTIES LABELS smoke TIMEOUT 60 PASS_REGULAR_EXPRESSION " OK\n" FAIL_REGULAR_EXPRESSION "FAIL")
set_tests_properties(example_asio_threadring_detects_misroute PROPERTIES LABELS smoke TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "FAIL: every delivery followed the ring order")
