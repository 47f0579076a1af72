# io_uring_loop: a SINGLE_ISSUER | DEFER_TASKRUN ring whose owner waits for
# completions and local_work items in one io_uring wait (a poll on the
# eventfd next to a timeout). Needs liburing; skipped (with a message) without.
if(TARGET mpscq_examples_liburing)
  add_executable(io_uring_loop ${CMAKE_CURRENT_LIST_DIR}/io_uring_loop.cpp)
  target_link_libraries(io_uring_loop PRIVATE mpscq::mpscq mpscq_warnings mpscq_examples_support mpscq_examples_liburing)
  add_test(NAME example_io_uring_loop COMMAND io_uring_loop --seconds=1)
  add_test(NAME example_io_uring_loop_plain COMMAND io_uring_loop --seconds=0.5 --plain)
  add_test(NAME example_io_uring_loop_detects_loss COMMAND io_uring_loop --seconds=0.2 --inject=lose)
  set_tests_properties(example_io_uring_loop example_io_uring_loop_plain example_io_uring_loop_detects_loss
                       PROPERTIES LABELS smoke TIMEOUT 60 SKIP_RETURN_CODE 77)
  set_tests_properties(example_io_uring_loop_detects_loss PROPERTIES PASS_REGULAR_EXPRESSION "FAIL: items lost")
endif()
