# The version in its three places agrees: project(mpscq VERSION ...) in
# CMakeLists.txt, include/mpscq/version.hpp, and the latest release heading
# ("## [X.Y.Z]") of CHANGELOG.md; and version.hpp's MPSCQ_VERSION_STRING
# spells its MAJOR.MINOR.PATCH.
# Usage: cmake -DPROJECT_VERSION=X.Y.Z -DHEADER=<version.hpp> -DCHANGELOG=<CHANGELOG.md> -P version_agrees.cmake
# Prints "version: ok (X.Y.Z)", or one "version: ..." line per disagreement and fails.
foreach(var PROJECT_VERSION HEADER CHANGELOG)
  if(NOT ${var})
    message(FATAL_ERROR "version: set -D${var}")
  endif()
endforeach()

file(READ ${HEADER} header)
set(parts)
foreach(part MAJOR MINOR PATCH)
  if(NOT header MATCHES "\n#define MPSCQ_VERSION_${part} ([0-9]+)\n")
    message(FATAL_ERROR "version: ${HEADER} has no MPSCQ_VERSION_${part}")
  endif()
  list(APPEND parts ${CMAKE_MATCH_1})
endforeach()
list(JOIN parts "." header_version)
if(NOT header MATCHES "\n#define MPSCQ_VERSION_STRING \"([^\"]*)\"")
  message(FATAL_ERROR "version: ${HEADER} has no MPSCQ_VERSION_STRING")
endif()
set(header_string ${CMAKE_MATCH_1})

file(STRINGS ${CHANGELOG} releases REGEX "^## \\[[0-9]+\\.[0-9]+\\.[0-9]+\\]")
if(NOT releases)
  message(FATAL_ERROR "version: ${CHANGELOG} has no release heading (## [X.Y.Z])")
endif()
list(GET releases 0 latest)
string(REGEX REPLACE "^## \\[([^]]+)\\].*" "\\1" changelog_version "${latest}")

set(problems 0)
if(NOT header_string STREQUAL header_version)
  message(STATUS "version: MPSCQ_VERSION_STRING \"${header_string}\" is not MAJOR.MINOR.PATCH ${header_version}")
  math(EXPR problems "${problems} + 1")
endif()
if(NOT PROJECT_VERSION STREQUAL header_version OR NOT PROJECT_VERSION STREQUAL changelog_version)
  message(STATUS "version: the three disagree: project() ${PROJECT_VERSION}, version.hpp ${header_version}, "
                 "CHANGELOG.md ${changelog_version}")
  math(EXPR problems "${problems} + 1")
endif()
if(problems GREATER 0)
  message(FATAL_ERROR "version: ${problems} problem(s)")
endif()
message(STATUS "version: ok (${PROJECT_VERSION})")
