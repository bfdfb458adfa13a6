// A PostgreSQL array literal ("{a,b,NULL}") built one element at a time, for the ingest stores
// that send a batch's columns as array parameters.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace healthtwin::ingest {

// It is sent as a bound parameter, never spliced into the SQL.
class ArrayLiteral {
 public:
  void Text(std::string_view v) {
    Sep();
    out_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out_ += '\\';
      out_ += c;
    }
    out_ += '"';
  }
  template <typename T>
  void Number(T v) {
    Sep();
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form for doubles
    out_.append(buf, end);
  }
  template <typename T>
  void Maybe(const std::optional<T>& v) {
    if (v) {
      Number(*v);
    } else {
      Sep();
      out_ += "NULL";
    }
  }
  void Bool(bool v) {
    Sep();
    out_ += v ? 't' : 'f';
  }
  std::string Done() { return out_ + '}'; }

 private:
  void Sep() { out_ += out_.size() > 1 ? "," : ""; }
  std::string out_ = "{";
};

}  // namespace healthtwin::ingest
