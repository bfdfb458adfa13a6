// Signed audit checkpoints in a service (issue 13): the two flags every service that writes
// audit records takes, the signing key from its keyring, and a timer for the time rule.
//
//   --audit-checkpoint-every-records N   (default 1000, 1 .. 1e9)
//   --audit-checkpoint-every-minutes M   (default 10, 1 .. 525600)
//
// Active when the service has a keyring (--keyring DIR) holding audit-signing.key
// (audit/keyring_key.h); a keyring without it signs nothing. Each Access enabled here checks
// after every audit write whether a checkpoint is due (audit/checkpoints.h), and a timer checks
// every M/4 minutes too, so the time rule holds on a quiet system: a record left unsigned after
// the last write is signed within about M + M/4 minutes. Nothing is signed while no record is
// newer than the last checkpoint. Several services and replicas may all sign: the first
// checkpoint of a seq wins.
//
// In a main:
//   AuditCheckpointFlags checkpoints;                   // before ParseServiceConfigOrExit
//   ... [&](CLI::App& app) { checkpoints.AddTo(app); }  // or AddTo(app, &keyring_dir)
//   auto key = LoadAuditCheckpointKeyOrExit("twin", checkpoints, keyring_dir);
//   ... build the pool and the services ...
//   auto timer = EnableAuditCheckpoints(key, checkpoints, {&service.access()});
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "services/common/access.h"
#include "services/common/audit/signing.h"

namespace healthtwin::common {

struct AuditCheckpointFlags {
  int64_t every_records = 1000;
  int64_t every_minutes = 10;

  // Adds the two flags; with `keyring_dir`, also --keyring for a service that has no keyring
  // of its own (it then reads only audit-signing.key from it).
  void AddTo(CLI::App& app, std::string* keyring_dir = nullptr);
  audit::CheckpointPolicy Policy() const;
};

// The key of `keyring_dir` (nullptr for no keyring, or a keyring without audit-signing.key);
// prints "healthtwin-<service>: --keyring: why" and exits 2 when the keyring or key is bad.
std::shared_ptr<const audit::CheckpointKey> LoadAuditCheckpointKeyOrExit(std::string_view service,
                                                                         const std::string& keyring_dir);

// Checks the time rule every `period` until destroyed (destroy it before the Access it holds).
class AuditCheckpointTimer {
 public:
  AuditCheckpointTimer(Access& access, std::chrono::milliseconds period);
  ~AuditCheckpointTimer();
  AuditCheckpointTimer(const AuditCheckpointTimer&) = delete;
  AuditCheckpointTimer& operator=(const AuditCheckpointTimer&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// Enables checkpoints on every Access in `accesses` and starts the timer on the first; nullptr
// (and nothing enabled) when `key` is null.
std::unique_ptr<AuditCheckpointTimer> EnableAuditCheckpoints(std::shared_ptr<const audit::CheckpointKey> key,
                                                             const AuditCheckpointFlags& flags,
                                                             const std::vector<Access*>& accesses);

}  // namespace healthtwin::common
