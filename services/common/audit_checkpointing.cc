#include "services/common/audit_checkpointing.h"

#include <cstdlib>
#include <iostream>

#include "services/common/audit/keyring_key.h"
#include "services/common/logging.h"

namespace healthtwin::common {

void AuditCheckpointFlags::AddTo(CLI::App& app, std::string* keyring_dir) {
  app.add_option("--audit-checkpoint-every-records", every_records,
                 "sign an audit checkpoint once this many records were written since the last one (needs "
                 "audit-signing.key in --keyring)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
  app.add_option("--audit-checkpoint-every-minutes", every_minutes,
                 "sign an audit checkpoint once this many minutes passed since the last one and a record is newer")
      ->check(CLI::Range(int64_t{1}, int64_t{525'600}));
  if (keyring_dir != nullptr) {
    app.add_option("--keyring", *keyring_dir,
                   "keyring directory whose audit-signing.key signs audit checkpoints "
                   "(services/common/crypto/README.md); without it no checkpoints are signed");
  }
}

audit::CheckpointPolicy AuditCheckpointFlags::Policy() const {
  return {.every_records = every_records, .every = absl::Minutes(every_minutes)};
}

std::shared_ptr<const audit::CheckpointKey> LoadAuditCheckpointKeyOrExit(std::string_view service,
                                                                         const std::string& keyring_dir) {
  if (keyring_dir.empty()) return nullptr;
  auto key = audit::CheckpointKeyFromKeyring(keyring_dir);
  if (!key.ok()) {
    std::cerr << "healthtwin-" << service << ": --keyring: " << key.status().message() << "\n";
    std::exit(2);
  }
  return *std::move(key);
}

AuditCheckpointTimer::AuditCheckpointTimer(Access& access, std::chrono::milliseconds period) {
  thread_ = std::thread([this, &access, period] {
    std::unique_lock lock(mu_);
    while (!wake_.wait_for(lock, period, [this] { return stop_; })) {
      lock.unlock();
      access.CheckpointIfDue();
      lock.lock();
    }
  });
}

AuditCheckpointTimer::~AuditCheckpointTimer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::unique_ptr<AuditCheckpointTimer> EnableAuditCheckpoints(std::shared_ptr<const audit::CheckpointKey> key,
                                                             const AuditCheckpointFlags& flags,
                                                             const std::vector<Access*>& accesses) {
  if (!key || accesses.empty()) return nullptr;
  for (Access* access : accesses) access->EnableCheckpoints(key, flags.Policy());
  LogInfo("audit.checkpoints_enabled",
          {{"key_id", key->key_id()}, {"every_records", flags.every_records}, {"every_minutes", flags.every_minutes}});
  return std::make_unique<AuditCheckpointTimer>(*accesses.front(), std::chrono::minutes(flags.every_minutes) / 4);
}

}  // namespace healthtwin::common
