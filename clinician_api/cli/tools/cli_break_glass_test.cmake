# Runs the real `healthtwin` binary for `break-glass`, `admin break-glass list|review`, `patient
# show` and `admin update-patient` with bad arguments: each exits 2 naming the argument, before
# any server is contacted (cmake/cli_expect.cmake clears HEALTHTWIN_*). The good paths run
# against the real services in tests/integration/break_glass_integration_test.cc.
#   cmake -DHEALTHTWIN=<path> -DWORK_DIR=<dir> -P cli_break_glass_test.cmake
include("${CMAKE_CURRENT_LIST_DIR}/../../../cmake/cli_expect.cmake")

expect(request_without_reason 2 "" "--reason" break-glass --patient pat-1 --reason-code ETREAT)
expect(request_without_reason_code 2 "" "--reason-code" break-glass --patient pat-1 --reason x)
expect(request_bad_for 2 "" "^healthtwin: --for: expected a duration like 90s, 30m, 2h or 7d, got 'soon'\n$"
       break-glass --patient pat-1 --reason-code ETREAT --reason x --for soon)
expect(list_open_and_all 2 "" "--all" admin break-glass list --open --all)
expect(review_without_grant 2 "" "--grant" admin break-glass review --justified)
expect(review_without_verdict 2 "" "^healthtwin: --justified or --unjustified: one is required\n$"
       admin break-glass review --grant 7)
expect(review_both_verdicts 2 "" "--justified|--unjustified" admin break-glass review --grant 7 --justified --unjustified)
expect(show_without_patient 2 "" "--patient" patient show)
expect(update_nothing 2 "" "^healthtwin: update-patient: give at least one of" admin update-patient --patient pat-1)
