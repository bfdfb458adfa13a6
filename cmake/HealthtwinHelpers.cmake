# Small helpers so each folder states its targets in a few lines.

# Warnings stay private to our own targets.
function(ht_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-unused-parameter)
endfunction()

# Every executable and test binary links services/common/openssl_no_atexit.cc (why: that file).
# An object library, so the object is linked even though nothing refers to it.
function(ht_openssl_no_atexit target)
  if(NOT TARGET healthtwin_openssl_no_atexit)
    add_library(healthtwin_openssl_no_atexit OBJECT ${PROJECT_SOURCE_DIR}/services/common/openssl_no_atexit.cc)
    target_link_libraries(healthtwin_openssl_no_atexit PUBLIC OpenSSL::Crypto)
  endif()
  target_link_libraries(${target} PRIVATE healthtwin_openssl_no_atexit)
endfunction()

# ht_library(NAME <name> ALIAS <ns::name> SOURCES ... [DEPS ...] [PUBLIC_INCLUDE <dir>])
function(ht_library)
  cmake_parse_arguments(A "" "NAME;ALIAS" "SOURCES;DEPS" ${ARGN})
  add_library(${A_NAME} STATIC ${A_SOURCES})
  add_library(${A_ALIAS} ALIAS ${A_NAME})
  target_include_directories(${A_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${A_NAME} PUBLIC ${A_DEPS})
  ht_warnings(${A_NAME})
endfunction()

# ht_executable(NAME <name> SOURCES ... DEPS ...)
function(ht_executable)
  cmake_parse_arguments(A "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SOURCES})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
  ht_openssl_no_atexit(${A_NAME})
  ht_warnings(${A_NAME})
endfunction()

# ht_test_paths(<target> NAME value [NAME value ...])
# Paths <target> needs at run time (scripts in the source tree, binaries of the build). Each
# NAME becomes a macro yielding the value as a const char*, read at run time from
# <binary>.paths, which CMake writes beside the binary (tests/harness/test_paths.h). Values may
# be generator expressions ($<TARGET_FILE:...>). May be called more than once per target.
# Absolute paths as compile definitions would differ between clones and make ccache miss every
# source of the target in a fresh clone, as CI makes.
function(ht_test_paths target)
  get_target_property(has_file ${target} HT_TEST_PATHS_FILE)
  if(NOT has_file)
    set_property(TARGET ${target} PROPERTY HT_TEST_PATHS_FILE ON)
    file(GENERATE OUTPUT "$<TARGET_FILE:${target}>.paths"
         CONTENT "$<JOIN:$<TARGET_GENEX_EVAL:${target},$<TARGET_PROPERTY:${target},HT_TEST_PATHS>>,\n>\n")
    target_link_libraries(${target} PRIVATE healthtwin::test_paths)
    # ccache rewrites this path relative to CCACHE_BASEDIR, so it hashes the same in every clone.
    target_compile_options(${target} PRIVATE "SHELL:-include ${PROJECT_SOURCE_DIR}/tests/harness/test_paths.h")
  endif()
  set(args ${ARGN})
  list(LENGTH args n)
  math(EXPR odd "${n} % 2")
  if(odd OR n EQUAL 0)
    message(FATAL_ERROR "ht_test_paths(${target} ...): expected NAME value pairs, got: ${args}")
  endif()
  while(args)
    list(POP_FRONT args name value)
    set_property(TARGET ${target} APPEND PROPERTY HT_TEST_PATHS "${name}=${value}")
    target_compile_definitions(${target} PRIVATE "${name}=::healthtwin::testing::TestPath(\"${name}\")")
  endwhile()
endfunction()

# ht_test(NAME <name> LABEL unit|integration|e2e SOURCES ... DEPS ... [TIMEOUT s])
# One GoogleTest binary; each TEST becomes its own CTest entry carrying the label.
function(ht_test)
  cmake_parse_arguments(A "" "NAME;LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 120)
  endif()
  add_executable(${A_NAME} ${A_SOURCES})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  ht_openssl_no_atexit(${A_NAME})
  ht_warnings(${A_NAME})
  gtest_discover_tests(${A_NAME}
    PROPERTIES LABELS ${A_LABEL} TIMEOUT ${A_TIMEOUT}
    DISCOVERY_TIMEOUT 30)
endfunction()

# ht_slice_test(NAME <name> SOURCES ... [LABEL l] [DEPS ...] [PATHS NAME value ...] [NEEDS target ...]
#               [TIMEOUT s])
# A test over the in-process services slice (tests/integration/test_env.h): links
# healthtwin::slice_env, which is compiled once for every such test, and gives the binary the
# paths the slice reads (the development PKI script, the shipped alert rules) plus PATHS. NEEDS
# names targets the test runs as processes, built before it. LABEL defaults to integration.
function(ht_slice_test)
  cmake_parse_arguments(A "" "NAME;LABEL;TIMEOUT" "SOURCES;DEPS;PATHS;NEEDS" ${ARGN})
  if(NOT A_LABEL)
    set(A_LABEL integration)
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  ht_test(NAME ${A_NAME} LABEL ${A_LABEL} SOURCES ${A_SOURCES} DEPS healthtwin::slice_env ${A_DEPS}
          TIMEOUT ${A_TIMEOUT})
  ht_test_paths(${A_NAME}
    HT_PKI_SCRIPT "${PROJECT_SOURCE_DIR}/deploy/pki/make-dev-pki.sh"
    HT_ALERT_RULES_TOML "${PROJECT_SOURCE_DIR}/deploy/config/alert_rules.toml"
    ${A_PATHS})
  if(A_NEEDS)
    add_dependencies(${A_NAME} ${A_NEEDS})
  endif()
endfunction()
