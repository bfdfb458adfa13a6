// The dashboard's HTTP responses (dashboard_api.h, dashboard_live.h): JSON bodies, errors that
// name the bad field, error pages, and protobuf's JSON mapping. Shared by the dashboard's
// handlers so that every endpoint answers in one shape.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>
#include <httplib.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace healthtwin::clinician::dashboard_http {

// The HTTP status of a domain error (400 bad input, 403 refused, 404, 409, 429, 503, ...).
int HttpStatus(absl::StatusCode code);

void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
// {"error": {"status", "field", "message"}}; for a 400 the field is the message's prefix before ':'.
void SendError(httplib::Response& res, int status, const std::string& message);
void SendError(httplib::Response& res, const absl::Status& s);

// An HTML error page without script; the 403 page says the attempt was recorded.
void SendPage(httplib::Response& res, int status, const std::string& title, const std::string& text);
void SendPageError(httplib::Response& res, const absl::Status& s);

// protobuf's JSON mapping (lowerCamel names, enum names, RFC 3339 times, defaults printed).
absl::StatusOr<nlohmann::json> ToJson(const google::protobuf::Message& m);

// Timestamps from our own services: always within Timestamp's range.
int64_t Micros(const google::protobuf::Timestamp& ts);
std::string Rfc3339(int64_t us);

}  // namespace healthtwin::clinician::dashboard_http
