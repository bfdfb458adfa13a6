# Runs the real `healthtwin` binary for `alerts list|show|shelve|stats` and
# `patient alert-settings get|set` with bad arguments: each exits 2 with one line naming the
# argument, before any server is contacted (none can be: cmake/cli_expect.cmake clears
# HEALTHTWIN_*). The good paths run against the real services in
# tests/integration/alerts_api_integration_test.cc (AlertsCliTest).
#   cmake -DHEALTHTWIN=<path> -DWORK_DIR=<dir> -P cli_alerts_test.cmake
include("${CMAKE_CURRENT_LIST_DIR}/../../../cmake/cli_expect.cmake")

expect(list_bad_state 2 "" "^healthtwin: --state: expected one of open, acknowledged, escalated, resolved, latched, suppressed, got 'closed'\n$"
       alerts list --state closed)
expect(list_unspecified_priority 2 "" "^healthtwin: --priority: expected one of low, medium, high, got 'unspecified'\n$"
       alerts list --priority unspecified)
expect(list_bad_since 2 "" "^healthtwin: --since: expected a duration like 90s, 30m, 2h or 7d, got 'yesterday'\n$"
       alerts list --since yesterday)
expect(list_limit_out_of_range 2 "" "--limit" alerts list --limit 5000)
expect(show_without_id 2 "" "alert_id" alerts show)
expect(shelve_without_reason 2 "" "--reason" alerts shelve 00000000-0000-4000-8000-000000000001 --for 10m)
expect(shelve_bad_duration 2 "" "^healthtwin: --for: expected a duration like 90s, 30m, 2h or 7d, got 'ten'\n$"
       alerts shelve 00000000-0000-4000-8000-000000000001 --for ten --reason x)
expect(shelve_negative_duration 2 "" "^healthtwin: --for: must be positive, got '-5m'\n$"
       alerts shelve 00000000-0000-4000-8000-000000000001 --for=-5m --reason x)
expect(stats_bad_by 2 "" "--by" alerts stats --by ward)
expect(settings_get_without_patient 2 "" "--patient" patient alert-settings get)
expect(settings_set_bad_threshold 2 "" "^healthtwin: --threshold: expected RULE=VALUE like hr_high=110, got 'hr_high'\n$"
       patient alert-settings set --patient pat-1 --threshold hr_high)
expect(settings_set_bad_scale2 2 "" "^healthtwin: --scale2: expected on or off, got 'yes'\n$"
       patient alert-settings set --patient pat-1 --scale2 yes)
expect(settings_set_bad_oxygen 2 "" "^healthtwin: --oxygen: expected air or supplemental, got 'mask'\n$"
       patient alert-settings set --patient pat-1 --oxygen mask)
expect(settings_set_nothing 2 "" "^healthtwin: --threshold: nothing to change" patient alert-settings set --patient pat-1)
# Good arguments but no server or credentials: still exit 2, naming what is missing.
expect(list_without_server 2 "" "^healthtwin: --api: the server address is required\n$" alerts list)
# The escalation tier of a care-team member (admin add-care-team --tier): 1-9.
expect(add_care_team_tier_out_of_range 2 "" "^healthtwin: --tier: " admin add-care-team --patient pat-1 --member dr-bob --tier 10)
expect(add_care_team_tier_zero 2 "" "^healthtwin: --tier: " admin add-care-team --patient pat-1 --member dr-bob --tier 0)
