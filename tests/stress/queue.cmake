# Stress tests for mpscq::queue and mpscq::llist (tests/stress/queue_stress.cpp),
# included by tests/CMakeLists.txt in every preset (release, asan, tsan, clang).
#   queue_stress [--llist | --poll] <producers> <items_per_producer> <seconds>
# Each run stops after ${MPSCQ_STRESS_SECONDS} seconds (or the item count,
# whichever comes first), prints one summary line and exits non-zero on any
# loss, duplicate, reorder or empty -> non-empty accounting mismatch.
add_executable(queue_stress ${CMAKE_CURRENT_LIST_DIR}/queue_stress.cpp)
target_link_libraries(queue_stress PRIVATE mpscq::mpscq mpscq_warnings)

foreach(producers 2 8)
  add_test(NAME queue_stress_${producers}p COMMAND queue_stress ${producers} 100000000 ${MPSCQ_STRESS_SECONDS})
  # The polling consumer's call (consumer::poll: pop_batch paced), same checks.
  add_test(NAME queue_stress_poll_${producers}p COMMAND queue_stress --poll ${producers} 100000000 ${MPSCQ_STRESS_SECONDS})
  set_tests_properties(queue_stress_poll_${producers}p PROPERTIES LABELS stress TIMEOUT 120 FAIL_REGULAR_EXPRESSION "FAIL")
  add_test(NAME llist_stress_${producers}p COMMAND queue_stress --llist ${producers} 100000000 ${MPSCQ_STRESS_SECONDS})
  set_tests_properties(queue_stress_${producers}p llist_stress_${producers}p PROPERTIES
                       LABELS stress TIMEOUT 120 FAIL_REGULAR_EXPRESSION "FAIL")
endforeach()
