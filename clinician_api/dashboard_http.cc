#include "clinician_api/dashboard_http.h"

#include <google/protobuf/util/json_util.h>

#include "absl/time/time.h"
#include "services/common/logging.h"

namespace healthtwin::clinician::dashboard_http {
namespace {

using nlohmann::json;
// With a charset, a type cpp-httplib 0.11.4 does not compress: it would use brotli at its
// default quality 11 whenever the browser accepts "br" (0.7 s for the 330 KB of one day of minute
// heart rate on this machine, most of the patient page's time to a drawn plot; a post-routing
// handler runs only after that compression). The dashboard is served on the hospital network.
constexpr char kJson[] = "application/json; charset=utf-8";

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

// Bucket starts come from our own vitals service: always within Timestamp's range.
int64_t Micros(const google::protobuf::Timestamp& ts) { return ts.seconds() * 1'000'000 + ts.nanos() / 1000; }

std::string Rfc3339(int64_t us) {
  return absl::FormatTime(absl::RFC3339_full, absl::FromUnixMicros(us), absl::UTCTimeZone());
}

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  std::string field;
  if (status == 400) field = message.substr(0, message.find(':'));
  SendJson(res, status, {{"error", {{"status", status}, {"field", field}, {"message", message}}}});
}

void SendError(httplib::Response& res, const absl::Status& s) {
  const int status = HttpStatus(s.code());
  if (status >= 500) common::LogWarn("dashboard.error", {{"status", status}, {"error", s.message()}});
  SendError(res, status, std::string(s.message()));
}

// An error page: no script, the dashboard's stylesheet, a way back.
void SendPage(httplib::Response& res, int status, const std::string& title, const std::string& text) {
  res.status = status;
  res.set_content("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + Escape(title) +
                      " - healthtwin</title><link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body>"
                      "<main><h1 id=\"error-title\">" +
                      Escape(title) + "</h1><p id=\"error-text\">" + Escape(text) +
                      "</p><p><a href=\"/patients\">Back to my patients</a></p></main></body></html>\n",
                  "text/html; charset=utf-8");
}

void SendPageError(httplib::Response& res, const absl::Status& s) {
  const int status = HttpStatus(s.code());
  switch (status) {
    case 403:
      return SendPage(res, 403, "403 Forbidden",
                      "You are not on this patient's care team. This attempt has been recorded.");
    case 404:
      return SendPage(res, 404, "404 Not found", std::string(s.message()));
    case 400:
      return SendPage(res, 400, "400 Bad request", std::string(s.message()));
    default:
      common::LogWarn("dashboard.error", {{"status", status}, {"error", s.message()}});
      return SendPage(res, status, std::to_string(status) + " Unavailable", "Please try again shortly.");
  }
}

absl::StatusOr<json> ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &out, options); !s.ok()) {
    return absl::InternalError("json: " + std::string(s.message()));
  }
  return json::parse(out);
}

}  // namespace healthtwin::clinician::dashboard_http
