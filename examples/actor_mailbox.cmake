# actor_mailbox: thousands of actors with mpscq::task_work mailboxes on a small
# thread pool; checks that every message is delivered exactly once and in
# per-sender order, and prints the throughput.
add_executable(actor_mailbox ${CMAKE_CURRENT_LIST_DIR}/actor_mailbox.cpp)
target_link_libraries(actor_mailbox PRIVATE mpscq::mpscq mpscq_warnings mpscq_examples_support)

add_test(NAME example_actor_mailbox COMMAND actor_mailbox --actors=2000 --workers=2 --messages=400000)
# The checks must be able to fail: break the bookkeeping on purpose and expect
# the check's message (a crash would not match).
add_test(NAME example_actor_mailbox_detects_loss COMMAND actor_mailbox --actors=200 --messages=20000 --inject=lose)
add_test(NAME example_actor_mailbox_detects_duplicate
         COMMAND actor_mailbox --actors=200 --messages=20000 --inject=dup)
add_test(NAME example_actor_mailbox_detects_reorder
         COMMAND actor_mailbox --actors=200 --messages=20000 --inject=reorder)
set_tests_properties(example_actor_mailbox example_actor_mailbox_detects_loss example_actor_mailbox_detects_duplicate
                     example_actor_mailbox_detects_reorder PROPERTIES LABELS smoke TIMEOUT 60)
set_tests_properties(example_actor_mailbox PROPERTIES PASS_REGULAR_EXPRESSION " OK\n" FAIL_REGULAR_EXPRESSION "FAIL")
set_tests_properties(example_actor_mailbox_detects_loss PROPERTIES PASS_REGULAR_EXPRESSION "FAIL: messages lost")
set_tests_properties(example_actor_mailbox_detects_duplicate PROPERTIES PASS_REGULAR_EXPRESSION
                     "FAIL: messages delivered more than once")
set_tests_properties(example_actor_mailbox_detects_reorder PROPERTIES PASS_REGULAR_EXPRESSION
                     "FAIL: messages out of per-sender order")
