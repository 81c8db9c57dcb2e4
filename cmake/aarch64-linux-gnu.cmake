# Cross-compiles for arm64 (AWS Graviton) on Debian 12:
#   cmake -S . -B build-arm64 --toolchain cmake/aarch64-linux-gnu.cmake
# Needs Debian's cross compiler (g++-aarch64-linux-gnu, binutils-aarch64-linux-gnu)
# and arm64's multiarch libraries (libc6-dev:arm64, libssl-dev:arm64, libexpat1-dev:arm64,
# libmariadb3:arm64, libgtest-dev:arm64): scripts/install-deps.sh --arm64.
# libmariadb-dev cannot be installed beside the machine's own;
# cmake/target-dev-packages.cmake unpacks it into the cache instead. libcurl
# and libpq are cross-built from Debian's source (cmake/debian-source.cmake).
# Tests run under qemu-user (qemu-user-static), glibc and libstdc++ coming
# from Debian's cross packages in /usr/aarch64-linux-gnu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# The tests' emulator (CTest runs every test binary through it).
find_program(SECRET_ROTATOR_QEMU_AARCH64 qemu-aarch64-static)
if(SECRET_ROTATOR_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${SECRET_ROTATOR_QEMU_AARCH64};-L;/usr/aarch64-linux-gnu")
endif()
# Programs (python3, pkg-config, the AWS CLI) are the machine's own; libraries,
# headers and packages are arm64's (multiarch folders, found by the triplet).
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# pkg-config (and FindOpenSSL, which asks it first) sees arm64's .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
