# cmake -P script: build the consumer project one way (MODE) and run it.
#   MODE=package|subdirectory|fetch   the consumer's CMake project (project/)
#   MODE=pkgconfig                    a plain compiler call with pkg-config's flags and
#                                     -std=${STD} (default c++20): mpscq.pc sets no standard
# In subdirectory and fetch mode the project's install must not contain mpscq
# (MPSCQ_INSTALL is off below the top level).
file(REMOVE_RECURSE ${BUILD_DIR})
include(${CMAKE_CURRENT_LIST_DIR}/run.cmake)

if(MODE STREQUAL "pkgconfig")
  # A plain compiler call with the flags pkg-config gives.
  if(NOT STD)
    set(STD c++20)
  endif()
  set(ENV{PKG_CONFIG_PATH} ${PREFIX}/share/pkgconfig)
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs mpscq OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs mpscq failed")
  endif()
  message("pkg-config mpscq: ${flags}")
  if(flags MATCHES "(^| )-std=")
    message(FATAL_ERROR "mpscq.pc must not choose the C++ standard (it would override the consumer's): ${flags}")
  endif()
  separate_arguments(flag_list UNIX_COMMAND "${flags}")
  file(MAKE_DIRECTORY ${BUILD_DIR})
  run(${CXX} -std=${STD} ${flag_list} ${PROJECT_DIR}/main.cpp -o ${BUILD_DIR}/consumer)
else()
  run(${CMAKE_COMMAND} -S ${PROJECT_DIR} -B ${BUILD_DIR} -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
      -DMODE=${MODE} -DCMAKE_PREFIX_PATH=${PREFIX} -DMPSCQ_SOURCE_DIR=${MPSCQ_SOURCE_DIR}
      -DMPSCQ_WANT_VERSION=${WANT_VERSION})
  run(${CMAKE_COMMAND} --build ${BUILD_DIR})
  if(MODE STREQUAL "subdirectory" OR MODE STREQUAL "fetch")
    run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${BUILD_DIR}/stage)
    if(NOT EXISTS ${BUILD_DIR}/stage/bin/consumer)
      message(FATAL_ERROR "the consumer's own install rule did not run")
    endif()
    foreach(f include/mpscq share/cmake/mpscq share/pkgconfig/mpscq.pc)
      if(EXISTS ${BUILD_DIR}/stage/${f})
        message(FATAL_ERROR "mpscq as a subproject installed ${f} (MPSCQ_INSTALL should default to OFF)")
      endif()
    endforeach()
  endif()
endif()
run(${BUILD_DIR}/consumer)
# The consumer prints __cplusplus: a standard newer than C++20 must survive
# the package's flags.
if(STD MATCHES "^(c|gnu)\\+\\+(2[3-9]|2b)$")
  string(REGEX MATCH "C\\+\\+ ([0-9]+)" _ "${output}")
  if(NOT CMAKE_MATCH_1 GREATER 202002)
    message(FATAL_ERROR "built with -std=${STD}, but the consumer ran as C++ ${CMAKE_MATCH_1}")
  endif()
endif()
