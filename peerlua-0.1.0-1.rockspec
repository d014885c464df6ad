-- luarocks make: builds with CMake (no tests) and installs the module,
-- the peerlua binary, the man page and the Lua layer's source into the tree.
-- The C libraries (libcurl, libmicrohttpd, libcrypto, libedit and their
-- headers; scripts/deps.sh on Debian) are found by CMake with pkg-config.
rockspec_format = "3.0"
package = "peerlua"
version = "0.1.0-1"
source = { url = "git+file://." }
description = {
  summary = "Automate network peering with managed services from Lua 5.4",
  detailed = [[
A C core with Lua 5.4 embedded: clients for Instaclustr, Huawei Cloud Stream
Service, Aerospike Cloud and UpCloud that own authentication, throttling,
retries and validation, tasks that wait on HTTP without blocking, and an
emulator of every provider API.]],
}
dependencies = { "lua >= 5.4, < 5.5", "lua-cjson" }
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    CMAKE_INSTALL_BINDIR = "$(BINDIR)",
    PEERLUA_INSTALL_CMOD = "$(LIBDIR)",
    PEERLUA_TESTS = "OFF",
  },
}
