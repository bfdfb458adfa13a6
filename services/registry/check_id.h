// The registry's rule for ids (patients, devices, gateways, care-team members). Plain C++.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace healthtwin::registry {

// Checks an id: 1-64 of [A-Za-z0-9._:-] (':' for BLE addresses as device ids; patient ids
// exclude it separately, matching the schema's CHECK). Names `field` in the error.
absl::Status CheckId(std::string_view field, std::string_view id);

}  // namespace healthtwin::registry
