#include "services/feeds/bench/light_https_receiver.h"

#include <httplib.h>

#include <chrono>
#include <mutex>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace healthtwin::feeds::bench {

absl::StatusOr<std::unique_ptr<LightHttpsReceiver>> LightHttpsReceiver::Start(const ReceiverTls& tls) {
  std::unique_ptr<LightHttpsReceiver> r(new LightHttpsReceiver());
  r->server_ =
      std::make_unique<httplib::SSLServer>(tls.cert_path.c_str(), tls.key_path.c_str(), tls.client_ca_path.c_str());
  if (!r->server_->is_valid()) {
    return absl::UnavailableError(absl::StrCat("receiver: cannot use certificate ", tls.cert_path, " / key ",
                                               tls.key_path, " / client CA ", tls.client_ca_path));
  }
  // A feed keeps its connection: no cap on requests per connection, a long idle timeout.
  r->server_->set_keep_alive_max_count(1000000);
  r->server_->set_keep_alive_timeout(30);
  r->server_->set_tcp_nodelay(true);
  auto seen = std::make_shared<std::pair<std::mutex, std::set<int>>>();
  LightHttpsReceiver* self = r.get();
  r->server_->Post(".*", [self, seen](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(seen->first);
      if (seen->second.insert(req.remote_port).second) self->connections_.fetch_add(1);
    }
    // The cheap look: a FHIR Bundle starts with its resourceType (nlohmann dumps keys sorted:
    // "entry", "id", "meta", "resourceType", ...), so search the body rather than parse it.
    if (req.body.find("\"resourceType\":\"Bundle\"") == std::string::npos) {
      self->not_bundles_.fetch_add(1);
      res.status = 400;
      res.set_content(R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid"}]})",
                      "application/fhir+json");
      return;
    }
    self->bundles_.fetch_add(1);
    self->bytes_.fetch_add(static_cast<int64_t>(req.body.size()));
    res.status = 200;
    res.set_content("", "application/fhir+json");
  });
  r->port_ = r->server_->bind_to_any_port("127.0.0.1");
  if (r->port_ <= 0) return absl::UnavailableError("receiver: cannot bind 127.0.0.1");
  r->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  for (int i = 0; i < 500 && !r->server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return r;
}

LightHttpsReceiver::~LightHttpsReceiver() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace healthtwin::feeds::bench
