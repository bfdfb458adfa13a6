// healthtwin-wearables: simulated BLE health devices for the demo. It starts a private
// dbus-daemon with python3-dbusmock's bluez5 template (ble_bridge/bluez/testing/mock_bluez.h),
// adds adapter hci0 and, for each patient pat-NNNN, five devices that send their measurements as
// GATT notifications/indications in the Bluetooth SIG formats, so that `healthtwin-bridge run`
// receives them exactly as from real devices:
//
//   kind  device               characteristics                          battery             clock
//   01    heart-rate strap     2A37 notify, 1 Hz                        org.bluez.Battery1  -
//   02    blood-pressure cuff  2A35 indicate, 2A52 RACP                 2A19 read           2A2B read/write
//   03    pulse oximeter       2A5F notify every 5 s, 2A5E on subscribe 2A19 read           -
//   04    weight scale         2A9D indicate, 2A52 RACP                 2A19 read           2A2B read/write
//   05    thermometer          2A1C indicate                            2A19 read           2A2B read/write
//
// Every device also has Device Information (2A29 manufacturer, 2A24 model, 2A25 serial, 2A26
// firmware, readable). The devices with a clock start 45 s behind; the bridge measures that skew
// and writes Current Time.
//
//   healthtwin-wearables --patients 3 --bus-address-file FILE [--drain-battery ADDRESS ...] [--history-days 30]
//
// Device addresses (the bridge's device ids, so the ids to bind): patient number n (1-based) and
// kind k get C0:FF:EE:00:<n as 2 hex digits>:<k as 2 hex digits>, e.g. pat-0002's cuff is
// C0:FF:EE:00:02:02. Each line of stdout names one device: "<address> <patient> <kind>", with the
// kind as `healthtwin admin bind-device --kind` spells it. The file gets the bus address once
// everything is in place; point the bridge at it with DBUS_SYSTEM_BUS_ADDRESS.
//
// Values: a realistic generator (the cardiovascular model is not wired in yet). Resting heart
// rate 62-80 /min with slow drift and beat noise; pat-0002 is tachycardic (about 140 /min, never
// below 131 with its drift: NEWS2 pulse 3 points and hr_high's HIGH band, for the demo). The
// strap notifies once a second, in real time: heart-rate notifications carry no time stamp, so
// the bridge stamps them on receipt and nothing can be backfilled or sped up through them (the
// demo's tachycardia alert therefore needs one real minute of data). SpO2 95-99 % (pulse rate
// follows the strap's), temperature 36.4-37.2 C, weight 60-95 kg with tiny day-to-day noise.
// Each cuff, scale and thermometer indicates one reading, time-stamped by its own clock, as soon
// as the bridge subscribes (taken 2 minutes earlier: a stored reading), then one every
// --bp-interval-s (cuff), 5 minutes (thermometer) or 10 minutes (scale). Time stamps are never in
// the future. Battery levels drain by one percent every 10 minutes (down to 5 %), each change sent
// as BlueZ would: a 2A19 notification, or Battery1 Percentage for the strap.
//
// Stored history (--history-days, default 30; 0 for none): each cuff and scale keeps its
// wearer's readings of the days before today (morning and evening BP, a morning weighing; levels,
// variation and sources in history.h) in a record store behind a Record Access Control Point
// (2A52); the bridge asks for all records when it connects, they come back as time-stamped 2A35
// and 2A9D indications, and the twins calibrate from them.
//
// --drain-battery ADDRESS (repeatable) makes that device's battery run down fast, for the demo's
// technical alert: two percent a second from its starting level (60-99 %), reported the same way,
// so that the bridge forwards a real device status and battery_low (15 %) fires within a minute.
// At 0 % the device is dead: it sends no more measurements. An address that is not one of the
// simulated devices is an error (exit 2). Runs until SIGINT/SIGTERM; the daemon and dbusmock die
// with it.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <csignal>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <thread>

#include "ble_bridge/bluez/testing/mock_bluez.h"
#include "ble_bridge/parsers/date_time.h"
#include "ble_bridge/parsers/ieee11073.h"
#include "ble_bridge/simulated/history.h"

namespace {

using healthtwin::ble::testing::MockBluez;
namespace simulated = healthtwin::ble::simulated;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

// A device that indicates time-stamped readings: one stored reading when the bridge subscribes,
// then one every interval.
struct Indicator {
  std::string path;  // characteristic
  bool started = false;
  int64_t next_s = 0;
};

struct Wearer {
  std::string patient_id;
  std::string strap_hr, oximeter_plx, oximeter_spot;  // characteristic paths
  Indicator cuff, scale, thermometer;
  std::string battery_chars[6];  // 2A19 by kind (2-5); the strap (1) has org.bluez.Battery1
  std::string strap_path;        // device with org.bluez.Battery1
  int battery_percent[6] = {};   // by kind
  bool drain_fast[6] = {};       // by kind: --drain-battery
  double mean_hr_bpm, sbp_mmhg, dbp_mmhg, spo2_percent, temperature_c, weight_kg;
  double drift = 0;
  bool spot_sent = false;
};

constexpr const char* kKinds[] = {
    "", "heart_rate_strap", "blood_pressure_cuff", "pulse_oximeter", "weight_scale", "thermometer"};
constexpr const char* kModels[] = {"", "HT-HRS1", "HT-BPC2", "HT-OX3", "HT-WS4", "HT-TH5"};

void AppendSfloat(std::vector<uint8_t>& out, double value) {
  auto raw = healthtwin::ble::EncodeSfloat(static_cast<int32_t>(std::lround(value)), 0);
  const uint16_t v = raw.ok() ? *raw : 0x07FF;  // NaN if it does not fit
  out.push_back(static_cast<uint8_t>(v & 0xFF));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

healthtwin::ble::DateTime LocalDateTime(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  return {.year = static_cast<uint16_t>(tm.tm_year + 1900),
          .month = static_cast<uint8_t>(tm.tm_mon + 1),
          .day = static_cast<uint8_t>(tm.tm_mday),
          .hours = static_cast<uint8_t>(tm.tm_hour),
          .minutes = static_cast<uint8_t>(tm.tm_min),
          .seconds = static_cast<uint8_t>(tm.tm_sec)};
}

// 2A35: flags (timestamp, pulse rate when given), systolic, diastolic, MAP in mmHg, device local
// time, pulse.
std::vector<uint8_t> BloodPressure(double sbp, double dbp, std::optional<double> pulse, std::time_t taken_at) {
  std::vector<uint8_t> out{static_cast<uint8_t>(pulse ? 0x06 : 0x02)};
  AppendSfloat(out, sbp);
  AppendSfloat(out, dbp);
  AppendSfloat(out, dbp + (sbp - dbp) / 3);
  healthtwin::ble::AppendDateTime(LocalDateTime(taken_at), out);
  if (pulse) AppendSfloat(out, *pulse);
  return out;
}

// 2A5F: flags 0 (no fast/slow/status fields), SpO2 and pulse rate as SFLOAT with one decimal.
std::vector<uint8_t> PlxContinuous(double spo2, double pulse) {
  std::vector<uint8_t> out{0x00};
  for (double v : {spo2, pulse}) {
    auto raw = healthtwin::ble::EncodeSfloat(static_cast<int32_t>(std::lround(v * 10)), -1);
    const uint16_t r = raw.ok() ? *raw : healthtwin::ble::kSfloatNaN;
    out.push_back(static_cast<uint8_t>(r & 0xFF));
    out.push_back(static_cast<uint8_t>(r >> 8));
  }
  return out;
}

// 2A5E: flags 0x01 (time stamp), SpO2, pulse rate, device local time.
std::vector<uint8_t> PlxSpotCheck(double spo2, double pulse, std::time_t taken_at) {
  std::vector<uint8_t> out = PlxContinuous(spo2, pulse);
  out[0] = 0x01;
  healthtwin::ble::AppendDateTime(LocalDateTime(taken_at), out);
  return out;
}

// 2A1C: flags 0x06 (time stamp, type), FLOAT degrees Celsius with two decimals, time, type 6
// (mouth).
std::vector<uint8_t> Temperature(double celsius, std::time_t taken_at) {
  std::vector<uint8_t> out{0x06};
  auto raw = healthtwin::ble::EncodeFloat(static_cast<int32_t>(std::lround(celsius * 100)), -2);
  const uint32_t r = raw.ok() ? *raw : healthtwin::ble::kFloatNaN;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(r >> (8 * i)));
  healthtwin::ble::AppendDateTime(LocalDateTime(taken_at), out);
  out.push_back(6);
  return out;
}

// 2A9D: flags 0x02 (time stamp, SI), weight in 0.005 kg steps, time.
std::vector<uint8_t> Weight(double kg, std::time_t taken_at) {
  const auto steps = static_cast<uint16_t>(std::clamp(std::lround(kg / 0.005), 0L, 65534L));
  std::vector<uint8_t> out{0x02, static_cast<uint8_t>(steps & 0xFF), static_cast<uint8_t>(steps >> 8)};
  healthtwin::ble::AppendDateTime(LocalDateTime(taken_at), out);
  return out;
}

// 2A2B: Exact Time 256 for `t` (day of week 1 = Monday), no adjust reason.
std::vector<uint8_t> CurrentTimeValue(std::time_t t) {
  std::vector<uint8_t> out;
  healthtwin::ble::AppendDateTime(LocalDateTime(t), out);
  std::tm tm{};
  localtime_r(&t, &tm);
  out.push_back(static_cast<uint8_t>(tm.tm_wday == 0 ? 7 : tm.tm_wday));
  out.push_back(0);
  out.push_back(0);
  return out;
}

std::vector<uint8_t> Text(const std::string& s) { return {s.begin(), s.end()}; }

// A RACP (2A52, write and indicate) in the measurement's service, serving `records` (oldest
// first, sequence numbers from 1) through the measurement characteristic.
absl::Status AddRecordStore(MockBluez& m, const std::string& device, uint16_t service_uuid,
                            const std::string& measurement, const std::vector<std::vector<uint8_t>>& records) {
  auto racp = m.AddCharacteristic(device, 0x0c, service_uuid, 0x0f, 0x2A52, {"write", "indicate"}, {});
  if (!racp.ok()) return racp.status();
  if (auto s = m.MakeRecordStore(*racp, measurement); !s.ok()) return s;
  uint16_t seq = 0;
  for (const auto& r : records) {
    if (auto s = m.AddStoredRecord(*racp, ++seq, r); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string Address(int patient, int kind) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "C0:FF:EE:00:%02X:%02X", patient, kind);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Simulated BLE wearables on a mock BlueZ, for the demo", "healthtwin-wearables");
  int patients = 3, bp_interval_s = 60, history_days = 30;
  std::string address_file;
  uint64_t seed = 42;
  app.add_option("--patients", patients, "number of patients, pat-0001 ...")->check(CLI::Range(1, 200));
  app.add_option("--bus-address-file", address_file, "where to write the mock system bus address")->required();
  app.add_option("--bp-interval-s", bp_interval_s, "seconds between cuff readings")->check(CLI::Range(5, 86400));
  app.add_option("--seed", seed, "random seed");
  app.add_option("--history-days", history_days,
                 "days of stored cuff and scale readings before today, served through RACP (0: none)")
      ->check(CLI::Range(0, 365));
  std::vector<std::string> drain;
  app.add_option("--drain-battery", drain,
                 "device address (e.g. C0:FF:EE:00:01:03, pat-0001's oximeter) whose battery runs down at 2 %/s "
                 "and which goes silent at 0 %; repeat for several");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "healthtwin-wearables: " << e.what() << "\n";
    return 2;
  }
  for (const std::string& address : drain) {
    bool known = false;
    for (int i = 1; i <= patients && !known; ++i) {
      for (int k = 1; k <= 5 && !known; ++k) known = Address(i, k) == address;
    }
    if (!known) {
      std::cerr << "healthtwin-wearables: --drain-battery: '" << address << "' is not a simulated device (C0:FF:EE:00:"
                << "<patient 01-" << Address(patients, 1).substr(12, 2) << ">:<kind 01-05>)\n";
      return 2;
    }
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
  MockBluez& m = **mock;
  std::mt19937_64 rng(seed);
  const std::time_t start_s = std::time(nullptr);
  // Adds Device Information, and a readable 2A19 unless the battery is org.bluez.Battery1, and
  // a writable Current Time 45 s behind when the device keeps a clock.
  auto add_common = [&](const std::string& dev, int patient, int kind, bool clock, Wearer& w) -> absl::Status {
    char serial[32];
    std::snprintf(serial, sizeof serial, "SIM-%04d-%02d", patient, kind);
    const std::pair<uint16_t, std::string> info[] = {
        {0x2A29, "healthtwin simulated"}, {0x2A24, kModels[kind]}, {0x2A25, serial}, {0x2A26, "1.4.2"}};
    int index = 0x31;
    for (const auto& [uuid, text] : info) {
      auto c = m.AddCharacteristic(dev, 0x30, 0x180A, index, uuid, {"read"}, Text(text));
      if (!c.ok()) return c.status();
      index += 2;
    }
    if (kind != 1) {  // the strap's is org.bluez.Battery1, added with the device object
      w.battery_percent[kind] = 60 + (patient * 7 + kind * 11) % 40;
      auto c = m.AddCharacteristic(dev, 0x40, 0x180F, 0x41, 0x2A19, {"read", "notify"},
                                   {static_cast<uint8_t>(w.battery_percent[kind])});
      if (!c.ok()) return c.status();
      w.battery_chars[kind] = *c;
    }
    if (clock) {
      auto c = m.AddCharacteristic(dev, 0x50, 0x1805, 0x51, 0x2A2B, {"read", "write", "notify"},
                                   CurrentTimeValue(start_s - 45));
      if (!c.ok()) return c.status();
    }
    return absl::OkStatus();
  };
  auto fail = [](const absl::Status& s) {
    std::cerr << "healthtwin-wearables: " << s.message() << "\n";
    return 1;
  };

  std::vector<Wearer> wearers;
  for (int i = 1; i <= patients; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "pat-%04d", i);
    const bool tachy = i == 2;
    Wearer w;
    w.patient_id = id;
    w.mean_hr_bpm = tachy ? 140.0 : 62.0 + 6.0 * (i % 4);
    w.sbp_mmhg = 118.0 + 4 * (i % 5);
    w.dbp_mmhg = 76.0 + 2 * (i % 3);
    w.spo2_percent = 95.5 + (i % 4);
    w.temperature_c = 36.5 + 0.15 * (i % 5);
    w.weight_kg = 60.0 + 7.5 * (i % 5);
    std::string dev[6];
    for (int k = 1; k <= 5; ++k) dev[k] = MockBluez::DevicePath(*adapter, Address(i, k));
    // GATT objects first: the bridge may connect as soon as a device is announced.
    auto hr = m.AddCharacteristic(dev[1], 0x0c, 0x180D, 0x0d, 0x2A37);
    auto bp = m.AddCharacteristic(dev[2], 0x0c, 0x1810, 0x0d, 0x2A35);
    auto plx = m.AddCharacteristic(dev[3], 0x0c, 0x1822, 0x0d, 0x2A5F);
    auto spot = m.AddCharacteristic(dev[3], 0x0c, 0x1822, 0x0f, 0x2A5E);
    auto wt = m.AddCharacteristic(dev[4], 0x0c, 0x181D, 0x0d, 0x2A9D);
    auto temp = m.AddCharacteristic(dev[5], 0x0c, 0x1809, 0x0d, 0x2A1C);
    for (const auto* c : {&hr, &bp, &plx, &spot, &wt, &temp}) {
      if (!c->ok()) return fail(c->status());
    }
    w.strap_hr = *hr;
    w.cuff.path = *bp;
    w.oximeter_plx = *plx;
    w.oximeter_spot = *spot;
    w.scale.path = *wt;
    w.thermometer.path = *temp;
    if (history_days > 0) {
      const simulated::History h =
          simulated::MakeHistory(w.sbp_mmhg, w.dbp_mmhg, w.weight_kg, start_s, history_days, seed * 1000 + i);
      std::vector<std::vector<uint8_t>> cuff_records, scale_records;
      for (const auto& r : h.blood_pressure) {
        cuff_records.push_back(BloodPressure(r.systolic_mmhg, r.diastolic_mmhg, std::nullopt, r.taken_at));
      }
      for (const auto& r : h.weight) scale_records.push_back(Weight(r.kg, r.taken_at));
      if (auto s = AddRecordStore(m, dev[2], 0x1810, *bp, cuff_records); !s.ok()) return fail(s);
      if (auto s = AddRecordStore(m, dev[4], 0x181D, *wt, scale_records); !s.ok()) return fail(s);
    }
    w.strap_path = dev[1];
    for (int k = 1; k <= 5; ++k) {
      const bool clock = k == 2 || k == 4 || k == 5;
      if (auto s = add_common(dev[k], i, k, clock, w); !s.ok()) return fail(s);
      w.drain_fast[k] = std::find(drain.begin(), drain.end(), Address(i, k)) != drain.end();
    }
    const std::pair<int, uint16_t> services[] = {{1, 0x180D}, {2, 0x1810}, {3, 0x1822}, {4, 0x181D}, {5, 0x1809}};
    const char* names[] = {"", "HR strap ", "BP cuff ", "Oximeter ", "Scale ", "Thermometer "};
    for (const auto& [k, service] : services) {
      auto d = m.AddDevice(*adapter, Address(i, k), names[k] + w.patient_id, {service});
      if (!d.ok()) return fail(d.status());
      if (k == 1) {
        w.battery_percent[1] = 70 + i % 30;
        if (auto s = m.AddBattery(dev[1], static_cast<uint8_t>(w.battery_percent[1])); !s.ok()) return fail(s);
      }
      std::cout << Address(i, k) << " " << w.patient_id << " " << kKinds[k] << "\n";
    }
    wearers.push_back(std::move(w));
  }
  std::cout.flush();
  {
    const std::string tmp = address_file + ".tmp";
    std::ofstream(tmp) << m.bus_address() << "\n";
    std::rename(tmp.c_str(), address_file.c_str());
  }

  std::normal_distribution<double> beat(0, 2.0), drift_step(0, 0.3), bp_noise(0, 4.0), spo2_noise(0, 0.4),
      temp_noise(0, 0.1), weight_noise(0, 0.2);
  // Indicates a stored reading (2 minutes old) once the bridge subscribes, then one per interval.
  auto indicate = [&](Indicator& ind, std::time_t now, int64_t interval_s,
                      const std::function<std::vector<uint8_t>(std::time_t)>& reading) {
    if (!ind.started) {
      auto notifying = m.GetBool(ind.path, "org.bluez.GattCharacteristic1", "Notifying");
      if (!notifying.ok() || !*notifying) return;
      ind.started = true;
      (void)m.Notify(ind.path, reading(now - 120));
      ind.next_s = now + interval_s;
    } else if (now >= ind.next_s) {
      (void)m.Notify(ind.path, reading(now));
      ind.next_s = now + interval_s;
    }
  };
  auto next = std::chrono::steady_clock::now();
  int64_t tick = 0;
  while (!g_stop) {
    const std::time_t now = std::time(nullptr);
    for (auto& w : wearers) {
      // Batteries: one percent every 10 minutes down to 5 %, or two a second down to 0 % when
      // drained (--drain-battery); each change is notified (2A19) or Battery1 is updated.
      for (int k = 1; k <= 5; ++k) {
        const int floor = w.drain_fast[k] ? 0 : 5;
        const bool step = w.drain_fast[k] ? tick > 0 : tick > 0 && tick % 600 == 0;
        if (!step || w.battery_percent[k] <= floor) continue;
        w.battery_percent[k] = std::max(floor, w.battery_percent[k] - (w.drain_fast[k] ? 2 : 1));
        const auto level = static_cast<uint8_t>(w.battery_percent[k]);
        (void)(k == 1 ? m.SetBattery(w.strap_path, level) : m.Notify(w.battery_chars[k], {level}));
      }
      // A device with a flat battery sends nothing.
      auto alive = [&](int kind) { return w.battery_percent[kind] > 0; };
      w.drift = std::clamp(w.drift + drift_step(rng), -6.0, 6.0);
      const double hr = std::clamp(w.mean_hr_bpm + w.drift + beat(rng), 35.0, 220.0);
      // Before the bridge subscribes a Value change is simply not seen, as with a real strap.
      if (alive(1)) (void)m.Notify(w.strap_hr, {0x00, static_cast<uint8_t>(std::lround(hr))});
      const double spo2 = std::clamp(w.spo2_percent + spo2_noise(rng), 85.0, 100.0);
      if (alive(3) && tick % 5 == 0) (void)m.Notify(w.oximeter_plx, PlxContinuous(spo2, hr));
      if (alive(3) && !w.spot_sent) {
        auto notifying = m.GetBool(w.oximeter_spot, "org.bluez.GattCharacteristic1", "Notifying");
        if (notifying.ok() && *notifying) {
          w.spot_sent = true;
          (void)m.Notify(w.oximeter_spot, PlxSpotCheck(spo2, hr, now - 120));
        }
      }
      if (alive(2)) {
        indicate(w.cuff, now, bp_interval_s, [&](std::time_t at) {
          return BloodPressure(w.sbp_mmhg + bp_noise(rng), w.dbp_mmhg + bp_noise(rng), hr, at);
        });
      }
      if (alive(5)) {
        indicate(w.thermometer, now, 300,
                 [&](std::time_t at) { return Temperature(w.temperature_c + temp_noise(rng), at); });
      }
      if (alive(4)) {
        indicate(w.scale, now, 600, [&](std::time_t at) { return Weight(w.weight_kg + weight_noise(rng), at); });
      }
    }
    ++tick;
    next += std::chrono::seconds(1);
    std::this_thread::sleep_until(next);
  }
  return 0;
}
