# cmake -P script: build the consumer project one way (MODE) and run it.
file(REMOVE_RECURSE ${BUILD_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

if(MODE STREQUAL "pkgconfig")
  # A plain compiler call with the flags pkg-config gives.
  set(ENV{PKG_CONFIG_PATH} ${PREFIX}/share/pkgconfig)
  execute_process(COMMAND pkg-config --cflags --libs mpscq OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs mpscq failed")
  endif()
  message("pkg-config mpscq: ${flags}")
  separate_arguments(flag_list UNIX_COMMAND "${flags}")
  file(MAKE_DIRECTORY ${BUILD_DIR})
  run(${CXX} ${flag_list} ${PROJECT_DIR}/main.cpp -o ${BUILD_DIR}/consumer)
else()
  run(${CMAKE_COMMAND} -S ${PROJECT_DIR} -B ${BUILD_DIR} -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
      -DMODE=${MODE} -DCMAKE_PREFIX_PATH=${PREFIX} -DMPSCQ_SOURCE_DIR=${MPSCQ_SOURCE_DIR})
  run(${CMAKE_COMMAND} --build ${BUILD_DIR})
endif()
run(${BUILD_DIR}/consumer)
