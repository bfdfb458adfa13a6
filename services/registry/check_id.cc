#include "services/registry/check_id.h"

#include <cctype>
#include <string>

namespace healthtwin::registry {

absl::Status CheckId(std::string_view field, std::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(std::string(field) + ": required");
  if (id.size() > 64) return absl::InvalidArgumentError(std::string(field) + ": longer than 64 characters");
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == ':')) {
      return absl::InvalidArgumentError(std::string(field) + ": may contain only letters, digits and . _ - :");
    }
  }
  return absl::OkStatus();
}

}  // namespace healthtwin::registry
