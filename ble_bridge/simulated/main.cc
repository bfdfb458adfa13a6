// healthtwin-wearables: simulated BLE health devices for the demo. It starts a private
// dbus-daemon with python3-dbusmock's bluez5 template (ble_bridge/bluez/testing/mock_bluez.h),
// adds adapter hci0 and, for each patient pat-NNNN, a heart-rate strap and a blood-pressure cuff,
// and sends their measurements as GATT notifications/indications in the Bluetooth SIG formats
// (2A37, 2A35), so that `healthtwin-bridge run` receives them exactly as from real devices.
//
//   healthtwin-wearables --patients 3 --bus-address-file FILE
//
// Device addresses (the bridge's device ids, so the ids to bind): patient number n (1-based) gets
//   strap C0:FF:EE:00:<n as 2 hex digits>:01   cuff C0:FF:EE:00:<n>:02
// e.g. pat-0002 -> C0:FF:EE:00:02:01 and C0:FF:EE:00:02:02. Each line of stdout names one device:
// "<address> <patient> <kind>". The file gets the bus address once everything is in place;
// point the bridge at it with DBUS_SYSTEM_BUS_ADDRESS.
//
// Values: a realistic generator (the cardiovascular model is not wired in yet). Resting heart
// rate 62-80 /min with slow drift and beat noise; pat-0002 is tachycardic (about 135 /min). The
// strap notifies once a second, in real time: heart-rate notifications carry no time stamp, so
// the bridge stamps them on receipt and nothing can be backfilled or sped up through them (the
// demo's tachycardia alert therefore needs one real minute of data). Each cuff indicates one
// reading, time-stamped by the cuff's clock, as soon as the bridge subscribes (taken 2 minutes
// earlier: a stored reading), then one every --bp-interval-s. Time stamps are never in the future.
// Runs until SIGINT/SIGTERM; the daemon and dbusmock die with it.
#include <csignal>
#include <ctime>
#include <iostream>
#include <fstream>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>

#include "ble_bridge/bluez/testing/mock_bluez.h"
#include "ble_bridge/parsers/date_time.h"
#include "ble_bridge/parsers/ieee11073.h"

namespace {

using healthtwin::ble::testing::MockBluez;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct Wearer {
  std::string patient_id;
  std::string strap_address, cuff_address;
  std::string strap_hr, cuff_bp;  // characteristic paths
  double mean_hr_bpm, sbp_mmhg, dbp_mmhg;
  double drift = 0;
  bool cuff_started = false;
  int64_t next_bp_s = 0;
};

void AppendSfloat(std::vector<uint8_t>& out, double value) {
  auto raw = healthtwin::ble::EncodeSfloat(static_cast<int32_t>(std::lround(value)), 0);
  const uint16_t v = raw.ok() ? *raw : 0x07FF;  // NaN if it does not fit
  out.push_back(static_cast<uint8_t>(v & 0xFF));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

// 2A35: flags (timestamp, pulse rate), systolic, diastolic, MAP in mmHg, device local time, pulse.
std::vector<uint8_t> BloodPressure(double sbp, double dbp, double pulse, std::time_t taken_at) {
  std::vector<uint8_t> out{0x06};
  AppendSfloat(out, sbp);
  AppendSfloat(out, dbp);
  AppendSfloat(out, dbp + (sbp - dbp) / 3);
  std::tm tm{};
  localtime_r(&taken_at, &tm);
  healthtwin::ble::DateTime dt{.year = static_cast<uint16_t>(tm.tm_year + 1900),
                               .month = static_cast<uint8_t>(tm.tm_mon + 1),
                               .day = static_cast<uint8_t>(tm.tm_mday),
                               .hours = static_cast<uint8_t>(tm.tm_hour),
                               .minutes = static_cast<uint8_t>(tm.tm_min),
                               .seconds = static_cast<uint8_t>(tm.tm_sec)};
  healthtwin::ble::AppendDateTime(dt, out);
  AppendSfloat(out, pulse);
  return out;
}

std::string Address(int patient, int kind) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "C0:FF:EE:00:%02X:%02X", patient, kind);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Simulated BLE wearables on a mock BlueZ, for the demo", "healthtwin-wearables");
  int patients = 3, bp_interval_s = 60;
  std::string address_file;
  uint64_t seed = 42;
  app.add_option("--patients", patients, "number of patients, pat-0001 ...")->check(CLI::Range(1, 200));
  app.add_option("--bus-address-file", address_file, "where to write the mock system bus address")->required();
  app.add_option("--bp-interval-s", bp_interval_s, "seconds between cuff readings")->check(CLI::Range(5, 86400));
  app.add_option("--seed", seed, "random seed");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "healthtwin-wearables: " << e.what() << "\n";
    return 2;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  auto mock = MockBluez::Start();
  if (!mock.ok()) {
    std::cerr << "healthtwin-wearables: mock BlueZ: " << mock.status().message() << "\n";
    return 1;
  }
  auto adapter = (*mock)->AddAdapter("hci0");
  if (!adapter.ok()) {
    std::cerr << "healthtwin-wearables: " << adapter.status().message() << "\n";
    return 1;
  }
  std::vector<Wearer> wearers;
  for (int i = 1; i <= patients; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "pat-%04d", i);
    const bool tachy = i == 2;
    Wearer w{id, Address(i, 1), Address(i, 2), "", "", tachy ? 135.0 : 62.0 + 6.0 * (i % 4), 118.0 + 4 * (i % 5),
             76.0 + 2 * (i % 3)};
    auto hr = (*mock)->AddCharacteristic(MockBluez::DevicePath(*adapter, w.strap_address), 0x0c, 0x180D, 0x0d, 0x2A37);
    auto bp = (*mock)->AddCharacteristic(MockBluez::DevicePath(*adapter, w.cuff_address), 0x0c, 0x1810, 0x0d, 0x2A35);
    if (!hr.ok() || !bp.ok()) {
      std::cerr << "healthtwin-wearables: " << (hr.ok() ? bp.status() : hr.status()).message() << "\n";
      return 1;
    }
    w.strap_hr = *hr;
    w.cuff_bp = *bp;
    auto s = (*mock)->AddDevice(*adapter, w.strap_address, "HR strap " + w.patient_id, {0x180D});
    auto c = (*mock)->AddDevice(*adapter, w.cuff_address, "BP cuff " + w.patient_id, {0x1810});
    if (!s.ok() || !c.ok()) {
      std::cerr << "healthtwin-wearables: " << (s.ok() ? c.status() : s.status()).message() << "\n";
      return 1;
    }
    std::cout << w.strap_address << " " << w.patient_id << " heart_rate_strap\n"
              << w.cuff_address << " " << w.patient_id << " blood_pressure_cuff\n";
    wearers.push_back(std::move(w));
  }
  std::cout.flush();
  {
    const std::string tmp = address_file + ".tmp";
    std::ofstream(tmp) << (*mock)->bus_address() << "\n";
    std::rename(tmp.c_str(), address_file.c_str());
  }

  std::mt19937_64 rng(seed);
  std::normal_distribution<double> beat(0, 2.0), drift_step(0, 0.3), bp_noise(0, 4.0);
  auto next = std::chrono::steady_clock::now();
  while (!g_stop) {
    const std::time_t now = std::time(nullptr);
    for (auto& w : wearers) {
      w.drift = std::clamp(w.drift + drift_step(rng), -6.0, 6.0);
      const double hr = std::clamp(w.mean_hr_bpm + w.drift + beat(rng), 35.0, 220.0);
      // Before the bridge subscribes a Value change is simply not seen, as with a real strap.
      (void)(*mock)->Notify(w.strap_hr, {0x00, static_cast<uint8_t>(std::lround(hr))});
      if (!w.cuff_started) {
        auto notifying = (*mock)->GetBool(w.cuff_bp, "org.bluez.GattCharacteristic1", "Notifying");
        if (notifying.ok() && *notifying) {
          w.cuff_started = true;
          (void)(*mock)->Notify(w.cuff_bp, BloodPressure(w.sbp_mmhg + bp_noise(rng), w.dbp_mmhg + bp_noise(rng),
                                                         w.mean_hr_bpm, now - 120));
          w.next_bp_s = now + bp_interval_s;
        }
      } else if (now >= w.next_bp_s) {
        (void)(*mock)->Notify(w.cuff_bp, BloodPressure(w.sbp_mmhg + bp_noise(rng), w.dbp_mmhg + bp_noise(rng), hr, now));
        w.next_bp_s = now + bp_interval_s;
      }
    }
    next += std::chrono::seconds(1);
    std::this_thread::sleep_until(next);
  }
  return 0;
}
