// The hospital-feed RPCs of RegistryService (issue 12): the gRPC edge over FeedConfig
// (validation) and FeedStore (PostgreSQL). Admin only, every call audited as "registry.<rpc>"
// with the feed's name in the detail.
#include "services/common/grpc_util.h"
#include "services/common/time_util.h"
#include "services/registry/feed_proto.h"
#include "services/registry/registry_service.h"

namespace healthtwin::registry {
namespace {

std::string FeedDetail(std::string_view name) { return "feed " + std::string(name.substr(0, 64)); }

void ToProto(const StoredFeed& f, v1::Feed* p) {
  FeedConfigToProto(f.config, p);
  p->set_state(f.paused ? v1::FEED_STATE_PAUSED : v1::FEED_STATE_ENABLED);
  p->set_created_by(f.created_by);
  *p->mutable_created_at() = common::FromUnixMicros(f.created_at_unix_us);
  *p->mutable_updated_at() = common::FromUnixMicros(f.updated_at_unix_us);
}

}  // namespace

grpc::ServerUnaryReactor* RegistryServiceImpl::AddFeed(grpc::CallbackServerContext* ctx, const v1::AddFeedRequest* req,
                                                       v1::Feed* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = common::AuthorizeAndAudit(*ctx, policy_, "AddFeed", access_, "registry.add_feed", {},
                                            FeedDetail(req->feed().name()));
    if (!caller.ok()) return caller.status();
    auto config = FeedConfigFromProto(req->feed());
    if (!config.ok()) return config.status();
    if (auto s = ValidateFeedConfig(*config); !s.ok()) return s;
    auto stored = feeds_.Add(*config, caller->identity.common_name);
    if (!stored.ok()) return stored.status();
    ToProto(*stored, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListFeeds(grpc::CallbackServerContext* ctx,
                                                         const v1::ListFeedsRequest* req, v1::ListFeedsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "ListFeeds", access_, "registry.list_feeds", {}); !c.ok()) {
      return c.status();
    }
    auto feeds = feeds_.List();
    if (!feeds.ok()) return feeds.status();
    for (const auto& f : *feeds) ToProto(f, resp->add_feeds());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetFeedStatus(grpc::CallbackServerContext* ctx,
                                                             const v1::GetFeedStatusRequest* req,
                                                             v1::GetFeedStatusResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "GetFeedStatus", access_, "registry.get_feed_status", {},
                                           req->name().empty() ? "every feed" : FeedDetail(req->name()));
        !c.ok()) {
      return c.status();
    }
    if (!req->name().empty()) {
      if (auto s = CheckFeedName("name", req->name()); !s.ok()) return s;
    }
    auto statuses = feeds_.Status(req->name());
    if (!statuses.ok()) return statuses.status();
    for (const auto& st : *statuses) {
      auto* out = resp->add_feeds();
      out->set_name(st.name);
      out->set_state(st.paused ? v1::FEED_STATE_PAUSED : v1::FEED_STATE_ENABLED);
      out->set_pending_count(st.pending_count);
      out->set_oldest_pending_age_s(st.oldest_pending_age_s);
      out->set_last_acked_message_id(st.last_acked_message_id);
      if (st.last_acked_at_unix_us != 0)
        *out->mutable_last_acked_at() = common::FromUnixMicros(st.last_acked_at_unix_us);
      out->set_retries(st.retries);
      out->set_dead_count(st.dead_count);
      out->set_delivered_count(st.delivered_count);
      for (const auto& a : st.open_alerts) {
        auto* alert = out->add_open_alerts();
        alert->set_kind(a.kind);
        alert->set_priority(a.priority);
        alert->set_summary(a.summary);
        *alert->mutable_raised_at() = common::FromUnixMicros(a.raised_at_unix_us);
        alert->set_event_count(static_cast<uint32_t>(a.event_count));
        alert->set_last_message_id(a.last_message_id);
      }
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::SetFeedPaused(grpc::CallbackServerContext* ctx, const std::string& name,
                                                             bool paused, v1::Feed* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    const char* method = paused ? "PauseFeed" : "ResumeFeed";
    auto caller = common::AuthorizeAndAudit(
        *ctx, policy_, method, access_, paused ? "registry.pause_feed" : "registry.resume_feed", {}, FeedDetail(name));
    if (!caller.ok()) return caller.status();
    if (auto s = CheckFeedName("name", name); !s.ok()) return s;
    auto stored = feeds_.SetPaused(name, paused, caller->identity.common_name);
    if (!stored.ok()) return stored.status();
    ToProto(*stored, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::PauseFeed(grpc::CallbackServerContext* ctx,
                                                         const v1::PauseFeedRequest* req, v1::Feed* resp) {
  return SetFeedPaused(ctx, req->name(), true, resp);
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ResumeFeed(grpc::CallbackServerContext* ctx,
                                                          const v1::ResumeFeedRequest* req, v1::Feed* resp) {
  return SetFeedPaused(ctx, req->name(), false, resp);
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ReplayFeed(grpc::CallbackServerContext* ctx,
                                                          const v1::ReplayFeedRequest* req,
                                                          v1::ReplayFeedResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    // The instant as given, for the record, before anything can refuse it.
    const auto since_us = req->has_since() ? common::ToUnixMicros(req->since(), "since")
                                           : absl::StatusOr<int64_t>(absl::InvalidArgumentError("since: required"));
    auto caller = common::AuthorizeAndAudit(
        *ctx, policy_, "ReplayFeed", access_, "registry.replay_feed", {},
        FeedDetail(req->name()) + " since " +
            (since_us.ok() ? common::FormatTimestamp(req->since()) : std::string("(invalid)")));
    if (!caller.ok()) return caller.status();
    if (auto s = CheckFeedName("name", req->name()); !s.ok()) return s;
    if (!since_us.ok()) return since_us.status();
    if (*since_us > common::NowUnixMicros()) return absl::InvalidArgumentError("since: in the future");
    auto requeued = feeds_.Replay(req->name(), *since_us, caller->identity.common_name);
    if (!requeued.ok()) return requeued.status();
    resp->set_requeued_count(*requeued);
    return absl::OkStatus();
  });
}

}  // namespace healthtwin::registry
