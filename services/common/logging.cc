#include "services/common/logging.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>

namespace healthtwin::common {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};
std::string g_component = "healthtwin";

std::string Utc(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

// Fields the line itself sets; a caller's field of the same name must not replace them.
bool IsReserved(std::string_view key) {
  return key == "ts" || key == "level" || key == "component" || key == "event";
}

std::string FieldName(std::string_view key) {
  return IsReserved(key) ? "field_" + std::string(key) : std::string(key);
}

// A text value as it can stand after "key=": bare when it cannot be misread, otherwise quoted
// with backslash escapes, so no value can start a new field or a new line.
std::string TextValue(std::string_view value) {
  bool bare = !value.empty();
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '=' || c == '"' || c == '\\' || u < 0x20 || u == 0x7F) bare = false;
  }
  if (bare) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02X", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace

absl::Status InitLogging(std::string_view component, std::string_view level, LogFormat format,
                         spdlog::sink_ptr sink) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to "off"; only accept the names we document.
  if (parsed == spdlog::level::off || level == "critical") {
    return absl::InvalidArgumentError("log level must be one of trace, debug, info, warn, error; got '" +
                                      std::string(level) + "'");
  }
  g_component = std::string(component);
  g_format = format;
  // Logs go to stderr so that a CLI's stdout stays machine-readable. Not registered by name,
  // so a second call replaces the logger instead of throwing.
  if (sink == nullptr) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("healthtwin", std::move(sink));
  logger->set_pattern("%v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return absl::OkStatus();
}

void Log(spdlog::level::level_enum level, std::string_view event, const nlohmann::json& fields) {
  if (!spdlog::default_logger_raw()->should_log(level)) return;
  const auto now = std::chrono::system_clock::now();
  const auto level_name = spdlog::level::to_string_view(level);
  if (g_format == LogFormat::kJson) {
    nlohmann::json line = {{"ts", Utc(now)},
                           {"level", std::string_view(level_name.data(), level_name.size())},
                           {"component", g_component},
                           {"event", event}};
    if (fields.is_object()) {
      for (const auto& [k, v] : fields.items()) line[FieldName(k)] = v;
    }
    spdlog::log(level, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::string text = Utc(now) + " " + std::string(level_name.data(), level_name.size()) + " " + g_component +
                     " " + std::string(event);
  if (fields.is_object()) {
    for (const auto& [k, v] : fields.items()) {
      const std::string value =
          v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      text += " " + TextValue(k) + "=" + TextValue(value);
    }
  }
  spdlog::log(level, "{}", text);
}

}  // namespace healthtwin::common
