# Runs the real `healthtwin` binary for `score news2`, good and bad cases.
#   cmake -DHEALTHTWIN=<path> -DWORK_DIR=<dir> -P cli_score_test.cmake
# Offline by construction (cmake/cli_expect.cmake clears HEALTHTWIN_*).
include("${CMAKE_CURRENT_LIST_DIR}/../../../cmake/cli_expect.cmake")

# Every parameter given: 2 + 1 + 2 + 1 + 2 + 0 + 1 = 9, high.
expect(full_json 0
       "^{\"score\":9,\"risk\":\"high\",\"partial\":false,\"missing\":\\[\\],\"components\":{\"respiratory_rate\":2,\"spo2\":1,\"oxygen\":2,\"systolic\":1,\"heart_rate\":2,\"consciousness\":0,\"temperature\":1},\"scale\":1}\n$"
       "" score news2 --json --respiratory-rate 22 --spo2 94 --oxygen supplemental --systolic 105 --heart-rate 115
       --consciousness A --temperature 38.5)
# A wearable's set: the score is a lower bound and says so; a single 3 makes it low-medium.
expect(partial_json 0
       "^{\"score\":4,\"risk\":\"low-medium\",\"partial\":true,\"missing\":\\[\"respiratory_rate\",\"oxygen\",\"systolic\",\"consciousness\"\\],\"components\":{\"spo2\":1,\"heart_rate\":3,\"temperature\":0},\"scale\":1,\"note\":\"partial: score and risk are lower bounds[^\"]*\"}\n$"
       "" score news2 --json --spo2 95 --heart-rate 135 --temperature 36.8)
# Scale 2 without --oxygen: oxygen is missing, and the SpO2 band used says what it assumed.
expect(scale2_assumed_air 0 "\"missing\":\\[[^]]*\"oxygen\".*\"components\":{\"spo2\":0}.*\"assumed\":{\"oxygen\":\"air\"}"
       "" score news2 --json --spo2 97 --scale 2)
expect(partial_text 0 "NEWS2 at least 4, risk at least low-medium.*missing: respiratory_rate, oxygen, systolic, consciousness"
       "" score news2 --spo2 95 --heart-rate 135 --temperature 36.8)

expect(negative_heart_rate 2 "" "^healthtwin: --heart-rate: -5 is below 0\n$" score news2 --heart-rate -5)
expect(spo2_above_100 2 "" "^healthtwin: --spo2: 140 is above 100\n$" score news2 --spo2 140)
expect(consciousness_not_acvpu 2 "" "^healthtwin: --consciousness: 'Z' is not one of A, C, V, P, U\n$"
       score news2 --consciousness Z)
expect(spo2_not_a_number 2 "" "--spo2" score news2 --spo2 nan)
expect(bad_scale 2 "" "--scale" score news2 --spo2 95 --scale 3)
