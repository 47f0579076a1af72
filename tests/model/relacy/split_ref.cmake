# Relacy model of mpscq::detail::split_ref alone
# (tests/model/relacy/split_ref_model.cpp) on the real header: the reference
# count behind mpscq/asio.hpp's contexts. Included by tests/CMakeLists.txt
# when MPSCQ_BUILD_MODELS is on.
#
#   split_ref_model chain|resurrect|all [random N | bound K | full]
#
# One executable for the correct protocol and one per mutant (compile
# definition, detail/mutants.hpp). The correct build must pass every model;
# each mutant must be caught, which the test asserts by matching the
# checker's verdict text (PASS_REGULAR_EXPRESSION, never WILL_FAIL, so an
# unrelated crash cannot count as a catch).
if(NOT MPSCQ_RELACY_INCLUDE_DIR)
  return()  # tests/CMakeLists.txt has warned
endif()

# --- the correct protocol: every model passes ---------------------------------
# Timings on the 2-core dev machine (shared with other builds): random 200k
# ~0.4 s (chain) and ~0.6 s (resurrect); bound 3 ~0.3 s and ~0.5 s (~140k and
# ~240k iterations). A full search runs over 2 minutes: left to manual runs.
# In resurrect the token comes back to the owner's stage_done() in ~1.5% of
# the random runs and passes to a runner's put() in the rest; in chain each of
# the three threads is the one that releases in some runs.
set(_ok "split-ref-model: all checks passed")
mpscq_add_relacy_model(model_split_ref ${CMAKE_CURRENT_LIST_DIR}/split_ref_model.cpp)
foreach(model IN ITEMS chain resurrect)
  mpscq_add_model_test(model_split_ref_${model}_random model_split_ref PASS "${_ok}" ${model} random 200000)
  mpscq_add_model_test(model_split_ref_${model}_bound3 model_split_ref PASS "${_ok}" ${model} bound 3)
endforeach()

# --- mutants: each must be caught -----------------------------------------------
# name # definition # model # scheduler # its argument # verdict regex (see
# the model's header comment for which check fires and why). Each is caught
# within the first hundred random iterations (~0.01 s).
set(_split_ref_mutants
  "put_relaxed#MPSCQ_MUTANT_SPLIT_REF_PUT_RELAXED#chain#random#200000#DATA RACE .data race detected., in read_holders"
  "no_bias#MPSCQ_MUTANT_SPLIT_REF_NO_BIAS#chain#random#200000#USER ASSERT FAILED .released while a reference was held|ACCESS TO FREED MEMORY"
  "claim_held_token#MPSCQ_MUTANT_SPLIT_REF_CLAIM_HELD_TOKEN#resurrect#random#200000#USER ASSERT FAILED .(two stages at once|a stage ran twice)")
foreach(entry IN LISTS _split_ref_mutants)
  string(REPLACE "#" ";" fields "${entry}")
  list(GET fields 0 mutant)
  list(GET fields 1 definition)
  list(GET fields 2 model)
  list(GET fields 3 scheduler)
  list(GET fields 4 schedule_arg)
  list(GET fields 5 verdict)
  mpscq_add_relacy_model(model_split_ref_mutant_${mutant} ${CMAKE_CURRENT_LIST_DIR}/split_ref_model.cpp ${definition})
  mpscq_add_model_test(model_split_ref_mutant_${mutant} model_split_ref_mutant_${mutant} PASS "${verdict}"
                       ${model} ${scheduler} ${schedule_arg})
endforeach()
