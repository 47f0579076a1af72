# The layer rule (docs/design.md, section 1), checked on the sources:
#   - a detail/ header includes only detail/ headers and the floor
#     (mpscq/node.hpp); a detail/*_impl.hpp file is the body of a public
#     header and may include public headers;
#   - queue.hpp, llist.hpp and work.hpp include the floor, not each other.
# Usage: cmake -DINCLUDE_DIR=<dir containing mpscq/> -P include_rule.cmake
# Prints "include rule: ok" or one "include rule: <file> includes <header>"
# line per violation and fails.
if(NOT INCLUDE_DIR)
  message(FATAL_ERROR "include rule: set -DINCLUDE_DIR")
endif()
get_filename_component(INCLUDE_DIR "${INCLUDE_DIR}" ABSOLUTE)
set(violations 0)
function(check_includes file allowed_regex)
  file(STRINGS ${file} lines REGEX "^#include <mpscq/")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^#include <([^>]+)>.*" "\\1" header "${line}")
    if(NOT header MATCHES "${allowed_regex}")
      file(RELATIVE_PATH rel ${INCLUDE_DIR} ${file})
      message(STATUS "include rule: ${rel} includes ${header}")
      math(EXPR n "${violations} + 1")
      set(violations ${n} PARENT_SCOPE)
    endif()
  endforeach()
  set(violations ${violations} PARENT_SCOPE)
endfunction()

file(GLOB detail_headers ${INCLUDE_DIR}/mpscq/detail/*.hpp)
foreach(h IN LISTS detail_headers)
  if(NOT h MATCHES "_impl\\.hpp$")
    check_includes(${h} "^mpscq/(detail/[a-z_]+\\.hpp|node\\.hpp)$")
  endif()
endforeach()
foreach(name IN ITEMS queue llist work)
  if(EXISTS ${INCLUDE_DIR}/mpscq/${name}.hpp)
    check_includes(${INCLUDE_DIR}/mpscq/${name}.hpp "^mpscq/(detail/[a-z_]+\\.hpp|node\\.hpp)$")
  endif()
endforeach()
if(violations GREATER 0)
  message(FATAL_ERROR "include rule: ${violations} violation(s)")
endif()
message(STATUS "include rule: ok")
