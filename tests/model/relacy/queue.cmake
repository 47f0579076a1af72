# Relacy models of mpscq::queue (tests/model/relacy/queue_model.cpp) on the
# real header. Included by tests/CMakeLists.txt when MPSCQ_BUILD_MODELS is on.
#
# One executable per configuration and per mutant (compile definitions); each
# CTest test picks the scheduler on the command line. Correct models must
# pass; every mutant must be caught, which a test asserts by matching the
# checker's verdict text (PASS_REGULAR_EXPRESSION, never WILL_FAIL, so that an
# unrelated crash cannot count as a catch).
if(NOT MPSCQ_RELACY_INCLUDE_DIR)
  return()  # tests/CMakeLists.txt has warned
endif()

# --- correct models -----------------------------------------------------------
# 2 producers x 3 pushes, 2 nodes each: every producer reuses a node the
# consumer handed back, so stale stores of an earlier cycle would show.
mpscq_add_relacy_model(model_queue_2p ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=3 MODEL_POOL=2)
mpscq_add_model_test(model_queue_2p_random model_queue_2p random 1000000)
# 2 producers x 2 pushes, one node each (reused): context-bounded search.
mpscq_add_relacy_model(model_queue_2p_small ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=2 MODEL_POOL=1)
mpscq_add_model_test(model_queue_2p_small_bound model_queue_2p_small bound 3)
# 2 producers x 1 push: full search of every interleaving and stale read.
mpscq_add_relacy_model(model_queue_2p_tiny ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=1 MODEL_POOL=1)
mpscq_add_model_test(model_queue_2p_tiny_full model_queue_2p_tiny full)
# 3 producers x 2 pushes, one node each (reused).
mpscq_add_relacy_model(model_queue_3p ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=3 MODEL_ROUNDS=2 MODEL_POOL=1)
mpscq_add_model_test(model_queue_3p_random model_queue_3p random 1000000)
# push_batch: 2 producers, each pushing two linked chains of 2 nodes, reused.
mpscq_add_relacy_model(model_queue_2p_batch ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=2 MODEL_BATCH=2 MODEL_POOL=2)
mpscq_add_model_test(model_queue_2p_batch_random model_queue_2p_batch random 200000)

# pop_batch consumer (MODEL_POP_BATCH=N: the consumer calls pop_batch(N, f)),
# on the same shapes: reuse (2 nodes per producer), a bounded search, three
# producers, and push_batch chains.
mpscq_add_relacy_model(model_queue_2p_popbatch ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=3 MODEL_POOL=2 MODEL_POP_BATCH=3)
mpscq_add_model_test(model_queue_2p_popbatch_random model_queue_2p_popbatch random 1000000)
mpscq_add_relacy_model(model_queue_2p_small_popbatch ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=2 MODEL_POOL=1 MODEL_POP_BATCH=2)
mpscq_add_model_test(model_queue_2p_small_popbatch_bound model_queue_2p_small_popbatch bound 3)
mpscq_add_relacy_model(model_queue_3p_popbatch ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=3 MODEL_ROUNDS=2 MODEL_POOL=1 MODEL_POP_BATCH=4)
mpscq_add_model_test(model_queue_3p_popbatch_random model_queue_3p_popbatch random 500000)
mpscq_add_relacy_model(model_queue_2p_batch_popbatch ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=2 MODEL_BATCH=2 MODEL_POOL=2 MODEL_POP_BATCH=3)
mpscq_add_model_test(model_queue_2p_batch_popbatch_random model_queue_2p_batch_popbatch random 200000)

# poll consumer (MODEL_POLL=1: poll(N, f); the pacer is inert under the
# checker, so these check that poll adds nothing to the protocol).
mpscq_add_relacy_model(model_queue_2p_poll ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=3 MODEL_POOL=2 MODEL_POP_BATCH=3 MODEL_POLL=1)
mpscq_add_model_test(model_queue_2p_poll_random model_queue_2p_poll random 500000)
mpscq_add_relacy_model(model_queue_2p_small_poll ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=2 MODEL_POOL=1 MODEL_POP_BATCH=2 MODEL_POLL=1)
mpscq_add_model_test(model_queue_2p_small_poll_bound model_queue_2p_small_poll bound 3)

# --- mutants: each must be caught -------------------------------------------
# name | definition | verdict that must appear | why (see queue_model.cpp)
# name | definition | verdict text that must appear. The function names are
# the model's named checks (queue_model.cpp), so each regex says which check
# caught the mutant, not only that something failed.
set(_race "DATA RACE .data race detected., in")
set(_queue_mutants
  # check 1: the payload read is not ordered after the producer's write.
  "link_relaxed|MPSCQ_MUTANT_QUEUE_LINK_RELAXED|${_race} read_payload"
  "next_load_relaxed|MPSCQ_MUTANT_QUEUE_NEXT_LOAD_RELAXED|${_race} read_payload"
  # check 5: a link store into X->next not ordered after X's earlier next store
  # (the previous producer's nullptr, or the consumer's stub clear).
  "tail_exchange_relaxed|MPSCQ_MUTANT_QUEUE_TAIL_EXCHANGE_RELAXED|${_race} shadow_(stub_)?next_store"
  # check 5: the consumer's stub clear not published to the next producer.
  "stub_cas_relaxed|MPSCQ_MUTANT_QUEUE_STUB_CAS_RELAXED|${_race} shadow_stub_next_store"
  # check 4: the last node handed out while a producer can still link behind it.
  "stub_not_reinserted|MPSCQ_MUTANT_QUEUE_STUB_NOT_REINSERTED|USER ASSERT FAILED .assertion: [^)]*handed out")
foreach(entry IN LISTS _queue_mutants)
  string(REPLACE "|" ";" fields "${entry}")
  list(GET fields 0 mutant)
  list(GET fields 1 definition)
  list(GET fields 2 verdict)
  mpscq_add_relacy_model(model_queue_mutant_${mutant} ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=3 MODEL_POOL=2 ${definition})
  mpscq_add_model_test(model_queue_mutant_${mutant} model_queue_mutant_${mutant} PASS "${verdict}"
                             random 500000)
  # The same mutant under the pop_batch consumer: its sites carry the same
  # flags (Q14/Q16 the next-load one, Q17 the stub compare-exchange one, the
  # missing compare-exchange the stub one), and the producer side is shared.
  mpscq_add_relacy_model(model_queue_mutant_popbatch_${mutant} ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=3 MODEL_POOL=2 MODEL_POP_BATCH=3 ${definition})
  mpscq_add_model_test(model_queue_mutant_popbatch_${mutant} model_queue_mutant_popbatch_${mutant} PASS "${verdict}"
                             random 500000)
endforeach()

# Mutants of pop_batch alone (pop() is untouched by them), under the pop_batch
# consumer.
set(_queue_batch_mutants
  # check 4: after a first hand-out, the batch hands out the last linked node
  # without the stub compare-exchange, while a producer can still link
  # behind it (or is already inside its in-flight window).
  "batch_hands_out_in_flight|MPSCQ_MUTANT_QUEUE_BATCH_HANDS_OUT_IN_FLIGHT|USER ASSERT FAILED .assertion: [^)]*handed out"
  # check 3: a batch that has handed out nodes and ends on an in-flight
  # window reports emptied().
  "batch_emptied_early|MPSCQ_MUTANT_QUEUE_BATCH_EMPTIED_EARLY|USER ASSERT FAILED .assertion: .*reported before the queue was empty"
  # lost nodes: the hand-out's clear of next (Q18, every build since issue
  # 19) moved after f. f hands the node back; its producer pushes it again
  # and the next push links behind it; the late clear wipes that link, and
  # the consumer waits for ever for a link that never comes (LIVELOCK: the
  # run cannot end, the nodes behind it are lost).
  "clear_after_handout|MPSCQ_MUTANT_QUEUE_CLEAR_AFTER_HANDOUT|LIVELOCK")
foreach(entry IN LISTS _queue_batch_mutants)
  string(REPLACE "|" ";" fields "${entry}")
  list(GET fields 0 mutant)
  list(GET fields 1 definition)
  list(GET fields 2 verdict)
  mpscq_add_relacy_model(model_queue_mutant_${mutant} ${CMAKE_CURRENT_LIST_DIR}/queue_model.cpp MODEL_PRODUCERS=2 MODEL_ROUNDS=3 MODEL_POOL=2 MODEL_POP_BATCH=3 ${definition})
  mpscq_add_model_test(model_queue_mutant_${mutant} model_queue_mutant_${mutant} PASS "${verdict}"
                             random 500000)
endforeach()
