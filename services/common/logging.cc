#include "services/common/logging.h"

#include <atomic>
#include <chrono>
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

}  // namespace

absl::Status InitLogging(std::string_view component, std::string_view level, LogFormat format) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to "off"; only accept the names we document.
  if (parsed == spdlog::level::off || level == "critical") {
    return absl::InvalidArgumentError("log level must be one of trace, debug, info, warn, error; got '" +
                                      std::string(level) + "'");
  }
  g_component = std::string(component);
  g_format = format;
  // Logs go to stderr so that a CLI's stdout stays machine-readable.
  auto logger = spdlog::stderr_logger_mt("healthtwin");
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
      for (const auto& [k, v] : fields.items()) line[k] = v;
    }
    spdlog::log(level, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::string text = Utc(now) + " " + std::string(level_name.data(), level_name.size()) + " " + g_component +
                     " " + std::string(event);
  if (fields.is_object()) {
    for (const auto& [k, v] : fields.items()) {
      std::string value = v.is_string() ? v.get<std::string>() : v.dump();
      // One event per line: fold the multi-line messages libpq produces.
      for (char& c : value) {
        if (c == '\n' || c == '\t') c = ' ';
      }
      text += " " + k + "=" + value;
    }
  }
  spdlog::log(level, "{}", text);
}

}  // namespace healthtwin::common
