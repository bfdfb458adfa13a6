#include "services/registry/feed_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace healthtwin::registry {
namespace {

constexpr const char* kFeedColumns =
    "name, kind, target, tls, coalesce(tls_ca_pem, ''), tls_client_cert, send_alerts, send_vitals,"
    " array_to_string(patients, ','), coalesce(care_team_of, ''), min_priority, sending_application,"
    " sending_facility, receiving_application, receiving_facility, state = 'paused', created_by,"
    " (extract(epoch FROM created_at) * 1000000)::bigint, (extract(epoch FROM updated_at) * 1000000)::bigint";

StoredFeed RowToFeed(const pqxx::row& row) {
  StoredFeed f;
  FeedConfig& c = f.config;
  c.name = row[0].as<std::string>();
  // The schema's CHECK admits only the two names.
  c.kind = ParseFeedKind(row[1].as<std::string>()).value_or(FeedKind::kHl7v2Mllp);
  c.target = row[2].as<std::string>();
  c.tls = row[3].as<bool>();
  c.tls_ca_pem = row[4].as<std::string>();
  c.tls_client_cert = row[5].as<bool>();
  c.send_alerts = row[6].as<bool>();
  c.send_vitals = row[7].as<bool>();
  c.patient_ids = absl::StrSplit(row[8].as<std::string>(), ',', absl::SkipEmpty());
  c.care_team_of = row[9].as<std::string>();
  c.min_priority = row[10].as<int>();
  c.sending_application = row[11].as<std::string>();
  c.sending_facility = row[12].as<std::string>();
  c.receiving_application = row[13].as<std::string>();
  c.receiving_facility = row[14].as<std::string>();
  f.paused = row[15].as<bool>();
  f.created_by = row[16].as<std::string>();
  f.created_at_unix_us = row[17].as<int64_t>();
  f.updated_at_unix_us = row[18].as<int64_t>();
  return f;
}

absl::Status UnknownFeed(std::string_view name) {
  return absl::NotFoundError("name: no feed named '" + std::string(name.substr(0, 64)) + "'");
}

}  // namespace

absl::StatusOr<StoredFeed> FeedStore::Add(const FeedConfig& feed, std::string_view actor) {
  StoredFeed out;
  bool taken = false;
  auto s = pool_.WithTransaction("add feed", [&](pqxx::work& tx) {
    // Patient ids cannot contain ',' (CheckId), so a joined list round-trips through the array.
    auto r = tx.exec_params(
        std::string("INSERT INTO feeds (name, kind, target, tls, tls_ca_pem, tls_client_cert, send_alerts,"
                    " send_vitals, patients, care_team_of, min_priority, sending_application, sending_facility,"
                    " receiving_application, receiving_facility, created_by, updated_by)"
                    " VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8,"
                    " coalesce(string_to_array(NULLIF($9, ''), ','), '{}'), NULLIF($10, ''), $11, $12, $13, $14,"
                    " $15, $16, $16)"
                    " ON CONFLICT (name) DO NOTHING RETURNING ") +
            kFeedColumns,
        feed.name, std::string(FeedKindName(feed.kind)), feed.target, feed.tls, feed.tls_ca_pem, feed.tls_client_cert,
        feed.send_alerts, feed.send_vitals, absl::StrJoin(feed.patient_ids, ","), feed.care_team_of, feed.min_priority,
        feed.sending_application, feed.sending_facility, feed.receiving_application, feed.receiving_facility,
        std::string(actor));
    if ((taken = r.empty())) return;
    out = RowToFeed(r[0]);
    tx.exec_params("SELECT pg_notify('feeds_changed', $1)", feed.name);
  });
  if (!s.ok()) return s;
  if (taken) return absl::AlreadyExistsError("feed.name: a feed named '" + feed.name + "' already exists");
  return out;
}

absl::StatusOr<std::vector<StoredFeed>> FeedStore::List() {
  std::vector<StoredFeed> out;
  auto s = pool_.WithTransaction("list feeds", [&](pqxx::work& tx) {
    out.clear();
    for (const auto& row : tx.exec(std::string("SELECT ") + kFeedColumns + " FROM feeds ORDER BY name")) {
      out.push_back(RowToFeed(row));
    }
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<FeedOutboxStatus>> FeedStore::Status(std::string_view name) {
  std::vector<FeedOutboxStatus> out;
  auto s = pool_.WithTransaction("feed status", [&](pqxx::work& tx) {
    out.clear();
    // Per feed: counts by state (feed_outbox_state_idx), the oldest pending and the newest
    // delivered row.
    auto r = tx.exec_params(
        "SELECT f.name, f.state = 'paused',"
        "  count(*) FILTER (WHERE o.state = 'pending'),"
        "  coalesce(extract(epoch FROM now() - min(o.created_at) FILTER (WHERE o.state = 'pending')), 0)::float8,"
        "  coalesce(sum(greatest(o.attempts - 1, 0)) FILTER (WHERE o.state = 'pending'), 0)::bigint,"
        "  count(*) FILTER (WHERE o.state = 'dead'),"
        "  count(*) FILTER (WHERE o.state = 'delivered'),"
        "  coalesce(last.message_id, ''),"
        "  coalesce((extract(epoch FROM last.delivered_at) * 1000000)::bigint, 0)"
        " FROM feeds f"
        " LEFT JOIN feed_outbox o ON o.feed_id = f.feed_id"
        " LEFT JOIN LATERAL (SELECT l.message_id, l.delivered_at FROM feed_outbox l"
        "   WHERE l.feed_id = f.feed_id AND l.state = 'delivered'"
        "   ORDER BY l.delivered_at DESC, l.id DESC LIMIT 1) last ON true"
        " WHERE ($1 = '' OR f.name = $1)"
        " GROUP BY f.feed_id, f.name, f.state, last.message_id, last.delivered_at ORDER BY f.name",
        std::string(name));
    for (const auto& row : r) {
      FeedOutboxStatus st;
      st.name = row[0].as<std::string>();
      st.paused = row[1].as<bool>();
      st.pending_count = row[2].as<uint64_t>();
      st.oldest_pending_age_s = row[3].as<double>();
      st.retries = row[4].as<uint64_t>();
      st.dead_count = row[5].as<uint64_t>();
      st.delivered_count = row[6].as<uint64_t>();
      st.last_acked_message_id = row[7].as<std::string>();
      st.last_acked_at_unix_us = row[8].as<int64_t>();
      out.push_back(std::move(st));
    }
    // The open admin alerts (feed_alerts_open_idx: at most one per feed and kind).
    auto alerts = tx.exec_params(
        "SELECT f.name, a.kind, a.priority, a.summary, (extract(epoch FROM a.raised_at) * 1000000)::bigint,"
        "  a.event_count, a.last_message_id"
        " FROM feed_alerts a JOIN feeds f ON f.feed_id = a.feed_id"
        " WHERE a.resolved_at IS NULL AND ($1 = '' OR f.name = $1) ORDER BY a.raised_at, a.id",
        std::string(name));
    for (const auto& row : alerts) {
      for (auto& st : out) {
        if (st.name != row[0].as<std::string>()) continue;
        st.open_alerts.push_back({row[1].as<std::string>(), row[2].as<int>(), row[3].as<std::string>(),
                                  row[4].as<int64_t>(), row[5].as<int>(), row[6].as<std::string>()});
      }
    }
  });
  if (!s.ok()) return s;
  if (!name.empty() && out.empty()) return UnknownFeed(name);
  return out;
}

absl::StatusOr<StoredFeed> FeedStore::SetPaused(std::string_view name, bool paused, std::string_view actor) {
  std::optional<StoredFeed> out;
  auto s = pool_.WithTransaction(paused ? "pause feed" : "resume feed", [&](pqxx::work& tx) {
    out.reset();
    auto r = tx.exec_params(std::string("UPDATE feeds SET state = $2, updated_by = $3, updated_at = now()"
                                        " WHERE name = $1 RETURNING ") +
                                kFeedColumns,
                            std::string(name), paused ? "paused" : "enabled", std::string(actor));
    if (r.empty()) return;
    out = RowToFeed(r[0]);
    tx.exec_params("SELECT pg_notify('feeds_changed', $1)", std::string(name));
  });
  if (!s.ok()) return s;
  if (!out) return UnknownFeed(name);
  return *out;
}

absl::StatusOr<uint64_t> FeedStore::Replay(std::string_view name, int64_t since_unix_us, std::string_view actor) {
  std::optional<uint64_t> requeued;
  auto s = pool_.WithTransaction("replay feed", [&](pqxx::work& tx) {
    requeued.reset();
    // FOR SHARE: the feed cannot be renamed or removed under the replay.
    auto f = tx.exec_params("SELECT feed_id FROM feeds WHERE name = $1 FOR SHARE", std::string(name));
    if (f.empty()) return;
    const int64_t feed_id = f[0][0].as<int64_t>();
    // Same rows, same ids: per-patient order and message ids are what they were.
    auto r = tx.exec_params(
        "UPDATE feed_outbox SET state = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL,"
        " delivered_at = NULL, ack = NULL"
        " WHERE feed_id = $1 AND state <> 'pending' AND source_at >= timestamptz 'epoch' + $2::bigint * interval '1 "
        "microsecond'",
        feed_id, since_unix_us);
    requeued = r.affected_rows();
    tx.exec_params(
        "INSERT INTO feed_replays (feed_id, since, requested_by, requeued)"
        " VALUES ($1, timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3, $4)",
        feed_id, since_unix_us, std::string(actor), static_cast<int64_t>(*requeued));
    tx.exec_params("SELECT pg_notify('feeds_changed', $1)", std::string(name));
  });
  if (!s.ok()) return s;
  if (!requeued) return UnknownFeed(name);
  return *requeued;
}

}  // namespace healthtwin::registry
