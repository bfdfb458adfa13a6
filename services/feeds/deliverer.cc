#include "services/feeds/deliverer.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "services/common/logging.h"
#include "services/feeds/disclosure_audit.h"
#include "services/feeds/feed_technical_events.h"

namespace healthtwin::feeds {
namespace {

using Clock = std::chrono::steady_clock;

const char* StateName(RowUpdate::State s) {
  switch (s) {
    case RowUpdate::State::kPending:
      return "pending";
    case RowUpdate::State::kDelivered:
      return "delivered";
    case RowUpdate::State::kDead:
      return "dead";
  }
  return "pending";
}

// Text columns are capped by nothing in the schema; a misbehaving receiver's ack is cut so one
// row cannot grow without bound. A NUL cannot be stored in text (nor in jsonb): it is dropped.
std::string Cap(std::string s) {
  constexpr size_t kMaxBytes = 16 * 1024;
  if (s.size() > kMaxBytes) s.resize(kMaxBytes);
  s.erase(std::remove(s.begin(), s.end(), '\0'), s.end());
  return s;
}

// The due heads of the feed's patient queues: the oldest pending row of each patient (a loose
// index scan over feed_outbox_pending_idx, one probe per patient with pending rows, however long
// the backlog), the due ones, oldest first. A head another replica holds is locked and skipped,
// and its patient's later rows are not heads. `o.state = 'pending'` is checked again on the
// locked row: a head delivered by another replica since this statement's snapshot is dropped.
constexpr const char* kClaimHeads =
    "WITH RECURSIVE heads (patient_id, id) AS ("
    "  (SELECT patient_id, id FROM feed_outbox WHERE feed_id = $1 AND state = 'pending'"
    "   ORDER BY patient_id, id LIMIT 1)"
    "  UNION ALL"
    "  SELECT n.patient_id, n.id FROM heads h CROSS JOIN LATERAL ("
    "    SELECT patient_id, id FROM feed_outbox WHERE feed_id = $1 AND state = 'pending'"
    "    AND patient_id > h.patient_id ORDER BY patient_id, id LIMIT 1) n)"
    " SELECT o.id FROM feed_outbox o JOIN heads h ON o.id = h.id"
    " WHERE o.state = 'pending' AND o.next_attempt_at <= now()"
    " ORDER BY o.id LIMIT $2 FOR UPDATE OF o SKIP LOCKED";

// Each claimed head ($1, comma-separated ids) with its patient's next pending rows, at most $2
// per patient, in the order they are sent; `due` cuts a run at the first row in backoff.
constexpr const char* kClaimRuns =
    "SELECT t.id, t.patient_id, t.message_id, t.payload, t.attempts, t.due"
    " FROM feed_outbox h CROSS JOIN LATERAL ("
    "   SELECT o.id, o.patient_id, o.message_id, o.payload, o.attempts, o.next_attempt_at <= now() AS due"
    "   FROM feed_outbox o WHERE o.feed_id = h.feed_id AND o.patient_id = h.patient_id AND o.state = 'pending'"
    "   AND o.id >= h.id ORDER BY o.id LIMIT $2 FOR UPDATE) t"
    " WHERE h.id = ANY (string_to_array($1, ',')::bigint[]) ORDER BY h.id, t.id";

// Every outcome of a batch in one statement; $1 is a JSON array of the rows' new values.
// clock_timestamp(), not now(): the transaction began before the sends, and delivered_at is
// when the ACK was recorded.
constexpr const char* kRecord =
    "UPDATE feed_outbox o SET state = u.state, attempts = u.attempts,"
    " next_attempt_at = clock_timestamp() + u.retry_ms * interval '1 millisecond',"
    " last_error = NULLIF(u.error, ''), ack = NULLIF(u.ack, ''),"
    " delivered_at = CASE WHEN u.state = 'delivered' THEN clock_timestamp() END"
    " FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, state text, attempts int, retry_ms bigint, error text,"
    " ack text) WHERE o.id = u.id AND o.feed_id = $2";

struct Claimed {
  int64_t id = 0;
  std::string patient_id;
  std::string message_id;
  std::string payload;
  int attempts_before = 0;
};

// The claimed runs, in sending order, each cut at its first row not due.
std::vector<std::vector<Claimed>> ReadRuns(const pqxx::result& rows) {
  std::vector<std::vector<Claimed>> runs;
  std::string patient;
  bool cut = false;
  for (const auto& r : rows) {
    Claimed c;
    c.id = r[0].as<int64_t>();
    c.patient_id = r[1].as<std::string>();
    if (runs.empty() || c.patient_id != patient) {
      runs.emplace_back();
      patient = c.patient_id;
      cut = false;
    }
    if (cut || !r[5].as<bool>()) {
      cut = true;
      continue;
    }
    c.message_id = r[2].as<std::string>();
    c.payload = r[3].as<std::string>();
    c.attempts_before = r[4].as<int>();
    runs.back().push_back(std::move(c));
  }
  std::erase_if(runs, [](const auto& run) { return run.empty(); });
  return runs;
}

void LogOutcome(const Feed& feed, const std::string& message_id, const RowUpdate& update) {
  if (update.raise_technical_event) {
    // The patient is PHI: the feed and the message id identify the row.
    common::LogWarn("feeds.dead_letter",
                    {{"feed", feed.config.name}, {"message_id", message_id}, {"error", update.last_error}});
  } else if (update.state == RowUpdate::State::kPending) {
    common::LogInfo("feeds.retry", {{"feed", feed.config.name},
                                    {"message_id", message_id},
                                    {"attempts", update.attempts},
                                    {"retry_in_ms", static_cast<int64_t>(update.retry_in.count())},
                                    {"error", update.last_error}});
  }
}

}  // namespace

Deliverer::Deliverer(common::PgPool& pool, std::function<double()> jitter, DeliverOptions options)
    : pool_(pool), jitter_(std::move(jitter)), options_(options) {}

absl::StatusOr<int> Deliverer::RunOnce(const Feed& feed, Transport& transport, const std::function<bool()>& stop) {
  if (feed.paused) return 0;
  int attempts = 0;
  const auto until = Clock::now() + options_.round_budget;
  while (attempts < options_.max_attempts_per_round && !(stop && stop()) && Clock::now() < until) {
    const int limit =
        std::min(std::max(options_.max_messages_per_batch, 1), options_.max_attempts_per_round - attempts);
    auto sent = RunBatch(feed, transport, limit, stop);
    if (!sent.ok()) return sent.status();
    if (*sent == 0) break;
    attempts += *sent;
  }
  return attempts;
}

absl::StatusOr<int> Deliverer::RunBatch(const Feed& feed, Transport& transport, int limit,
                                        const std::function<bool()>& stop) {
  int attempted = 0;
  bool audited = false;
  auto status = pool_.WithTransaction("deliver a batch of feed messages", [&](pqxx::work& tx) {
    attempted = 0;
    audited = false;
    std::vector<int64_t> heads;
    for (const auto& r : tx.exec_params(kClaimHeads, feed.feed_id, limit)) heads.push_back(r[0].as<int64_t>());
    if (heads.empty()) return;
    const auto runs =
        ReadRuns(tx.exec_params(kClaimRuns, absl::StrJoin(heads, ","), std::max(options_.max_run_per_patient, 1)));

    const auto started = Clock::now();
    nlohmann::json outcomes = nlohmann::json::array();
    std::vector<std::string> dead;
    std::vector<Disclosure> disclosures;
    bool unreachable = false;
    for (const auto& run : runs) {
      for (const Claimed& c : run) {
        if (attempted >= limit || unreachable || (stop && stop()) ||
            Clock::now() - started >= options_.max_batch_duration) {
          break;
        }
        const SendResult result = transport.Send(c.payload, c.message_id);
        const RowUpdate update = Decide(result, c.attempts_before, options_.backoff, jitter_());
        ++attempted;
        // In this transaction, so the event exists exactly when the outcome is recorded.
        RecordRetryingEpisode(tx, feed, c.message_id, update);
        outcomes.push_back({{"id", c.id},
                            {"state", StateName(update.state)},
                            {"attempts", update.attempts},
                            {"retry_ms", static_cast<int64_t>(update.retry_in.count())},
                            {"error", Cap(update.last_error)},
                            {"ack", Cap(update.ack)}});
        if (update.raise_technical_event) dead.push_back(c.message_id);
        if (IsDisclosure(result)) disclosures.push_back({c.patient_id, c.message_id, result.outcome, result.ack});
        LogOutcome(feed, c.message_id, update);
        if (update.state == RowUpdate::State::kPending) {
          // The patient's later messages wait behind this one; no answer at all: nor do the
          // other patients' go to this receiver now.
          unreachable = result.ack.empty();
          break;
        }
      }
    }
    if (attempted == 0) return;
    // A receiver's bytes need not be UTF-8: replaced, not refused (the ack column is a record).
    tx.exec_params(kRecord, outcomes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), feed.feed_id);
    for (const std::string& message_id : dead) {
      tx.exec_params(
          "INSERT INTO technical_events (kind, bridge_id, device_id, patient_id, sample_count, feed_id, message_id)"
          " VALUES ('feed_dead_letter', '', '', NULL, 1, $1, $2)",
          feed.feed_id, message_id);
    }
    // Last: the audit records hold the chain's head until the commit.
    AuditDisclosures(tx, options_.agent, feed, disclosures);
    audited = !disclosures.empty();
  });
  if (!status.ok()) return status;
  if (audited && options_.checkpoints != nullptr) options_.checkpoints->CheckpointIfDue();
  return attempted;
}

}  // namespace healthtwin::feeds
