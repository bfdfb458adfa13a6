// Structured logging for every healthtwin process.
//
// Each line is one event: a stable dotted event name plus key/value fields, written either as
// one JSON object per line (for log shippers) or as "key=value" text (for terminals).
// Thread-safe; call InitLogging once at the top of main before other threads start.
//
// Fields never forge other fields or lines: in text, a value with a space, '=', '"', '\\' or a
// control character is quoted and backslash-escaped (\" \\ \n \r \t, \xHH for other control
// bytes); in JSON, a field named ts, level, component or event is written as field_<name>
// instead of overwriting the line's own.
//
// What goes into fields (PHI-minimal): ids of alerts, twin events, calibrations and jobs, and
// technical facts. Never patient ids, clinical values (vital values, peaks, magnitudes) or
// device serial numbers, at any level; whoever needs them looks the id up behind access control.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "absl/status/status.h"

namespace healthtwin::common {

enum class LogFormat { kJson, kText };

// `level` is one of trace, debug, info, warn, error. Invalid names are rejected. Lines go to
// stderr, or to `sink` when given (tests capture lines that way). May be called again.
absl::Status InitLogging(std::string_view component, std::string_view level, LogFormat format,
                         spdlog::sink_ptr sink = nullptr);

// Logs `event` with `fields`. Values are JSON so numbers stay numbers.
void Log(spdlog::level::level_enum level, std::string_view event, const nlohmann::json& fields = {});

inline void LogInfo(std::string_view event, const nlohmann::json& fields = {}) {
  Log(spdlog::level::info, event, fields);
}
inline void LogWarn(std::string_view event, const nlohmann::json& fields = {}) {
  Log(spdlog::level::warn, event, fields);
}
inline void LogError(std::string_view event, const nlohmann::json& fields = {}) {
  Log(spdlog::level::err, event, fields);
}
inline void LogDebug(std::string_view event, const nlohmann::json& fields = {}) {
  Log(spdlog::level::debug, event, fields);
}

}  // namespace healthtwin::common
