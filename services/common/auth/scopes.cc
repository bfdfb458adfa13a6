#include "services/common/auth/scopes.h"

#include <optional>

#include "absl/strings/str_join.h"

namespace healthtwin::common::auth {
namespace {

constexpr std::string_view kPermissionOrder = "cruds";

struct Parsed {
  std::string_view resource;  // "*" or a FHIR resource type
  unsigned permissions = 0;   // bit i: kPermissionOrder[i]
};

std::optional<unsigned> ParsePermissions(std::string_view text) {
  // Bit i is kPermissionOrder[i]: c=1, r=2, u=4, d=8, s=16.
  if (text == "read") return 2u | 16u;       // v1 read: r, s
  if (text == "write") return 1u | 4u | 8u;  // v1 write: c, u, d
  if (text == "*") return 31u;
  unsigned bits = 0;
  std::size_t next = 0;  // letters must follow "cruds" order, each at most once
  for (char c : text) {
    const auto at = kPermissionOrder.find(c, next);
    if (at == std::string_view::npos) return std::nullopt;
    bits |= 1u << at;
    next = at + 1;
  }
  if (bits == 0) return std::nullopt;
  return bits;
}

std::optional<Parsed> Parse(std::string_view scope) {
  constexpr std::string_view kContext = "user/";
  if (scope.substr(0, kContext.size()) != kContext) return std::nullopt;
  if (scope.find('?') != std::string_view::npos) return std::nullopt;
  const std::string_view rest = scope.substr(kContext.size());
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  const std::string_view resource = rest.substr(0, dot);
  if (resource != "*") {
    for (char c : resource) {
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return std::nullopt;
    }
  }
  auto permissions = ParsePermissions(rest.substr(dot + 1));
  if (!permissions) return std::nullopt;
  return Parsed{resource, *permissions};
}

}  // namespace

bool IsUserScope(std::string_view scope) { return Parse(scope).has_value(); }

bool ScopesCover(const std::vector<std::string>& granted, std::string_view required) {
  auto need = Parse(required);
  if (!need || need->resource == "*") return false;  // a table entry names a resource type
  unsigned have = 0;
  for (const auto& g : granted) {
    auto p = Parse(g);
    if (p && (p->resource == "*" || p->resource == need->resource)) have |= p->permissions;
  }
  return (have & need->permissions) == need->permissions;
}

absl::Status RequireScopes(const std::vector<std::string>& granted, const std::vector<std::string>& required,
                           std::string_view what) {
  std::vector<std::string> missing;
  for (const auto& r : required) {
    if (!ScopesCover(granted, r)) missing.push_back(r);
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::PermissionDeniedError("the bearer token's scopes do not cover " + absl::StrJoin(missing, " ") +
                                     " (needed by " + std::string(what) + ")");
}

}  // namespace healthtwin::common::auth
