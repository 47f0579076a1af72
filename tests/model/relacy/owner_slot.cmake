# Relacy model of local_work's owner slot and the thread records it names
# (tests/model/relacy/owner_slot_model.cpp) on the real headers
# (detail/owner_slot.hpp, detail/thread_identity.hpp). Included by
# tests/CMakeLists.txt when MPSCQ_BUILD_MODELS is on.
#
#   owner_slot_model takeover|reuse|fork|disown|all [random N | bound K | full]
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
set(_ok "owner-slot-model: all checks passed")
mpscq_add_relacy_model(model_owner_slot ${CMAKE_CURRENT_LIST_DIR}/owner_slot_model.cpp)
mpscq_add_model_test(model_owner_slot_random model_owner_slot PASS "${_ok}" all random 200000)
mpscq_add_model_test(model_owner_slot_takeover_bound model_owner_slot PASS "${_ok}" takeover bound 3)
mpscq_add_model_test(model_owner_slot_reuse_bound model_owner_slot PASS "${_ok}" reuse bound 4)
mpscq_add_model_test(model_owner_slot_disown_bound model_owner_slot PASS "${_ok}" disown bound 4)

# --- mutants: each must be caught -------------------------------------------------
# name | definition | model + scheduler | verdict that must appear
set(_owner_slot_mutants
  # The end of a record ([I2] release) and its read ([I1] acquire) relaxed:
  # the take-over does not synchronize with the ended owner's last acts.
  "end_relaxed|MPSCQ_MUTANT_OWNER_END_RELAXED|takeover random 200000|DATA RACE .data race detected."
  # The old check by std::thread::id: a new thread with a dead owner's id
  # passes as that owner while the slot names the dead one (reuse), and a
  # fork()ed child's thread with a live parent thread's id passes (fork).
  "check_os_id_reuse|MPSCQ_MUTANT_OWNER_CHECK_OS_ID|reuse random 200000|USER ASSERT FAILED .a new thread with a dead owner's id passed as that owner"
  "check_os_id_fork|MPSCQ_MUTANT_OWNER_CHECK_OS_ID|fork full|USER ASSERT FAILED .a thread of another process passed as the owner"
  # claim() without its lock: two claimers of an ended owner both take over.
  "takeover_unlocked|MPSCQ_MUTANT_OWNER_TAKEOVER_UNLOCKED|takeover random 200000|USER ASSERT FAILED .two threads took over"
  # The lock's acquire/release relaxed: disown() no longer hands the owner's
  # acts to the next claimer.
  "lock_relaxed|MPSCQ_MUTANT_OWNER_LOCK_RELAXED|disown random 200000|DATA RACE .data race detected.")
foreach(entry IN LISTS _owner_slot_mutants)
  string(REPLACE "|" ";" fields "${entry}")
  list(GET fields 0 mutant)
  list(GET fields 1 definition)
  list(GET fields 2 run)
  list(GET fields 3 verdict)
  string(REPLACE " " ";" run "${run}")
  if(NOT TARGET model_owner_slot_${definition})
    mpscq_add_relacy_model(model_owner_slot_${definition} ${CMAKE_CURRENT_LIST_DIR}/owner_slot_model.cpp ${definition})
  endif()
  mpscq_add_model_test(model_owner_slot_mutant_${mutant} model_owner_slot_${definition} PASS "${verdict}" ${run})
endforeach()
