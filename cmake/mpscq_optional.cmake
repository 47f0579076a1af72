# The optional parts of the build (tests, models, bench, examples, consumer
# tests, fuzzer) need packages a plain clone may not have. Each part that
# misses one calls mpscq_missing() once, naming the Debian packages, the
# scripts/deps.sh target that installs them and the option that turns it off:
#   - by default the part is skipped, with one status line:
#       -- mpscq: bench skipped: liburcu-dev not found (scripts/deps.sh bench)
#   - with MPSCQ_REQUIRE_ALL=ON (the presets, so scripts/test.sh and CI) it is
#     a configure error: a test run must not pass by quietly building less.
#     Every missing part is reported before configure stops.

# mpscq_missing(<part> <option> <deps.sh target> <package>...)
function(mpscq_missing part option target)
  list(JOIN ARGN ", " packages)
  if(MPSCQ_REQUIRE_ALL)
    message(SEND_ERROR "mpscq: ${part}: ${packages} not found (scripts/deps.sh ${target}). "
                       "MPSCQ_REQUIRE_ALL is ON: install it, or configure with -D${option}=OFF.")
  else()
    message(STATUS "mpscq: ${part} skipped: ${packages} not found (scripts/deps.sh ${target})")
  endif()
endfunction()
