// healthtwin-bridge: the gateway's command line.
//
//   healthtwin-bridge decode --characteristic 2A35 --hex "16 7C 00 ..."
//
// `decode` is a stable contract (MISSION.md "ble_bridge"): it prints one JSON object on stdout and
// exits 0; for a malformed value, bad hex or a characteristic it cannot parse it prints one line
// on stderr giving the reason and exits 2. The scan, pair, devices and run subcommands arrive
// with the BlueZ layer.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "ble_bridge/parsers/decoder.h"
#include "ble_bridge/parsers/hex.h"
#include "ble_bridge/parsers/json.h"

namespace {

constexpr int kExitInvalid = 2;

int Fail(absl::string_view reason) {
  std::string line(reason);
  for (char& ch : line) {
    if (ch == '\n' || ch == '\r') ch = ' ';  // the contract is one line
  }
  std::cerr << "healthtwin-bridge: " << line << "\n";
  return kExitInvalid;
}

int Decode(const std::string& characteristic, const std::string& hex) {
  namespace ble = healthtwin::ble;
  auto c = ble::ParseCharacteristicUuid(characteristic);
  if (!c.ok()) return Fail(c.status().message());
  auto bytes = ble::ParseHex(hex);
  if (!bytes.ok()) return Fail(bytes.status().message());
  auto decoded = ble::Decode(*c, *bytes);
  if (!decoded.ok()) return Fail(decoded.status().message());
  std::cout << ble::ToJson(*decoded).dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"healthtwin-bridge: the BLE gateway of healthtwin"};
  app.require_subcommand(1);

  auto* decode = app.add_subcommand("decode", "decode one GATT characteristic value and print it as JSON");
  std::string characteristic, hex;
  decode->add_option("--characteristic", characteristic, "16-bit UUID such as 2A35, or the full 128-bit UUID")
      ->required();
  decode->add_option("--hex", hex, "the value as hex bytes, e.g. \"16 7C 00\"")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(e.what());
  }

  if (decode->parsed()) return Decode(characteristic, hex);
  return Fail("no subcommand");
}
