# read_lines(<file> <out-var>): the file's lines as a CMake list, one element
# per line, empty lines kept. `;`, `[` and `]` are replaced with <sc>, <lb>
# and <rb> first: CMake splits list elements at `;` and not inside square
# brackets, so file(STRINGS) would split or merge such lines.
function(read_lines file out)
  file(READ "${file}" content)
  string(REPLACE ";" "<sc>" content "${content}")
  string(REPLACE "[" "<lb>" content "${content}")
  string(REPLACE "]" "<rb>" content "${content}")
  string(REPLACE "\n" ";" content "${content}")
  set(${out} "${content}" PARENT_SCOPE)
endfunction()
