# Runs the real `healthtwin-wearables` binary with bad arguments: each exits 2 with one line
# naming the argument, before any D-Bus daemon is started. The good path (a drained battery
# raising battery_low through the real bridge, ingest and alerts) is the demo's scene 3,
# e2e_demo_slice.
#   cmake -DHEALTHTWIN=<healthtwin-wearables> -DWORK_DIR=<dir> -P cli_wearables_test.cmake
include("${CMAKE_CURRENT_LIST_DIR}/../../cmake/cli_expect.cmake")

expect(help_names_drain_battery 0 "--drain-battery" "" --help)
expect(drain_patient_out_of_range 2 ""
       "^healthtwin-wearables: --drain-battery: 'C0:FF:EE:00:04:03' is not a simulated device \\(C0:FF:EE:00:<patient 01-03>:<kind 01-05>\\)\n$"
       --patients 3 --bus-address-file bus --drain-battery C0:FF:EE:00:04:03)
expect(drain_unknown_kind 2 "" "^healthtwin-wearables: --drain-battery: 'C0:FF:EE:00:01:06' is not a simulated device"
       --patients 3 --bus-address-file bus --drain-battery C0:FF:EE:00:01:06)
# A patient id is not a device address; lower case is not how the devices spell theirs.
expect(drain_patient_id 2 "" "^healthtwin-wearables: --drain-battery: 'pat-0001' is not a simulated device"
       --bus-address-file bus --drain-battery pat-0001)
expect(drain_lower_case 2 "" "^healthtwin-wearables: --drain-battery: 'c0:ff:ee:00:01:03' is not a simulated device"
       --bus-address-file bus --drain-battery c0:ff:ee:00:01:03)
expect(drain_one_good_one_bad 2 "" "'C0:FF:EE:00:09:01' is not a simulated device"
       --patients 3 --bus-address-file bus --drain-battery C0:FF:EE:00:01:03 --drain-battery C0:FF:EE:00:09:01)
expect(patients_out_of_range 2 "" "^healthtwin-wearables: --patients: " --patients 0 --bus-address-file bus)
expect(without_bus_address_file 2 "" "^healthtwin-wearables: --bus-address-file is required\n$" --patients 3)
if(EXISTS "${WORK_DIR}/bus")
  message(FATAL_ERROR "a rejected command line wrote the bus address file")
endif()
