// Live security notices for admins (issue 13, item 4): break_glass.cc (a grant opened) and
// services/common/break_glass_grants.cc (a grant's end recorded) NOTIFY channel
// healthtwin_security with a JSON payload {"event": ..., "grant_id": N}; this receives them on a
// connection of its own (libpqxx notification_receiver), for WatchSecurityEvents.
//
// Not thread-safe: one owner thread (the watcher of one stream). The payload names only the
// event and the grant; what an admin is shown is read from break_glass_grants afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace healthtwin::clinician {

inline constexpr char kSecurityChannel[] = "healthtwin_security";

struct SecurityNotice {
  enum class Kind { kBreakGlassStarted, kBreakGlassEnded };
  Kind kind = Kind::kBreakGlassStarted;
  int64_t grant_id = 0;
};

// One payload as the writers send it; nullopt for anything else (ignored, not fatal).
std::optional<SecurityNotice> ParseSecurityNotice(std::string_view payload);

class SecurityNotices {
 public:
  // Connects to `conninfo` and LISTENs on kSecurityChannel; UNAVAILABLE when it cannot.
  static absl::StatusOr<std::unique_ptr<SecurityNotices>> Listen(const std::string& conninfo);
  ~SecurityNotices();

  // The notices that arrive within `timeout` (none when it passes quietly); UNAVAILABLE once the
  // connection is lost (a notice sent meanwhile would be missed, so the stream ends instead).
  absl::StatusOr<std::vector<SecurityNotice>> Wait(std::chrono::milliseconds timeout);

 private:
  class Receiver;
  SecurityNotices() = default;

  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<Receiver> receiver_;
  std::vector<SecurityNotice> received_;
};

}  // namespace healthtwin::clinician
