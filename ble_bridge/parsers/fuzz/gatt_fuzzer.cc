// libFuzzer target for one GATT parser, chosen at compile time by HT_FUZZ_UUID (e.g. 0x2A35).
//
// Beyond "no crash, no sanitizer report", each input checks the properties the decode contract
// promises: a rejection carries a one-line reason and is never a parser's read past the end, an accepted value
// serialises to JSON in which every null (bar sensor_contact and RACP time operands) has its reason under "special",
// and the writable characteristics (RACP, Current Time) re-encode to the bytes they came from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ble_bridge/parsers/current_time.h"
#include "ble_bridge/parsers/decoder.h"
#include "ble_bridge/parsers/json.h"
#include "ble_bridge/parsers/racp.h"

#ifndef HT_FUZZ_UUID
#error "compile with -DHT_FUZZ_UUID=0x2Axx"
#endif

namespace {

using healthtwin::ble::Characteristic;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  namespace ble = healthtwin::ble;
  const auto c = static_cast<Characteristic>(HT_FUZZ_UUID);
  const std::span<const uint8_t> value(data, size);
  static ble::GattDecoder decoder;
  auto decoded = decoder.Decode(c, value);
  if (!decoded.ok()) {
    const auto msg = decoded.status().message();
    Check(!msg.empty() && msg.find('\n') == absl::string_view::npos);
    // The bridge survives a read past the end (ByteReader::Finish rejects it), but it is still a
    // parser bug, so the fuzzer keeps reporting it as a crash.
    Check(msg.find("its length check is missing") == absl::string_view::npos);
    return 0;
  }
  const nlohmann::json j = ble::ToJson(*decoded);
  Check(j.is_object());
  const std::string text = j.dump();  // throws (and so crashes) on invalid UTF-8
  for (const auto& [key, v] : j.items()) {
    if (!v.is_null() || key == "sensor_contact") continue;
    Check(j.contains("special") && j["special"].contains(key));
  }
  if (c == Characteristic::kRecordAccessControlPoint) {
    auto again = ble::EncodeRacp(std::get<ble::RacpMessage>(decoded->value));
    Check(again.ok() && std::equal(again->begin(), again->end(), value.begin(), value.end()));
  }
  if (c == Characteristic::kCurrentTime) {
    auto t = std::get<ble::CurrentTime>(decoded->value);
    t.adjust_reason &= 0x0F;  // reserved bits are ignored on receipt, refused on sending
    auto again = ble::EncodeCurrentTime(t);
    Check(again.ok() && again->size() == size && std::equal(again->begin(), again->end() - 1, value.begin()));
  }
  return 0;
}
