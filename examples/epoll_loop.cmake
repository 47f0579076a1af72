# epoll_loop: local_work's eventfd in an epoll loop next to a timerfd; worker
# threads add, the loop drains with run(cap) and skips epoll_wait while
# has_work() says work is pending.
add_executable(epoll_loop ${CMAKE_CURRENT_LIST_DIR}/epoll_loop.cpp)
target_link_libraries(epoll_loop PRIVATE mpscq::mpscq mpscq_warnings mpscq_examples_support)

add_test(NAME example_epoll_loop COMMAND epoll_loop --seconds=1)
# The checks must be able to fail: corrupt the bookkeeping on purpose and
# expect the check's message (a crash would not match).
add_test(NAME example_epoll_loop_detects_loss COMMAND epoll_loop --seconds=0.2 --inject=lose)
add_test(NAME example_epoll_loop_detects_duplicate COMMAND epoll_loop --seconds=0.2 --inject=dup)
set_tests_properties(example_epoll_loop example_epoll_loop_detects_loss example_epoll_loop_detects_duplicate
                     PROPERTIES LABELS smoke TIMEOUT 60)
set_tests_properties(example_epoll_loop_detects_loss PROPERTIES PASS_REGULAR_EXPRESSION "FAIL: items lost")
set_tests_properties(example_epoll_loop_detects_duplicate PROPERTIES PASS_REGULAR_EXPRESSION
                     "FAIL: items ran more than once")
