# Relacy models of the batched adds (tests/model/relacy/work_chain_model.cpp):
# local_work::add_batch and task_work::add_batch on the real headers.
# Included by tests/CMakeLists.txt when MPSCQ_BUILD_MODELS is on.
#
#   work_chain_model <scenario> [random N | bound K | full]
#
# One executable for the correct code and one per mutant (compile
# definitions, detail/mutants.hpp); each mutant must be caught, asserted by
# matching the checker's verdict (PASS_REGULAR_EXPRESSION, never WILL_FAIL).
if(NOT MPSCQ_RELACY_INCLUDE_DIR)
  return()  # tests/CMakeLists.txt has warned
endif()

# --- the correct protocol -------------------------------------------------------
# Timings on the 2-core machine (loaded): lazy_chain bound 3 ~1 s (bound 4
# ~18 s, bound 6 ~125 s: manual runs), chain_race bound 1 ~8 s (bound 2
# ~200 s: manual), random 500k 2.5-6 s each.
mpscq_add_relacy_model(model_work_chain ${CMAKE_CURRENT_LIST_DIR}/work_chain_model.cpp)
mpscq_add_model_test(model_work_chain_lazy_chain_bound model_work_chain lazy_chain bound 3)
mpscq_add_model_test(model_work_chain_chain_race_random model_work_chain chain_race random 500000)
mpscq_add_model_test(model_work_chain_chain_race_bound model_work_chain chain_race bound 1)
mpscq_add_model_test(model_work_chain_chain_fifo_random model_work_chain chain_fifo random 500000)
mpscq_add_model_test(model_work_chain_close_race_random model_work_chain close_race random 500000)
mpscq_add_model_test(model_work_chain_task_once_random model_work_chain task_once random 500000)

# --- mutants: each must be caught -------------------------------------------------
# name | definition | scenario + scheduler | verdict that must appear
set(_work_chain_mutants
  # claim_batch [W9] subtracts 1 for the chain: the count stays at 1, the
  # owner sleeps past min_events.
  "chain_counts_one|MPSCQ_MUTANT_LOCAL_CHAIN_COUNTS_ONE|lazy_chain random 100000|DEADLOCK"
  # claim_batch [W9] wakes only on old == n: a single lazy decrement between
  # the chain's read and its subtraction makes it step over 0 silently.
  "chain_wake_exact|MPSCQ_MUTANT_LOCAL_CHAIN_WAKE_EXACT|chain_race random 500000|DEADLOCK"
  # The chain add's push-vs-arm pair (push_batch's seq_cst exchange, read()
  # [W1]; the owner's arm [W6] and re-check [L21]): each weakened, or the
  # re-check dropped.
  "push_arm_relaxed|MPSCQ_MUTANT_LOCAL_PUSH_ARM_RELAXED|lazy_chain random 200000|DEADLOCK"
  "read_acquire|MPSCQ_MUTANT_LOCAL_READ_ACQUIRE|lazy_chain random 200000|DEADLOCK"
  "arm_without_recheck|MPSCQ_MUTANT_LOCAL_ARM_WITHOUT_RECHECK|lazy_chain random 100000|DEADLOCK"
  # The chain's inner links and payloads reach the consumer only through the
  # push's release link store [Q5].
  "queue_link_relaxed|MPSCQ_MUTANT_QUEUE_LINK_RELAXED|chain_fifo random 200000|DATA RACE"
  # close() drains before a chain's push lands.
  "teardown_no_wait_adders|MPSCQ_MUTANT_LOCAL_TEARDOWN_NO_WAIT_ADDERS|close_race random 200000|USER ASSERT FAILED .item lost"
  # task_work: a run that goes on past an emptying pop lets a second chain
  # schedule while the first schedule is pending.
  "task_no_stop_after_emptied|MPSCQ_MUTANT_TASK_NO_STOP_AFTER_EMPTIED|task_once random 500000|second schedule while a run is pending")
foreach(entry IN LISTS _work_chain_mutants)
  string(REPLACE "|" ";" fields "${entry}")
  list(GET fields 0 mutant)
  list(GET fields 1 definition)
  list(GET fields 2 run)
  list(GET fields 3 verdict)
  string(REPLACE " " ";" run "${run}")
  if(NOT TARGET model_work_chain_${definition})
    mpscq_add_relacy_model(model_work_chain_${definition} ${CMAKE_CURRENT_LIST_DIR}/work_chain_model.cpp ${definition})
  endif()
  mpscq_add_model_test(model_work_chain_mutant_${mutant} model_work_chain_${definition} PASS "${verdict}" ${run})
endforeach()
