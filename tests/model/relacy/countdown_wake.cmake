# Relacy model of mpscq::detail::countdown_wake alone
# (tests/model/relacy/countdown_wake_model.cpp) on the real header. Included
# by tests/CMakeLists.txt when MPSCQ_BUILD_MODELS is on.
#
#   countdown_wake_model eager_lazy|lazy|recheck|all [random N | bound K | full]
#
# One executable for the correct unit and one per mutant (compile definition,
# detail/mutants.hpp). The correct build must pass every model; each mutant
# must be caught, which the test asserts by matching the checker's verdict
# text (PASS_REGULAR_EXPRESSION, never WILL_FAIL, so an unrelated crash
# cannot count as a catch).
if(NOT MPSCQ_RELACY_INCLUDE_DIR)
  return()  # tests/CMakeLists.txt has warned
endif()

# --- the correct unit: every model passes ---------------------------------------
# Timings on the 2-core dev machine (with a build running beside): random
# 200k ~0.3-0.5 s per model; eager_lazy bound 3 ~1.6 s (bound 4 ~13 s); lazy
# bound 3 ~0.7 s; recheck full ~0.05 s.
set(_ok "countdown-wake-model: all checks passed")
mpscq_add_relacy_model(model_countdown_wake ${CMAKE_CURRENT_LIST_DIR}/countdown_wake_model.cpp)
mpscq_add_model_test(model_countdown_wake_random model_countdown_wake PASS "${_ok}" all random 200000)
mpscq_add_model_test(model_countdown_wake_eager_lazy_bound model_countdown_wake PASS "${_ok}" eager_lazy bound 3)
mpscq_add_model_test(model_countdown_wake_lazy_bound model_countdown_wake PASS "${_ok}" lazy bound 3)
mpscq_add_model_test(model_countdown_wake_recheck_full model_countdown_wake PASS "${_ok}" recheck full)

# --- mutants: each must be caught -------------------------------------------------
# LOCAL_EAGER_WAKE_CAS (the eager claim [W3] as a compare-exchange against the
# value read): a lazy decrement between the eager add's read() and its claim
# makes it give up with the count still 1 - DEADLOCK (random: iteration ~100;
# bound 3: ~1200).
mpscq_add_relacy_model(model_countdown_wake_mutant_eager_wake_cas ${CMAKE_CURRENT_LIST_DIR}/countdown_wake_model.cpp
                       MPSCQ_MUTANT_LOCAL_EAGER_WAKE_CAS)
mpscq_add_model_test(model_countdown_wake_mutant_eager_wake_cas model_countdown_wake_mutant_eager_wake_cas
                     PASS "DEADLOCK" eager_lazy random 200000)
# LOCAL_PUSH_ARM_RELAXED (read() [W1] and arm() [W6] relaxed): the add's read
# comes first and sees "no waiter", yet the waiter's relaxed re-check reads
# the old counter and sleeps - DEADLOCK (iteration 1-10 in every model).
mpscq_add_relacy_model(model_countdown_wake_mutant_push_arm_relaxed ${CMAKE_CURRENT_LIST_DIR}/countdown_wake_model.cpp
                       MPSCQ_MUTANT_LOCAL_PUSH_ARM_RELAXED)
mpscq_add_model_test(model_countdown_wake_mutant_push_arm_relaxed model_countdown_wake_mutant_push_arm_relaxed
                     PASS "DEADLOCK" recheck random 200000)

# Not caught here either (random 300k of every model, eager_lazy bound 3),
# for the reasons local_work.cmake gives: LOCAL_CLAIM_RELAXED ([W2]/[W3]
# relaxed: the same add's seq_cst [W1] already synchronizes with the arm it claims from; docs/design.md row W2) and
# LOCAL_FUTEX_WORD_RELAXED ([W4]/[W5] relaxed: masked by rl_futex's fences).
mpscq_add_relacy_model(model_countdown_wake_mutant_read_acquire ${CMAKE_CURRENT_LIST_DIR}/countdown_wake_model.cpp
                       MPSCQ_MUTANT_LOCAL_READ_ACQUIRE)
mpscq_add_model_test(model_countdown_wake_mutant_read_acquire model_countdown_wake_mutant_read_acquire
                     PASS "DEADLOCK" recheck full)
