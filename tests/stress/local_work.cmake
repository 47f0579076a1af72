# Stress tests for mpscq::local_work and mpscq::baseline::llist_local_work
# (tests/stress/local_work_stress.cpp), in every preset (release, asan, tsan).
#   local_work_stress [--legacy] [--teardown] [--producers P] [--seconds S]
# Each prints one summary line ending in OK or FAIL and exits non-zero on a
# lost or duplicated item, a per-producer reorder, or a lost wake (an eager
# item left waiting behind a sleeping owner); --teardown destroys the object
# while adds are still inside it, thousands of times (ASan checks the
# use-after-free the in-flight adder count prevents).
#
# local_work_wake_latency (tests/stress/local_work_wake_latency.cpp) is a
# measurement tool, built but not a test: see its header for the command.
add_executable(local_work_stress ${CMAKE_CURRENT_LIST_DIR}/local_work_stress.cpp)
target_link_libraries(local_work_stress PRIVATE mpscq::mpscq mpscq_warnings)

add_test(NAME local_work_stress COMMAND local_work_stress --producers 2 --seconds ${MPSCQ_STRESS_SECONDS})
add_test(NAME local_work_stress_legacy COMMAND local_work_stress --legacy --producers 2 --seconds ${MPSCQ_STRESS_SECONDS})
add_test(NAME local_work_stress_teardown COMMAND local_work_stress --teardown --producers 2 --seconds ${MPSCQ_STRESS_SECONDS})
set_tests_properties(local_work_stress local_work_stress_legacy local_work_stress_teardown PROPERTIES
                     LABELS stress TIMEOUT 120 PASS_REGULAR_EXPRESSION " OK\n" FAIL_REGULAR_EXPRESSION "FAIL")

if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/local_work_wake_latency.cpp)
  add_executable(local_work_wake_latency ${CMAKE_CURRENT_LIST_DIR}/local_work_wake_latency.cpp)
  target_link_libraries(local_work_wake_latency PRIVATE mpscq::mpscq mpscq_warnings)
endif()
