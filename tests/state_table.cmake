# The state table in docs/record.md against the machine's (tests/gen_state_table.c).
#   cmake -DGEN=<gen_state_table> -DDOC=<docs/record.md> -DMODE=check|write|stale
#         [-DOUT=<copy>] -P state_table.cmake
# check: fail, showing the table expected, when the block between the
#        markers differs from the program's output (ctest state_table);
# write: rewrite that block (target state-table);
# stale: write a copy of DOC with one cell changed to OUT and check that
#        the check refuses it (ctest state_table_stale: it can fail).
set(begin_marker "<!-- state-table:begin -->\n")
set(end_marker "<!-- state-table:end -->")

# A cross build runs GEN through its emulator (PATROL_EMULATOR, set by ctest).
separate_arguments(emulator UNIX_COMMAND "$ENV{PATROL_EMULATOR}")
execute_process(COMMAND ${emulator} "${GEN}" OUTPUT_VARIABLE table RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR table STREQUAL "")
  message(FATAL_ERROR "${GEN} failed (${rc})")
endif()
file(READ "${DOC}" doc)
string(FIND "${doc}" "${begin_marker}" b)
string(FIND "${doc}" "${end_marker}" e)
if(b EQUAL -1 OR e EQUAL -1 OR e LESS b)
  message(FATAL_ERROR "${DOC}: no block between '<!-- state-table:begin -->' and "
                      "'<!-- state-table:end -->' (each on a line of its own)")
endif()
string(LENGTH "${begin_marker}" bl)
math(EXPR start "${b} + ${bl}")
math(EXPR len "${e} - ${start}")
string(SUBSTRING "${doc}" ${start} ${len} current)

if(MODE STREQUAL "write")
  if(NOT current STREQUAL table)
    string(SUBSTRING "${doc}" 0 ${start} head)
    string(SUBSTRING "${doc}" ${e} -1 tail)
    file(WRITE "${DOC}" "${head}${table}${tail}")
    message(STATUS "${DOC}: state table rewritten")
  else()
    message(STATUS "${DOC}: state table up to date")
  endif()
elseif(MODE STREQUAL "stale")
  # A copy of the document with one cell of its table changed, at OUT:
  # the check must refuse it, naming the difference.
  string(FIND "${current}" " ✓ |" cell)
  if(cell EQUAL -1)
    message(FATAL_ERROR "${DOC}: the state table has no allowed cell")
  endif()
  math(EXPR at "${start} + ${cell}")
  string(SUBSTRING "${doc}" 0 ${at} head)
  string(LENGTH " ✓ |" cl)
  math(EXPR after "${at} + ${cl}")
  string(SUBSTRING "${doc}" ${after} -1 tail)
  file(WRITE "${OUT}" "${head} `consent_first` |${tail}")
  execute_process(COMMAND "${CMAKE_COMMAND}" -DGEN=${GEN} -DDOC=${OUT} -DMODE=check
                          -P "${CMAKE_CURRENT_LIST_FILE}"
                  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  if(rc EQUAL 0 OR NOT err MATCHES "differs")
    message(FATAL_ERROR "a stale state table was not refused (${rc}): ${err}")
  endif()
elseif(NOT current STREQUAL table)
  message(FATAL_ERROR "${DOC}: the state table differs from the machine's "
                      "(proto/matter.c). Regenerate it with: cmake --build <build dir> "
                      "--target state-table\nExpected:\n${table}")
endif()
