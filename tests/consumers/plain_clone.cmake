# cmake -P script: the first five minutes of a plain clone on a machine with
# only a compiler and CMake. Configures SOURCE_DIR the way README.md's "Use it
# in your project" does (no preset, no options, no build type) with every
# optional package hidden, then:
#   STRICT=OFF  the configure must succeed and print one skip line per
#               optional part (naming the package and its scripts/deps.sh
#               target) and the default build type; then cmake --build,
#               cmake --install --prefix, and a find_package consumer
#               built against that prefix.
#   STRICT=ON   the same configure with -DMPSCQ_REQUIRE_ALL=ON (what the
#               presets set) must fail and name the missing packages.
#
# Hiding the packages: CMAKE_FIND_ROOT_PATH re-roots every find_path,
# find_library, find_package and find_program into an empty directory, so
# GoogleTest, Relacy, spin, the bench's peers, liburing and pkg-config are
# all "not installed"; the compiler and the build tool are given by full
# path, and Threads is found by compiling, not by searching.
#
# Inputs: -DSOURCE_DIR -DWORK -DGENERATOR -DMAKE_PROGRAM -DCXX -DPROJECT_DIR
#         -DWANT_VERSION -DSTRICT
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/empty-root)

include(${CMAKE_CURRENT_LIST_DIR}/run.cmake)

set(hide -DCMAKE_FIND_ROOT_PATH=${WORK}/empty-root)
foreach(kind INCLUDE LIBRARY PACKAGE PROGRAM)
  list(APPEND hide -DCMAKE_FIND_ROOT_PATH_MODE_${kind}=ONLY)
endforeach()
set(configure ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK}/build -G ${GENERATOR}
    -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM} -DCMAKE_CXX_COMPILER=${CXX} ${hide})

if(STRICT)
  execute_process(COMMAND ${configure} -DMPSCQ_REQUIRE_ALL=ON RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  message("${out}${err}")
  if(rc EQUAL 0)
    message(FATAL_ERROR "plain clone: with MPSCQ_REQUIRE_ALL=ON a missing package must fail the configure")
  endif()
  # CMake wraps long error messages: compare with the whitespace folded.
  string(REGEX REPLACE "[ \t\r\n]+" " " folded "${err}")
  foreach(what "unit tests \\(GoogleTest\\): libgtest-dev not found" "bench: libconcurrentqueue-dev[^.]* not found")
    if(NOT folded MATCHES "mpscq: ${what}")
      message(FATAL_ERROR "plain clone: the strict configure did not report 'mpscq: ${what}'")
    endif()
  endforeach()
  message("plain clone: the strict configure failed, naming the missing packages")
  return()
endif()

execute_process(COMMAND ${configure} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "plain clone: the configure failed (${rc})")
endif()
if(err MATCHES "CMake (Warning|Error)")
  message(FATAL_ERROR "plain clone: the configure printed a warning or an error; a skipped part prints one status line")
endif()
set(expected
  "-- mpscq: no CMAKE_BUILD_TYPE given, using RelWithDebInfo"
  "-- mpscq: unit tests \\(GoogleTest\\) skipped: libgtest-dev not found \\(scripts/deps.sh test\\)"
  "-- mpscq: Relacy models skipped: relacy-dev not found \\(scripts/deps.sh test\\)"
  "-- mpscq: spin models skipped: spin not found \\(scripts/deps.sh test\\)"
  "-- mpscq: bench skipped: [^\n]*libconcurrentqueue-dev[^\n]* not found \\(scripts/deps.sh bench\\)"
  "-- mpscq: examples io_uring_loop, sock_test skipped: liburing-dev not found \\(scripts/deps.sh test\\)"
  "-- mpscq: consumer test pkgconfig skipped: pkg-config not found \\(scripts/deps.sh test\\)")
foreach(line IN LISTS expected)
  if(NOT out MATCHES "${line}")
    message(FATAL_ERROR "plain clone: the configure did not print a line matching '${line}'")
  endif()
endforeach()

run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${CMAKE_COMMAND} --install ${WORK}/build --prefix ${WORK}/prefix)
run(${CMAKE_COMMAND} -DPROJECT_DIR=${PROJECT_DIR} -DBUILD_DIR=${WORK}/consumer -DMODE=package
    -DPREFIX=${WORK}/prefix -DWANT_VERSION=${WANT_VERSION} -DGENERATOR=${GENERATOR} -DCXX=${CXX}
    -P ${CMAKE_CURRENT_LIST_DIR}/build_and_run.cmake)
message("plain clone: configured with every optional part skipped, built, installed, consumed")
