# healthtwin_httplib: Debian's cpp-httplib (libcpp-httplib-dev 0.11.4), which is NOT header-only.
# The library was built with OpenSSL, zlib and brotli support, and those macros change the layout
# of httplib::Request/Response: every user must define exactly the same ones, or the header and
# the library disagree about the objects they share (silent memory corruption). pkg-config
# cpp-httplib gives exactly the library's own flags, so take them from there and nowhere else.
# (../shared/notes/dashboard-stack.md)
if(NOT TARGET healthtwin_httplib)
  pkg_check_modules(CPPHTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  add_library(healthtwin_httplib INTERFACE)
  target_link_libraries(healthtwin_httplib INTERFACE PkgConfig::CPPHTTPLIB OpenSSL::SSL OpenSSL::Crypto)
  foreach(def CPPHTTPLIB_OPENSSL_SUPPORT CPPHTTPLIB_ZLIB_SUPPORT CPPHTTPLIB_BROTLI_SUPPORT)
    get_target_property(_ht_httplib_defs PkgConfig::CPPHTTPLIB INTERFACE_COMPILE_OPTIONS)
    if(NOT "-D${def}" IN_LIST _ht_httplib_defs)
      message(FATAL_ERROR "pkg-config cpp-httplib no longer defines ${def}: check how libcpp-httplib is built")
    endif()
  endforeach()
endif()
