# Runs the real `healthtwin` binary for `admin feed ...` with bad arguments: each exits 2 with one
# line naming the argument, before any server is contacted (none can be: cmake/cli_expect.cmake
# clears HEALTHTWIN_*). Good arguments get as far as needing --registry, which shows that the
# checks passed them. The server-backed paths are in
# tests/integration/feeds_admin_integration_test.cc (FeedsCliTest).
#   cmake -DHEALTHTWIN=<path> -DWORK_DIR=<dir> -P cli_feeds_test.cmake
include("${CMAKE_CURRENT_LIST_DIR}/../../../cmake/cli_expect.cmake")

# A real CA certificate made now, a file that is not one, and a key that is PEM but no certificate.
execute_process(COMMAND openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1
                        -subj "/CN=feed test ca" -keyout "${WORK_DIR}/ca.key" -out "${WORK_DIR}/ca.pem"
                RESULT_VARIABLE openssl_rc OUTPUT_QUIET ERROR_QUIET)
if(NOT openssl_rc EQUAL 0)
  message(FATAL_ERROR "openssl could not make the test CA")
endif()
file(WRITE "${WORK_DIR}/notes.txt" "this is not a certificate\n")

set(MLLP admin feed add --name ward7 --kind hl7v2-mllp --content alerts)
expect(unknown_kind 2 "" "^healthtwin: --kind: expected hl7v2-mllp or fhir-rest-hook, got 'hl7'\n$"
       admin feed add --name ward7 --kind hl7 --target h:2575 --content alerts)
expect(mllp_target_without_port 2 "" "^healthtwin: --target: expected host:port for an hl7v2-mllp feed, got 'engine'\n$"
       ${MLLP} --target engine)
expect(mllp_port_out_of_range 2 "" "^healthtwin: --target: port must be 1-65535, got '70000'\n$"
       ${MLLP} --target engine:70000)
expect(mllp_target_is_url 2 "" "^healthtwin: --target: an hl7v2-mllp target is host:port, not a URL"
       ${MLLP} --target https://engine:2575)
expect(fhir_target_not_https 2 "" "^healthtwin: --target: a fhir-rest-hook target is an https:// base URL, got 'http://fhir.example/r4'\n$"
       admin feed add --name hub --kind fhir-rest-hook --target http://fhir.example/r4 --content vitals)
expect(ca_file_missing 2 "" "^healthtwin: --tls-ca: cannot read 'missing.pem'\n$"
       ${MLLP} --target engine:2575 --tls-ca missing.pem)
expect(ca_file_not_pem 2 "" "^healthtwin: --tls-ca: 'notes.txt': not a PEM X.509 certificate\n$"
       ${MLLP} --target engine:2575 --tls-ca notes.txt)
expect(ca_file_is_a_key 2 "" "^healthtwin: --tls-ca: 'ca.key': not a PEM X.509 certificate\n$"
       ${MLLP} --target engine:2575 --tls-ca ca.key)
expect(unknown_content 2 "" "^healthtwin: --content: expected alerts, vitals or alerts,vitals, got 'alerts,labs'\n$"
       admin feed add --name ward7 --kind hl7v2-mllp --target engine:2575 --content alerts,labs)
expect(bad_min_priority 2 "" "^healthtwin: --min-priority: expected low, medium or high, got 'urgent'\n$"
       ${MLLP} --target engine:2575 --min-priority urgent)
expect(bad_name 2 "" "^healthtwin: --name: may contain only lower-case letters, digits and . _ -\n$"
       admin feed add --name ward/7 --kind hl7v2-mllp --target engine:2575 --content alerts)
expect(bad_patient 2 "" "^healthtwin: --patients: may contain only letters, digits and . _ - :\n$"
       ${MLLP} --target engine:2575 --patients "pat-1,pat 2")
expect(patients_and_care_team 2 "" "--care-team-of"
       ${MLLP} --target engine:2575 --patients pat-1 --care-team-of dr-alice)
expect(hl7_delimiter_in_facility 2 "" "^healthtwin: --sending-facility: may not contain the HL7 delimiters"
       ${MLLP} --target engine:2575 --sending-facility "WARD|7")
expect(replay_without_since 2 "" "--since" admin feed replay --name ward7)
expect(replay_bad_since 2 "" "^healthtwin: --since: expected a duration ago like 2h or 7d, or an RFC 3339 time like 2026-01-31T12:00:00Z, got 'yesterday'\n$"
       admin feed replay --name ward7 --since yesterday)
expect(pause_without_name 2 "" "--name" admin feed pause)
expect(status_bad_name 2 "" "^healthtwin: --name: must start with a lower-case letter or digit\n$"
       admin feed status --name _x)
# Good arguments (a real CA, a TLS MLLP feed, an RFC 3339 --since) but no server: still exit 2,
# naming what is missing.
expect(add_good_without_server 2 "" "^healthtwin: --registry: the server address is required\n$"
       ${MLLP},vitals --target 10.1.2.3:2575 --tls-ca ca.pem --client-cert --min-priority high
       --sending-facility WARD7 --receiving-app EPIC)
expect(replay_good_without_server 2 "" "^healthtwin: --registry: the server address is required\n$"
       admin feed replay --name ward7 --since 2026-01-31T12:00:00Z)
expect(list_without_server 2 "" "^healthtwin: --registry: the server address is required\n$" admin feed list)
