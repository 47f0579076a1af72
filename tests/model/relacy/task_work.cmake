# Relacy models of mpscq::task_work (tests/model/relacy/task_work_model.cpp) on
# the real header. Included by tests/CMakeLists.txt when MPSCQ_BUILD_MODELS is
# on. One executable per mutant (compile definitions); each CTest test names
# the model and the scheduler on the command line. The correct build must pass
# every model; each mutant must be caught, which a test asserts by matching the
# checker's verdict text (PASS_REGULAR_EXPRESSION, never WILL_FAIL, so an
# unrelated crash cannot count as a catch).
if(NOT MPSCQ_RELACY_INCLUDE_DIR)
  return()  # tests/CMakeLists.txt has warned
endif()

# --- the correct protocol: every model passes -------------------------------
# Random search, then an exhaustive context-bounded search where it stays
# short. Timings on the 2-core machine (loaded by other jobs; since every add
# enters the adder gate before its push and a target run meeting an in-flight
# push returns `busy` after one pause, the bounded searches grew): random 500k
# ~2.5-4 s each; bound 3: schedule_once ~43 s, lifetime ~21 s; capped bound 1
# ~8 s (bound 2: ~13.6M iterations, ~80 s - left to manual runs);
# fallback_requeue bound 2 ~3 s; handoff bound 2 is left to manual runs.
mpscq_add_relacy_model(model_task_work ${CMAKE_CURRENT_LIST_DIR}/task_work_model.cpp)
foreach(model IN ITEMS schedule_once capped handoff lifetime fallback_requeue)
  mpscq_add_model_test(model_task_work_${model}_random model_task_work
                                 PASS "task_work_model: all checks passed" ${model} random 500000)
endforeach()
foreach(config IN ITEMS "schedule_once;3" "capped;1" "lifetime;3" "fallback_requeue;2")
  list(GET config 0 model)
  list(GET config 1 bound)
  mpscq_add_model_test(model_task_work_${model}_bound${bound} model_task_work
                                 PASS "task_work_model: all checks passed" ${model} bound ${bound})
endforeach()

# The in-flight add models are small: bound 3 finishes quickly (destroy_in_flight
# ~10 s, close_in_flight ~0.02 s).
foreach(model IN ITEMS destroy_in_flight close_in_flight)
  mpscq_add_model_test(model_task_work_${model}_bound3 model_task_work
                                 PASS "task_work_model: all checks passed" ${model} bound 3)
endforeach()

# An unscheduled run, then destroy, while the add is still returning (2
# threads): random 500k ~2.5 s; bound 8 (~1.4M iterations) ~5 s. (A full
# search ends too, ~6.9M iterations in ~42 s: left to manual runs.)
mpscq_add_model_test(model_task_work_unscheduled_run_destroy_random model_task_work
                               PASS "task_work_model: all checks passed" unscheduled_run_destroy random 500000)
mpscq_add_model_test(model_task_work_unscheduled_run_destroy_bound8 model_task_work
                               PASS "task_work_model: all checks passed" unscheduled_run_destroy bound 8)

# The inline scheduler with self-adding items (2 producers, each the runner of
# its own adds; the items' adds hand their cycles to the active run inline,
# the producers' runs hand off to each other across threads): random 500k
# ~2.3-3.3 s; bound 3 (~566k iterations) ~3.4-5 s; bound 4 ~23 s (left to
# manual runs).
mpscq_add_model_test(model_task_work_inline_scheduler_random model_task_work
                               PASS "task_work_model: all checks passed" inline_scheduler random 500000)
mpscq_add_model_test(model_task_work_inline_scheduler_bound3 model_task_work
                               PASS "task_work_model: all checks passed" inline_scheduler bound 3)

# --- mutants: each must be caught -------------------------------------------
# name # definition # model # verdict regex that must appear (see the model's
# header comment for which check fires and why). The two inline_scheduler
# mutants are found within the first thousand random iterations.
set(_task_work_mutants
  "no_stop_after_emptied#MPSCQ_MUTANT_TASK_NO_STOP_AFTER_EMPTIED#schedule_once#USER ASSERT FAILED .second schedule while a run is pending"
  "stop_after_cap_check#MPSCQ_MUTANT_TASK_STOP_AFTER_CAP_CHECK#capped#USER ASSERT FAILED .(second schedule while a run is pending|run\\(\\) reported more after an emptying pop)"
  "emptied_relaxed#MPSCQ_MUTANT_TASK_EMPTIED_RELAXED#handoff#DATA RACE .data race detected., in on_run"
  "fallback_queued_relaxed#MPSCQ_MUTANT_TASK_FALLBACK_QUEUED_RELAXED#fallback_requeue#USER ASSERT FAILED .an item was lost"
  "inline_run_reported#MPSCQ_MUTANT_TASK_INLINE_RUN_REPORTED#inline_scheduler#USER ASSERT FAILED .run\\(\\) called from inside one of its own items"
  "inline_handoff_drops_turn#MPSCQ_MUTANT_TASK_INLINE_HANDOFF_DROPS_TURN#inline_scheduler#USER ASSERT FAILED .an item was lost")
foreach(entry IN LISTS _task_work_mutants)
  string(REPLACE "#" ";" fields "${entry}")
  list(GET fields 0 mutant)
  list(GET fields 1 definition)
  list(GET fields 2 model)
  list(GET fields 3 verdict)
  mpscq_add_relacy_model(model_task_work_mutant_${mutant} ${CMAKE_CURRENT_LIST_DIR}/task_work_model.cpp ${definition})
  mpscq_add_model_test(model_task_work_mutant_${mutant} model_task_work_mutant_${mutant}
                                 PASS "${verdict}" ${model} random 200000)
endforeach()

# In-flight adds at teardown: one executable, two models. destroy_in_flight
# needs the add preempted between its fallback hand-off and its gate_
# fetch_sub while the job and the whole destructor run - bound 2 finds it
# (iteration ~9k, under 1 s) where 500k random runs do not.
# TASK_FALLBACK_DROPS_REF_EARLY: the destructor has to pass its whole wait
# and take the run slot between the job's early release and the job's next
# access. A random search of 200000 met that window while every run also
# stored its thread id (active_thread_, gone since the review of issue 18:
# "this thread holds the slot" is its callback chain now); without those
# stores the window is a few model steps narrower and 1000000 random
# iterations miss it. A context-bound search (bound 2, well under a second)
# finds it every time.
mpscq_add_relacy_model(model_task_work_mutant_fallback_drops_ref_early ${CMAKE_CURRENT_LIST_DIR}/task_work_model.cpp MPSCQ_MUTANT_TASK_FALLBACK_DROPS_REF_EARLY)
mpscq_add_model_test(model_task_work_mutant_fallback_drops_ref_early model_task_work_mutant_fallback_drops_ref_early
                               PASS "ACCESS TO FREED MEMORY|USER ASSERT FAILED .destroyed while a fallback job it handed over was still running"
                               lifetime bound 2)

mpscq_add_relacy_model(model_task_work_mutant_teardown_no_wait_adders ${CMAKE_CURRENT_LIST_DIR}/task_work_model.cpp MPSCQ_MUTANT_TASK_TEARDOWN_NO_WAIT_ADDERS)
mpscq_add_model_test(model_task_work_mutant_teardown_no_wait_adders_destroy
                               model_task_work_mutant_teardown_no_wait_adders
                               PASS "ACCESS TO FREED MEMORY|USER ASSERT FAILED .destroyed while a fallback job"
                               destroy_in_flight bound 2)
mpscq_add_model_test(model_task_work_mutant_teardown_no_wait_adders_close
                               model_task_work_mutant_teardown_no_wait_adders
                               PASS "USER ASSERT FAILED .scheduler called after close\\(\\) returned" close_in_flight random 200000)

# The pre-hardening order, gate after push (TASK_GATE_AFTER_PUSH): the
# producer is preempted between its push and its enter(); the target's
# unscheduled run() runs the item, the target destroys the task_work (the
# gate reads no add inside) and the producer's enter() touches the freed
# gate. Bound 1 finds it (iteration ~30, well under 1 s); 200k random runs do
# not (the whole run and destructor must fit in the window).
mpscq_add_relacy_model(model_task_work_mutant_gate_after_push ${CMAKE_CURRENT_LIST_DIR}/task_work_model.cpp MPSCQ_MUTANT_TASK_GATE_AFTER_PUSH)
mpscq_add_model_test(model_task_work_mutant_gate_after_push model_task_work_mutant_gate_after_push
                               PASS "ACCESS TO FREED MEMORY" unscheduled_run_destroy bound 1)

# MPSCQ_MUTANT_TASK_FALLBACK_REFS_RELAXED (fallback_refs_: the job's release
# fetch_sub and the destructor's acquire load relaxed) has no test: NOT CAUGHT
# because (tried: lifetime, destroy_in_flight, close_in_flight, random 500k)
#  - the destructor then takes the run slot with an acquire compare-exchange
#    on runs_; in Relacy an RMW always reads the latest value, so it reads the
#    job's release in leave_run() and orders everything the job did before
#    it - and the job touches nothing between leave_run() and its fetch_sub;
#  - Relacy does not check a destruction against earlier, unordered atomic
#    accesses (rl::atomic's destructor only frees), so the fetch_sub itself
#    racing with the free is invisible to it.
# The order is still needed in C++: the free must happen-after the job's
# fetch_sub, and nothing else orders that (an RMW on runs_ need not follow
# the job's in modification order without happens-before).

# The split adder gate closed on shard 0 only (GATE_CLOSE_ONE_SHARD): an add
# on another shard (the model's producer threads hash by their Relacy index)
# is neither refused nor waited for - the in-flight teardown models catch it
# as they catch TASK_TEARDOWN_NO_WAIT_ADDERS.
mpscq_add_relacy_model(model_task_work_mutant_gate_close_one_shard ${CMAKE_CURRENT_LIST_DIR}/task_work_model.cpp MPSCQ_MUTANT_GATE_CLOSE_ONE_SHARD)
mpscq_add_model_test(model_task_work_mutant_gate_close_one_shard_destroy
                               model_task_work_mutant_gate_close_one_shard
                               PASS "ACCESS TO FREED MEMORY|USER ASSERT FAILED .destroyed while a fallback job"
                               destroy_in_flight bound 2)
mpscq_add_model_test(model_task_work_mutant_gate_close_one_shard_close
                               model_task_work_mutant_gate_close_one_shard
                               PASS "USER ASSERT FAILED .scheduler called after close\\(\\) returned" close_in_flight random 200000)
