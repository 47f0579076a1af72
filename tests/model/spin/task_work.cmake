# spin models of mpscq::task_work's schedule-once protocol
# (tests/model/spin/task_work.pml), checked exhaustively: spin -a, cc pan.c,
# ./pan. The correct configurations must report "errors: 0"; each mutant must
# report errors (PASS_REGULAR_EXPRESSION "errors: [1-9]", never WILL_FAIL, so a
# model that does not even build cannot count as a catch).
#
# This file has two roles: included by tests/CMakeLists.txt (when
# MPSCQ_BUILD_MODELS is on) it registers the tests; run with cmake -P it is the
# driver of one test (-DWORK_DIR, -DMODEL, -DDEFINES, -DSPIN, -DCC).

if(CMAKE_SCRIPT_MODE_FILE AND CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  # --- driver: one model configuration -----------------------------------
  file(REMOVE_RECURSE ${WORK_DIR})
  file(MAKE_DIRECTORY ${WORK_DIR})
  separate_arguments(defines UNIX_COMMAND "${DEFINES}")
  execute_process(COMMAND ${SPIN} -a ${defines} ${MODEL} WORKING_DIRECTORY ${WORK_DIR}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "spin -a failed:\n${out}")
  endif()
  # SAFETY: assertions and invalid end states; COLLAPSE: state compression
  # (the largest configuration stores ~7M states in ~400 MB).
  execute_process(COMMAND ${CC} -O2 -w -DSAFETY -DCOLLAPSE -o pan pan.c WORKING_DIRECTORY ${WORK_DIR}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cc pan.c failed:\n${out}")
  endif()
  execute_process(COMMAND ./pan -m100000 WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  message("${out}")
  return()
endif()

# --- registration -------------------------------------------------------------
find_program(MPSCQ_SPIN_EXECUTABLE spin)
find_program(MPSCQ_SPIN_CC NAMES cc gcc clang)
if(NOT MPSCQ_SPIN_EXECUTABLE OR NOT MPSCQ_SPIN_CC)
  message(WARNING "spin or a C compiler not found: the mpscq::task_work spin models are not checked")
  return()
endif()

# mpscq_add_task_work_spin_test(NAME PASS_REGEX DEFINES...)
function(mpscq_add_task_work_spin_test name pass)
  string(REPLACE ";" " " defines "${ARGN}")
  add_test(NAME ${name}
           COMMAND ${CMAKE_COMMAND} -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/spin/${name}
                   -DMODEL=${CMAKE_CURRENT_LIST_DIR}/task_work.pml "-DDEFINES=${defines}"
                   -DSPIN=${MPSCQ_SPIN_EXECUTABLE} -DCC=${MPSCQ_SPIN_CC} -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(${name} PROPERTIES LABELS model TIMEOUT 300 PASS_REGULAR_EXPRESSION "${pass}")
endfunction()

# Correct protocol (2 producers x 2 items unless said otherwise; states and
# times on the 2-core CI machine):
#   one runner, caps 1|none             ~76k states    ~0.2 s
#   two runners (hand-off)              ~1.4M states   ~1 s
#   one runner, scheduler may refuse    ~0.8M states   ~0.6 s
#   two runners, scheduler may refuse   ~6.6M states   ~7 s
#   3 producers x 1 item, two runners   ~1.4M states   ~1 s
#   lifetime (refuse, destroy)          ~38k states    ~0.1 s
#   inline scheduler, self-adding items ~366k states   ~0.4 s
#   the same, 3 producers x 1 item      ~1.3M states   ~1.5 s
set(_ok "errors: 0\n")
mpscq_add_task_work_spin_test(spin_task_work "${_ok}")
mpscq_add_task_work_spin_test(spin_task_work_two_runners "${_ok}" -DRUNNERS=2)
mpscq_add_task_work_spin_test(spin_task_work_refuse "${_ok}" -DREFUSE)
mpscq_add_task_work_spin_test(spin_task_work_refuse_two_runners "${_ok}" -DREFUSE -DRUNNERS=2)
mpscq_add_task_work_spin_test(spin_task_work_three_producers "${_ok}" -DNP=3 -DNI=1 -DRUNNERS=2)
mpscq_add_task_work_spin_test(spin_task_work_lifetime "${_ok}" -DLIFETIME)
mpscq_add_task_work_spin_test(spin_task_work_inline "${_ok}" -DINLINE)
mpscq_add_task_work_spin_test(spin_task_work_inline_three_producers "${_ok}" -DINLINE -DNP=3 -DNI=1)

# Mutants: each must be caught; the regex also names the assertion that fires
# (CMake's '.' matches newlines too).
set(_caught "errors: [1-9]")
mpscq_add_task_work_spin_test(spin_task_work_mutant_no_stop_after_emptied
                              "assertion violated \\(pending==0\\).*${_caught}" -DNO_STOP -DNO_CAPS)
mpscq_add_task_work_spin_test(spin_task_work_mutant_stop_after_cap_check
                              "assertion violated (\\(pending==0\\)| !\\(tail_stub\\)).*${_caught}"
                              -DSTOP_AFTER_CAP)
mpscq_add_task_work_spin_test(spin_task_work_mutant_emptied_relaxed
                              "assertion violated  !\\(in_item\\).*${_caught}" -DEMPTIED_RELAXED
                              -DRUNNERS=2)
mpscq_add_task_work_spin_test(spin_task_work_mutant_inline_handoff_drops_turn
                              "assertion violated \\(ran==.*${_caught}" -DINLINE -DINLINE_DROPS_TURN -DNI=1)
mpscq_add_task_work_spin_test(spin_task_work_mutant_fallback_drops_ref_early
                              "assertion violated  !\\(freed\\).*${_caught}" -DDROPS_REF_EARLY -DLIFETIME)
