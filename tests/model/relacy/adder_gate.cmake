# Relacy model of mpscq::detail::adder_gate alone
# (tests/model/relacy/adder_gate_model.cpp) on the real header. Included by
# tests/CMakeLists.txt when MPSCQ_BUILD_MODELS is on.
#
#   adder_gate_model drain|drain_except|destroy|all [random N | bound K | full]
#
# One executable for the correct gate and one for its mutant (compile
# definition, detail/mutants.hpp). The correct build must pass every model;
# the mutant must be caught, which the test asserts by matching the checker's
# verdict text (PASS_REGULAR_EXPRESSION, never WILL_FAIL, so an unrelated
# crash cannot count as a catch).
if(NOT MPSCQ_RELACY_INCLUDE_DIR)
  return()  # tests/CMakeLists.txt has warned
endif()

# --- the correct gate: every model passes -------------------------------------
# Timings on the 2-core dev machine: drain random 200k ~0.5 s, full search
# ~6 s with one shard (the pre-0.3 gate), see below for two; destroy full
# search ~0.03 s.
set(_ok "adder-gate-model: all checks passed")
# Two shards (MPSCQ_GATE_SHARDS=2), one per adder: the full search over the
# default four is ~30x longer and adds no interleaving the two adders can
# make (each thread uses one shard; the closer's extra fetch_or/loads on
# empty shards only multiply the schedules).
mpscq_add_relacy_model(model_adder_gate ${CMAKE_CURRENT_LIST_DIR}/adder_gate_model.cpp MPSCQ_GATE_SHARDS=2)
mpscq_add_model_test(model_adder_gate_drain_random model_adder_gate PASS "${_ok}" drain random 200000)
mpscq_add_model_test(model_adder_gate_drain_full model_adder_gate PASS "${_ok}" drain full)
mpscq_add_model_test(model_adder_gate_destroy_full model_adder_gate PASS "${_ok}" destroy full)
# wait_drained_except(): the closer's own add stays inside (exit() from
# inside a scheduler call below it, task_work's destructor and close()).
mpscq_add_model_test(model_adder_gate_drain_except_random model_adder_gate PASS "${_ok}" drain_except random 200000)

# --- mutants: each must be caught ---------------------------------------------
# GATE_RELAXED (leave()'s release fetch_sub and wait_drained()'s acquire load
# relaxed): the closer's read of an add's write is no longer ordered after it
# - DATA RACE in read_slots, iteration 1 under every scheduler (drain: the
# adds' pushes; destroy: an add's write after its push). local_work's
# close_race model catches it too (local_work.cmake).
set(_race "DATA RACE .data race detected., in read_slots")
mpscq_add_relacy_model(model_adder_gate_mutant_gate_relaxed ${CMAKE_CURRENT_LIST_DIR}/adder_gate_model.cpp
                       MPSCQ_MUTANT_GATE_RELAXED)
mpscq_add_model_test(model_adder_gate_mutant_gate_relaxed_drain model_adder_gate_mutant_gate_relaxed
                     PASS "${_race}" drain random 200000)
mpscq_add_model_test(model_adder_gate_mutant_gate_relaxed_destroy model_adder_gate_mutant_gate_relaxed
                     PASS "${_race}" destroy bound 2)
mpscq_add_model_test(model_adder_gate_mutant_gate_relaxed_drain_except model_adder_gate_mutant_gate_relaxed
                     PASS "${_race}" drain_except random 200000)

# GATE_CLOSE_ONE_SHARD (close() and wait_drained() reach shard 0 only): the
# adder on shard 1 neither sees the closed bit nor is waited for, and writes
# its slot after the drain.
mpscq_add_relacy_model(model_adder_gate_mutant_close_one_shard ${CMAKE_CURRENT_LIST_DIR}/adder_gate_model.cpp
                       MPSCQ_MUTANT_GATE_CLOSE_ONE_SHARD MPSCQ_GATE_SHARDS=2)
mpscq_add_model_test(model_adder_gate_mutant_close_one_shard_drain model_adder_gate_mutant_close_one_shard
                     PASS "USER ASSERT FAILED .assertion: drained while an add that entered before close.. was inside|DATA RACE .data race detected., in read_slots"
                     drain random 200000)
mpscq_add_model_test(model_adder_gate_mutant_close_one_shard_drain_except model_adder_gate_mutant_close_one_shard
                     PASS "USER ASSERT FAILED .assertion: drained while an add that entered before close.. was inside|DATA RACE .data race detected., in read_slots"
                     drain_except random 200000)
