# asio_echo_server: Asio's coroutine echo server
# (cpp17/coroutines_ts/echo_server.cpp) on mpscq::asio::io_thread: the
# acceptor and sockets on its io_context(), the coroutines co_spawn'ed on its
# get_executor(), a worker thread posting to it; built-in clients check every
# echo. Built against standalone Asio, else Boost.Asio (as asio_bridge);
# skipped (one message line) when neither is installed. Where the compiler
# and Asio have no co_await the program exits 77 (the tests are skipped).
find_path(MPSCQ_EXAMPLES_ASIO_INCLUDE asio/version.hpp)
find_path(MPSCQ_EXAMPLES_BOOST_ASIO_INCLUDE boost/asio/version.hpp)
if(MPSCQ_EXAMPLES_ASIO_INCLUDE)
  set(_asio_echo_server_boost 0)
  set(_asio_echo_server_include ${MPSCQ_EXAMPLES_ASIO_INCLUDE})
elseif(MPSCQ_EXAMPLES_BOOST_ASIO_INCLUDE)
  set(_asio_echo_server_boost 1)
  set(_asio_echo_server_include ${MPSCQ_EXAMPLES_BOOST_ASIO_INCLUDE})
else()
  mpscq_missing("example asio_echo_server" MPSCQ_BUILD_EXAMPLES test "libasio-dev (or libboost-dev)")
  return()
endif()

add_executable(asio_echo_server ${CMAKE_CURRENT_LIST_DIR}/asio_echo_server.cpp)
target_link_libraries(asio_echo_server PRIVATE mpscq::mpscq mpscq_warnings mpscq_examples_support)
target_include_directories(asio_echo_server SYSTEM PRIVATE ${_asio_echo_server_include})
target_compile_definitions(asio_echo_server PRIVATE MPSCQ_ASIO_USE_BOOST=${_asio_echo_server_boost})
if(_asio_echo_server_boost)
  target_compile_definitions(asio_echo_server PRIVATE BOOST_ASIO_HAS_STD_INVOKE_RESULT=1)  # see tests/asio
endif()
# -Wtsan on Asio's own fence under g++ >= 12 -fsanitize=thread: see asio_bridge.cmake.
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-Wno-tsan MPSCQ_EXAMPLES_HAVE_WNO_TSAN)
if(MPSCQ_EXAMPLES_HAVE_WNO_TSAN)
  target_compile_options(asio_echo_server PRIVATE -Wno-tsan)
endif()
# g++ 12 at -O1 (the asan preset) inlines Asio's coroutine-frame allocator
# (asio::aligned_new: aligned_alloc) next to its operator delete (free) and
# warns -Wmismatched-new-delete: a pair it cannot match, inside Asio, not ours.
check_cxx_compiler_flag(-Wno-mismatched-new-delete MPSCQ_EXAMPLES_HAVE_WNO_MISMATCHED_NEW_DELETE)
if(MPSCQ_EXAMPLES_HAVE_WNO_MISMATCHED_NEW_DELETE)
  target_compile_options(asio_echo_server PRIVATE -Wno-mismatched-new-delete)
endif()

add_test(NAME example_asio_echo_server COMMAND asio_echo_server --clients=4 --rounds=200 --notes=5000)
add_test(NAME example_asio_echo_server_stop_from_main
         COMMAND asio_echo_server --clients=2 --rounds=100 --notes=1000 --stop=main)
add_test(NAME example_asio_echo_server_detects_corruption
         COMMAND asio_echo_server --clients=1 --rounds=20 --notes=10 --inject=corrupt)
set_tests_properties(example_asio_echo_server example_asio_echo_server_stop_from_main
                     PROPERTIES LABELS smoke TIMEOUT 60 SKIP_RETURN_CODE 77
                                PASS_REGULAR_EXPRESSION " OK\n" FAIL_REGULAR_EXPRESSION "FAIL")
set_tests_properties(example_asio_echo_server_detects_corruption PROPERTIES LABELS smoke TIMEOUT 60
                     SKIP_RETURN_CODE 77 PASS_REGULAR_EXPRESSION "FAIL: every echo came back byte-for-byte")
