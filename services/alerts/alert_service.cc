#include "services/alerts/alert_service.h"

#include <chrono>
#include <deque>

#include "services/alerts/evaluator.h"
#include "services/common/grpc_util.h"
#include "services/common/ids.h"
#include "services/common/logging.h"
#include "services/common/pg_listener.h"
#include "services/common/time_util.h"

namespace healthtwin::alerts {

namespace {
constexpr std::size_t kMaxQueuedEvents = 1000;
constexpr std::initializer_list<common::Role> kCallers = {common::Role::kService, common::Role::kAdmin};

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string s;
  for (const auto& id : ids) {
    if (!s.empty()) s += ",";
    s += id;
  }
  return s;
}

using common::IsUuid;
}  // namespace

std::vector<v1::Alert> LoadAlerts(pqxx::work& tx, const std::vector<std::string>& ids) {
  std::vector<v1::Alert> out;
  if (ids.empty()) return out;
  auto rows = tx.exec_params(
      "SELECT alert_id::text, patient_id, rule_id, priority, state, summary,"
      " (extract(epoch FROM condition_started_at) * 1000000)::bigint,"
      " (extract(epoch FROM raised_at) * 1000000)::bigint, peak_value, ucum_unit, duration_s"
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
  return out;
}

// One live subscription. Writes one event at a time from a bounded queue; a consumer that
// falls kMaxQueuedEvents behind is ended with RESOURCE_EXHAUSTED rather than buffered forever.
class Subscription final : public grpc::ServerWriteReactor<v1::AlertEvent> {
 public:
  Subscription(AlertHub& hub, const v1::SubscribeRequest& req) : hub_(hub) {
    patients_.insert(req.patient_ids().begin(), req.patient_ids().end());
    min_priority_ = req.min_priority();
  }

  // Starts the subscription: registers with the hub, then replays history up to that point.
  void Begin(common::PgPool& pool, common::Executor& executor, std::optional<int64_t> since_us) {
    {
      std::lock_guard lock(mu_);
      replaying_ = since_us.has_value();
    }
    const int64_t upto = hub_.Add(this);
    if (!since_us) return;
    refs_.fetch_add(1);  // the replay task keeps this alive even if the call ends first
    executor.Submit([this, &pool, upto, since = *since_us] {
      ReplayHistory(pool, upto, since);
      Release();
    });
  }

  void ReplayHistory(common::PgPool& pool, int64_t upto, int64_t since) {
    std::vector<v1::AlertEvent> history;
    auto s = pool.WithTransaction("replay alerts", [&](pqxx::work& tx) {
      auto rows = tx.exec_params(
          "SELECT e.kind, e.alert_id::text FROM alert_events e JOIN alerts a USING (alert_id)"
          " WHERE e.event_seq <= $1 AND a.raised_at >= timestamptz 'epoch' + $2::bigint * interval '1 microsecond'"
          " ORDER BY e.event_seq LIMIT 10000",
          upto, since);
      std::vector<std::string> ids;
      for (const auto& r : rows) ids.push_back(r[1].as<std::string>());
      std::map<std::string, v1::Alert> alerts;
      for (auto& a : LoadAlerts(tx, ids)) alerts[a.alert_id()] = std::move(a);
      for (const auto& r : rows) {
        const auto& alert = alerts.at(r[1].as<std::string>());
        if (!Matches(alert)) continue;
        v1::AlertEvent ev;
        ev.set_kind(static_cast<v1::AlertEvent::Kind>(r[0].as<int>()));
        *ev.mutable_alert() = alert;
        history.push_back(std::move(ev));
      }
    });
    std::lock_guard lock(mu_);
    if (!s.ok()) {
      FinishLocked(common::ToGrpcStatus(s));
      return;
    }
    replaying_ = false;
    for (auto& ev : history) EnqueueLocked(std::move(ev));
    for (auto& ev : pending_) EnqueueLocked(std::move(ev));
    pending_.clear();
  }

  // Called by the hub thread for every new event.
  void Push(const v1::AlertEvent& ev) {
    if (!Matches(ev.alert())) return;
    std::lock_guard lock(mu_);
    if (replaying_) {
      pending_.push_back(ev);
    } else {
      EnqueueLocked(ev);
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
  }

  void OnCancel() override { End(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

  void OnDone() override {
    hub_.Remove(this);
    Release();
  }

 private:
  bool Matches(const v1::Alert& a) const {
    return (patients_.empty() || patients_.contains(a.patient_id())) && a.priority() >= min_priority_;
  }

  void Release() {
    if (refs_.fetch_sub(1) == 1) delete this;
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
  int min_priority_ = 0;
  std::mutex mu_;
  std::deque<v1::AlertEvent> queue_;
  std::vector<v1::AlertEvent> pending_;
  bool replaying_ = false;
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
    auto rows = tx.exec_params(
        "SELECT event_seq, kind, alert_id::text FROM alert_events WHERE event_seq > $1 ORDER BY event_seq LIMIT 1000",
        from);
    std::vector<std::string> ids;
    for (const auto& r : rows) ids.push_back(r[2].as<std::string>());
    std::map<std::string, v1::Alert> alerts;
    for (auto& a : LoadAlerts(tx, ids)) alerts[a.alert_id()] = std::move(a);
    for (const auto& r : rows) {
      v1::AlertEvent ev;
      ev.set_kind(static_cast<v1::AlertEvent::Kind>(r[1].as<int>()));
      *ev.mutable_alert() = alerts.at(r[2].as<std::string>());
      events.emplace_back(r[0].as<int64_t>(), std::move(ev));
    }
  });
  if (!s.ok()) return s;
  std::lock_guard lock(mu_);
  if (last_seq_ < 0) last_seq_ = from;
  for (const auto& [seq, ev] : events) {
    for (auto* sub : subs_) sub->Push(ev);
    last_seq_ = seq;
  }
  return absl::OkStatus();
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

grpc::ServerWriteReactor<v1::AlertEvent>* AlertServiceImpl::Subscribe(grpc::CallbackServerContext* ctx,
                                                                      const v1::SubscribeRequest* req) {
  auto* sub = new Subscription(hub_, *req);
  auto peer = common::RequireRole(*ctx, kCallers);
  if (!peer.ok()) {
    sub->End(common::ToGrpcStatus(peer.status()));
    return sub;
  }
  if (!v1::Priority_IsValid(req->min_priority())) {
    sub->End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "min_priority: unknown value"));
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
  sub->Begin(pool_, executor_, since);
  return sub;
}

grpc::ServerUnaryReactor* AlertServiceImpl::Acknowledge(grpc::CallbackServerContext* ctx,
                                                        const v1::AcknowledgeRequest* req, v1::Alert* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto peer = common::RequireRole(*ctx, kCallers); !peer.ok()) return peer.status();
    if (!IsUuid(req->alert_id())) return absl::InvalidArgumentError("alert_id: not a UUID");
    if (req->recipient().empty()) return absl::InvalidArgumentError("recipient: required");
    if (req->note().size() > 2000) return absl::InvalidArgumentError("note: longer than 2000 characters");
    bool found = false;
    auto s = pool_.WithTransaction("acknowledge alert", [&](pqxx::work& tx) {
      auto r = tx.exec_params(
          "UPDATE alerts SET state = CASE WHEN state IN (1, 3) THEN 2 ELSE state END, updated_at = now()"
          " WHERE alert_id = $1::uuid RETURNING alert_id",
          req->alert_id());
      if (!(found = !r.empty())) return;
      auto ins = tx.exec_params(
          "INSERT INTO alert_acknowledgements (alert_id, recipient, note) VALUES ($1::uuid, $2, $3)"
          " ON CONFLICT DO NOTHING",
          req->alert_id(), req->recipient(), req->note());
      if (ins.affected_rows() == 1) {
        LockAlertEvents(tx);
        tx.exec_params("INSERT INTO alert_events (alert_id, kind) VALUES ($1::uuid, 2)", req->alert_id());
        tx.exec("SELECT pg_notify('alerts_new', '')");
      }
      *resp = LoadAlerts(tx, {req->alert_id()}).at(0);
    });
    if (s.ok() && !found) return absl::NotFoundError("alert " + req->alert_id() + " does not exist");
    return s;
  });
}

grpc::ServerUnaryReactor* AlertServiceImpl::ListAlerts(grpc::CallbackServerContext* ctx,
                                                       const v1::ListAlertsRequest* req, v1::ListAlertsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto peer = common::RequireRole(*ctx, kCallers); !peer.ok()) return peer.status();
    if (req->patient_id().empty()) return absl::InvalidArgumentError("patient_id: required");
    if (req->page_size() > 1000) return absl::InvalidArgumentError("page_size: at most 1000");
    absl::StatusOr<int64_t> since = req->has_since() ? common::ToUnixMicros(req->since(), "since") : 0;
    if (!since.ok()) return since.status();
    const int64_t limit = req->page_size() == 0 ? 100 : req->page_size();
    return pool_.WithTransaction("list alerts", [&](pqxx::work& tx) {
      auto rows = tx.exec_params(
          "SELECT alert_id::text FROM alerts WHERE patient_id = $1"
          " AND raised_at >= timestamptz 'epoch' + $2::bigint * interval '1 microsecond'"
          " ORDER BY raised_at DESC LIMIT $3",
          req->patient_id(), *since, limit);
      std::vector<std::string> ids;
      for (const auto& r : rows) ids.push_back(r[0].as<std::string>());
      for (auto& a : LoadAlerts(tx, ids)) *resp->add_alerts() = std::move(a);
    });
  });
}

}  // namespace healthtwin::alerts
