# package_cpack.cmake -- CPACK_PROJECT_CONFIG_FILE (cmake/package.cmake),
# read by cpack for each generator. The Debian packages are built from a
# tree configured with the prefix /usr: the prefix is compiled into the
# binaries (the message catalogues) and decides LIBDIR.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_PATROL_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "cpack -G DEB: this build's prefix is '${CPACK_PATROL_INSTALL_PREFIX}'; "
                      "Debian packages need a build configured with -DCMAKE_INSTALL_PREFIX=/usr "
                      "(docs/install.md, \"Debian packages\")")
endif()
