#include "services/common/service_host.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "services/common/logging.h"
#include "services/common/reflection_access.h"

namespace healthtwin::common {
namespace {

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
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

}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::StatusOr<std::unique_ptr<ServiceHost>> ServiceHost::Start(const ServiceConfig& cfg,
                                                                const std::vector<grpc::Service*>& services) {
  auto creds = MakeServerCredentials(cfg.tls);
  if (!creds.ok()) return creds.status();
  // Reflection answers only admin and service certificates (see reflection_access.h).
  (*creds)->SetAuthMetadataProcessor(std::make_shared<ReflectionAccessProcessor>());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<ServiceHost> host(new ServiceHost());
  host->cfg_ = cfg;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(cfg.listen_address, *creds, &host->port_);
  // Bounded messages: a sender cannot make us buffer more than this per message.
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  for (grpc::Service* service : services) builder.RegisterService(service);
  host->server_ = builder.BuildAndStart();
  if (!host->server_ || host->port_ == 0) {
    return absl::UnavailableError("cannot listen on " + cfg.listen_address);
  }
  host->SetServing(false);
  if (!cfg.port_file.empty()) {
    if (auto s = WritePortFile(cfg.port_file, host->port_); !s.ok()) return s;
  }
  LogInfo("server.listening", {{"address", cfg.listen_address}, {"port", host->port_}, {"tls", "mutual"}});
  return host;
}

ServiceHost::~ServiceHost() { Shutdown(); }

void ServiceHost::SetServing(bool serving) {
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(serving);
}

void ServiceHost::WaitForShutdownSignal() {
  sigset_t set = ShutdownSignals();
  int sig = 0;
  sigwait(&set, &sig);
  LogInfo("server.signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  Shutdown();
}

void ServiceHost::Shutdown() {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  LogInfo("server.draining", {{"timeout_s", cfg_.drain_timeout_s}});
  SetServing(false);
  if (on_drain_) on_drain_();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(cfg_.drain_timeout_s));
  server_->Wait();
  // A port file that outlives the process would advertise a dead server.
  if (!cfg_.port_file.empty()) std::remove(cfg_.port_file.c_str());
  LogInfo("server.stopped");
}

}  // namespace healthtwin::common
