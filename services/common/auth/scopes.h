// SMART App Launch v2 scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html)
// for bearer tokens: "user/<ResourceType or *>.<permissions>", the permissions a subset of
// "cruds" (create, read, update, delete, search) written in that order, e.g. user/Observation.rs,
// user/Communication.cu, user/*.rs. The SMART v1 forms ".read" (= rs), ".write" (= cud) and ".*"
// (= cruds) are read as their v2 equivalents.
//
// A required scope is covered when, for each of its permissions, some granted scope on the
// same resource type (or "*") grants it; granted scopes combine ("user/Observation.r" and
// "user/Observation.s" cover "user/Observation.rs"). Granted scopes that are not "user/" scopes
// (openid, launch, patient/..., system/...) or carry a v2 query ("?category=...") grant nothing
// here: they are narrower or for other contexts, so ignoring them can only refuse, never admit.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace healthtwin::common::auth {

// True when `granted` covers the one scope `required` (itself a well-formed user/ scope).
bool ScopesCover(const std::vector<std::string>& granted, std::string_view required);

// OK when `granted` covers every one of `required`; PERMISSION_DENIED naming the scopes that
// are missing and `what` (e.g. the RPC) otherwise.
absl::Status RequireScopes(const std::vector<std::string>& granted, const std::vector<std::string>& required,
                           std::string_view what);

// True when `scope` is a well-formed user/ scope (for checking a table of required scopes).
bool IsUserScope(std::string_view scope);

}  // namespace healthtwin::common::auth
