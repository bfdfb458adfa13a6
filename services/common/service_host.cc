#include "services/common/service_host.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "services/common/logging.h"
#include "services/common/reflection_access.h"
#include "services/common/time_util.h"

namespace healthtwin::common {
namespace {

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// Says at start-up whether client certificates are checked against a CRL, and logs every
// certificate the CRL makes us refuse.
void LogRevocationSetup(const ServerCertificates& certificates, const std::string& crl_path) {
  const std::shared_ptr<RevocationChecker>& checker = certificates.revocation();
  if (checker == nullptr) {
    LogWarn("tls.revocation_off", {{"reason", "no CRL configured (--tls-crl / [tls] crl)"}});
    return;
  }
  checker->OnRefused([](const absl::Status& reason) {
    LogWarn("tls.revoked_client_refused", {{"reason", reason.message()}});
  });
  const std::shared_ptr<const RevocationList> list = checker->current();
  LogInfo("tls.revocation_on", {{"crl", crl_path},
                                {"issuer", list->issuer()},
                                {"revoked", list->revoked_count()},
                                {"next_update", FormatUnixMicros(list->next_update_unix_s() * 1'000'000)}});
}

}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::StatusOr<std::unique_ptr<ServiceHost>> ServiceHost::Start(const ServiceConfig& cfg,
                                                                const std::vector<grpc::Service*>& services) {
  auto certificates = ServerCertificates::Create(cfg.tls);
  if (!certificates.ok()) return certificates.status();
  // Reflection answers only admin and service certificates (see reflection_access.h).
  (*certificates)->credentials()->SetAuthMetadataProcessor(std::make_shared<ReflectionAccessProcessor>());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<ServiceHost> host(new ServiceHost());
  host->cfg_ = cfg;
  host->certificates_ = *std::move(certificates);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(cfg.listen_address, host->certificates_->credentials(), &host->port_);
  // Bounded messages, streams and memory (ServerLimits): a client cannot make us buffer more
  // than a message's limit, hold more than so many calls open on one connection, or grow the
  // server's buffers past the quota.
  const ServerLimits& limits = cfg.limits;
  builder.SetMaxReceiveMessageSize(limits.max_message_mb * 1024 * 1024);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams);
  if (limits.max_connection_age_s > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, limits.max_connection_age_s * 1000);
  }
  grpc::ResourceQuota quota("healthtwin-" + cfg.service_name);
  quota.Resize(static_cast<size_t>(limits.memory_quota_mb) << 20);
  builder.SetResourceQuota(quota);
  for (grpc::Service* service : services) builder.RegisterService(service);
  host->server_ = builder.BuildAndStart();
  if (!host->server_ || host->port_ == 0) {
    return absl::UnavailableError("cannot listen on " + cfg.listen_address);
  }
  host->SetServing(false);
  LogRevocationSetup(*host->certificates_, cfg.tls.crl_path);
  host->CheckCertificateExpiry();
  if (!cfg.port_file.empty()) {
    if (auto s = WritePortFile(cfg.port_file, host->port_); !s.ok()) return s;
  }
  LogInfo("server.listening", {{"address", cfg.listen_address},
                               {"port", host->port_},
                               {"tls", "mutual"},
                               {"max_concurrent_streams", limits.max_concurrent_streams},
                               {"memory_quota_mb", limits.memory_quota_mb},
                               {"max_connection_age_s", limits.max_connection_age_s},
                               {"max_message_mb", limits.max_message_mb}});
  return host;
}

absl::Status WritePortFile(const std::string& path, int port) {
  // Write-then-rename so a reader never sees a half-written file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) return absl::InternalError("cannot write port file " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError("cannot rename port file to " + path + ": " + ec.message());
  return absl::OkStatus();
}

ServiceHost::~ServiceHost() { Shutdown(); }

void ServiceHost::SetServing(bool serving) {
  std::lock_guard<std::mutex> lock(health_mu_);
  auto* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  // The bulk call also sets every name registered so far, healthtwin.tls included.
  health->SetServingStatus(serving);
  health->SetServingStatus(kTlsHealthService, tls_ok_);
  for (const auto& [name, ok] : components_) health->SetServingStatus(name, ok);
}

void ServiceHost::SetComponentServing(const std::string& name, bool serving) {
  std::lock_guard<std::mutex> lock(health_mu_);
  components_[name] = serving;
  if (shut_down_) return;
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(name, serving);
}

absl::Status ServiceHost::ReloadTls() {
  const CertificateInfo before = certificates_->current();
  absl::Status status = certificates_->Reload();
  if (status.ok()) {
    const CertificateInfo after = certificates_->current();
    LogInfo("tls.reloaded", {{"subject", after.subject},
                             {"serial", after.serial_hex},
                             {"previous_serial", before.serial_hex},
                             {"not_after", FormatUnixMicros(after.not_after_unix_s * 1'000'000)}});
    if (const auto& checker = certificates_->revocation(); checker != nullptr) {
      LogInfo("tls.crl_reloaded", {{"crl", cfg_.tls.crl_path}, {"revoked", checker->current()->revoked_count()}});
    }
  } else {
    LogError("tls.reload_failed", {{"error", status.message()}, {"serving_serial", before.serial_hex}});
  }
  CheckCertificateExpiry();
  return status;
}

void ServiceHost::CheckCertificateExpiry() {
  const CertificateInfo cert = certificates_->current();
  const int64_t days_left = DaysLeft(cert, std::time(nullptr));
  const bool ok = days_left >= cfg_.tls_expiry_warning_days;
  if (!ok) {
    LogWarn("tls.certificate_expiring", {{"days_left", days_left},
                                         {"threshold_days", cfg_.tls_expiry_warning_days},
                                         {"not_after", FormatUnixMicros(cert.not_after_unix_s * 1'000'000)},
                                         {"subject", cert.subject},
                                         {"serial", cert.serial_hex},
                                         {"cert", cfg_.tls.cert_path}});
  }
  // An expired CRL stays enforced (its revocations still hold) but must be reissued.
  if (const auto& checker = certificates_->revocation(); checker != nullptr && checker->Stale(std::time(nullptr))) {
    LogWarn("tls.crl_stale", {{"crl", cfg_.tls.crl_path},
                              {"next_update", FormatUnixMicros(checker->current()->next_update_unix_s() * 1'000'000)},
                              {"action", "reissue with deploy/pki/revoke.sh --crl-only, then SIGHUP"}});
  }
  std::lock_guard<std::mutex> lock(health_mu_);
  tls_ok_ = ok;
  if (shut_down_) return;
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(kTlsHealthService, ok);
}

void ServiceHost::WaitForShutdownSignal() {
  const sigset_t set = ShutdownSignals();
  // Wake hourly, so a long-running process notices its certificate entering the warning
  // window without being told.
  const timespec recheck{3600, 0};
  while (true) {
    const int sig = sigtimedwait(&set, nullptr, &recheck);
    if (sig == SIGHUP) {
      LogInfo("server.signal", {{"signal", "SIGHUP"}});
      ReloadTls().IgnoreError();  // Logged; the old certificate keeps serving.
    } else if (sig < 0) {
      CheckCertificateExpiry();  // EAGAIN (timeout) or EINTR.
    } else {
      LogInfo("server.signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
  }
  Shutdown();
}

void ServiceHost::Shutdown() {
  if (shut_down_ || !server_) return;
  {
    std::lock_guard<std::mutex> lock(health_mu_);
    shut_down_ = true;
  }
  // One deadline for the whole drain: time the drain hooks take counts against it.
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(cfg_.drain_timeout_s);
  LogInfo("server.draining", {{"timeout_s", cfg_.drain_timeout_s}});
  SetServing(false);
  if (on_drain_) on_drain_();
  server_->Shutdown(deadline);
  server_->Wait();
  // A port file that outlives the process would advertise a dead server.
  if (!cfg_.port_file.empty()) std::remove(cfg_.port_file.c_str());
  LogInfo("server.stopped");
}

}  // namespace healthtwin::common
