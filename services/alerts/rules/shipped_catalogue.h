// The shipped rule catalogue (deploy/config/alert_rules.toml), compiled into the binary so a
// service finds its rules wherever it is started; --alert-rules replaces it with a file.
#pragma once

#include <string_view>

namespace healthtwin::alerts::rules {

// The TOML text of deploy/config/alert_rules.toml as it was at build time.
std::string_view ShippedCatalogueToml();

}  // namespace healthtwin::alerts::rules
