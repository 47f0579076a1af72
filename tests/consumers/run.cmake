# run(<command>...): for the consumer tests' cmake -P scripts. Runs the
# command, echoes its output, fails the script on a non-zero exit, and sets
# `output` (its stdout) in the caller's scope.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()
