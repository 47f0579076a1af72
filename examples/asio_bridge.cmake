# asio_bridge: an asio::io_context thread does the I/O (a socket pair, a
# timer); every completion handler runs on an mpscq::local_work owner through
# mpscq/asio.hpp's executor. Built against standalone Asio, else Boost.Asio;
# skipped (one message line) when neither is installed.
find_path(MPSCQ_EXAMPLES_ASIO_INCLUDE asio/version.hpp)
find_path(MPSCQ_EXAMPLES_BOOST_ASIO_INCLUDE boost/asio/version.hpp)
if(MPSCQ_EXAMPLES_ASIO_INCLUDE)
  set(_asio_bridge_boost 0)
  set(_asio_bridge_include ${MPSCQ_EXAMPLES_ASIO_INCLUDE})
elseif(MPSCQ_EXAMPLES_BOOST_ASIO_INCLUDE)
  set(_asio_bridge_boost 1)
  set(_asio_bridge_include ${MPSCQ_EXAMPLES_BOOST_ASIO_INCLUDE})
else()
  mpscq_missing("example asio_bridge" MPSCQ_BUILD_EXAMPLES test "libasio-dev (or libboost-dev)")
  return()
endif()

add_executable(asio_bridge ${CMAKE_CURRENT_LIST_DIR}/asio_bridge.cpp)
target_link_libraries(asio_bridge PRIVATE mpscq::mpscq mpscq_warnings mpscq_examples_support)
target_include_directories(asio_bridge SYSTEM PRIVATE ${_asio_bridge_include})
target_compile_definitions(asio_bridge PRIVATE MPSCQ_ASIO_USE_BOOST=${_asio_bridge_boost})
if(_asio_bridge_boost)
  target_compile_definitions(asio_bridge PRIVATE BOOST_ASIO_HAS_STD_INVOKE_RESULT=1)  # see tests/asio
endif()
# g++ >= 12 with -fsanitize=thread: -Wtsan on Asio's own atomic_thread_fence
# (fenced_block), inlined here; not ours, and fatal under -Werror.
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-Wno-tsan MPSCQ_EXAMPLES_HAVE_WNO_TSAN)
if(MPSCQ_EXAMPLES_HAVE_WNO_TSAN)
  target_compile_options(asio_bridge PRIVATE -Wno-tsan)
endif()

add_test(NAME example_asio_bridge COMMAND asio_bridge --rounds=2000 --notes=5000)
add_test(NAME example_asio_bridge_lazy COMMAND asio_bridge --rounds=500 --notes=5000 --lazy)
set_tests_properties(example_asio_bridge example_asio_bridge_lazy PROPERTIES LABELS smoke TIMEOUT 60
                     PASS_REGULAR_EXPRESSION " OK\n" FAIL_REGULAR_EXPRESSION "FAIL")
