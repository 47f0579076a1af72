# spin models of mpscq::local_work's wake protocol (tests/model/spin/local_work.pml),
# checked exhaustively: spin -a, cc pan.c, ./pan. Correct configurations must
# report "errors: 0"; each mutant must report errors (PASS_REGULAR_EXPRESSION
# "errors: [1-9]" with the verdict that names the check, never WILL_FAIL).
#
# Two kinds of run:
#   safety  cc -DSAFETY, ./pan: assertions and invalid end states (the owner
#           asleep on the futex with nobody left to wake it = a lost wake)
#   ltl     spin -DCHECK_LTL, ./pan -a -f: the claim "an eager item queued
#           behind a sleeping owner eventually gets it up", weak fairness
#
# This file has two roles: included by tests/CMakeLists.txt (when
# MPSCQ_BUILD_MODELS is on) it registers the tests; run with cmake -P it is the
# driver of one test (-DWORK_DIR, -DMODEL, -DDEFINES, -DMODE, -DSPIN, -DCC).

if(CMAKE_SCRIPT_MODE_FILE AND CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  # --- driver: one model configuration -----------------------------------
  file(REMOVE_RECURSE ${WORK_DIR})
  file(MAKE_DIRECTORY ${WORK_DIR})
  separate_arguments(defines UNIX_COMMAND "${DEFINES}")
  if(MODE STREQUAL "ltl")
    list(APPEND defines -DCHECK_LTL)
    set(cc_flags)
    set(pan_flags -a -f -m100000)
  else()
    set(cc_flags -DSAFETY)
    set(pan_flags -m100000)
  endif()
  execute_process(COMMAND ${SPIN} -a ${defines} ${MODEL} WORKING_DIRECTORY ${WORK_DIR}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "spin -a failed:\n${out}")
  endif()
  execute_process(COMMAND ${CC} -O2 -w ${cc_flags} -o pan pan.c WORKING_DIRECTORY ${WORK_DIR}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cc pan.c failed:\n${out}")
  endif()
  execute_process(COMMAND ./pan ${pan_flags} WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  message("${out}")
  return()
endif()

# --- registration -------------------------------------------------------------
find_program(MPSCQ_SPIN_EXECUTABLE spin)
find_program(MPSCQ_SPIN_CC NAMES cc gcc clang)
if(NOT MPSCQ_SPIN_EXECUTABLE OR NOT MPSCQ_SPIN_CC)
  message(WARNING "spin or a C compiler not found: the mpscq::local_work spin models are not checked")
  return()
endif()

# mpscq_add_local_work_spin_test(NAME MODE PASS_REGEX DEFINES...)
function(mpscq_add_local_work_spin_test name mode pass)
  string(REPLACE ";" " " defines "${ARGN}")
  add_test(NAME ${name}
           COMMAND ${CMAKE_COMMAND} -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/spin/${name}
                   -DMODEL=${CMAKE_CURRENT_LIST_DIR}/local_work.pml "-DDEFINES=${defines}" -DMODE=${mode}
                   -DSPIN=${MPSCQ_SPIN_EXECUTABLE} -DCC=${MPSCQ_SPIN_CC} -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(${name} PROPERTIES LABELS model TIMEOUT 300 PASS_REGULAR_EXPRESSION "${pass}")
endfunction()

# Correct protocol (states / pan time on the 2-core dev machine):
#   1 lazy + 1 eager, wait(2)                 safety 17k states 0.1 s; ltl 19k 0.1 s
#   2 lazy + 1 eager, wait(3)                 safety 2.1M 0.9 s;       ltl 2.3M 1.1 s
#   1 lazy + 1 eager x 2 items, wait(4)       safety 0.9M 0.4 s
#   1 lazy + 1 eager, wait(1): close() while adds run          4k states 0.1 s
set(_ok "errors: 0\n")
mpscq_add_local_work_spin_test(spin_local_work safety "${_ok}")
mpscq_add_local_work_spin_test(spin_local_work_three_producers safety "${_ok}" -DNLAZY=2 -DNEAGER=1)
mpscq_add_local_work_spin_test(spin_local_work_two_items safety "${_ok}" -DNI=2)
mpscq_add_local_work_spin_test(spin_local_work_close_race safety "${_ok}" -DMIN=1)
mpscq_add_local_work_spin_test(spin_local_work_ltl ltl "${_ok}")
mpscq_add_local_work_spin_test(spin_local_work_three_producers_ltl ltl "${_ok}" -DNLAZY=2 -DNEAGER=1)

# Mutants: each must be caught; the regex names the verdict (CMake's '.'
# matches newlines too).
set(_caught "errors: [1-9]")
set(_lost_wake "invalid end state.*${_caught}")
set(_lost_wake_ltl "acceptance cycle.*${_caught}")
mpscq_add_local_work_spin_test(spin_local_work_mutant_eager_wake_cas safety "${_lost_wake}" -DEAGER_WAKE_CAS)
mpscq_add_local_work_spin_test(spin_local_work_mutant_eager_wake_cas_ltl ltl "${_lost_wake_ltl}" -DEAGER_WAKE_CAS)
mpscq_add_local_work_spin_test(spin_local_work_mutant_arm_without_recheck safety "${_lost_wake}" -DARM_WITHOUT_RECHECK)
mpscq_add_local_work_spin_test(spin_local_work_mutant_arm_without_recheck_ltl ltl "${_lost_wake_ltl}"
                               -DARM_WITHOUT_RECHECK -DNLAZY=0)
mpscq_add_local_work_spin_test(spin_local_work_mutant_push_arm_relaxed safety "${_lost_wake}" -DPUSH_ARM_RELAXED)
mpscq_add_local_work_spin_test(spin_local_work_mutant_push_arm_relaxed_ltl ltl "${_lost_wake_ltl}"
                               -DPUSH_ARM_RELAXED -DNLAZY=0)
mpscq_add_local_work_spin_test(spin_local_work_mutant_teardown_no_wait_adders safety
                               "assertion violated  !\\(freed\\).*${_caught}" -DTEARDOWN_NO_WAIT_ADDERS)
