# sock_test: the seed's multishot-receive experiment (patch 3/6) on loopback,
# mpscq::local_work vs mpscq::baseline::llist_local_work, A B A B in one run. The smoke
# test is a short run; the real one is e.g.
#   sock_test --seconds=3 --clients=8,1024 --reps=4
# and, with a busy owner that run()s what piled up (deep lists, as the kernel
# meets them), e.g.
#   sock_test --owner=busy --seconds=1 --clients=8,1024 --reps=5
# sock_test/callgrind_share.py counts the same in instructions (valgrind).
if(TARGET mpscq_examples_liburing)
  # One file per role, see sock_test/main.cpp.
  add_executable(sock_test
                 ${CMAKE_CURRENT_LIST_DIR}/sock_test/main.cpp
                 ${CMAKE_CURRENT_LIST_DIR}/sock_test/phase.cpp
                 ${CMAKE_CURRENT_LIST_DIR}/sock_test/sockets.cpp
                 ${CMAKE_CURRENT_LIST_DIR}/sock_test/sender.cpp
                 ${CMAKE_CURRENT_LIST_DIR}/sock_test/receiver_uring.cpp
                 ${CMAKE_CURRENT_LIST_DIR}/sock_test/receiver_epoll.cpp
                 ${CMAKE_CURRENT_LIST_DIR}/sock_test/owner.cpp)
  target_link_libraries(sock_test PRIVATE mpscq::mpscq mpscq_warnings mpscq_examples_support mpscq_examples_liburing)
  add_test(NAME example_sock_test COMMAND sock_test --seconds=0.4 --clients=8,256 --reps=1 --max-mib=2048)
  add_test(NAME example_sock_test_busy COMMAND sock_test --owner=busy --own-us=20 --seconds=0.3 --clients=8,64 --reps=1
                                               --max-mib=1024)
  add_test(NAME example_sock_test_busy_detects_loss COMMAND sock_test --owner=busy --seconds=0.2 --clients=8 --reps=1
                                                            --variants=legacy --inject=lose)
  add_test(NAME example_sock_test_epoll COMMAND sock_test --receiver=epoll --seconds=0.3 --clients=16 --reps=1
                                                --max-mib=1024)
  add_test(NAME example_sock_test_detects_corruption COMMAND sock_test --seconds=0.2 --clients=8 --reps=1
                                                             --variants=mpscq --inject=corrupt)
  add_test(NAME example_sock_test_detects_loss COMMAND sock_test --seconds=0.2 --clients=8 --reps=1
                                                       --variants=legacy --inject=lose)
  set_tests_properties(example_sock_test example_sock_test_epoll example_sock_test_detects_corruption
                       example_sock_test_detects_loss example_sock_test_busy example_sock_test_busy_detects_loss
                       PROPERTIES LABELS smoke TIMEOUT 120)
  set_tests_properties(example_sock_test_detects_corruption PROPERTIES PASS_REGULAR_EXPRESSION
                       "buffers whose bytes do not match the pattern")
  set_tests_properties(example_sock_test_detects_loss example_sock_test_busy_detects_loss PROPERTIES
                       PASS_REGULAR_EXPRESSION "items handed over != items run")
endif()
