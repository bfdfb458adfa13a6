// The chaos harness's simulated wearables: per patient a heart-rate strap (2A37 notifications,
// stamped by the bridge on receipt) and a glucose meter that keeps its records (2A18 with a
// sequence number, a RACP record store, and a live notification of each new record). They live
// on the mock BlueZ (ble_bridge/bluez/testing/mock_bluez.h) and log every measurement they emit,
// so the harness can judge what arrived (tests/chaos/oracle.h).
//
// The heart rate follows a schedule that makes alert episodes: pat-0002 is above 120 /min for
// 90 s out of every 12 min (one sustained-tachycardia alert each time), pat-0003 likewise with a
// phase shift and, between, a 40 s burst that is too short to alert; the others stay normal.
// Values cycle through 24 neighbouring integers so that the judge can tell readings apart.
//
// Thread safety: none; the harness drives it from its one thread, as MockBluez requires.
#pragma once

#include <cstdint>
#include <deque>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ble_bridge/bluez/testing/mock_bluez.h"
#include "tests/chaos/oracle.h"

namespace healthtwin::chaos {

struct WearableDevice {
  std::string address;  // the device id the bridge forwards, e.g. "C0:FF:EE:00:02:01"
  std::string patient_id;
  int kind = 0;  // registry kind: 1 heart-rate strap, 6 glucose meter
};

class Wearables {
 public:
  // `patients` patients pat-0001.., heart rate at `hr_hz`, a glucose record every
  // `glucose_interval_s`. Every emission is appended to `log_path` as one line.
  Wearables(int patients, double hr_hz, double glucose_interval_s, int64_t start_us, const std::string& log_path);

  const std::vector<WearableDevice>& devices() const { return devices_; }
  std::vector<std::string> straps() const;

  // Adds the adapter, every device with its characteristics and the meters' stored records to
  // a (re)started BlueZ, as bluetoothd reads them back from its storage.
  absl::Status Install(ble::testing::MockBluez& mock);

  // Emits whatever is due at `now_us`. `mock` is null while BlueZ is down: the devices still
  // measure (meters store the record), but nobody hears them.
  void Tick(ble::testing::MockBluez* mock, int64_t now_us);

  // Every device's link drops (the bridge that held it is gone); Advertise brings them back.
  void DropLinks(ble::testing::MockBluez& mock);

  const std::vector<HrEmission>& hr_emissions() const { return hr_; }
  const std::vector<Record>& records() const { return records_; }
  // Mock calls that failed while BlueZ was thought up (a fault in the harness, reported).
  int64_t mock_errors() const { return mock_errors_; }

 private:
  struct Strap {
    std::string address, char_path;
    int patient = 0;  // 1-based
    int64_t next_us = 0;
    int64_t count = 0;
  };
  struct Meter {
    std::string address, glucose_path, racp_path;
    int64_t next_us = 0;
    uint16_t seq = 0;
    std::deque<std::pair<uint16_t, std::vector<uint8_t>>> store;  // the device's memory
  };

  bool Tachycardic(int patient, double t_s) const;

  std::vector<WearableDevice> devices_;
  std::vector<Strap> straps_;
  std::vector<Meter> meters_;
  const int64_t hr_period_us_;
  const int64_t glucose_period_us_;
  const int64_t start_us_;
  std::ofstream log_;
  std::vector<HrEmission> hr_;
  std::vector<Record> records_;
  int64_t mock_errors_ = 0;
};

}  // namespace healthtwin::chaos
