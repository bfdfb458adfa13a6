# cpp-httplib as Debian 12 ships it (libcpp-httplib-dev 0.11.4): a compiled shared library, not
# header-only. Its pkg-config file carries the -DCPPHTTPLIB_{OPENSSL,ZLIB,BROTLI}_SUPPORT the
# library was built with; every user must see the same defines or the class layouts differ.
# One interface target, healthtwin_httplib (alias healthtwin::httplib), for every HTTPS user.
if(NOT TARGET healthtwin_httplib)
  pkg_check_modules(CPP_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  add_library(healthtwin_httplib INTERFACE)
  add_library(healthtwin::httplib ALIAS healthtwin_httplib)
  target_link_libraries(healthtwin_httplib INTERFACE PkgConfig::CPP_HTTPLIB OpenSSL::SSL OpenSSL::Crypto)
endif()
