# Runs the real `healthtwin` binary for `model run` / `model long`, good and bad cases.
#   cmake -DHEALTHTWIN=<path> -DWORK_DIR=<dir> -P cli_model_test.cmake
# Offline by construction (cmake/cli_expect.cmake clears HEALTHTWIN_*).
include("${CMAKE_CURRENT_LIST_DIR}/../../cmake/cli_expect.cmake")

file(WRITE "${WORK_DIR}/woman.json"
  [[{"age_years": 55, "sex": "female", "height_cm": 165, "weight_kg": 68, "conditions": ["hfpef"]}]])
file(WRITE "${WORK_DIR}/bad_weight.json" [[{"age_years": 55, "weight_kg": "heavy"}]])
file(WRITE "${WORK_DIR}/bad_range.json" [[{"height_cm": 400}]])
file(WRITE "${WORK_DIR}/bad_field.json" [[{"wieght_kg": 70}]])
file(WRITE "${WORK_DIR}/bad_json.json" [[{"age_years": ]])

expect(run_standard 0 "\"type\":\"beat\".*\"type\":\"steady_state\"" ""
       model run --patient standard --seconds 8 --json --waveform wave.csv)
if(NOT EXISTS "${WORK_DIR}/wave.csv")
  message(FATAL_ERROR "run_standard: --waveform wrote no file")
endif()
file(STRINGS "${WORK_DIR}/wave.csv" header LIMIT_COUNT 1)
if(NOT header MATCHES "^t_s,p_sa_mmhg")
  message(FATAL_ERROR "run_standard: waveform header is '${header}'")
endif()
expect(run_condition 0 "\"type\":\"steady_state\"" "" model run --patient standard --condition af --seconds 5 --json)
expect(run_text 0 "steady state t=" "" model run --patient standard --condition hfref --seconds 4)
expect(run_file 0 "\"type\":\"steady_state\"" "" model run --patient woman.json --seconds 4 --json)
expect(long_standard 0 "\"day\":3.*\"sodium_excreted_mmol\"" "" model long --patient standard --days 3 --json)

expect(bad_condition 2 "" "--condition" model run --patient standard --condition flu --seconds 5)
expect(bad_seconds 2 "" "--seconds" model run --patient standard --seconds -4)
expect(missing_seconds 2 "" "--seconds" model run --patient standard)
expect(missing_file 2 "" "cannot read" model run --patient nosuch.json --seconds 5)
expect(bad_type 2 "" "weight_kg must be a number" model run --patient bad_weight.json --seconds 5)
expect(bad_range 2 "" "height_cm" model run --patient bad_range.json --seconds 5)
expect(unknown_field 2 "" "wieght_kg is unknown" model long --patient bad_field.json --days 2)
expect(bad_json 2 "" "not valid JSON" model long --patient bad_json.json --days 2)
expect(bad_days 2 "" "--days" model long --patient standard --days 0)
