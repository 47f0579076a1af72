# A translation unit compiled as C++17 that includes a public header gets one
# error, and it names C++20 (mpscq/version.hpp's check, which every public
# header includes first): not a page of errors about concepts and atomics.
# Usage: cmake -DCXX=<compiler> "-DFLAGS=<flags>" -DINCLUDE_DIR=<dir> -DWORK_DIR=<dir>
#              "-DHEADERS=mpscq/a.hpp|mpscq/b.hpp" -P cxx20_floor.cmake
# Prints "cxx20 floor: ok (N headers)", or what each header printed and fails.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
string(REPLACE "|" ";" headers "${HEADERS}")
set(failures 0)
set(count 0)
foreach(header IN LISTS headers)
  string(MAKE_C_IDENTIFIER ${header} id)
  file(WRITE ${WORK_DIR}/${id}.cpp "#include <${header}>\nint main() { return 0; }\n")
  execute_process(COMMAND ${CXX} ${flags} -std=c++17 -fsyntax-only -I${INCLUDE_DIR} ${WORK_DIR}/${id}.cpp
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX MATCHALL "error:" errors "${out}")
  list(LENGTH errors n_errors)
  if(rc EQUAL 0 OR NOT n_errors EQUAL 1 OR NOT out MATCHES "mpscq requires C\\+\\+20")
    message(STATUS "cxx20 floor: ${header} at -std=c++17: ${n_errors} error(s), expected one naming C++20:\n${out}")
    math(EXPR failures "${failures} + 1")
  endif()
  math(EXPR count "${count} + 1")
endforeach()
if(failures GREATER 0)
  message(FATAL_ERROR "cxx20 floor: ${failures} header(s) failed")
endif()
message(STATUS "cxx20 floor: ok (${count} headers)")
