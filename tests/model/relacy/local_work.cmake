# Relacy models of mpscq::local_work's wake protocol
# (tests/model/relacy/local_work_model.cpp) on the real header. Included by
# tests/CMakeLists.txt when MPSCQ_BUILD_MODELS is on.
#
#   local_work_model <scenario> [random N | bound K | full]
#
# One executable for the correct code and one per mutant (compile
# definitions, detail/mutants.hpp); each CTest test names a scenario and a
# scheduler. Correct models must pass (exit 0); every mutant must be caught,
# asserted by matching Relacy's verdict (PASS_REGULAR_EXPRESSION, never
# WILL_FAIL: an unrelated crash must not count as a catch).
if(NOT MPSCQ_RELACY_INCLUDE_DIR)
  return()  # tests/CMakeLists.txt has warned
endif()

# --- the correct protocol -------------------------------------------------------
# Random runs for the 3-thread scenarios, context-bounded searches for the
# small ones (a full search does not end: the wait loops yield, and every
# yield is a branch point).
mpscq_add_relacy_model(model_local_work ${CMAKE_CURRENT_LIST_DIR}/local_work_model.cpp)
mpscq_add_model_test(model_local_work_eager_lazy_random model_local_work eager_lazy random 1000000)
mpscq_add_model_test(model_local_work_eager_lazy_bound model_local_work eager_lazy bound 2)
mpscq_add_model_test(model_local_work_recheck_bound model_local_work recheck bound 6)
mpscq_add_model_test(model_local_work_fifo_random model_local_work fifo random 1000000)
mpscq_add_model_test(model_local_work_teardown_bound model_local_work teardown bound 6)
mpscq_add_model_test(model_local_work_close_race_random model_local_work close_race random 1000000)
mpscq_add_model_test(model_local_work_interrupt_bound model_local_work interrupt bound 6)
mpscq_add_model_test(model_local_work_interrupt_countdown_random model_local_work interrupt_countdown random 1000000)
mpscq_add_model_test(model_local_work_stop_bound model_local_work stop bound 6)
mpscq_add_model_test(model_local_work_stop_countdown_random model_local_work stop_countdown random 1000000)

# --- mutants: each must be caught -------------------------------------------------
# name | definition | scenario + scheduler | verdict that must appear
set(_local_work_mutants
  "eager_wake_cas|MPSCQ_MUTANT_LOCAL_EAGER_WAKE_CAS|eager_lazy random 200000|DEADLOCK"
  "arm_without_recheck|MPSCQ_MUTANT_LOCAL_ARM_WITHOUT_RECHECK|recheck random 100000|DEADLOCK"
  "push_arm_relaxed|MPSCQ_MUTANT_LOCAL_PUSH_ARM_RELAXED|recheck random 200000|DEADLOCK"
  # The push-vs-arm pair without its total order (read() an acquire load,
  # arm() acq_rel, the re-check an acquire load): store buffering, the
  # add reads "no waiter" and the re-check the old tail.
  "read_acquire|MPSCQ_MUTANT_LOCAL_READ_ACQUIRE|recheck random 200000|DEADLOCK"
  # The split gate closed on shard 0 only: the adder (Relacy thread 1, shard
  # 1) is neither refused nor waited for.
  "gate_close_one_shard|MPSCQ_MUTANT_GATE_CLOSE_ONE_SHARD|teardown bound 2|ACCESS TO FREED MEMORY"
  # teardown with bound 2, not random: since the gate has four shards the
  # destructor's close() is eight fetch_or where it was two, plus a wait loop per shard, and 1M random runs no longer
  # fit the owner's whole pop-run-destroy into the add's window; the
  # context-bounded search finds it at iteration ~90 (interrupt: ~45).
  "teardown_no_wait_adders|MPSCQ_MUTANT_LOCAL_TEARDOWN_NO_WAIT_ADDERS|teardown bound 2|ACCESS TO FREED MEMORY"
  "teardown_no_wait_adders_close|MPSCQ_MUTANT_LOCAL_TEARDOWN_NO_WAIT_ADDERS|close_race random 100000|USER ASSERT FAILED .assertion: [^)]*item lost"
  # The gate read zero without synchronizing with the adders' leave(): the
  # drain's tail load may be older than an add's push (stale empty) - "item
  # lost", iteration ~400. teardown does not catch it: Relacy checks a free
  # against later accesses, not against unordered earlier atomic ones, and
  # the add touches nothing after its fetch_sub.
  "gate_relaxed|MPSCQ_MUTANT_GATE_RELAXED|close_race random 100000|USER ASSERT FAILED .assertion: [^)]*item lost"
  # interrupt(): the flag read before the futex snapshot sleeps through the
  # interrupt; outside the gate, its FUTEX_WAKE lands after the free.
  "interrupt_check_before_snapshot|MPSCQ_MUTANT_LOCAL_INTERRUPT_CHECK_BEFORE_SNAPSHOT|interrupt random 200000|DEADLOCK"
  "interrupt_outside_gate|MPSCQ_MUTANT_LOCAL_INTERRUPT_OUTSIDE_GATE|interrupt bound 2|ACCESS TO FREED MEMORY"
  "interrupt_check_before_snapshot_countdown|MPSCQ_MUTANT_LOCAL_INTERRUPT_CHECK_BEFORE_SNAPSHOT|interrupt_countdown random 300000|DEADLOCK"
  # The flag's release/acquire relaxed: a wait() that sees the flag on its
  # after-the-pass check (no futex snapshot between) returns without the
  # interrupter's writes - the stop variable's read is a DATA RACE.
  "interrupt_flag_relaxed|MPSCQ_MUTANT_LOCAL_INTERRUPT_FLAG_RELAXED|interrupt_countdown random 300000|DATA RACE"
  # wait(..., stop token) (issue 21): the stop read before the futex
  # snapshot, or no stop callback to bump the futex word: the owner sleeps
  # through the stop. `stop` with bound 2, not random: the window (the check,
  # then the snapshot) is two steps among the model token's lock traffic,
  # and 1M random runs miss it; the bounded search finds it at iteration ~17.
  "stop_check_before_snapshot|MPSCQ_MUTANT_LOCAL_STOP_CHECK_BEFORE_SNAPSHOT|stop bound 2|DEADLOCK"
  "stop_check_before_snapshot_countdown|MPSCQ_MUTANT_LOCAL_STOP_CHECK_BEFORE_SNAPSHOT|stop_countdown random 300000|DEADLOCK"
  "stop_no_callback|MPSCQ_MUTANT_LOCAL_STOP_NO_CALLBACK|stop random 200000|DEADLOCK")
foreach(entry IN LISTS _local_work_mutants)
  string(REPLACE "|" ";" fields "${entry}")
  list(GET fields 0 mutant)
  list(GET fields 1 definition)
  list(GET fields 2 run)
  list(GET fields 3 verdict)
  string(REPLACE " " ";" run "${run}")
  if(NOT TARGET model_local_work_${definition})
    mpscq_add_relacy_model(model_local_work_${definition} ${CMAKE_CURRENT_LIST_DIR}/local_work_model.cpp ${definition})
  endif()
  mpscq_add_model_test(model_local_work_mutant_${mutant} model_local_work_${definition} PASS "${verdict}" ${run})
endforeach()

# Two mutants have no test: NOT CAUGHT after random 300k runs of every
# scenario and bound 2 (eager_lazy) / bound 6 (recheck, teardown).
#  - MPSCQ_MUTANT_LOCAL_FUTEX_WORD_RELAXED (countdown_wake::wake()'s release increment
#    of the futex word and the owner's acquire snapshot relaxed). Relacy's
#    rl_futex runs a seq_cst fence before both its wait check and its wake,
#    and a wake release/acquires the futex's own sync object, which masks the
#    word's orders. The orders also look unnecessary: the word is a sequence
#    number compared by value only; that the snapshot predates a claimed
#    wake's increment follows from happens-before through wait_nr (arm ->
#    claim), and the wait check's freshness comes from futex(2)'s bucket lock
#    (atomic::wait's eligibility rule / the mutex on the portable path), not
#    from the word's release/acquire.
#  - MPSCQ_MUTANT_LOCAL_CLAIM_RELAXED (the lazy fetch_sub / eager exchange
#    claims on wait_nr relaxed). Unnecessary as far as we can tell (see
#    docs/design.md row W2): the same add's seq_cst read() of wait_nr
#    already synchronizes with the arm whose count the claim takes; the
#    owner finds the push through the seq_cst push-vs-arm pair without the
#    claim's release; the claim's acquire half orders nothing the add reads
#    afterwards (it only bumps the futex word, wakes, and leaves the gate).
