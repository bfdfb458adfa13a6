#include "services/feeds/hl7/escape.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace healthtwin::feeds::hl7 {

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '|':
        out += "\\F\\";
        break;
      case '^':
        out += "\\S\\";
        break;
      case '~':
        out += "\\R\\";
        break;
      case '\\':
        out += "\\E\\";
        break;
      case '&':
        out += "\\T\\";
        break;
      default:
        // Every other C0 control and DEL as a hex escape: a raw 0x0B or 0x1C would end the MLLP
        // frame early, CR ends the segment, and NUL cannot be stored in the outbox's text.
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          out += absl::StrFormat("\\X%02X\\", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

absl::StatusOr<std::string> Unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    const size_t end = text.find('\\', i + 1);
    if (end == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("unterminated HL7 escape sequence at offset ", i));
    }
    const std::string_view seq = text.substr(i + 1, end - i - 1);
    if (seq == "F") {
      out += '|';
    } else if (seq == "S") {
      out += '^';
    } else if (seq == "R") {
      out += '~';
    } else if (seq == "E") {
      out += '\\';
    } else if (seq == "T") {
      out += '&';
    } else if (seq.size() >= 3 && seq[0] == 'X' && seq.size() % 2 == 1) {
      for (size_t h = 1; h < seq.size(); h += 2) {
        const std::string byte(seq.substr(h, 2));
        char* parse_end = nullptr;
        const long v = std::strtol(byte.c_str(), &parse_end, 16);
        if (parse_end != byte.c_str() + 2) {
          return absl::InvalidArgumentError(absl::StrCat("bad hex escape \\", std::string(seq), "\\"));
        }
        out += static_cast<char>(v);
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown HL7 escape sequence \\", std::string(seq), "\\"));
    }
    i = end;
  }
  return out;
}

}  // namespace healthtwin::feeds::hl7
