# Runs the real `healthtwin` binary for `twin calibrate`, good and bad cases.
#   cmake -DHEALTHTWIN=<path> -DWORK_DIR=<dir> -P cli_twin_test.cmake
# Offline by construction (cmake/cli_expect.cmake clears HEALTHTWIN_*).
set(EXPECT_ONE_LINE_CODES 1 2)  # every failure of `twin calibrate` explains itself in one line
include("${CMAKE_CURRENT_LIST_DIR}/../../../cmake/cli_expect.cmake")

# Ten days from 2026-01-01: cuff BP twice a day, HR every 30 min, daily weight, SpO2, temperature;
# deterministic scatter, one flagged reading and one outlier.
set(csv "measured_at,vital,value,flagged\n")
set(day0 1767225600)
foreach(d RANGE 0 9)
  math(EXPR t "${day0} + ${d} * 86400")
  foreach(k 0 1)
    math(EXPR tb "${t} + 28800 + ${k} * 43200")
    math(EXPR sbp "120 + (${d} * 7 + ${k} * 3) % 11 - 5")
    math(EXPR dbp "80 + (${d} * 5 + ${k}) % 7 - 3")
    string(APPEND csv "${tb},systolic,${sbp},0\n${tb},diastolic,${dbp},0\n")
  endforeach()
  foreach(i RANGE 0 47)
    math(EXPR th "${t} + ${i} * 1800")
    math(EXPR hr "72 + (${i} * 13 + ${d}) % 9 - 4")
    string(APPEND csv "${th},heart_rate,${hr},0\n")
  endforeach()
  math(EXPR tw "${t} + 25200")
  math(EXPR w10 "750 + ${d} % 3")
  string(APPEND csv "${tw},weight,${w10}e-1,0\n${tw},spo2,97,0\n${tw},temperature,36.8,0\n")
endforeach()
string(APPEND csv "2026-01-05T12:00:00Z,systolic,300,1\n2026-01-06T12:00:00+01:00,systolic,250\n")
file(WRITE "${WORK_DIR}/vitals.csv" "${csv}")
file(WRITE "${WORK_DIR}/patient.json" [[{"age_years": 40, "sex": "male", "weight_kg": 75}]])
file(WRITE "${WORK_DIR}/bad_field.json" [[{"wieght_kg": 70}]])
file(WRITE "${WORK_DIR}/bad_value.csv" "measured_at,vital,value\n0,heart_rate,70\n60,heart_rate,fast\n")
file(WRITE "${WORK_DIR}/bad_header.csv" "when,what,value\n")
file(WRITE "${WORK_DIR}/bad_vital.csv" "measured_at,vital,value\n0,pulse,70\n")
file(WRITE "${WORK_DIR}/header_only.csv" "measured_at,vital,value\n")
file(WRITE "${WORK_DIR}/scarce.csv"
  "measured_at,vital,value\n2026-01-01T08:00:00Z,systolic,120\n2026-01-01T08:00:00Z,diastolic,80\n2026-01-01T08:00:00Z,heart_rate,70\n")

expect(calibrate_text 0 "log_resistance.*log_blood_volume.*set_point_offset_mmhg.*fit: vital.*heart_rate.*flagged by ingest \\(excluded\\): 1"
       "" twin calibrate --vitals vitals.csv)
expect(calibrate_json 0 "\"converged\":true.*\"parameters\".*\"type\":\"twin_calibration\"" ""
       twin calibrate --vitals vitals.csv --patient patient.json --json --snapshot-out snap.json)
file(READ "${WORK_DIR}/snap.json" snap)
if(NOT snap MATCHES "\"model_version\":\"healthtwin-twin/1")
  message(FATAL_ERROR "calibrate_json: snapshot is '${snap}'")
endif()

expect(missing_vitals 2 "" "--vitals" twin calibrate)
expect(missing_file 2 "" "cannot read" twin calibrate --vitals nosuch.csv)
expect(bad_value 2 "" "bad_value.csv:3: field value: 'fast'" twin calibrate --vitals bad_value.csv)
expect(bad_header 2 "" "bad_header.csv:1: header" twin calibrate --vitals bad_header.csv)
expect(bad_vital 2 "" "field vital: unknown 'pulse'" twin calibrate --vitals bad_vital.csv)
expect(empty_window 2 "" "empty window" twin calibrate --vitals header_only.csv)
expect(bad_patient 2 "" "wieght_kg is unknown" twin calibrate --vitals vitals.csv --patient bad_field.json)
expect(too_little_data 1 "" "too little data" twin calibrate --vitals scarce.csv)
