#include "clinician_api/security_notices.h"

#include <nlohmann/json.hpp>

namespace healthtwin::clinician {

std::optional<SecurityNotice> ParseSecurityNotice(std::string_view payload) {
  const nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("event") || !j["event"].is_string() || !j.contains("grant_id") ||
      !j["grant_id"].is_number_integer()) {
    return std::nullopt;
  }
  SecurityNotice notice{.grant_id = j["grant_id"].get<int64_t>()};
  const std::string event = j["event"].get<std::string>();
  if (event == "break_glass_started") {
    notice.kind = SecurityNotice::Kind::kBreakGlassStarted;
  } else if (event == "break_glass_ended") {
    notice.kind = SecurityNotice::Kind::kBreakGlassEnded;
  } else {
    return std::nullopt;
  }
  return notice;
}

class SecurityNotices::Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, std::vector<SecurityNotice>& out)
      : pqxx::notification_receiver(conn, kSecurityChannel), out_(out) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override {
    if (auto notice = ParseSecurityNotice(payload)) out_.push_back(*notice);
  }

 private:
  std::vector<SecurityNotice>& out_;
};

absl::StatusOr<std::unique_ptr<SecurityNotices>> SecurityNotices::Listen(const std::string& conninfo) {
  std::unique_ptr<SecurityNotices> notices(new SecurityNotices());
  try {
    notices->conn_ = std::make_unique<pqxx::connection>(conninfo);
    notices->receiver_ = std::make_unique<Receiver>(*notices->conn_, notices->received_);  // LISTENs
  } catch (const std::exception& e) {
    return absl::UnavailableError(std::string("security notices: cannot listen: ") + e.what());
  }
  return notices;
}

SecurityNotices::~SecurityNotices() {
  receiver_.reset();  // UNLISTENs while the connection is still there
}

absl::StatusOr<std::vector<SecurityNotice>> SecurityNotices::Wait(std::chrono::milliseconds timeout) {
  received_.clear();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  try {
    conn_->await_notification(static_cast<long>(us / 1'000'000), static_cast<long>(us % 1'000'000));
    conn_->get_notifs();  // any that arrived together with the first
  } catch (const std::exception& e) {
    return absl::UnavailableError(std::string("security notices: connection lost: ") + e.what());
  }
  return std::move(received_);
}

}  // namespace healthtwin::clinician
