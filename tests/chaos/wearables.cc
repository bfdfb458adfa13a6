#include "tests/chaos/wearables.h"

#include <cmath>
#include <ctime>

#include "absl/strings/str_format.h"

namespace healthtwin::chaos {
namespace {

using ble::testing::MockBluez;

constexpr char kAdapter[] = "/org/bluez/hci0";
// 12 min: a 90 s episode ends 10.5 min before the next begins, more than the alerts' 10 min
// reopen window (measured from the end of an alert's newest run), so each episode is an alert.
constexpr int64_t kEpisodePeriodUs = 720'000'000;
constexpr size_t kMeterMemory = 300;               // records a meter keeps (oldest dropped)
// Heart rates cycle through 24 neighbouring values (60-83 normal, 125-148 tachycardic): at 4 Hz a
// value comes back after 6 s, longer than the judge's latency bound, so a stored heart rate
// matches at most one emission.
constexpr int kValueCycle = 24;

// 2A18: flags 0x02 (concentration, type and location present), sequence number, base time
// (device clock, local time), concentration as SFLOAT in kg/L with exponent -5, so the
// mantissa reads in mg/dL, then type/location 0x11 (capillary whole blood, finger).
std::vector<uint8_t> GlucoseValue(uint16_t seq, int mg_dl, int64_t at_us) {
  const std::time_t t = static_cast<std::time_t>(at_us / 1'000'000);
  std::tm tm{};
  localtime_r(&t, &tm);
  const int year = tm.tm_year + 1900;
  return {0x02,
          static_cast<uint8_t>(seq & 0xFF),
          static_cast<uint8_t>(seq >> 8),
          static_cast<uint8_t>(year & 0xFF),
          static_cast<uint8_t>(year >> 8),
          static_cast<uint8_t>(tm.tm_mon + 1),
          static_cast<uint8_t>(tm.tm_mday),
          static_cast<uint8_t>(tm.tm_hour),
          static_cast<uint8_t>(tm.tm_min),
          static_cast<uint8_t>(tm.tm_sec),
          static_cast<uint8_t>(mg_dl & 0xFF),
          static_cast<uint8_t>(0xB0 | ((mg_dl >> 8) & 0x0F)),
          0x11};
}

}  // namespace

Wearables::Wearables(int patients, double hr_hz, double glucose_interval_s, int64_t start_us,
                     const std::string& log_path)
    : hr_period_us_(static_cast<int64_t>(1e6 / hr_hz)),
      glucose_period_us_(static_cast<int64_t>(glucose_interval_s * 1e6)),
      start_us_(start_us),
      log_(log_path) {
  for (int p = 1; p <= patients; ++p) {
    const std::string patient = absl::StrFormat("pat-%04d", p);
    Strap strap;
    strap.address = absl::StrFormat("C0:FF:EE:00:%02X:01", p);
    strap.patient = p;
    strap.next_us = start_us + p * 37'000;  // the straps do not notify in lockstep
    straps_.push_back(strap);
    devices_.push_back({strap.address, patient, 1});
    Meter meter;
    meter.address = absl::StrFormat("C0:FF:EE:00:%02X:06", p);
    meter.next_us = start_us + p * 700'000;
    meters_.push_back(meter);
    devices_.push_back({meter.address, patient, 6});
  }
}

std::vector<std::string> Wearables::straps() const {
  std::vector<std::string> out;
  for (const Strap& s : straps_) out.push_back(s.address);
  return out;
}

bool Wearables::Tachycardic(int patient, double t_s) const {
  auto in = [](double t, double from_s, double length_s) {
    const double period_s = static_cast<double>(kEpisodePeriodUs) / 1e6;
    double phase = std::fmod(t - from_s, period_s);
    if (phase < 0) phase += period_s;
    return phase < length_s;
  };
  switch (patient) {
    case 2:
      return in(t_s, 15, 90);
    case 3:
      return in(t_s, 45, 90) || in(t_s, 245, 40);  // the second burst is too short to alert
    default:
      return false;
  }
}

absl::Status Wearables::Install(MockBluez& mock) {
  auto adapter = mock.AddAdapter("hci0");
  if (!adapter.ok()) return adapter.status();
  for (Strap& s : straps_) {
    const std::string path = MockBluez::DevicePath(*adapter, s.address);
    auto ch = mock.AddCharacteristic(path, 0x0c, 0x180D, 0x0d, 0x2A37);
    if (!ch.ok()) return ch.status();
    s.char_path = *ch;
    if (auto d = mock.AddDevice(*adapter, s.address, "HR strap", {0x180D}); !d.ok()) return d.status();
  }
  for (Meter& m : meters_) {
    const std::string path = MockBluez::DevicePath(*adapter, m.address);
    auto glucose = mock.AddCharacteristic(path, 0x10, 0x1808, 0x11, 0x2A18, {"notify"}, {});
    if (!glucose.ok()) return glucose.status();
    auto racp = mock.AddCharacteristic(path, 0x10, 0x1808, 0x13, 0x2A52, {"write", "indicate"}, {});
    if (!racp.ok()) return racp.status();
    m.glucose_path = *glucose;
    m.racp_path = *racp;
    if (auto s = mock.MakeRecordStore(m.racp_path, m.glucose_path); !s.ok()) return s;
    for (const auto& [seq, value] : m.store) {
      if (auto s = mock.AddStoredRecord(m.racp_path, seq, value); !s.ok()) return s;
    }
    if (auto d = mock.AddDevice(*adapter, m.address, "glucose meter", {0x1808}); !d.ok()) return d.status();
  }
  return absl::OkStatus();
}

void Wearables::Tick(MockBluez* mock, int64_t now_us) {
  for (Strap& s : straps_) {
    if (now_us < s.next_us) continue;
    // One reading per tick at most: after a stall the strap does not burst, it just goes on.
    s.next_us = std::max(s.next_us + hr_period_us_, now_us);
    const int base = Tachycardic(s.patient, static_cast<double>(now_us - start_us_) / 1e6) ? 125 : 60;
    const int bpm = base + static_cast<int>(s.count++ % kValueCycle);
    hr_.push_back({s.address, now_us, bpm});
    log_ << "hr " << s.address << ' ' << now_us << ' ' << bpm << '\n';
    if (mock != nullptr && !mock->Notify(s.char_path, {0x00, static_cast<uint8_t>(bpm)}).ok()) ++mock_errors_;
  }
  for (Meter& m : meters_) {
    if (now_us < m.next_us) continue;
    m.next_us = std::max(m.next_us + glucose_period_us_, now_us);
    ++m.seq;
    const int mg_dl = 90 + (m.seq * 7) % 60;
    std::vector<uint8_t> value = GlucoseValue(m.seq, mg_dl, now_us);
    m.store.emplace_back(m.seq, value);
    if (m.store.size() > kMeterMemory) m.store.pop_front();
    records_.push_back({m.address, m.seq, static_cast<double>(mg_dl)});
    log_ << "glucose " << m.address << ' ' << now_us << ' ' << m.seq << ' ' << mg_dl << '\n';
    if (mock == nullptr) continue;
    // Stored first, then sent live: a bridge that misses the notification fetches it by RACP.
    if (!mock->AddStoredRecord(m.racp_path, m.seq, value).ok()) ++mock_errors_;
    if (!mock->Notify(m.glucose_path, value).ok()) ++mock_errors_;
  }
  log_.flush();
}

void Wearables::DropLinks(MockBluez& mock) {
  for (const WearableDevice& d : devices_) {
    const std::string path = MockBluez::DevicePath(kAdapter, d.address);
    if (!mock.DropConnection(path).ok()) ++mock_errors_;
  }
}

}  // namespace healthtwin::chaos
