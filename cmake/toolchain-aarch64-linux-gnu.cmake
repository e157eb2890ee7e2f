# toolchain-aarch64-linux-gnu.cmake -- patrol for 64-bit ARM Linux (the
# handheld build, docs/build.md), with Debian's cross compiler
# (crossbuild-essential-arm64: aarch64-linux-gnu-gcc). scripts/cross-arm64.sh
# uses it with -DPATROL_TERMINAL_ONLY=ON; by hand:
#
#   cmake -S . -B build-arm64 -DPATROL_TERMINAL_ONLY=ON \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
#         [-DPATROL_ARM64_SYSROOT=DIR]
#
# The arm64 libraries come from either
#   - Debian's multiarch (dpkg --add-architecture arm64, apt-get install
#     libsqlite3-dev:arm64 ...): headers in /usr/include, libraries and
#     pkg-config files in /usr/lib/aarch64-linux-gnu; or
#   - a sysroot, PATROL_ARM64_SYSROOT: the same Debian arm64 packages
#     unpacked (dpkg -x) into DIR, nothing installed on the machine
#     (scripts/cross-arm64.sh --sysroot).
# Tests run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR; the shell and
# python suites get it as PATROL_EMULATOR, tests/CMakeLists.txt).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(PATROL_CROSS_TRIPLET aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${PATROL_CROSS_TRIPLET}-gcc)

# The sysroot reaches try_compile's projects too.
if(NOT PATROL_ARM64_SYSROOT AND DEFINED ENV{PATROL_ARM64_SYSROOT})
  set(PATROL_ARM64_SYSROOT "$ENV{PATROL_ARM64_SYSROOT}")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES PATROL_ARM64_SYSROOT)

find_program(PATROL_QEMU_AARCH64 qemu-aarch64)
if(PATROL_ARM64_SYSROOT)
  set(CMAKE_SYSROOT "${PATROL_ARM64_SYSROOT}")
  set(CMAKE_FIND_ROOT_PATH "${PATROL_ARM64_SYSROOT}")
  set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER) # protoc-c, msgfmt: the build machine's
  set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
  # The build machine's pkg-config reading the sysroot's .pc files.
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${PATROL_ARM64_SYSROOT}")
  set(ENV{PKG_CONFIG_LIBDIR}
      "${PATROL_ARM64_SYSROOT}/usr/lib/${PATROL_CROSS_TRIPLET}/pkgconfig:${PATROL_ARM64_SYSROOT}/usr/share/pkgconfig")
  # qemu-user loads the dynamic loader and libraries from the sysroot.
  if(PATROL_QEMU_AARCH64)
    set(CMAKE_CROSSCOMPILING_EMULATOR "${PATROL_QEMU_AARCH64};-L;${PATROL_ARM64_SYSROOT}")
  endif()
else()
  # Multiarch: only the arm64 .pc files (never the build machine's).
  set(ENV{PKG_CONFIG_LIBDIR}
      "/usr/lib/${PATROL_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
  if(PATROL_QEMU_AARCH64)
    set(CMAKE_CROSSCOMPILING_EMULATOR "${PATROL_QEMU_AARCH64}")
  endif()
endif()
