# package_gzip.cmake -- CPACK_PRE_BUILD_SCRIPTS (cmake/package.cmake): the
# manual pages and changelogs staged for the packages are gzipped (gzip
# -9n, as Debian's dh_compress does: no name or time stamp in the .gz, so
# it is reproducible). A plain `cmake --install` leaves the pages as they are.
find_program(PATROL_GZIP gzip REQUIRED)
file(GLOB_RECURSE _staged LIST_DIRECTORIES false "${CPACK_TEMPORARY_DIRECTORY}/*")
list(FILTER _staged INCLUDE REGEX "/share/man/man[1-9]/[^/]+\\.[1-9]$|/share/doc/[^/]+/changelog(\\.Debian)?$")
foreach(_page IN LISTS _staged)
  execute_process(COMMAND ${PATROL_GZIP} -9nf "${_page}" RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "gzip -9n ${_page} failed (${_rc})")
  endif()
endforeach()
