#include "services/alerts/alert_queries.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/alerts/alert_service.h"
#include "services/alerts/limits.h"
#include "services/common/ids.h"

namespace healthtwin::alerts {
namespace {

// The token is the last alert of the page: "<raised_at unix us>/<alert_id>", base64url.
std::string EncodeToken(int64_t raised_us, const std::string& alert_id) {
  return absl::WebSafeBase64Escape(absl::StrCat("v1/", raised_us, "/", alert_id));
}

absl::Status DecodeToken(const std::string& token, int64_t& raised_us, std::string& alert_id) {
  const auto bad = absl::InvalidArgumentError("page_token: not a token from a previous page");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return bad;
  std::vector<std::string> parts = absl::StrSplit(raw, '/');
  if (parts.size() != 3 || parts[0] != "v1" || !absl::SimpleAtoi(parts[1], &raised_us) || !common::IsUuid(parts[2])) {
    return bad;
  }
  alert_id = parts[2];
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckPatientIds(const std::vector<std::string>& ids, absl::string_view field) {
  if (ids.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (ids.size() > static_cast<std::size_t>(kMaxSubscriptionPatients)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", ids.size(), " ids; at most ", kMaxSubscriptionPatients));
  }
  for (const auto& id : ids) {
    const bool ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    });
    if (!ok) return absl::InvalidArgumentError(absl::StrCat(field, ": not a patient id"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ListAlertsResponse> ListAlertsPage(pqxx::work& tx, const AlertFilter& f) {
  int64_t after_us = 0;
  std::string after_id = "00000000-0000-0000-0000-000000000000";
  if (!f.page_token.empty()) {
    if (auto s = DecodeToken(f.page_token, after_us, after_id); !s.ok()) return s;
  }
  // One row more than the page tells whether another page follows.
  auto rows = tx.exec_params(
      "SELECT alert_id::text, (extract(epoch FROM raised_at) * 1000000)::bigint FROM alerts"
      " WHERE patient_id = ANY (string_to_array($1, ','))"
      " AND raised_at >= timestamptz 'epoch' + $2::bigint * interval '1 microsecond'"
      " AND ($3::smallint = 0 OR state = $3::smallint) AND ($4::smallint = 0 OR priority = $4::smallint)"
      " AND ($5::text = '' OR rule_id = $5::text)"
      " AND (NOT $6::boolean OR (raised_at, alert_id)"
      "      < (timestamptz 'epoch' + $7::bigint * interval '1 microsecond', $8::uuid))"
      " ORDER BY raised_at DESC, alert_id DESC LIMIT $9",
      absl::StrJoin(f.patient_ids, ","), f.since_us, f.state, f.priority, f.rule_id, !f.page_token.empty(), after_us,
      after_id, f.page_size + 1);
  std::vector<std::string> ids;
  for (const auto& r : rows) {
    if (static_cast<int64_t>(ids.size()) == f.page_size) break;
    ids.push_back(r[0].as<std::string>());
  }
  v1::ListAlertsResponse resp;
  std::map<std::string, v1::Alert> loaded;
  for (auto& a : LoadAlerts(tx, ids)) loaded[a.alert_id()] = std::move(a);
  for (const auto& id : ids) *resp.add_alerts() = std::move(loaded.at(id));
  if (static_cast<int64_t>(rows.size()) > f.page_size) {
    const auto& last = rows[f.page_size - 1];
    resp.set_next_page_token(EncodeToken(last[1].as<int64_t>(), last[0].as<std::string>()));
  }
  return resp;
}

std::vector<v1::AlarmBurden> AlarmBurden(pqxx::work& tx, const BurdenQuery& q) {
  using GroupBy = v1::GetAlarmBurdenRequest;
  const int group = q.group_by == GroupBy::GROUP_BY_PATIENT ? 1 : q.group_by == GroupBy::GROUP_BY_RULE ? 2 : 0;
  // Acknowledged: an `acknowledged` event (kind 4); escalated: an `escalated` event (kind 3);
  // time to acknowledge: raise to the first acknowledgement.
  auto rows = tx.exec_params(
      "WITH a AS ("
      "  SELECT CASE $4::int WHEN 1 THEN al.patient_id WHEN 2 THEN al.rule_id ELSE '' END AS key, al.raised_at,"
      "    (SELECT min(e.created_at) FROM alert_events e WHERE e.alert_id = al.alert_id AND e.kind = 4) AS acked_at,"
      "    EXISTS (SELECT 1 FROM alert_events e WHERE e.alert_id = al.alert_id AND e.kind = 3) AS escalated"
      "  FROM alerts al WHERE al.patient_id = ANY (string_to_array($1, ','))"
      "  AND al.raised_at >= timestamptz 'epoch' + $2::bigint * interval '1 microsecond'"
      "  AND al.raised_at < timestamptz 'epoch' + $3::bigint * interval '1 microsecond')"
      " SELECT key, count(*), count(acked_at),"
      "   coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acked_at - raised_at))"
      "            FILTER (WHERE acked_at IS NOT NULL), -1),"
      "   count(*) FILTER (WHERE escalated)"
      " FROM a GROUP BY key ORDER BY key",
      absl::StrJoin(q.patient_ids, ","), q.start_us, q.end_us, group);
  const double days = static_cast<double>(q.end_us - q.start_us) / 86'400e6;
  std::map<std::string, v1::AlarmBurden> by_key;
  if (group == 0) by_key[""];
  if (group == 1) {
    for (const auto& p : q.patient_ids) by_key[p];
  }
  for (const auto& r : rows) {
    v1::AlarmBurden& b = by_key[r[0].as<std::string>()];
    b.set_alerts(r[1].as<int64_t>());
    b.set_acknowledged(r[2].as<int64_t>());
    b.set_median_time_to_acknowledge_s(r[3].as<double>());
    b.set_escalated(r[4].as<int64_t>());
  }
  std::vector<v1::AlarmBurden> out;
  for (auto& [key, b] : by_key) {
    b.set_key(key);
    if (b.alerts() == 0) b.set_median_time_to_acknowledge_s(-1);
    // Per patient: that patient's days; per rule and for the team: every patient's.
    b.set_patient_days(days * (group == 1 ? 1.0 : static_cast<double>(q.patient_ids.size())));
    if (b.patient_days() > 0) b.set_alerts_per_patient_day(static_cast<double>(b.alerts()) / b.patient_days());
    if (b.alerts() > 0) {
      b.set_share_acknowledged(static_cast<double>(b.acknowledged()) / static_cast<double>(b.alerts()));
      b.set_share_escalated(static_cast<double>(b.escalated()) / static_cast<double>(b.alerts()));
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace healthtwin::alerts
