#include "services/alerts/alert_service.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/alerts/alert_queries.h"
#include "services/alerts/evaluator.h"
#include "services/alerts/limits.h"
#include "services/common/grpc_util.h"
#include "services/common/ids.h"
#include "services/common/logging.h"
#include "services/common/pg_listener.h"
#include "services/common/time_util.h"

namespace healthtwin::alerts {

namespace {

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string s;
  for (const auto& id : ids) {
    if (!s.empty()) s += ",";
    s += id;
  }
  return s;
}

using common::IsUuid;

// An alert_events row `e` as an AlertEventRecord (EventRecordFromRow reads them in this order).
constexpr char kEventRecordColumns[] =
    "e.event_seq, e.kind, e.actor, (extract(epoch FROM e.created_at) * 1000000)::bigint, e.reason, e.detail::text,"
    " coalesce(e.tier, 0)";
}  // namespace

std::vector<v1::Alert> LoadAlerts(pqxx::work& tx, const std::vector<std::string>& ids) {
  std::vector<v1::Alert> out;
  if (ids.empty()) return out;
  auto rows = tx.exec_params(
      "SELECT alert_id::text, patient_id, rule_id, priority, state, summary,"
      " (extract(epoch FROM condition_started_at) * 1000000)::bigint,"
      " (extract(epoch FROM raised_at) * 1000000)::bigint, peak_value, ucum_unit, duration_s,"
      " category, phase, latched, coalesce((extract(epoch FROM ended_at) * 1000000)::bigint, 0),"
      " coalesce(suppressed_by::text, ''), tier, coalesce((extract(epoch FROM next_escalation_at) * 1000000)::bigint, "
      "0)"
      " FROM alerts WHERE alert_id = ANY (string_to_array($1, ',')::uuid[]) ORDER BY raised_at, alert_id",
      JoinIds(ids));
  std::map<std::string, std::size_t> index;
  for (const auto& r : rows) {
    v1::Alert a;
    a.set_alert_id(r[0].as<std::string>());
    a.set_patient_id(r[1].as<std::string>());
    a.set_rule_id(r[2].as<std::string>());
    a.set_priority(static_cast<v1::Priority>(r[3].as<int>()));
    a.set_state(static_cast<v1::AlertState>(r[4].as<int>()));
    a.set_summary(r[5].as<std::string>());
    *a.mutable_condition_started_at() = common::FromUnixMicros(r[6].as<int64_t>());
    *a.mutable_raised_at() = common::FromUnixMicros(r[7].as<int64_t>());
    a.set_peak_value(r[8].as<double>());
    a.set_ucum_unit(r[9].as<std::string>());
    a.set_duration_s(r[10].as<double>());
    a.set_category(static_cast<v1::AlarmCategory>(r[11].as<int>()));
    a.set_phase(static_cast<v1::AlertPhase>(r[12].as<int>()));
    a.set_latched(r[13].as<bool>());
    if (const int64_t ended = r[14].as<int64_t>(); ended != 0) *a.mutable_ended_at() = common::FromUnixMicros(ended);
    a.set_suppressed_by(r[15].as<std::string>());
    a.set_tier(r[16].as<uint32_t>());
    if (const int64_t next = r[17].as<int64_t>(); next != 0) {
      *a.mutable_next_escalation_at() = common::FromUnixMicros(next);
    }
    index[a.alert_id()] = out.size();
    out.push_back(std::move(a));
  }
  auto acks = tx.exec_params(
      "SELECT alert_id::text, recipient, (extract(epoch FROM acknowledged_at) * 1000000)::bigint, note"
      " FROM alert_acknowledgements WHERE alert_id = ANY (string_to_array($1, ',')::uuid[])"
      " ORDER BY acknowledged_at",
      JoinIds(ids));
  for (const auto& r : acks) {
    auto* ack = out[index.at(r[0].as<std::string>())].add_acknowledgements();
    ack->set_recipient(r[1].as<std::string>());
    *ack->mutable_acknowledged_at() = common::FromUnixMicros(r[2].as<int64_t>());
    ack->set_note(r[3].as<std::string>());
  }
  auto shelves = tx.exec_params(
      "SELECT alert_id::text, recipient, (extract(epoch FROM shelved_at) * 1000000)::bigint,"
      " (extract(epoch FROM shelved_until) * 1000000)::bigint, reason FROM alert_shelves"
      " WHERE alert_id = ANY (string_to_array($1, ',')::uuid[]) AND unshelved_at IS NULL ORDER BY shelved_until",
      JoinIds(ids));
  for (const auto& r : shelves) {
    v1::Alert& a = out[index.at(r[0].as<std::string>())];
    auto* shelf = a.add_shelves();
    shelf->set_recipient(r[1].as<std::string>());
    *shelf->mutable_shelved_at() = common::FromUnixMicros(r[2].as<int64_t>());
    *shelf->mutable_shelved_until() = common::FromUnixMicros(r[3].as<int64_t>());
    shelf->set_reason(r[4].as<std::string>());
    *a.mutable_shelved_until() = shelf->shelved_until();  // ordered: the latest wins
  }
  return out;
}

namespace {
v1::AlertEventRecord EventRecordFromRow(const pqxx::row& r, int first) {
  v1::AlertEventRecord rec;
  rec.set_event_seq(r[first].as<int64_t>());
  rec.set_kind(static_cast<v1::AlertEvent::Kind>(r[first + 1].as<int>()));
  rec.set_actor(r[first + 2].as<std::string>());
  *rec.mutable_at() = common::FromUnixMicros(r[first + 3].as<int64_t>());
  rec.set_reason(r[first + 4].as<std::string>());
  rec.set_detail_json(r[first + 5].as<std::string>());
  rec.set_tier(r[first + 6].as<uint32_t>());
  return rec;
}
}  // namespace

std::vector<v1::AlertEventRecord> LoadAlertEvents(pqxx::work& tx, const std::string& alert_id) {
  std::vector<v1::AlertEventRecord> out;
  for (const auto& r : tx.exec_params(std::string("SELECT ") + kEventRecordColumns +
                                          " FROM alert_events e WHERE e.alert_id = $1::uuid ORDER BY e.event_seq",
                                      alert_id)) {
    out.push_back(EventRecordFromRow(r, 0));
  }
  return out;
}

// (patient, member) pairs of care_team, as the hub read them for one round of events.
using CareTeams = std::set<std::pair<std::string, std::string>>;

// One live subscription. Writes one event at a time from a bounded queue; a consumer that
// falls kMaxQueuedEvents behind is ended with RESOURCE_EXHAUSTED rather than buffered forever.
//
// Replay (`since`): history up to the live point (the hub's last event when the subscription
// registered) is read in pages of kReplayPageEvents by patient, raise time, alert and event
// (alerts_patient_idx, then alert_events_alert_idx), each page fetched on the executor when
// the queue has drained to kReplayLowWater. Live events arriving meanwhile wait in `pending_`
// (bounded like the queue) and follow the last page, so nothing is missed or sent twice.
class Subscription final : public grpc::ServerWriteReactor<v1::AlertEvent> {
 public:
  Subscription(AlertHub& hub, const v1::SubscribeRequest& req) : hub_(hub) {
    patients_.insert(req.patient_ids().begin(), req.patient_ids().end());
    replay_patients_.assign(patients_.begin(), patients_.end());
    min_priority_ = req.min_priority();
    care_team_of_ = req.care_team_of();
  }

  // The person whose care team gates every live event ("" for none); fixed for the call.
  const std::string& care_team_of() const { return care_team_of_; }

  // For a subscription that follows a care team: the patients whose history the replay covers
  // (the care team when the subscription began). Called once, by Begin's authorization step,
  // before any replay page is read.
  void SetReplayPatients(std::vector<std::string> patients) {
    std::sort(patients.begin(), patients.end());
    replay_patients_ = std::move(patients);
  }

  // Starts the subscription: registers with the hub (holding live events back), then on the
  // executor authorises the call (which needs the database, for the audit record) and replays
  // history up to the registration point. Nothing reaches the caller before it is authorised.
  void Begin(common::PgPool& pool, common::Executor& executor, std::optional<int64_t> since_us,
             std::function<absl::Status()> authorize) {
    pool_ = &pool;
    executor_ = &executor;
    {
      std::lock_guard lock(mu_);
      replaying_ = true;
    }
    const int64_t upto = hub_.Add(this);
    refs_.fetch_add(1);  // the task keeps this alive even if the call ends first
    executor.Submit(
        [this, upto, since_us, authorize = std::move(authorize)] {
          const absl::Status allowed = authorize();
          {
            std::lock_guard lock(mu_);
            if (!allowed.ok()) {
              FinishLocked(common::ToGrpcStatus(allowed));
            } else if (since_us) {
              upto_ = upto;
              since_us_ = *since_us;
              cursor_.patient_id = replay_patients_.empty() ? std::string() : replay_patients_.front();
              cursor_.raised_at_us = *since_us;
              ScheduleReplayLocked();
            } else {
              replaying_ = false;
              for (auto& ev : pending_) EnqueueLocked(std::move(ev));
              pending_.clear();
            }
          }
          Release();
        },
        [this] {
          std::lock_guard lock(mu_);
          refs_.fetch_sub(1);  // the call's own reference is still held
          FinishLocked(common::ToGrpcStatus(common::ServerBusyError()));
        });
  }

  // Called by the hub thread for every new event; `teams` holds the care-team memberships of
  // care_team_of() for the event's patient as read in this round.
  void Push(const v1::AlertEvent& ev, const CareTeams& teams) {
    if (!Matches(ev.alert(), teams) || SilencedFor(ev)) return;
    std::lock_guard lock(mu_);
    if (!replaying_) {
      EnqueueLocked(ev);
    } else if (pending_.size() >= kMaxQueuedEvents) {
      FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                "subscriber is too slow to replay and keep up; resubscribe with a later since"));
    } else {
      pending_.push_back(ev);
    }
  }

  void End(const grpc::Status& status) {
    std::lock_guard lock(mu_);
    FinishLocked(status);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "subscriber went away"));
      return;
    }
    queue_.pop_front();
    WriteNextLocked();
    if (queue_.size() <= kReplayLowWater) ScheduleReplayLocked();
  }

  void OnCancel() override { End(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

  void OnDone() override {
    hub_.Remove(this);
    Release();
  }

 private:
  // Where the replay continues: after this event of this alert (ordered by patient, raised_at,
  // alert_id, event_seq). `patient_index` walks the sorted filter; unused for "all patients".
  struct ReplayCursor {
    std::size_t patient_index = 0;
    std::string patient_id;
    int64_t raised_at_us = 0;
    std::string alert_id = "00000000-0000-0000-0000-000000000000";
    int64_t event_seq = 0;
  };

  bool Matches(const v1::Alert& a, const CareTeams& teams) const {
    if (a.priority() < min_priority_) return false;
    if (!care_team_of_.empty() && !teams.contains({a.patient_id(), care_team_of_})) return false;
    // Explicit patients narrow further; a care-team subscription without them takes every one.
    return care_team_of_.empty() ? patients_.contains(a.patient_id())
                                 : patients_.empty() || patients_.contains(a.patient_id());
  }

  // What the person of a care-team subscription has silenced for themselves (IEC 60601-1-8
  // 6.8: acknowledging or pausing an alarm silences its signal for that person only; the alarm
  // stays visible and the condition is not cleared):
  //  - an alert they acknowledged: its updates (a new peak, a longer duration) are not sent,
  //    unless its priority rose, which is news however it was acknowledged;
  //  - an alert they shelved, while the shelf lasts: its updates and escalations are not sent.
  // Every other event (ended, resolved, their own acknowledgement and shelf, the shelf's end) is
  // sent, and other recipients get everything. Live events only: a replay is history.
  bool SilencedFor(const v1::AlertEvent& ev) const {
    if (care_team_of_.empty()) return false;
    const v1::Alert& a = ev.alert();
    const auto kind = ev.kind();
    if (kind != v1::AlertEvent::KIND_UPDATED && kind != v1::AlertEvent::KIND_ESCALATED) return false;
    const int64_t now_us = common::NowUnixMicros();
    for (const auto& shelf : a.shelves()) {
      if (shelf.recipient() != care_team_of_) continue;
      if (auto until = common::ToUnixMicros(shelf.shelved_until(), "shelved_until"); until.ok() && *until > now_us) {
        return true;
      }
    }
    if (kind != v1::AlertEvent::KIND_UPDATED) return false;
    const bool acknowledged = std::any_of(a.acknowledgements().begin(), a.acknowledgements().end(),
                                          [&](const v1::Acknowledgement& k) { return k.recipient() == care_team_of_; });
    if (!acknowledged) return false;
    const auto detail = nlohmann::json::parse(ev.record().detail_json(), nullptr, false);
    const bool rose = detail.is_object() && detail.value("priority_to", 0) > detail.value("priority_from", 0);
    return !rose;
  }

  void Release() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  // Fetches the next replay page on the executor unless one is in flight or replay is over.
  void ScheduleReplayLocked() {
    if (!replaying_ || fetching_ || finished_) return;
    fetching_ = true;
    refs_.fetch_add(1);  // the task keeps this alive even if the call ends first
    executor_->Submit(
        [this] {
          ReplayPage();
          Release();
        },
        [this] {  // runs here, under mu_; the call's own reference is still held (not finished)
          fetching_ = false;
          refs_.fetch_sub(1);
          FinishLocked(common::ToGrpcStatus(common::ServerBusyError()));
        });
  }

  // Reads up to kReplayPageEvents events after `from`; sets `done` when history is exhausted.
  std::vector<v1::AlertEvent> ReadReplayPage(pqxx::work& tx, ReplayCursor& cursor, bool& done) const {
    const std::vector<std::string>& patients = replay_patients_;
    std::vector<std::string> ids;
    std::vector<v1::AlertEventRecord> records;
    done = patients.empty();  // a care team with nobody on it yet has no history
    while (ids.size() < kReplayPageEvents && !done) {
      const std::size_t want = kReplayPageEvents - ids.size();
      // Index range scan of alerts_patient_idx from the cursor (the >= row comparison is its
      // index condition), nested loop into alert_events_alert_idx; LIMIT stops both.
      auto rows = tx.exec_params(
          "SELECT a.patient_id, (extract(epoch FROM a.raised_at) * 1000000)::bigint, a.alert_id::text, " +
              std::string(kEventRecordColumns) +
              " FROM alerts a JOIN alert_events e ON e.alert_id = a.alert_id AND e.event_seq <= $1"
              " WHERE (NOT $10 OR a.patient_id = $2) AND a.priority >= $3"
              " AND a.raised_at >= timestamptz 'epoch' + $4::bigint * interval '1 microsecond'"
              " AND (a.patient_id, a.raised_at, a.alert_id)"
              "   >= ($5, timestamptz 'epoch' + $6::bigint * interval '1 microsecond', $7::uuid)"
              " AND ((a.patient_id, a.raised_at, a.alert_id)"
              "   > ($5, timestamptz 'epoch' + $6::bigint * interval '1 microsecond', $7::uuid) OR e.event_seq > $8)"
              " ORDER BY a.patient_id, a.raised_at, a.alert_id, e.event_seq LIMIT $9",
          upto_, patients.empty() ? std::string() : patients[cursor.patient_index], min_priority_, since_us_,
          cursor.patient_id, cursor.raised_at_us, cursor.alert_id, cursor.event_seq, static_cast<int64_t>(want),
          !patients.empty());
      for (const auto& r : rows) {
        cursor.patient_id = r[0].as<std::string>();
        cursor.raised_at_us = r[1].as<int64_t>();
        cursor.alert_id = r[2].as<std::string>();
        cursor.event_seq = r[3].as<int64_t>();
        ids.push_back(cursor.alert_id);
        records.push_back(EventRecordFromRow(r, 3));
      }
      if (rows.size() == want) break;
      // This patient (or, unfiltered, everyone) is exhausted: on to the next patient.
      if (patients.empty() || ++cursor.patient_index == patients.size()) {
        done = true;
      } else {
        cursor = ReplayCursor{.patient_index = cursor.patient_index,
                              .patient_id = patients[cursor.patient_index],
                              .raised_at_us = since_us_};
      }
    }
    std::map<std::string, v1::Alert> alerts;
    for (auto& a : LoadAlerts(tx, ids)) alerts[a.alert_id()] = std::move(a);
    std::vector<v1::AlertEvent> page;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      v1::AlertEvent ev;
      ev.set_kind(records[i].kind());
      *ev.mutable_alert() = alerts.at(ids[i]);
      *ev.mutable_record() = std::move(records[i]);
      page.push_back(std::move(ev));
    }
    return page;
  }

  void ReplayPage() {
    ReplayCursor cursor;
    {
      std::lock_guard lock(mu_);
      if (finished_) {
        fetching_ = false;
        return;
      }
      cursor = cursor_;
    }
    std::vector<v1::AlertEvent> page;
    bool done = false;
    ReplayCursor next;
    auto s = pool_->WithTransaction("replay alerts", [&](pqxx::work& tx) {
      next = cursor;  // a retried transaction starts again from the same place
      page = ReadReplayPage(tx, next, done);
    });
    std::lock_guard lock(mu_);
    fetching_ = false;
    if (!s.ok()) {
      FinishLocked(common::ToGrpcStatus(s));
      return;
    }
    cursor_ = next;
    for (auto& ev : page) EnqueueLocked(std::move(ev));
    if (done) {
      replaying_ = false;
      for (auto& ev : pending_) EnqueueLocked(std::move(ev));
      pending_.clear();
      return;
    }
    if (queue_.size() <= kReplayLowWater) ScheduleReplayLocked();
  }

  void EnqueueLocked(v1::AlertEvent ev) {
    if (finished_) return;
    if (queue_.size() >= kMaxQueuedEvents) {
      FinishLocked(
          grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "subscriber is too slow; resubscribe with since"));
      return;
    }
    queue_.push_back(std::move(ev));
    WriteNextLocked();
  }

  void WriteNextLocked() {
    if (writing_ || queue_.empty() || finished_) return;
    writing_ = true;
    StartWrite(&queue_.front());
  }

  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  AlertHub& hub_;
  std::set<std::string> patients_;
  std::vector<std::string> replay_patients_;  // sorted; written before Begin, read by replay tasks
  std::string care_team_of_;
  int min_priority_ = 0;
  common::PgPool* pool_ = nullptr;
  common::Executor* executor_ = nullptr;
  std::mutex mu_;
  std::deque<v1::AlertEvent> queue_;
  std::vector<v1::AlertEvent> pending_;  // live events that arrived during replay
  bool replaying_ = false;
  bool fetching_ = false;  // a replay page task is queued or running
  ReplayCursor cursor_;
  int64_t upto_ = 0;
  int64_t since_us_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  std::atomic<int> refs_{1};  // the call, plus a pending replay task
};

AlertHub::AlertHub(common::PgPool& pool, std::string conninfo) : pool_(pool), conninfo_(std::move(conninfo)) {}

AlertHub::~AlertHub() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void AlertHub::Start() {
  // Fix the starting point before returning, so that alerts raised after Start() (the
  // evaluator starts next) reach subscribers that registered before the first round.
  if (auto s = DeliverNew(); !s.ok()) common::LogWarn("alerts.hub_read_failed", {{"error", s.message()}});
  thread_ = std::thread([this] { Loop(); });
}

int64_t AlertHub::Add(Subscription* sub) {
  std::lock_guard lock(mu_);
  subs_.insert(sub);
  return last_seq_;
}

void AlertHub::Remove(Subscription* sub) {
  std::lock_guard lock(mu_);
  subs_.erase(sub);
}

void AlertHub::FinishAll(const grpc::Status& status) {
  std::lock_guard lock(mu_);
  for (auto* sub : subs_) sub->End(status);
}

absl::Status AlertHub::DeliverNew() {
  int64_t from;
  {
    std::lock_guard lock(mu_);
    from = last_seq_;
  }
  std::vector<std::pair<int64_t, v1::AlertEvent>> events;
  auto s = pool_.WithTransaction("read alert events", [&](pqxx::work& tx) {
    events.clear();
    if (from < 0) {
      // First round: start after what already exists; history is served by `since`.
      from = tx.exec("SELECT coalesce(max(event_seq), 0) FROM alert_events")[0][0].as<int64_t>();
      return;
    }
    auto rows = tx.exec_params(std::string("SELECT e.alert_id::text, ") + kEventRecordColumns +
                                   " FROM alert_events e WHERE e.event_seq > $1 ORDER BY e.event_seq LIMIT 1000",
                               from);
    std::vector<std::string> ids;
    for (const auto& r : rows) ids.push_back(r[0].as<std::string>());
    std::map<std::string, v1::Alert> alerts;
    for (auto& a : LoadAlerts(tx, ids)) alerts[a.alert_id()] = std::move(a);
    for (const auto& r : rows) {
      v1::AlertEvent ev;
      *ev.mutable_record() = EventRecordFromRow(r, 1);
      ev.set_kind(ev.record().kind());
      *ev.mutable_alert() = alerts.at(r[0].as<std::string>());
      events.emplace_back(ev.record().event_seq(), std::move(ev));
    }
  });
  if (!s.ok()) return s;
  // Subscriptions that follow a care team get an event only while their person is on the
  // patient's care team, as read now (after the event was committed). A subscription added while
  // the memberships are read is read for in another pass, so that none is judged without them.
  nlohmann::json patients = nlohmann::json::array();
  for (const auto& [seq, ev] : events) patients.push_back(ev.alert().patient_id());
  CareTeams teams;
  std::set<std::string> members_read;
  for (;;) {
    std::unique_lock lock(mu_);
    nlohmann::json missing = nlohmann::json::array();
    for (auto* sub : subs_) {
      const std::string& m = sub->care_team_of();
      if (!m.empty() && !members_read.contains(m)) {
        members_read.insert(m);
        missing.push_back(m);
      }
    }
    if (missing.empty() || events.empty()) {
      if (last_seq_ < 0) last_seq_ = from;
      for (const auto& [seq, ev] : events) {
        for (auto* sub : subs_) sub->Push(ev, teams);
        last_seq_ = seq;
      }
      return absl::OkStatus();
    }
    lock.unlock();
    auto read = pool_.WithTransaction("read care teams of subscribers", [&](pqxx::work& tx) {
      for (const auto& r : tx.exec_params("SELECT patient_id, member FROM care_team"
                                          " WHERE member IN (SELECT jsonb_array_elements_text($1::jsonb))"
                                          "   AND patient_id IN (SELECT jsonb_array_elements_text($2::jsonb))",
                                          missing.dump(), patients.dump())) {
        teams.emplace(r[0].as<std::string>(), r[1].as<std::string>());
      }
    });
    if (!read.ok()) return read;  // nothing was pushed; the next round reads these events again
  }
}

void AlertHub::Loop() {
  using namespace std::chrono_literals;
  common::PgListener listener(conninfo_, "alerts_new");
  while (!stop_) {
    if (auto s = DeliverNew(); !s.ok()) {
      common::LogWarn("alerts.hub_read_failed", {{"error", s.message()}});
      std::this_thread::sleep_for(500ms);
      continue;
    }
    listener.Wait(1s);
  }
}

const common::CallerPolicy::Rules& AlertServiceImpl::DefaultPolicy() {
  // People reach alerts through clinician_api, which checks their care team and relays; admins
  // and other services have no business reading or acknowledging them (ADR 0003).
  static const common::CallerPolicy::Rules kRules = {{"Subscribe", {"service:clinician_api"}},
                                                     {"Acknowledge", {"service:clinician_api"}},
                                                     {"ListAlerts", {"service:clinician_api"}},
                                                     {"Shelve", {"service:clinician_api"}},
                                                     {"GetAlert", {"service:clinician_api"}},
                                                     {"GetPatientAlertSettings", {"service:clinician_api"}},
                                                     {"SetPatientAlertSettings", {"service:clinician_api"}},
                                                     {"GetAlarmBurden", {"service:clinician_api"}}};
  return kRules;
}

grpc::ServerWriteReactor<v1::AlertEvent>* AlertServiceImpl::Subscribe(grpc::CallbackServerContext* ctx,
                                                                      const v1::SubscribeRequest* req) {
  auto* sub = new Subscription(hub_, *req);
  if (req->patient_ids().empty() && req->care_team_of().empty()) {
    // No "every patient" subscription: whoever relays must name the patients it checked, or
    // the person whose care team bounds what is delivered.
    sub->End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "patient_ids: required unless care_team_of is set"));
    return sub;
  }
  if (req->care_team_of().size() > 256) {
    sub->End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "care_team_of: longer than 256 characters"));
    return sub;
  }
  if (!v1::Priority_IsValid(req->min_priority())) {
    sub->End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "min_priority: unknown value"));
    return sub;
  }
  if (req->patient_ids_size() > kMaxSubscriptionPatients) {
    sub->End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("patient_ids: ", req->patient_ids_size(), " ids; at most ",
                                       kMaxSubscriptionPatients, " per subscription")));
    return sub;
  }
  std::optional<int64_t> since;
  if (req->has_since()) {
    absl::StatusOr<int64_t> us = common::ToUnixMicros(req->since(), "since");
    if (!us.ok()) {
      sub->End(common::ToGrpcStatus(us.status()));
      return sub;
    }
    since = *us;
  }
  auto caller = common::CallerOf(*ctx);
  if (!caller.ok()) {
    sub->End(common::ToGrpcStatus(caller.status()));
    return sub;
  }
  std::vector<std::string> patients(req->patient_ids().begin(), req->patient_ids().end());
  const std::string member = req->care_team_of();
  sub->Begin(pool_, executor_, since,
             [this, sub, member, caller = *std::move(caller), patients = std::move(patients)]() -> absl::Status {
               if (!patients.empty() || member.empty()) {
                 return common::AuthorizeAndAudit(caller, policy_, "Subscribe", access_, "alerts.subscribe", patients);
               }
               // The whole care team, followed: its patients now are what the replay covers and
               // what the record names; later additions are delivered as they happen.
               if (auto s = policy_.Check("Subscribe", caller.identity); !s.ok()) {
                 return common::AuthorizeAndAudit(caller, policy_, "Subscribe", access_, "alerts.subscribe", {});
               }
               auto team = access_.CareTeamPatientsOf(member);
               if (!team.ok()) return team.status();
               sub->SetReplayPatients(*team);
               return common::AuthorizeAndAudit(caller, policy_, "Subscribe", access_, "alerts.subscribe", *team,
                                                "care team of " + member.substr(0, 64) + ", followed");
             });
  return sub;
}

grpc::ServerUnaryReactor* AlertServiceImpl::Acknowledge(grpc::CallbackServerContext* ctx,
                                                        const v1::AcknowledgeRequest* req, v1::Alert* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    // The alert's patient first, so that a refusal is audited against it.
    auto caller = AuthorizeOnAlert(*ctx, "Acknowledge", "alert.acknowledge", req->alert_id(), &req->recipient());
    if (!caller.ok()) return caller.status();
    if (req->note().size() > 2000) return absl::InvalidArgumentError("note: longer than 2000 characters");
    absl::Status result;
    auto s = pool_.WithTransaction("acknowledge alert", [&](pqxx::work& tx) {
      result = store_.AcknowledgeInTx(tx, req->alert_id(), req->recipient(), req->note(), caller->identity.common_name);
      if (result.ok()) *resp = LoadAlerts(tx, {req->alert_id()}).at(0);
    });
    return s.ok() ? result : s;
  });
}

// The checks Acknowledge makes, shared by Shelve and GetAlert: the caller may act for
// `recipient` (empty: no person is named) on the alert, audited as `action` against its patient.
absl::StatusOr<common::Caller> AlertServiceImpl::AuthorizeOnAlert(grpc::CallbackServerContext& ctx, const char* method,
                                                                  const char* action, const std::string& alert_id,
                                                                  const std::string* recipient) {
  auto patient = IsUuid(alert_id) ? access_.AlertPatient(alert_id) : absl::StatusOr<std::string>(std::string());
  auto caller =
      common::AuthorizeAuditingRefusal(ctx, policy_, method, access_, action,
                                       patient.ok() ? std::vector<std::string>{*patient} : std::vector<std::string>{});
  if (!caller.ok()) return caller.status();
  if (!IsUuid(alert_id)) return absl::InvalidArgumentError("alert_id: not a UUID");
  if (recipient != nullptr) {
    if (recipient->empty()) return absl::InvalidArgumentError("recipient: required");
    if (caller->on_behalf_of != *recipient) {
      return absl::InvalidArgumentError(std::string("recipient: must be the person named in ") +
                                        common::kOnBehalfOfHeader);
    }
  }
  if (!patient.ok()) {
    (void)access_.Audit(*caller, action, "", "not_found", "alert " + alert_id);
    return patient.status();
  }
  if (auto s = access_.Audit(*caller, action, *patient, "allowed", "alert " + alert_id); !s.ok()) {
    return absl::UnavailableError("access refused: the audit record could not be written");
  }
  return caller;
}

grpc::ServerUnaryReactor* AlertServiceImpl::Shelve(grpc::CallbackServerContext* ctx, const v1::ShelveRequest* req,
                                                   v1::Alert* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = AuthorizeOnAlert(*ctx, "Shelve", "alert.shelve", req->alert_id(), &req->recipient()); !c.ok()) {
      return c.status();
    }
    if (req->reason().size() > 2000) return absl::InvalidArgumentError("reason: longer than 2000 characters");
    if (!req->has_duration()) return absl::InvalidArgumentError("duration: required");
    if (req->duration().seconds() > std::numeric_limits<int64_t>::max() / 1'000'000 / 2) {
      return absl::InvalidArgumentError("duration: out of range");
    }
    const int64_t duration_us = req->duration().seconds() * 1'000'000 + req->duration().nanos() / 1000;
    absl::Status result;
    auto s = pool_.WithTransaction("shelve alert", [&](pqxx::work& tx) {
      result = store_.ShelveInTx(tx, req->alert_id(), req->recipient(), duration_us, req->reason());
      if (result.ok()) *resp = LoadAlerts(tx, {req->alert_id()}).at(0);
    });
    return s.ok() ? result : s;
  });
}

grpc::ServerUnaryReactor* AlertServiceImpl::GetAlert(grpc::CallbackServerContext* ctx, const v1::GetAlertRequest* req,
                                                     v1::Alert* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = AuthorizeOnAlert(*ctx, "GetAlert", "alert.get", req->alert_id(), nullptr); !c.ok()) {
      return c.status();
    }
    return pool_.WithTransaction("get alert", [&](pqxx::work& tx) {
      auto found = LoadAlerts(tx, {req->alert_id()});
      if (found.empty()) return;  // AuthorizeOnAlert found it; alerts are never deleted
      *resp = std::move(found[0]);
      for (auto& e : LoadAlertEvents(tx, req->alert_id())) *resp->add_events() = std::move(e);
    });
  });
}

grpc::ServerUnaryReactor* AlertServiceImpl::ListAlerts(grpc::CallbackServerContext* ctx,
                                                       const v1::ListAlertsRequest* req, v1::ListAlertsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    AlertFilter f;
    if (!req->patient_id().empty()) f.patient_ids.push_back(req->patient_id());
    f.patient_ids.insert(f.patient_ids.end(), req->patient_ids().begin(), req->patient_ids().end());
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "ListAlerts", access_, "alerts.list", f.patient_ids);
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckPatientIds(f.patient_ids, "patient_ids"); !s.ok()) return s;
    if (req->page_size() > 1000) return absl::InvalidArgumentError("page_size: at most 1000");
    if (!v1::AlertState_IsValid(req->state())) return absl::InvalidArgumentError("state: unknown value");
    if (!v1::Priority_IsValid(req->priority())) return absl::InvalidArgumentError("priority: unknown value");
    absl::StatusOr<int64_t> since = req->has_since() ? common::ToUnixMicros(req->since(), "since") : 0;
    if (!since.ok()) return since.status();
    f.since_us = *since;
    f.state = req->state();
    f.priority = req->priority();
    f.rule_id = req->rule_id();
    f.page_size = req->page_size() == 0 ? 100 : req->page_size();
    f.page_token = req->page_token();
    absl::Status result;
    auto s = pool_.WithTransaction("list alerts", [&](pqxx::work& tx) {
      auto page = ListAlertsPage(tx, f);
      result = page.status();
      if (page.ok()) *resp = std::move(*page);
    });
    return s.ok() ? result : s;
  });
}

}  // namespace healthtwin::alerts
