# Relacy models of bounded admission (tests/model/relacy/admission_model.cpp):
# detail/admission.hpp's room counter and the sleeping protocol of producers
# that wait for room, on the real headers (local_work's try_add* and the
# core's hooks). Included by tests/CMakeLists.txt when MPSCQ_BUILD_MODELS is
# on.
#
#   admission_model <scenario> [random N | bound K | full]
#
# One executable for the correct code and one per mutant (compile
# definitions, detail/mutants.hpp); correct models must pass (exit 0), every
# mutant must be caught, asserted by matching Relacy's verdict
# (PASS_REGULAR_EXPRESSION, never WILL_FAIL).
if(NOT MPSCQ_RELACY_INCLUDE_DIR)
  return()  # tests/CMakeLists.txt has warned
endif()

# --- the correct protocol -------------------------------------------------------
# Random runs for the 3-thread scenarios (room, plain: a context-bounded
# search does not end within minutes - the owner's wait loops yield, and every
# yield is a branch point), context-bounded searches for the 2-thread ones.
# Times on the 2-core machine (release preset): room ~11 s, plain ~10 s,
# destroy ~7 s, the rest under 1 s each; every mutant is caught in under 1 s
# (room: iterations 18, 5, 27; close/destroy: 257, 11; stop: 3).
mpscq_add_relacy_model(model_admission ${CMAKE_CURRENT_LIST_DIR}/admission_model.cpp)
mpscq_add_model_test(model_admission_room_random model_admission room random 1000000)
mpscq_add_model_test(model_admission_plain_random model_admission plain random 1000000)
mpscq_add_model_test(model_admission_close_bound model_admission close bound 3)
mpscq_add_model_test(model_admission_destroy_bound model_admission destroy bound 3)
mpscq_add_model_test(model_admission_stop_bound model_admission stop bound 4)
mpscq_add_model_test(model_admission_stop_random model_admission stop random 200000)

# --- mutants: each must be caught -------------------------------------------------
# name | definition | scenario + scheduler | verdict that must appear
#
# close_no_wake is a LIVELOCK, not a DEADLOCK: close() waits the gate drained
# in a yielding loop while the producer sleeps, and the random scheduler lets
# Relacy wake a sleeper spuriously while another thread runs (so it does not
# see the lost wake); the context-bounded search does not, and reports the
# owner's endless wait loop. The stop scenario has no spinning thread, so its
# lost wake is a DEADLOCK.
set(_admission_mutants
  "no_recheck|MPSCQ_MUTANT_ADMISSION_NO_RECHECK|room random 200000|DEADLOCK"
  "relaxed|MPSCQ_MUTANT_ADMISSION_RELAXED|room random 200000|DEADLOCK"
  "wake_before_release|MPSCQ_MUTANT_ADMISSION_WAKE_BEFORE_RELEASE|room random 200000|DEADLOCK"
  "close_no_wake|MPSCQ_MUTANT_ADMISSION_CLOSE_NO_WAKE|close bound 2|LIVELOCK"
  "close_no_wake_destroy|MPSCQ_MUTANT_ADMISSION_CLOSE_NO_WAKE|destroy bound 2|LIVELOCK"
  "stop_before_snapshot|MPSCQ_MUTANT_ADMISSION_STOP_BEFORE_SNAPSHOT|stop bound 2|DEADLOCK")
foreach(entry IN LISTS _admission_mutants)
  string(REPLACE "|" ";" fields "${entry}")
  list(GET fields 0 mutant)
  list(GET fields 1 definition)
  list(GET fields 2 run)
  list(GET fields 3 verdict)
  string(REPLACE " " ";" run "${run}")
  if(NOT TARGET model_admission_${definition})
    mpscq_add_relacy_model(model_admission_${definition} ${CMAKE_CURRENT_LIST_DIR}/admission_model.cpp ${definition})
  endif()
  mpscq_add_model_test(model_admission_mutant_${mutant} model_admission_${definition} PASS "${verdict}" ${run})
endforeach()
