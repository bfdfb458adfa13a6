// Test support for the feed tests that talk to a real peer process (the python3-hl7 MLLP peer,
// the Node FHIR receiver): the development PKI made by the real script, starting a peer that
// writes its port to a file, and reading what it recorded (one JSON object a line).
// Header-only, GoogleTest assertions: call through ASSERT_NO_FATAL_FAILURE.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/harness/dev_pki.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::feeds::testing_peers {

// `dir`/pki (the healthtwin dev CA and identities) and `dir`/pki-foreign (an unrelated CA and
// "foreign-server"), made by deploy/pki/make-dev-pki.sh at `script` (copies of the cached
// PKI, tests/harness/dev_pki.h).
inline void MakeDevPkis(const std::string& script, const std::filesystem::path& dir) {
  for (const bool foreign : {false, true}) {
    const absl::Status made =
        healthtwin::testing::MakeDevPki(script, (dir / (foreign ? "pki-foreign" : "pki")).string(), foreign);
    ASSERT_TRUE(made.ok()) << made;
  }
}

// Starts `binary args` (which must write its port to `port_file`) and waits up to 30 s for the
// port. `peer` owns the process; `port` is what it wrote.
inline void StartPeer(const std::string& binary, const std::vector<std::string>& args, const std::string& port_file,
                      std::unique_ptr<healthtwin::testing::Subprocess>& peer, int& port) {
  std::filesystem::remove(port_file);
  auto spawned = healthtwin::testing::Subprocess::Spawn(binary, args);
  ASSERT_TRUE(spawned.ok()) << spawned.status();
  peer = std::move(*spawned);
  ASSERT_TRUE(healthtwin::testing::PollUntil(
      [&] { return !healthtwin::testing::ReadFileOrEmpty(port_file).empty() || !peer->Running(); },
      std::chrono::seconds(30)));
  ASSERT_TRUE(peer->Running()) << peer->Stderr();
  port = std::stoi(healthtwin::testing::ReadFileOrEmpty(port_file));
}

// One JSON object per line of `path` (none when it does not exist).
inline std::vector<nlohmann::json> ReadJsonLines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace healthtwin::feeds::testing_peers
