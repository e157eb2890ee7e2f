# package.cmake -- `cpack -G DEB`: four Debian packages from one build
# (docs/install.md, "Debian packages"; checked by the test deb_packages).
#
#   patrol         bin/patrol, bin/patrol-ui, patrol(1)
#   patrold        sbin/patrold, patrold(8), the systemd unit, its sysusers.d
#                  and tmpfiles.d entries; maintainer scripts in packaging/deb/patrold/
#   libpatrol0     LIBDIR/libpatrol.so.0*, the 简体中文 messages (.mo: the
#                  library's, patrol's and patrold's, one text domain);
#                  its ldconfig trigger in packaging/deb/libpatrol0/
#   libpatrol-dev  include/patrol/, LIBDIR/libpatrol.so, libpatrol.a,
#                  libpatrol.pc, LIBDIR/cmake/patrol/
#
# Configure with -DCMAKE_INSTALL_PREFIX=/usr: the prefix is compiled into
# the binaries (the message catalogues' directory) and gives Debian's
# multiarch LIBDIR (lib/x86_64-linux-gnu). cpack refuses another prefix.
#
# cmake/install.cmake gives its rules these components. The rules of
# client/ and po/ (patrol, patrol-ui, libpatrol.so, the .mo files) have
# none (they are "Unspecified", which the packages leave out) and are
# repeated here with a component and EXCLUDE_FROM_ALL: a plain `cmake
# --install` installs them once, a component install (cpack) gets them
# from here. deb_packages fails when the packages and a plain install
# differ by a file.

# ---- the rules client/ and po/ declare without a component ---------------
install(TARGETS patrol_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT patrol EXCLUDE_FROM_ALL)
if(TARGET patrol_ui) # built when libmicrohttpd was found
  install(TARGETS patrol_ui RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
          COMPONENT patrol EXCLUDE_FROM_ALL)
endif()
install(TARGETS patrol LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        COMPONENT libpatrol0 NAMELINK_COMPONENT libpatrol-dev EXCLUDE_FROM_ALL)
install(DIRECTORY ${PATROL_LOCALE_BUILD_DIR}/ DESTINATION ${CMAKE_INSTALL_LOCALEDIR}
        COMPONENT libpatrol0 EXCLUDE_FROM_ALL FILES_MATCHING PATTERN "*.mo")

# ---- /usr/share/doc/PACKAGE ------------------------------------------------
# In each package, as Debian policy asks: changelog.gz, the project's
# CHANGELOG.md, and changelog.Debian.gz, this packaging's (gzipped at cpack
# time, package_gzip.cmake). The date is the configure time's, or
# SOURCE_DATE_EPOCH's when set.
string(TIMESTAMP _patrol_deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(PATROL_DEB_MAINTAINER "patrol maintainers <maintainers@users.noreply.r-seed-5144001e.example>"
    CACHE STRING "Maintainer field of the Debian packages (cpack -G DEB)")
file(WRITE ${PROJECT_BINARY_DIR}/deb/changelog.Debian
"patrol (${PROJECT_VERSION}-1) unstable; urgency=medium

  * Built with cpack -G DEB from patrol ${PROJECT_VERSION} (cmake/package.cmake).
    What changed in the programs: changelog.gz beside this file.

 -- ${PATROL_DEB_MAINTAINER}  ${_patrol_deb_date}
")
foreach(_comp patrol patrold libpatrol0 libpatrol-dev)
  install(FILES ${PROJECT_SOURCE_DIR}/CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_comp}
          RENAME changelog COMPONENT ${_comp} EXCLUDE_FROM_ALL)
  install(FILES ${PROJECT_BINARY_DIR}/deb/changelog.Debian
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_comp} COMPONENT ${_comp} EXCLUDE_FROM_ALL)
endforeach()

# ---- CPack -----------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME patrol)
set(CPACK_PACKAGE_VENDOR "patrol")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# The unit's ExecStart is written at install time from CMAKE_INSTALL_PREFIX
# (install.cmake): staged through DESTDIR, the prefix stays /usr.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL patrol patrold libpatrol0 libpatrol-dev)
if(NOT TARGET patrold) # the terminal-only build (PATROL_TERMINAL_ONLY): no patrold package
  list(REMOVE_ITEM CPACK_COMPONENTS_ALL patrold)
endif()
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # NAME_VERSION-RELEASE_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1) # as in changelog.Debian above
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PATROL_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Dependencies on Debian's libraries from the binaries (dpkg-shlibdeps);
# libpatrol.so.0 is found in the build tree, its dependency stated below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/client)
set(_patrol_deb_version "${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}")

set(CPACK_DEBIAN_PATROL_PACKAGE_NAME patrol)
set(CPACK_DEBIAN_PATROL_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PATROL_PACKAGE_DEPENDS "libpatrol0 (= ${_patrol_deb_version})")
set(CPACK_DEBIAN_PATROL_DESCRIPTION
"full-process record of flexible law enforcement: the terminal's tool
The inspector's tool on the handheld: every action of a matter is an entry
in an append-only journal, hash-chained and signed by the device key at
capture; evidence files are hashed on import. It syncs to a patrold
collection server over TLS. patrol-ui is its touch interface on loopback.
柔性执法全过程记录：执法终端的命令行工具和触屏界面。")

set(CPACK_DEBIAN_PATROLD_PACKAGE_NAME patrold)
set(CPACK_DEBIAN_PATROLD_PACKAGE_SECTION net)
# patrold does not link libpatrol: libpatrol0 brings its 简体中文 messages.
set(CPACK_DEBIAN_PATROLD_PACKAGE_RECOMMENDS "libpatrol0 (= ${_patrol_deb_version})")
set(CPACK_DEBIAN_PATROLD_DESCRIPTION
"full-process record of flexible law enforcement: collection server
Receives the terminals' signed journals and evidence over TLS (enrolment,
idempotent ingest with signed receipts, resumable uploads with quotas,
reference data), keeps a verifiable log and serves the supervisors' web
console and audit commands. The systemd unit is installed, not enabled:
run 'patrold init' as the patrold user first (patrold(8)).
柔性执法全过程记录：采集服务器和监督平台。")
set(CPACK_DEBIAN_PATROLD_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/patrold/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/patrold/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/patrold/postrm)
set(CPACK_DEBIAN_PATROLD_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_LIBPATROL0_PACKAGE_NAME libpatrol0)
set(CPACK_DEBIAN_LIBPATROL0_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_LIBPATROL0_DESCRIPTION
"full-process record of flexible law enforcement: terminal store library
libpatrol, the offline store of the handheld behind patrol and patrol-ui:
the append-only signed journal, evidence, verification and sync
(include/patrol/patrol.h), with the 简体中文 message catalogue.
柔性执法全过程记录：终端存储共享库。")
# The shlibs file for libpatrol.so.0 (only libpatrol0 has a shared object);
# ldconfig runs from the trigger (packaging/deb/libpatrol0/triggers), and
# from the postinst and postrm CPack writes.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_LIBPATROL0_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/deb/libpatrol0/triggers)
set(CPACK_DEBIAN_LIBPATROL0_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_LIBPATROL-DEV_PACKAGE_NAME libpatrol-dev)
set(CPACK_DEBIAN_LIBPATROL-DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_LIBPATROL-DEV_PACKAGE_DEPENDS "libpatrol0 (= ${_patrol_deb_version})")
# Nothing in the archive is a shared object: what libpatrol.a needs comes
# from libpatrol.pc's Libs.private, the -dev packages of those libraries.
set(CPACK_DEBIAN_LIBPATROL-DEV_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_LIBPATROL-DEV_DESCRIPTION
"full-process record of flexible law enforcement: library development files
The header patrol/patrol.h, the static archive libpatrol.a, libpatrol.pc for
pkg-config and the CMake package (find_package(patrol)).
柔性执法全过程记录：终端存储库的开发文件。")

# At cpack time: the prefix must be Debian's (cmake/package_cpack.cmake);
# the staged man pages are gzipped, as dh_compress does (package_gzip.cmake).
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/package_cpack.cmake)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/package_gzip.cmake)
set(CPACK_PATROL_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
include(CPack)
