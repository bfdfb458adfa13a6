# Runs the real `healthtwin` binary for `sim cohort` / `sim whatif`, good and bad cases.
#   cmake -DHEALTHTWIN=<path> -DWORK_DIR=<dir> -DEXAMPLES_DIR=<docs/examples> -P cli_sim_test.cmake
# Offline by construction (cmake/cli_expect.cmake clears HEALTHTWIN_*).
include("${CMAKE_CURRENT_LIST_DIR}/../../cmake/cli_expect.cmake")

# A tiny cohort: 20 men around 150/92, placebo and amlodipine, 7 days (one archetype map).
set(tiny [[{
  "seed": 7, "patients": 20, "days": 7,
  "population": {"sbp_mmhg": {"mean": 147, "sd": 2}, "dbp_mmhg": {"mean": 90, "sd": 4},
                 "heart_rate_bpm": {"mean": 72, "sd": 8}, "age_years": {"mean": 58, "sd": 10},
                 "weight_kg": {"mean": 82, "sd": 12}, "female_fraction": 0},
  "arms": [{"name": "placebo", "treatments": []},
           {"name": "amlodipine 10", "treatments": [{"drug": "amlodipine", "dose_mg": 10, "interval_h": 24}]}]
}]])
file(WRITE "${WORK_DIR}/tiny.json" "${tiny}")
string(REPLACE "\"dose_mg\": 10" "\"dose_mg\": 50" overdose "${tiny}")
file(WRITE "${WORK_DIR}/overdose.json" "${overdose}")
string(REPLACE "amlodipine\"" "amlodipin\"" unknown_drug "${tiny}")
file(WRITE "${WORK_DIR}/unknown_drug.json" "${unknown_drug}")
string(REPLACE "\"days\": 7" "\"days\": 7, \"dayz\": 3" unknown_field "${tiny}")
file(WRITE "${WORK_DIR}/unknown_field.json" "${unknown_field}")
string(REPLACE "\"patients\": 20" "\"patients\": \"20\"" bad_type "${tiny}")
string(REPLACE "\"days\": 7" "\"days\": 7, \"trial\": {\"analysis\": \"itt\"}" bad_trial "${tiny}")
file(WRITE "${WORK_DIR}/bad_trial.json" "${bad_trial}")
string(REPLACE "\"days\": 7" "\"days\": 7, \"trial\": false" trial_off "${tiny}")
file(WRITE "${WORK_DIR}/trial_off.json" "${trial_off}")
file(WRITE "${WORK_DIR}/bad_type.json" "${bad_type}")
file(WRITE "${WORK_DIR}/bad_json.json" [[{"seed": ]])
file(WRITE "${WORK_DIR}/options.json" [[{"options": [
  {"name": "none"},
  {"name": "amlodipine 10", "drugs": [{"drug": "amlodipine", "dose_mg": 10}]}]}]])
file(WRITE "${WORK_DIR}/options_overdose.json" [[{"options": [
  {"name": "none"},
  {"name": "metoprolol 500", "drugs": [{"drug": "metoprolol", "dose_mg": 500}]}]}]])

expect(cohort_json 0 "\"arm\":\"placebo\".*\"arm\":\"amlodipine 10\"" ""
       sim cohort --spec tiny.json --json --csv rows.csv --threads 2)
string(JSON n GET "${last_out}" arms 1 patients)
if(NOT n EQUAL 20)
  message(FATAL_ERROR "cohort_json: amlodipine arm n = ${n}, expected 20")
endif()
string(JSON change GET "${last_out}" arms 1 systolic_mmhg mean_change)
if(NOT change LESS -3)
  message(FATAL_ERROR "cohort_json: amlodipine SBP change ${change}, expected below -3 mmHg")
endif()
file(STRINGS "${WORK_DIR}/rows.csv" rows)
list(LENGTH rows nrows)
if(NOT nrows EQUAL 41)
  message(FATAL_ERROR "cohort_json: rows.csv has ${nrows} lines, expected a header and 40 rows")
endif()
list(GET rows 0 header)
if(NOT header MATCHES "^patient,arm,sex,age_years,weight_kg,baseline_sbp_mmhg")
  message(FATAL_ERROR "cohort_json: CSV header is '${header}'")
endif()
set(first "${last_out}")
expect(cohort_same_seed 0 "" "" sim cohort --spec tiny.json --json --threads 1)
if(NOT last_out STREQUAL first)
  message(FATAL_ERROR "cohort_same_seed: output differs between runs with the same seed")
endif()
expect(cohort_text 0 "placebo \\(n = 20\\).*SBP mmHg.*amlodipine 10 \\(n = 20\\)" "" sim cohort --spec tiny.json)
# The trial layer (on by default): SD of change and the placebo-adjusted difference; off, a
# placebo arm stays at baseline and the report has no trial line.
expect(cohort_trial_text 0 "trial: office BP with measurement noise.*SBP mmHg .*, SD [0-9.]+.*vs placebo: SBP [-+][0-9.]+ \\[" ""
       sim cohort --spec tiny.json)
expect(cohort_trial_off 0 "placebo \\(n = 20\\)\n  SBP mmHg  [0-9.]+ -> [0-9.]+  [+-]0\\.0 \\[[+-]0\\.0, [+-]0\\.0\\]" ""
       sim cohort --spec trial_off.json)
if(last_out MATCHES "trial: ")
  message(FATAL_ERROR "cohort_trial_off: the report mentions the trial layer")
endif()
expect(bad_trial 2 "" "trial\\.analysis: must be \"locf\" or \"completers\"" sim cohort --spec bad_trial.json)
expect(whatif_json 0 "\"rank\":1.*trough_systolic_mmhg.*\"type\":\"whatif_result\"" ""
       sim whatif --patient standard --options options.json --days 3 --ensemble 4 --seed 3 --json)
expect(whatif_text 0 "#1 .*#2 " "" sim whatif --patient standard --options options.json --days 2 --ensemble 2)

expect(overdose 2 "" "arms\\[1\\]\\.treatments\\[0\\]\\.dose_mg: 50 mg is outside the label range.*off_label"
       sim cohort --spec overdose.json)
expect(unknown_drug 2 "" "arms\\[1\\]\\.treatments\\[0\\]\\.drug: unknown drug 'amlodipin'; known drugs: .*metoprolol"
       sim cohort --spec unknown_drug.json)
expect(unknown_field 2 "" "dayz: unknown field" sim cohort --spec unknown_field.json)
expect(bad_type 2 "" "patients: must be an integer" sim cohort --spec bad_type.json)
expect(bad_json 2 "" "not valid JSON" sim cohort --spec bad_json.json)
expect(missing_spec 2 "" "cannot read" sim cohort --spec nosuch.json)
expect(no_spec 2 "" "--spec" sim cohort)
expect(whatif_overdose 2 "" "options\\[1\\]\\.drugs\\[0\\]\\.dose_mg: 500 mg.*off_label"
       sim whatif --patient standard --options options_overdose.json --days 3)
expect(whatif_days 2 "" "--days" sim whatif --patient standard --options options.json --days 0)
expect(whatif_ensemble 2 "" "--ensemble" sim whatif --patient standard --options options.json --days 3 --ensemble 5000)
expect(whatif_patient 2 "" "cannot read" sim whatif --patient nosuch.json --options options.json --days 3)

# The documented examples parse (validation only: a 1-patient, 1-day run of the cohort example
# would still build maps, so only bad-field checks run on them here).
if(EXAMPLES_DIR)
  file(READ "${EXAMPLES_DIR}/cohort.json" example)
  string(REPLACE "\"patients\": 1000" "\"patients\": 1000, \"typo\": 1" example_bad "${example}")
  file(WRITE "${WORK_DIR}/example_bad.json" "${example_bad}")
  expect(example_checked 2 "" "typo: unknown field" sim cohort --spec example_bad.json)
  expect(example_whatif 0 "#1 " "" sim whatif --patient "${EXAMPLES_DIR}/patient.json"
         --options "${EXAMPLES_DIR}/whatif-options.json" --days 8 --ensemble 2)
endif()
