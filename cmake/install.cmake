# install.cmake -- what `cmake --install` puts where (docs/install.md).
#
#   bin/patrol                               the terminal's tool (client/)
#   sbin/patrold                             the collection server (server/)
#   LIBDIR/libpatrol.so.0 (SONAME) and .so   the shared library
#   LIBDIR/libpatrol.a                       the static archive, proto/ merged in
#   include/patrol/patrol.h                  the public API
#   LIBDIR/pkgconfig/libpatrol.pc            pkg-config, relocatable (${pcfiledir})
#   LIBDIR/cmake/patrol/                     find_package(patrol): patrol::patrol,
#                                            patrol::patrol_static
#   share/man/man1/patrol.1, man8/patrold.8  the manual pages (man/)
#   lib/systemd/system/patrold.service       the unit, ExecStart at this prefix
#   lib/sysusers.d/patrold.conf              creates the patrold user
#   lib/tmpfiles.d/patrold.conf              creates /var/lib/patrold
#
# The binaries find libpatrol through RUNPATH $ORIGIN/../LIBDIR (the
# top-level CMakeLists.txt sets it), so an installed tree can be moved whole.
#
# COMPONENT: the Debian package a file goes to (cmake/package.cmake, cpack
# -G DEB): patrol, patrold, libpatrol0, libpatrol-dev. A plain install
# installs every component.

install(TARGETS patrol_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT libpatrol-dev)
if(TARGET patrold) # not in the terminal-only build (PATROL_TERMINAL_ONLY)
  install(TARGETS patrold RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT patrold)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/include/patrol/patrol.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/patrol COMPONENT libpatrol-dev)

# ---- pkg-config ------------------------------------------------------------
# The prefix is found from the .pc file's own place, so one file serves
# `--prefix DIR`, a DESTDIR tree and /usr alike. What the static archive
# needs besides itself (its proto/ objects are merged in: no px_ symbol is
# left undefined) is Libs.private, as plain -l flags: libcurl's own
# Requires.private would ask for -dev packages Debian does not install.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(PATROL_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(PATROL_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(PATROL_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  set(_patrol_root "/p")
  cmake_path(RELATIVE_PATH _patrol_root BASE_DIRECTORY "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig"
             OUTPUT_VARIABLE _patrol_up)
  set(PATROL_PC_PREFIX "\${pcfiledir}/${_patrol_up}")
  set(PATROL_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(PATROL_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(PATROL_PC_LIBS_PRIVATE
    "-lsqlite3 -lcurl -lprotobuf-c -llz4 -lmbedtls -lmbedx509 -lmbedcrypto -pthread")
configure_file(${PROJECT_SOURCE_DIR}/cmake/libpatrol.pc.in ${PROJECT_BINARY_DIR}/libpatrol.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/libpatrol.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT libpatrol-dev)

# ---- CMake package ---------------------------------------------------------
include(CMakePackageConfigHelpers)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/patrolConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/patrolConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/patrol
                              PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/patrolConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/patrolConfig.cmake
              ${PROJECT_BINARY_DIR}/patrolConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/patrol COMPONENT libpatrol-dev)

# ---- manual pages ----------------------------------------------------------
# Written by hand in roff (man/); the version and date filled in here
# (SOURCE_DATE_EPOCH, when set, makes the date reproducible).
string(TIMESTAMP PATROL_MAN_DATE "%Y-%m-%d" UTC)
configure_file(${PROJECT_SOURCE_DIR}/man/patrol.1.in ${PROJECT_BINARY_DIR}/man/patrol.1 @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/man/patrold.8.in ${PROJECT_BINARY_DIR}/man/patrold.8 @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/man/patrol.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        COMPONENT patrol)
install(FILES ${PROJECT_BINARY_DIR}/man/patrold.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8
        COMPONENT patrold)

# ---- systemd ---------------------------------------------------------------
# (patrold's unit, user and directory: none without patrold.)
if(NOT TARGET patrold)
  return()
endif()
# Relative to the prefix: systemd reads /usr/lib/... and /usr/local/lib/...
set(PATROL_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the patrold unit is installed (relative to the prefix, or absolute)")
set(PATROL_SYSUSERSDIR "lib/sysusers.d" CACHE STRING
    "Where patrold's sysusers.d entry is installed (relative to the prefix, or absolute)")
set(PATROL_TMPFILESDIR "lib/tmpfiles.d" CACHE STRING
    "Where patrold's tmpfiles.d entry is installed (relative to the prefix, or absolute)")
# server/patrold.service names /usr/local/bin/patrold for a hand install;
# the installed unit names patrold where this install puts it (the prefix
# of `cmake --install --prefix`, known only when installing).
install(CODE "
  file(READ \"${PROJECT_SOURCE_DIR}/server/patrold.service\" _unit)
  string(REPLACE \"/usr/local/bin/patrold\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/patrold\"
         _unit \"\${_unit}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/install/patrold.service\" \"\${_unit}\")"
  COMPONENT patrold)
install(FILES ${PROJECT_BINARY_DIR}/install/patrold.service DESTINATION ${PATROL_SYSTEMD_UNITDIR}
        COMPONENT patrold)
install(FILES ${PROJECT_SOURCE_DIR}/server/patrold.sysusers DESTINATION ${PATROL_SYSUSERSDIR}
        RENAME patrold.conf COMPONENT patrold)
install(FILES ${PROJECT_SOURCE_DIR}/server/patrold.tmpfiles DESTINATION ${PATROL_TMPFILESDIR}
        RENAME patrold.conf COMPONENT patrold)
