# The co_await rule: no co_await inside the condition of an if, while, for
# or switch, in any code or documentation we ship or test.
#   g++ 12.2 (Debian 12's compiler, which README lists as tested)
#   miscompiles a coroutine whose co_await sits in such a condition when the
#   await really suspends: the coroutine crashes or never resumes its body
#   (`if (co_await resume_on(lw) == resumed::cancelled)`; the same with a
#   trivial awaitable and no mpscq, and with `!co_await x`, `switch
#   (co_await x)`, `while (!co_await x)`). Binding the result first,
#   `const auto r = co_await x; if (r == ...)`, is compiled correctly by
#   every compiler we test. docs/api.md section 9 and mpscq/coro.hpp teach
#   that form; this rule keeps every example, test and doc on it.
# Usage: cmake -DROOTS="<dir>;<dir>..." -P coawait_rule.cmake
# Lines that show the wrong form on purpose (docs) carry the word WRONG.
# Scans *.hpp, *.cpp, *.h and *.md under each root (or the root itself, if a file) (one line at a time: a
# condition's opening line must not hold a co_await). Prints "co_await rule:
# ok" or one "co_await rule: <file>:<line>: ..." line per violation, and fails.
cmake_minimum_required(VERSION 3.20)
include(${CMAKE_CURRENT_LIST_DIR}/read_lines.cmake)
if(NOT ROOTS)
  message(FATAL_ERROR "co_await rule: set -DROOTS")
endif()
set(violations 0)
foreach(root IN LISTS ROOTS)
  get_filename_component(root "${root}" ABSOLUTE)
  if(IS_DIRECTORY "${root}")
    file(GLOB_RECURSE files "${root}/*.hpp" "${root}/*.cpp" "${root}/*.h" "${root}/*.md")
  else()
    set(files "${root}")
    get_filename_component(root "${root}" DIRECTORY)
  endif()
  foreach(f IN LISTS files)
    read_lines("${f}" lines)
    set(n 0)
    foreach(line IN LISTS lines)
      math(EXPR n "${n} + 1")
      # `if (`, `while (`, `switch (`, `for (` (also `if constexpr (`) and a
      # co_await later on the line; then the condition itself - up to the
      # matching `)` - must not hold it (a loop body may: `for (...) co_await x;`).
      # A line that shows the wrong form on purpose says WRONG.
      if(line MATCHES "(^|[^A-Za-z0-9_])(if|while|switch|for)( constexpr)? *\\(.*co_await" AND NOT line MATCHES "WRONG")
        string(REGEX MATCH "(^|[^A-Za-z0-9_])(if|while|switch|for)( constexpr)? *\\(" head "${line}")
        string(FIND "${line}" "${head}" at)
        string(LENGTH "${head}" head_length)
        math(EXPR i "${at} + ${head_length}")
        string(LENGTH "${line}" length)
        set(depth 1)
        set(condition "")
        while(i LESS length AND depth GREATER 0)
          string(SUBSTRING "${line}" ${i} 1 c)
          if(c STREQUAL "(")
            math(EXPR depth "${depth} + 1")
          elseif(c STREQUAL ")")
            math(EXPR depth "${depth} - 1")
          endif()
          if(depth GREATER 0)
            string(APPEND condition "${c}")
          endif()
          math(EXPR i "${i} + 1")
        endwhile()
        if(condition MATCHES "co_await")
          file(RELATIVE_PATH rel "${root}" "${f}")
          message(STATUS "co_await rule: ${rel}:${n}: co_await in a condition (g++ 12 miscompiles it): "
                         "bind the result first, `const auto r = co_await ...;`")
          math(EXPR violations "${violations} + 1")
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()
if(violations GREATER 0)
  message(FATAL_ERROR "co_await rule: ${violations} violation(s)")
endif()
message(STATUS "co_await rule: ok")
