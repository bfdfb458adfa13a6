# Small helpers so each folder states its targets in a few lines.

# Warnings stay private to our own targets.
function(ht_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-unused-parameter)
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
  ht_warnings(${A_NAME})
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
  ht_warnings(${A_NAME})
  gtest_discover_tests(${A_NAME}
    PROPERTIES LABELS ${A_LABEL} TIMEOUT ${A_TIMEOUT}
    DISCOVERY_TIMEOUT 30)
endfunction()
