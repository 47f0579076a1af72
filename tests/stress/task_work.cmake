# Stress test for mpscq::task_work (tests/stress/task_work_stress.cpp), in
# every preset (release, asan, tsan, clang).
#   task_work_stress [--producers P] [--runners R] [--seconds S]
# Producers add while a pool of runners serves the target with random caps and
# should_yield; the scheduler refuses now and then (fallback); short rounds
# close the target under load and destroy it while fallback jobs may still be
# pending. One summary line ending in OK or FAIL; non-zero exit on an overlap,
# a double schedule, a lost/duplicated/reordered item, an uncancelled item
# added after close(), a context error or an accounting mismatch.
add_executable(task_work_stress ${CMAKE_CURRENT_LIST_DIR}/task_work_stress.cpp)
target_link_libraries(task_work_stress PRIVATE mpscq::mpscq mpscq_warnings)

add_test(NAME task_work_stress
         COMMAND task_work_stress --producers 3 --runners 2 --seconds ${MPSCQ_STRESS_SECONDS})
set_tests_properties(task_work_stress PROPERTIES
                     LABELS stress TIMEOUT 120 PASS_REGULAR_EXPRESSION " OK\n" FAIL_REGULAR_EXPRESSION "FAIL")
