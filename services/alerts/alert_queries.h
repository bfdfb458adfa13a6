// Read-side queries of the alerts API beyond one alert: keyset-paged listing and alarm-burden
// figures, computed in SQL from alerts and alert_events. Stateless functions over the caller's
// transaction; the arguments are already authorised and validated by the caller, except the
// page token, which is checked here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "healthtwin/alerts/v1/alerts.pb.h"
#include "services/common/pg.h"

namespace healthtwin::alerts {

// INVALID_ARGUMENT naming `field` unless `ids` holds 1..kMaxSubscriptionPatients patient ids of
// the registry's form (letters, digits, . _ -; at most 64), the form the queries rely on.
absl::Status CheckPatientIds(const std::vector<std::string>& ids, absl::string_view field);

struct AlertFilter {
  std::vector<std::string> patient_ids;  // non-empty
  int64_t since_us = 0;
  int state = 0;     // 0: any
  int priority = 0;  // 0: any
  std::string rule_id;
  int64_t page_size = 100;
  std::string page_token;
};

// Newest first by (raised_at, alert_id); INVALID_ARGUMENT `page_token` for a token this did
// not make.
absl::StatusOr<v1::ListAlertsResponse> ListAlertsPage(pqxx::work& tx, const AlertFilter& filter);

struct BurdenQuery {
  std::vector<std::string> patient_ids;  // non-empty
  int64_t start_us = 0;
  int64_t end_us = 0;  // > start_us
  v1::GetAlarmBurdenRequest::GroupBy group_by = v1::GetAlarmBurdenRequest::GROUP_BY_PATIENTS;
};

std::vector<v1::AlarmBurden> AlarmBurden(pqxx::work& tx, const BurdenQuery& q);

}  // namespace healthtwin::alerts
