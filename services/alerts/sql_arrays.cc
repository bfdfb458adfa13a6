#include "services/alerts/sql_arrays.h"

#include <charconv>
#include <cmath>

namespace healthtwin::alerts {

std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const std::string& v : values) {
    absl::StrAppend(&out, out.size() > 1 ? ",\"" : "\"");
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string DoubleArray(const std::vector<double>& values) {
  std::string out = "{";
  for (double v : values) {
    if (out.size() > 1) out += ',';
    if (std::isnan(v)) {
      out += "NaN";
    } else if (std::isinf(v)) {
      out += v > 0 ? "Infinity" : "-Infinity";
    } else {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
      out.append(buf, end);
    }
  }
  return out + "}";
}

std::string BoolArray(const std::vector<bool>& values) {
  std::string out = "{";
  for (bool v : values) {
    if (out.size() > 1) out += ',';
    out += v ? 't' : 'f';
  }
  return out + "}";
}

}  // namespace healthtwin::alerts
