# Runs the real `healthtwin` binary for `audit ...` with bad input: each exits 2 with one line
# naming the problem (`audit export` with an unreachable database: 1), and the files are checked
# before the database is contacted. The database-backed paths are in
# services/common/audit/audit_chain_test.cc and audit_fhir_export_test.cc.
#   cmake -DHEALTHTWIN=<path> -DWORK_DIR=<dir> -P cli_audit_test.cmake
include("${CMAKE_CURRENT_LIST_DIR}/../../../cmake/cli_expect.cmake")

# A P-256 public key (not Ed25519), a file that is not a key, and checkpoints that are not JSON.
execute_process(COMMAND openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "${WORK_DIR}/ec.key"
                RESULT_VARIABLE rc1 OUTPUT_QUIET ERROR_QUIET)
execute_process(COMMAND openssl pkey -in "${WORK_DIR}/ec.key" -pubout -out "${WORK_DIR}/ec.pub"
                RESULT_VARIABLE rc2 OUTPUT_QUIET ERROR_QUIET)
if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0)
  message(FATAL_ERROR "openssl could not make the test key")
endif()
file(WRITE "${WORK_DIR}/notes.txt" "this is not a key\n")
file(WRITE "${WORK_DIR}/bad.jsonl" "{\"seq\":1,\"hash\":\"00\",\"signed_at_us\":1,\"key_id\":\"k\",\"signature\":\"00\"}\n")
set(NO_DB "host=${WORK_DIR}/no-such-socket-dir dbname=healthtwin connect_timeout=2")

expect(verify_needs_db 2 "" "--db is required" audit verify)
expect(checkpoints_missing 2 "" "^healthtwin: --checkpoints: cannot read missing.jsonl\n$"
       audit verify --db "${NO_DB}" --checkpoints missing.jsonl)
expect(checkpoints_not_json 2 "" "^healthtwin: --checkpoints notes.txt line 1: not a JSON object\n$"
       audit verify --db "${NO_DB}" --checkpoints notes.txt)
expect(checkpoints_short_hash 2 "" "^healthtwin: --checkpoints bad.jsonl line 1: hash: expected 64 lower-case hex digits\n$"
       audit verify --db "${NO_DB}" --checkpoints bad.jsonl)
expect(public_key_not_pem 2 "" "^healthtwin: --public-key: notes.txt does not hold a PEM public key\n$"
       audit verify --db "${NO_DB}" --public-key notes.txt)
expect(public_key_not_ed25519 2 "" "^healthtwin: --public-key: ec.pub holds a public key that is not Ed25519\n$"
       audit verify --db "${NO_DB}" --public-key ec.pub)
expect(db_unreachable 2 "" "^healthtwin: --db: cannot connect to the database: "
       audit verify --db "${NO_DB}")
expect(export_needs_out 2 "" "--out is required" audit checkpoints export --db "${NO_DB}")
expect(export_db_unreachable 2 "" "^healthtwin: --db: cannot connect to the database: "
       audit checkpoints export --db "${NO_DB}" --out cp.jsonl)
expect(checkpoint_key_missing 2 "" "^healthtwin: --key: a loose key file is no longer taken; .* use --keyring DIR"
       audit checkpoint --db "${NO_DB}" --key missing.key)
expect(checkpoint_every_records_zero 2 "" "--every-records"
       audit checkpoint --db "${NO_DB}" --key ec.key --every-records 0)
# `audit export --format fhir`: only fhir is a format; times are checked before the database;
# an unreachable database is exit 1 (the arguments were good).
expect(fhir_export_other_format 2 "" "^healthtwin: --format: xml not in \\{fhir\\}\n$"
       audit export --db "${NO_DB}" --patient pat-0001 --format xml)
expect(fhir_export_needs_format 2 "" "--format is required" audit export --db "${NO_DB}" --patient pat-0001)
expect(fhir_export_bad_since 2 "" "^healthtwin: --since: .*got 'yesterday'\n$"
       audit export --db "${NO_DB}" --patient pat-0001 --format fhir --since yesterday)
expect(fhir_export_until_before_since 2 "" "^healthtwin: --until: must be after --since\n$"
       audit export --db "${NO_DB}" --patient pat-0001 --format fhir --since 1h --until 2h)
expect(fhir_export_db_unreachable 1 "^$" "^healthtwin: --db: cannot connect to the database: "
       audit export --db "${NO_DB}" --patient pat-0001 --format fhir)
