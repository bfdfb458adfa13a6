// Hospital feeds as configuration (issue 12, item 1): the registry's feed RPCs through the real
// registry over mutual TLS on a real PostgreSQL (test_env.h), and `healthtwin admin feed ...`
// against it. The outbox rows the status is computed from are inserted here, as the feed
// service will write them (migration 0013).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "services/common/time_util.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

namespace registry_v1 = healthtwin::registry::v1;
using Code = grpc::StatusCode;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

registry_v1::Feed MllpFeed(const std::string& name) {
  registry_v1::Feed f;
  f.set_name(name);
  f.set_kind(registry_v1::FEED_KIND_HL7V2_MLLP);
  f.set_target("127.0.0.1:2575");
  f.add_content(registry_v1::FEED_CONTENT_ALERTS);
  return f;
}

class FeedsAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(SliceEnvironment::cluster(), nullptr) << "the shared PostgreSQL cluster did not start";
    auto slice = Slice::Start(TestDatabaseName("feeds"));
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
  }

  const std::string& db() const { return slice_->conninfo(); }
  void Sql(const std::string& sql) { (void)QueryInt(db(), sql); }

  std::unique_ptr<registry_v1::RegistryService::Stub> Registry(const std::string& identity = "cli-admin") {
    return registry_v1::RegistryService::NewStub(Slice::Channel(slice_->data_address(), identity, "ingest"));
  }

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (registry_v1::RegistryService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp, const std::string& identity = "cli-admin") {
    auto stub = Registry(identity);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    return (stub.get()->*method)(&ctx, req, resp);
  }

  grpc::Status Add(const registry_v1::Feed& feed, registry_v1::Feed* out = nullptr,
                   const std::string& identity = "cli-admin") {
    registry_v1::AddFeedRequest req;
    *req.mutable_feed() = feed;
    registry_v1::Feed resp;
    return Call(&registry_v1::RegistryService::Stub::AddFeed, req, out ? out : &resp, identity);
  }

  int64_t FeedId(const std::string& name) {
    return QueryInt(db(), "SELECT feed_id FROM feeds WHERE name = '" + name + "'");
  }

  // One outbox row, as the feed service writes it; `extra` sets more columns ("state = ...").
  int64_t Outbox(int64_t feed, const std::string& message_id, const std::string& source_at,
                 const std::string& set = "") {
    const int64_t id = QueryInt(db(),
                                "INSERT INTO feed_outbox (feed_id, patient_id, source_kind, source_first_seq,"
                                " source_last_seq, source_at, message_id, payload) VALUES (" +
                                    std::to_string(feed) + ", 'pat-1', 'alert_event', 1, 1, " + source_at + ", '" +
                                    message_id + "', 'MSH|...') RETURNING id");
    if (!set.empty()) Sql("UPDATE feed_outbox SET " + set + " WHERE id = " + std::to_string(id) + " RETURNING 0");
    return id;
  }

  std::unique_ptr<Slice> slice_;
};

TEST_F(FeedsAdminTest, AdminAddsListsPausesAndResumesAFeed) {
  registry_v1::Feed feed = MllpFeed("ward7");
  feed.add_content(registry_v1::FEED_CONTENT_VITALS);
  feed.mutable_tls()->set_enabled(true);
  const std::string ca = ReadFile(SliceEnvironment::Tls("ingest").ca_cert_path);
  ASSERT_THAT(ca, HasSubstr("BEGIN CERTIFICATE"));
  feed.mutable_tls()->set_ca_pem(ca);
  feed.mutable_tls()->set_client_certificate(true);
  feed.set_min_priority(alerts::v1::PRIORITY_MEDIUM);
  feed.add_patient_ids("pat-1");
  feed.add_patient_ids("pat-2");
  feed.set_sending_facility("HOME");
  feed.set_receiving_application("EPIC");
  feed.set_receiving_facility("WARD7");
  registry_v1::Feed added;
  ASSERT_TRUE(Add(feed, &added).ok());
  EXPECT_EQ(added.state(), registry_v1::FEED_STATE_ENABLED);
  EXPECT_EQ(added.created_by(), "cli-admin");
  EXPECT_EQ(added.sending_application(), "HEALTHTWIN");  // the default MSH-3
  EXPECT_EQ(added.tls().ca_pem(), ca);
  EXPECT_THAT(added.patient_ids(), ::testing::ElementsAre("pat-1", "pat-2"));
  EXPECT_EQ(added.content_size(), 2);

  ASSERT_TRUE(Add(MllpFeed("alpha")).ok());
  registry_v1::ListFeedsResponse list;
  ASSERT_TRUE(Call(&registry_v1::RegistryService::Stub::ListFeeds, registry_v1::ListFeedsRequest{}, &list).ok());
  ASSERT_EQ(list.feeds_size(), 2);
  EXPECT_EQ(list.feeds(0).name(), "alpha");
  EXPECT_EQ(list.feeds(1).name(), "ward7");
  EXPECT_EQ(list.feeds(1).min_priority(), alerts::v1::PRIORITY_MEDIUM);
  EXPECT_EQ(list.feeds(1).receiving_facility(), "WARD7");
  EXPECT_TRUE(list.feeds(1).tls().client_certificate());

  registry_v1::PauseFeedRequest pause;
  pause.set_name("ward7");
  registry_v1::Feed paused;
  ASSERT_TRUE(Call(&registry_v1::RegistryService::Stub::PauseFeed, pause, &paused).ok());
  EXPECT_EQ(paused.state(), registry_v1::FEED_STATE_PAUSED);
  EXPECT_EQ(QueryText(db(), "SELECT state FROM feeds WHERE name = 'ward7'"), "paused");
  EXPECT_EQ(QueryText(db(), "SELECT state FROM feeds WHERE name = 'alpha'"), "enabled");
  registry_v1::ResumeFeedRequest resume;
  resume.set_name("ward7");
  registry_v1::Feed resumed;
  ASSERT_TRUE(Call(&registry_v1::RegistryService::Stub::ResumeFeed, resume, &resumed).ok());
  EXPECT_EQ(resumed.state(), registry_v1::FEED_STATE_ENABLED);
  EXPECT_EQ(QueryText(db(), "SELECT state FROM feeds WHERE name = 'ward7'"), "enabled");

  for (const char* action : {"registry.add_feed", "registry.pause_feed", "registry.resume_feed"}) {
    EXPECT_EQ(QueryInt(db(), std::string("SELECT count(*) FROM audit_log WHERE actor = 'cli-admin' AND action = '") +
                                 action + "' AND outcome = 'allowed' AND detail = 'feed ward7'"),
              1)
        << action;
  }
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE action = 'registry.list_feeds' AND outcome = "
                     "'allowed'"),
            1);
}

TEST_F(FeedsAdminTest, EachInvalidFieldIsRefusedByName) {
  struct Case {
    std::string field;
    std::function<void(registry_v1::Feed&)> change;
  };
  const std::vector<Case> cases = {
      {"feed.name", [](auto& f) { f.set_name("Ward 7"); }},
      {"feed.kind", [](auto& f) { f.set_kind(registry_v1::FEED_KIND_UNSPECIFIED); }},
      {"feed.kind", [](auto& f) { f.set_kind(static_cast<registry_v1::FeedKind>(9)); }},
      {"feed.target", [](auto& f) { f.set_target("engine"); }},
      {"feed.target", [](auto& f) { f.set_target("engine:0"); }},
      {"feed.target", [](auto& f) { f.set_target("engine:65536"); }},
      {"feed.target",
       [](auto& f) {
         f.set_kind(registry_v1::FEED_KIND_FHIR_REST_HOOK);
         f.mutable_tls()->set_enabled(true);
         f.set_target("http://fhir.example/r4");
       }},
      {"feed.tls.ca_pem",
       [](auto& f) {
         f.mutable_tls()->set_enabled(true);
         f.mutable_tls()->set_ca_pem("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
       }},
      {"feed.tls.enabled", [](auto& f) { f.mutable_tls()->set_client_certificate(true); }},
      {"feed.content", [](auto& f) { f.clear_content(); }},
      {"feed.content", [](auto& f) { f.add_content(registry_v1::FEED_CONTENT_UNSPECIFIED); }},
      {"feed.content", [](auto& f) { f.add_content(registry_v1::FEED_CONTENT_ALERTS); }},
      {"feed.min_priority", [](auto& f) { f.set_min_priority(static_cast<alerts::v1::Priority>(7)); }},
      {"feed.patient_ids", [](auto& f) { f.add_patient_ids("pat 1"); }},
      {"feed.care_team_of", [](auto& f) { f.set_care_team_of("dr alice"); }},
      {"feed.sending_facility", [](auto& f) { f.set_sending_facility("A^B"); }},
  };
  for (const Case& c : cases) {
    registry_v1::Feed feed = MllpFeed("ward7");
    c.change(feed);
    const grpc::Status s = Add(feed);
    EXPECT_EQ(s.error_code(), Code::INVALID_ARGUMENT) << c.field << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), StartsWith(c.field + ": ")) << c.field;
  }
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM feeds"), 0);

  ASSERT_TRUE(Add(MllpFeed("ward7")).ok());
  const grpc::Status dup = Add(MllpFeed("ward7"));
  EXPECT_EQ(dup.error_code(), Code::ALREADY_EXISTS);
  EXPECT_THAT(dup.error_message(), HasSubstr("feed.name"));

  registry_v1::PauseFeedRequest pause;
  pause.set_name("nowhere");
  registry_v1::Feed out;
  EXPECT_EQ(Call(&registry_v1::RegistryService::Stub::PauseFeed, pause, &out).error_code(), Code::NOT_FOUND);
  registry_v1::ResumeFeedRequest resume;
  resume.set_name("nowhere");
  EXPECT_EQ(Call(&registry_v1::RegistryService::Stub::ResumeFeed, resume, &out).error_code(), Code::NOT_FOUND);
  registry_v1::GetFeedStatusRequest status;
  status.set_name("nowhere");
  registry_v1::GetFeedStatusResponse status_out;
  EXPECT_EQ(Call(&registry_v1::RegistryService::Stub::GetFeedStatus, status, &status_out).error_code(),
            Code::NOT_FOUND);
  registry_v1::ReplayFeedRequest replay;
  replay.set_name("nowhere");
  *replay.mutable_since() = common::FromUnixMicros(common::NowUnixMicros() - 3'600'000'000);
  registry_v1::ReplayFeedResponse replay_out;
  EXPECT_EQ(Call(&registry_v1::RegistryService::Stub::ReplayFeed, replay, &replay_out).error_code(), Code::NOT_FOUND);
  replay.set_name("ward7");
  replay.clear_since();
  const grpc::Status no_since = Call(&registry_v1::RegistryService::Stub::ReplayFeed, replay, &replay_out);
  EXPECT_EQ(no_since.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_THAT(no_since.error_message(), StartsWith("since: "));
  *replay.mutable_since() = common::FromUnixMicros(common::NowUnixMicros() + 3'600'000'000);
  EXPECT_THAT(Call(&registry_v1::RegistryService::Stub::ReplayFeed, replay, &replay_out).error_message(),
              StartsWith("since: "));
}

TEST_F(FeedsAdminTest, EveryoneButTheAdminIsRefusedAndAudited) {
  ASSERT_TRUE(Add(MllpFeed("ward7")).ok());
  registry_v1::ReplayFeedRequest replay;
  replay.set_name("ward7");
  *replay.mutable_since() = common::FromUnixMicros(common::NowUnixMicros() - 3'600'000'000);
  registry_v1::PauseFeedRequest pause;
  pause.set_name("ward7");
  registry_v1::ResumeFeedRequest resume;
  resume.set_name("ward7");
  registry_v1::AddFeedRequest add;
  *add.mutable_feed() = MllpFeed("rogue");
  registry_v1::Feed feed_out;
  registry_v1::ListFeedsResponse list_out;
  registry_v1::GetFeedStatusResponse status_out;
  registry_v1::ReplayFeedResponse replay_out;
  using Stub = registry_v1::RegistryService::Stub;
  const std::vector<std::pair<std::string, std::function<grpc::Status(const std::string&)>>> calls = {
      {"registry.add_feed", [&](const std::string& who) { return Call(&Stub::AddFeed, add, &feed_out, who); }},
      {"registry.list_feeds",
       [&](const std::string& who) { return Call(&Stub::ListFeeds, registry_v1::ListFeedsRequest{}, &list_out, who); }},
      {"registry.get_feed_status",
       [&](const std::string& who) {
         return Call(&Stub::GetFeedStatus, registry_v1::GetFeedStatusRequest{}, &status_out, who);
       }},
      {"registry.pause_feed", [&](const std::string& who) { return Call(&Stub::PauseFeed, pause, &feed_out, who); }},
      {"registry.resume_feed", [&](const std::string& who) { return Call(&Stub::ResumeFeed, resume, &feed_out, who); }},
      {"registry.replay_feed",
       [&](const std::string& who) { return Call(&Stub::ReplayFeed, replay, &replay_out, who); }},
  };
  for (const char* who : {"dr-alice", "nurse-nora", "researcher-rita", "bridge-001"}) {
    for (const auto& [action, call] : calls) {
      SCOPED_TRACE(std::string(who) + " " + action);
      const int64_t before = QueryInt(db(), std::string("SELECT count(*) FROM audit_log WHERE actor = '") + who +
                                                "' AND action = '" + action + "' AND outcome = 'denied'");
      EXPECT_EQ(call(who).error_code(), Code::PERMISSION_DENIED);
      EXPECT_EQ(QueryInt(db(), std::string("SELECT count(*) FROM audit_log WHERE actor = '") + who +
                                   "' AND action = '" + action + "' AND outcome = 'denied'"),
                before + 1);
    }
  }
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM feeds"), 1) << "no one but the admin added a feed";
  EXPECT_EQ(QueryText(db(), "SELECT state FROM feeds"), "enabled") << "no one but the admin paused it";
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM feed_replays"), 0);
}

TEST_F(FeedsAdminTest, StatusIsComputedFromTheOutbox) {
  ASSERT_TRUE(Add(MllpFeed("ward7")).ok());
  ASSERT_TRUE(Add(MllpFeed("quiet")).ok());
  const int64_t feed = FeedId("ward7");
  // Pending: one never tried, one tried twice (1 retry), one tried 4 times (3 retries), the
  // oldest written 10 minutes ago.
  Outbox(feed, "ht-1-a1", "now()", "created_at = now() - interval '10 minutes'");
  Outbox(feed, "ht-1-a2", "now()", "attempts = 2");
  Outbox(feed, "ht-1-a3", "now()", "attempts = 4, created_at = now() - interval '5 minutes'");
  // Delivered: the newer acknowledgement is the last one, whatever the row order.
  Outbox(feed, "ht-1-a4", "now()", "state = 'delivered', attempts = 1, delivered_at = now() - interval '1 minute'");
  Outbox(feed, "ht-1-a5", "now()", "state = 'delivered', attempts = 1, delivered_at = now() - interval '3 minutes'");
  Outbox(feed, "ht-1-a6", "now()", "state = 'dead', attempts = 1, last_error = 'AR'");

  registry_v1::GetFeedStatusResponse all;
  ASSERT_TRUE(Call(&registry_v1::RegistryService::Stub::GetFeedStatus, registry_v1::GetFeedStatusRequest{}, &all).ok());
  ASSERT_EQ(all.feeds_size(), 2);
  const auto& quiet = all.feeds(0);
  EXPECT_EQ(quiet.name(), "quiet");
  EXPECT_EQ(quiet.pending_count(), 0u);
  EXPECT_EQ(quiet.oldest_pending_age_s(), 0);
  EXPECT_EQ(quiet.last_acked_message_id(), "");
  EXPECT_FALSE(quiet.has_last_acked_at());
  const auto& st = all.feeds(1);
  EXPECT_EQ(st.name(), "ward7");
  EXPECT_EQ(st.state(), registry_v1::FEED_STATE_ENABLED);
  EXPECT_EQ(st.pending_count(), 3u);
  EXPECT_GE(st.oldest_pending_age_s(), 600);
  EXPECT_LT(st.oldest_pending_age_s(), 660);
  EXPECT_EQ(st.retries(), 4u);
  EXPECT_EQ(st.dead_count(), 1u);
  EXPECT_EQ(st.delivered_count(), 2u);
  EXPECT_EQ(st.last_acked_message_id(), "ht-1-a4");
  const int64_t acked_ago_us = common::NowUnixMicros() - *common::ToUnixMicros(st.last_acked_at(), "last_acked_at");
  EXPECT_GE(acked_ago_us, 60'000'000);
  EXPECT_LT(acked_ago_us, 120'000'000);

  registry_v1::GetFeedStatusRequest one;
  one.set_name("ward7");
  registry_v1::GetFeedStatusResponse only;
  ASSERT_TRUE(Call(&registry_v1::RegistryService::Stub::GetFeedStatus, one, &only).ok());
  ASSERT_EQ(only.feeds_size(), 1);
  EXPECT_EQ(only.feeds(0).pending_count(), 3u);
}

// The admins' technical alerts of a feed (migration 0015, raised by the alerts service): the
// open ones, under their feed, oldest first; resolved ones and other feeds' are not shown.
TEST_F(FeedsAdminTest, StatusShowsTheFeedsOpenTechnicalAlerts) {
  ASSERT_TRUE(Add(MllpFeed("ward7")).ok());
  ASSERT_TRUE(Add(MllpFeed("quiet")).ok());
  const std::string ward7 = std::to_string(FeedId("ward7"));
  const std::string quiet = std::to_string(FeedId("quiet"));
  Sql("INSERT INTO feed_alerts (feed_id, kind, priority, summary, raised_at, last_event_at, event_count,"
      " last_message_id, resolved_at) VALUES"
      " (" +
      ward7 +
      ", 'feed_retrying', 2, 'not acknowledged', now() - interval '1 hour', now(), 1, 'ht-1-a1', now()),"
      " (" +
      ward7 +
      ", 'feed_dead_letter', 2, 'rejected', now() - interval '2 minutes', now(), 3, 'ht-1-a9', NULL),"
      " (" +
      ward7 +
      ", 'feed_retrying', 2, 'not acknowledged', now() - interval '1 minute', now(), 2, 'ht-1-a8', NULL),"
      " (" +
      quiet + ", 'feed_retrying', 2, 'resolved', now(), now(), 1, 'ht-2-a1', now())");
  registry_v1::GetFeedStatusResponse all;
  ASSERT_TRUE(Call(&registry_v1::RegistryService::Stub::GetFeedStatus, registry_v1::GetFeedStatusRequest{}, &all).ok());
  ASSERT_EQ(all.feeds_size(), 2);
  EXPECT_EQ(all.feeds(0).open_alerts_size(), 0);
  const auto& st = all.feeds(1);
  ASSERT_EQ(st.open_alerts_size(), 2);
  EXPECT_EQ(st.open_alerts(0).kind(), "feed_dead_letter");
  EXPECT_EQ(st.open_alerts(0).priority(), 2);
  EXPECT_EQ(st.open_alerts(0).summary(), "rejected");
  EXPECT_EQ(st.open_alerts(0).event_count(), 3u);
  EXPECT_EQ(st.open_alerts(0).last_message_id(), "ht-1-a9");
  EXPECT_TRUE(st.open_alerts(0).has_raised_at());
  EXPECT_EQ(st.open_alerts(1).kind(), "feed_retrying");
  EXPECT_EQ(st.open_alerts(1).last_message_id(), "ht-1-a8");
}

TEST_F(FeedsAdminTest, ReplayRequeuesSentMessagesSinceTWithTheirOriginalIds) {
  ASSERT_TRUE(Add(MllpFeed("ward7")).ok());
  ASSERT_TRUE(Add(MllpFeed("other")).ok());
  const int64_t feed = FeedId("ward7");
  const std::string delivered = "state = 'delivered', attempts = 1, delivered_at = now(), ack = 'MSA|AA'";
  const int64_t old_row = Outbox(feed, "ht-1-a1", "now() - interval '3 hours'", delivered);
  const int64_t recent = Outbox(feed, "ht-1-a2", "now() - interval '1 hour'", delivered);
  const int64_t dead = Outbox(feed, "ht-1-a3", "now() - interval '30 minutes'", "state = 'dead', attempts = 1");
  const int64_t pending = Outbox(feed, "ht-1-a4", "now() - interval '10 minutes'", "attempts = 3");
  const int64_t elsewhere = Outbox(FeedId("other"), "ht-2-a2", "now() - interval '1 hour'", delivered);

  registry_v1::ReplayFeedRequest req;
  req.set_name("ward7");
  *req.mutable_since() = common::FromUnixMicros(common::NowUnixMicros() - 2 * 3'600'000'000LL);
  registry_v1::ReplayFeedResponse resp;
  ASSERT_TRUE(Call(&registry_v1::RegistryService::Stub::ReplayFeed, req, &resp).ok());
  EXPECT_EQ(resp.requeued_count(), 2u);

  auto row = [&](int64_t id) {
    return QueryText(db(),
                     "SELECT message_id || ' ' || state || ' ' || attempts || ' ' || (delivered_at IS NULL)"
                     " || ' ' || coalesce(ack, '-') FROM feed_outbox WHERE id = " +
                         std::to_string(id));
  };
  EXPECT_EQ(row(old_row), "ht-1-a1 delivered 1 false MSA|AA") << "before T: untouched";
  EXPECT_EQ(row(recent), "ht-1-a2 pending 0 true -") << "same row, same message id, to be sent again";
  EXPECT_EQ(row(dead), "ht-1-a3 pending 0 true -");
  EXPECT_EQ(row(pending), "ht-1-a4 pending 3 true -") << "already pending: its attempts stand";
  EXPECT_EQ(row(elsewhere), "ht-2-a2 delivered 1 false MSA|AA") << "another feed";
  EXPECT_EQ(QueryText(db(), "SELECT requested_by || ' ' || requeued FROM feed_replays"), "cli-admin 2");
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE action = 'registry.replay_feed'"
                     " AND outcome = 'allowed' AND detail LIKE 'feed ward7 since %'"),
            1);
}

// ----------------------------------------------------------------------------- the CLI

// Runs the real `healthtwin` binary against this slice's registry as `identity`.
CliResult RunCli(const Slice& slice, const std::string& identity, std::vector<std::string> args) {
  args.insert(args.begin(), {"--registry", slice.data_address()});
  return RunHealthtwin(HT_HEALTHTWIN_BIN, identity, args);
}

TEST_F(FeedsAdminTest, CliManagesFeeds) {
  const std::string ca_file = SliceEnvironment::Tls("ingest").ca_cert_path;
  CliResult add = RunCli(*slice_, "cli-admin",
                         {"admin",
                          "feed",
                          "add",
                          "--name",
                          "ward7",
                          "--kind",
                          "hl7v2-mllp",
                          "--target",
                          "127.0.0.1:2575",
                          "--tls-ca",
                          ca_file,
                          "--client-cert",
                          "--content",
                          "alerts,vitals",
                          "--min-priority",
                          "high",
                          "--patients",
                          "pat-1,pat-2",
                          "--sending-facility",
                          "HOME",
                          "--receiving-app",
                          "EPIC",
                          "--receiving-facility",
                          "WARD7"});
  ASSERT_EQ(add.code, 0) << add.err;
  EXPECT_THAT(add.out, HasSubstr("added feed ward7  hl7v2-mllp  127.0.0.1:2575  enabled  alerts,vitals"));
  EXPECT_EQ(QueryText(db(), "SELECT tls_ca_pem FROM feeds WHERE name = 'ward7'"), ReadFile(ca_file))
      << "the CA's text is stored, not its path";
  EXPECT_EQ(QueryText(db(),
                      "SELECT array_to_string(patients, ',') || ' ' || min_priority || ' ' || tls ||"
                      " ' ' || tls_client_cert || ' ' || receiving_application FROM feeds"),
            "pat-1,pat-2 3 true true EPIC");

  CliResult fhir = RunCli(*slice_, "cli-admin",
                          {"admin", "feed", "add", "--name", "hub", "--kind", "fhir-rest-hook", "--target",
                           "https://fhir.example/r4", "--content", "vitals", "--care-team-of", "dr-alice"});
  ASSERT_EQ(fhir.code, 0) << fhir.err;
  CliResult list = RunCli(*slice_, "cli-admin", {"admin", "feed", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("hub  fhir-rest-hook  https://fhir.example/r4  enabled  vitals  tls"));
  EXPECT_THAT(list.out, HasSubstr("ward7  hl7v2-mllp"));
  CliResult list_json = RunCli(*slice_, "cli-admin", {"admin", "feed", "list", "--json"});
  ASSERT_EQ(list_json.code, 0) << list_json.err;
  EXPECT_THAT(list_json.out, HasSubstr("\"has_ca\":true"));

  Outbox(FeedId("ward7"), "ht-1-a1", "now()", "attempts = 3");
  Outbox(FeedId("ward7"), "ht-1-a2", "now() - interval '1 hour'",
         "state = 'delivered', attempts = 1, delivered_at = now()");
  CliResult status = RunCli(*slice_, "cli-admin", {"admin", "feed", "status", "--name", "ward7"});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("ward7 (enabled): 1 pending, oldest "));
  EXPECT_THAT(status.out, HasSubstr("2 retries, 0 dead, 1 delivered; last acknowledged: ht-1-a2 at "));

  CliResult pause = RunCli(*slice_, "cli-admin", {"admin", "feed", "pause", "--name", "ward7"});
  ASSERT_EQ(pause.code, 0) << pause.err;
  EXPECT_EQ(pause.out, "feed ward7 paused\n");
  CliResult resume = RunCli(*slice_, "cli-admin", {"admin", "feed", "resume", "--name", "ward7"});
  ASSERT_EQ(resume.code, 0) << resume.err;
  EXPECT_EQ(resume.out, "feed ward7 enabled\n");
  CliResult replay = RunCli(*slice_, "cli-admin", {"admin", "feed", "replay", "--name", "ward7", "--since", "2h"});
  ASSERT_EQ(replay.code, 0) << replay.err;
  EXPECT_THAT(replay.out, HasSubstr("feed ward7: 1 messages since "));
  EXPECT_EQ(QueryText(db(), "SELECT state FROM feed_outbox WHERE message_id = 'ht-1-a2'"), "pending");

  CliResult dup = RunCli(*slice_, "cli-admin",
                         {"admin", "feed", "add", "--name", "ward7", "--kind", "hl7v2-mllp", "--target",
                          "127.0.0.1:2575", "--content", "alerts"});
  EXPECT_EQ(dup.code, 1);
  EXPECT_THAT(dup.err, HasSubstr("already exists"));
  CliResult unknown = RunCli(*slice_, "cli-admin", {"admin", "feed", "pause", "--name", "nowhere"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("no feed named 'nowhere'"));
  CliResult refused = RunCli(*slice_, "dr-alice", {"admin", "feed", "list"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("PERMISSION_DENIED"));
}

}  // namespace
}  // namespace healthtwin::testing
