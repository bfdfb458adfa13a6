# Runs the real `healthtwin` binary for sharded cohorts: `sim cohort --shard I/N --out` for every
# shard of N = 1, 3 and 7, then `sim merge`, whose JSON, text and per-patient CSV must equal the
# unsharded run's byte for byte; then each set of parts a merge must refuse (exit 2, naming the
# file) and bad --shard arguments.
#   cmake -DHEALTHTWIN=<path> -DWORK_DIR=<dir> -P cli_sim_shard_test.cmake
# Offline by construction (cmake/cli_expect.cmake clears HEALTHTWIN_*).
include("${CMAKE_CURRENT_LIST_DIR}/../../cmake/cli_expect.cmake")

# 20 men around 147/90 (one archetype map per process), placebo and amlodipine, 5 days.
set(tiny [[{
  "seed": 7, "patients": 20, "days": 5,
  "population": {"sbp_mmhg": {"mean": 147, "sd": 2}, "dbp_mmhg": {"mean": 90, "sd": 4},
                 "heart_rate_bpm": {"mean": 72, "sd": 8}, "age_years": {"mean": 58, "sd": 10},
                 "weight_kg": {"mean": 82, "sd": 12}, "female_fraction": 0},
  "arms": [{"name": "placebo", "treatments": []},
           {"name": "amlodipine, 10 mg", "treatments": [{"drug": "amlodipine", "dose_mg": 10, "interval_h": 24}]}]
}]])
file(WRITE "${WORK_DIR}/tiny.json" "${tiny}")
string(REPLACE "\"seed\": 7" "\"seed\": 8" other "${tiny}")
file(WRITE "${WORK_DIR}/other.json" "${other}")

function(expect_same_file name a b)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${WORK_DIR}/${a}" "${WORK_DIR}/${b}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: ${a} and ${b} differ")
  endif()
endfunction()

expect(unsharded_json 0 "\"type\":\"cohort_result\"" "" sim cohort --spec tiny.json --json --csv full.csv --threads 2)
set(full_json "${last_out}")
expect(unsharded_text 0 "amlodipine, 10 mg \\(n = 20\\)" "" sim cohort --spec tiny.json)
set(full_text "${last_out}")

foreach(n 1 3 7)
  math(EXPR last "${n} - 1")
  set(parts "")
  file(MAKE_DIRECTORY "${WORK_DIR}/n${n}")  # --out does not create directories
  foreach(i RANGE ${last})
    # Progress lines on stderr (not a terminal here), then one line on stdout.
    expect(shard_${i}_of_${n} 0 "^shard ${i}/${n}: patients [0-9]+\\.\\.[0-9]+ of 20, [0-9]+ rows -> n${n}/part-${i}.json\n$"
           "healthtwin: shard ${i}/${n}: 100% simulating"
           sim cohort --spec tiny.json --shard ${i}/${n} --out n${n}/part-${i}.json --threads 1)
    list(APPEND parts "n${n}/part-${i}.json")
  endforeach()
  file(READ "${WORK_DIR}/n${n}/part-${last}.json" part)
  string(JSON count GET "${part}" shard count)
  string(JSON index GET "${part}" shard index)
  string(JSON end GET "${part}" patients end)
  string(JSON sha GET "${part}" spec_sha256)
  if(NOT count EQUAL n OR NOT index EQUAL last OR NOT end EQUAL 20 OR NOT sha MATCHES "^[0-9a-f]+$")
    message(FATAL_ERROR "part-${last} of ${n}: shard ${index}/${count}, end ${end}, spec_sha256 '${sha}'")
  endif()
  string(LENGTH "${sha}" sha_length)
  if(NOT sha_length EQUAL 64)
    message(FATAL_ERROR "part-${last} of ${n}: spec_sha256 '${sha}' is not a SHA-256")
  endif()
  list(REVERSE parts)  # any order
  expect(merge_${n}_json 0 "" "" sim merge ${parts} --json --csv merged-${n}.csv)
  if(NOT last_out STREQUAL full_json)
    message(FATAL_ERROR "merge of ${n}: JSON differs from the unsharded run\n${last_out}\nvs\n${full_json}")
  endif()
  expect_same_file(merge_${n}_csv full.csv merged-${n}.csv)
  expect(merge_${n}_text 0 "" "" sim merge ${parts})
  if(NOT last_out STREQUAL full_text)
    message(FATAL_ERROR "merge of ${n}: text differs from the unsharded run\n${last_out}\nvs\n${full_text}")
  endif()
endforeach()
file(STRINGS "${WORK_DIR}/full.csv" rows)
list(LENGTH rows nrows)
if(NOT nrows EQUAL 41)
  message(FATAL_ERROR "full.csv has ${nrows} lines, expected a header and 40 rows")
endif()

# Refused sets of parts: exit 2, one line naming the file (or the missing shard).
expect(merge_missing 2 "" "shard 1/3 \\(patients 6\\.\\.12\\) is missing: got 2 of 3 parts"
       sim merge n3/part-0.json n3/part-2.json)
file(COPY_FILE "${WORK_DIR}/n3/part-1.json" "${WORK_DIR}/copy-of-1.json")
expect(merge_duplicate 2 "" "copy-of-1.json: shard 1/3 again \\(also in n3/part-1.json\\)"
       sim merge n3/part-0.json n3/part-1.json n3/part-2.json copy-of-1.json)
expect(merge_mixed_n 2 "" "n7/part-2.json: shard 2/7 is of a 7-shard run, but n3/part-0.json is of a 3-shard run"
       sim merge n3/part-0.json n3/part-1.json n7/part-2.json)
expect(other_shard 0 "" "" sim cohort --spec other.json --shard 2/3 --out other-2.json --threads 1)
expect(merge_other_spec 2 "" "other-2.json: a part of another spec"
       sim merge n3/part-0.json n3/part-1.json other-2.json)
file(READ "${WORK_DIR}/n3/part-1.json" part)
string(REPLACE "\"rows\":[[6,0,0," "\"rows\":[[6,0,1," edited "${part}")
if(edited STREQUAL part)
  message(FATAL_ERROR "edited part: patient 6's first row not found")
endif()
file(WRITE "${WORK_DIR}/edited-1.json" "${edited}")
expect(merge_edited 2 "" "edited-1.json: content_sha256 does not match the content \\(the part was edited or damaged\\)"
       sim merge n3/part-0.json edited-1.json n3/part-2.json)
string(LENGTH "${part}" part_length)
math(EXPR half "${part_length} / 2")
string(SUBSTRING "${part}" 0 ${half} truncated)
file(WRITE "${WORK_DIR}/truncated-1.json" "${truncated}")
expect(merge_truncated 2 "" "truncated-1.json: not valid JSON \\(truncated"
       sim merge n3/part-0.json truncated-1.json n3/part-2.json)
expect(merge_spec_file 2 "" "tiny.json: not a cohort part file" sim merge tiny.json)
expect(merge_unreadable 2 "" "merge: cannot read 'nosuch.json'" sim merge n3/part-0.json nosuch.json)
expect(merge_no_parts 2 "" "parts" sim merge)

# Bad --shard arguments.
expect(shard_index 2 "" "--shard: the shard index must be in 0\\.\\.2, got 3"
       sim cohort --spec tiny.json --shard 3/3 --out x.json)
expect(shard_count 2 "" "--shard: the shard count must be in 1\\.\\.20" sim cohort --spec tiny.json --shard 0/21 --out x.json)
expect(shard_form 2 "" "--shard: expected I/N" sim cohort --spec tiny.json --shard 1of3 --out x.json)
expect(shard_no_out 2 "" "--shard requires --out" sim cohort --spec tiny.json --shard 1/3)
expect(shard_json 2 "" "--shard excludes --json" sim cohort --spec tiny.json --shard 1/3 --out x.json --json)
expect(out_no_shard 2 "" "--out requires --shard" sim cohort --spec tiny.json --out x.json)
expect(shard_bad_out 2 "" "--out: cannot write 'nodir/x.json'" sim cohort --spec tiny.json --shard 0/3 --out nodir/x.json)
if(EXISTS "${WORK_DIR}/x.json")
  message(FATAL_ERROR "a refused shard wrote x.json")
endif()
