# Shared with fuzz/standalone, which compiles the same sources with clang and libFuzzer.
set(HT_GATT_PARSER_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/battery.cc
  ${CMAKE_CURRENT_LIST_DIR}/blood_pressure.cc
  ${CMAKE_CURRENT_LIST_DIR}/current_time.cc
  ${CMAKE_CURRENT_LIST_DIR}/date_time.cc
  ${CMAKE_CURRENT_LIST_DIR}/decoder.cc
  ${CMAKE_CURRENT_LIST_DIR}/device_info.cc
  ${CMAKE_CURRENT_LIST_DIR}/glucose.cc
  ${CMAKE_CURRENT_LIST_DIR}/heart_rate.cc
  ${CMAKE_CURRENT_LIST_DIR}/hex.cc
  ${CMAKE_CURRENT_LIST_DIR}/ieee11073.cc
  ${CMAKE_CURRENT_LIST_DIR}/json.cc
  ${CMAKE_CURRENT_LIST_DIR}/plx.cc
  ${CMAKE_CURRENT_LIST_DIR}/racp.cc
  ${CMAKE_CURRENT_LIST_DIR}/temperature.cc
  ${CMAKE_CURRENT_LIST_DIR}/weight.cc)
