// healthtwin.registry.v1.RegistryService: patients, devices, bindings (patient and gateways),
// care teams and hospital feeds. Every method but CheckForwarding is for admins and is audited; a bridge may only
// ask whether it may forward a device (docs/security.md). Hosted by the ingest process, which is
// the main consumer of bindings.
#pragma once

#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "services/common/access.h"
#include "services/common/caller_policy.h"
#include "services/common/executor.h"
#include "services/common/pg.h"
#include "services/registry/check_id.h"
#include "services/registry/feed_store.h"
#include "services/registry/patient_identity_store.h"

namespace healthtwin::registry {

namespace v1 = healthtwin::registry::v1;

class RegistryServiceImpl final : public v1::RegistryService::CallbackService {
 public:
  // The allow-list of every method; a deployment may override it (config `[access]`).
  static const common::CallerPolicy::Rules& DefaultPolicy();

  // `identities` (may be null: no keyring configured) stores patients' identifying data;
  // without it CreatePatient refuses a request that carries an identity.
  RegistryServiceImpl(common::PgPool& pool, common::Executor& executor, common::CallerPolicy policy,
                      PatientIdentityStore* identities = nullptr)
      : pool_(pool),
        executor_(executor),
        access_(pool),
        policy_(std::move(policy)),
        feeds_(pool),
        identities_(identities) {}

  grpc::ServerUnaryReactor* CreatePatient(grpc::CallbackServerContext* ctx, const v1::CreatePatientRequest* req,
                                          v1::Patient* resp) override;
  grpc::ServerUnaryReactor* GetPatient(grpc::CallbackServerContext* ctx, const v1::GetPatientRequest* req,
                                       v1::Patient* resp) override;
  grpc::ServerUnaryReactor* FindPatientByMrn(grpc::CallbackServerContext* ctx, const v1::FindPatientByMrnRequest* req,
                                             v1::Patient* resp) override;
  grpc::ServerUnaryReactor* ListPatients(grpc::CallbackServerContext* ctx, const v1::ListPatientsRequest* req,
                                         v1::ListPatientsResponse* resp) override;
  // Identifying data (registry_identity.cc).
  grpc::ServerUnaryReactor* GetPatientIdentity(grpc::CallbackServerContext* ctx,
                                               const v1::GetPatientIdentityRequest* req,
                                               v1::PatientIdentity* resp) override;
  grpc::ServerUnaryReactor* UpdatePatientIdentity(grpc::CallbackServerContext* ctx,
                                                  const v1::UpdatePatientIdentityRequest* req,
                                                  v1::Patient* resp) override;
  grpc::ServerUnaryReactor* ReencryptDataKeys(grpc::CallbackServerContext* ctx, const v1::ReencryptDataKeysRequest* req,
                                              v1::ReencryptDataKeysResponse* resp) override;
  grpc::ServerUnaryReactor* BindDevice(grpc::CallbackServerContext* ctx, const v1::BindDeviceRequest* req,
                                       v1::Device* resp) override;
  // Research studies (registry_studies.cc; migration 0021).
  grpc::ServerUnaryReactor* CreateStudy(grpc::CallbackServerContext* ctx, const v1::CreateStudyRequest* req,
                                        v1::Study* resp) override;
  grpc::ServerUnaryReactor* AddStudyPatient(grpc::CallbackServerContext* ctx, const v1::AddStudyPatientRequest* req,
                                            v1::Study* resp) override;
  grpc::ServerUnaryReactor* AddStudyResearcher(grpc::CallbackServerContext* ctx,
                                               const v1::AddStudyResearcherRequest* req, v1::Study* resp) override;
  grpc::ServerUnaryReactor* ListStudies(grpc::CallbackServerContext* ctx, const v1::ListStudiesRequest* req,
                                        v1::ListStudiesResponse* resp) override;
  grpc::ServerUnaryReactor* UnbindDevice(grpc::CallbackServerContext* ctx, const v1::UnbindDeviceRequest* req,
                                         v1::Device* resp) override;
  grpc::ServerUnaryReactor* GetDevice(grpc::CallbackServerContext* ctx, const v1::GetDeviceRequest* req,
                                      v1::Device* resp) override;
  grpc::ServerUnaryReactor* ListDevices(grpc::CallbackServerContext* ctx, const v1::ListDevicesRequest* req,
                                        v1::ListDevicesResponse* resp) override;
  grpc::ServerUnaryReactor* AddCareTeamMember(grpc::CallbackServerContext* ctx, const v1::AddCareTeamMemberRequest* req,
                                              v1::AddCareTeamMemberResponse* resp) override;
  grpc::ServerUnaryReactor* RemoveCareTeamMember(grpc::CallbackServerContext* ctx,
                                                 const v1::RemoveCareTeamMemberRequest* req,
                                                 v1::RemoveCareTeamMemberResponse* resp) override;
  grpc::ServerUnaryReactor* ReleaseQuarantine(grpc::CallbackServerContext* ctx, const v1::ReleaseQuarantineRequest* req,
                                              v1::ReleaseQuarantineResponse* resp) override;
  grpc::ServerUnaryReactor* CheckForwarding(grpc::CallbackServerContext* ctx, const v1::CheckForwardingRequest* req,
                                            v1::CheckForwardingResponse* resp) override;

  // Hospital feeds (registry_feeds.cc).
  grpc::ServerUnaryReactor* AddFeed(grpc::CallbackServerContext* ctx, const v1::AddFeedRequest* req,
                                    v1::Feed* resp) override;
  grpc::ServerUnaryReactor* ListFeeds(grpc::CallbackServerContext* ctx, const v1::ListFeedsRequest* req,
                                      v1::ListFeedsResponse* resp) override;
  grpc::ServerUnaryReactor* GetFeedStatus(grpc::CallbackServerContext* ctx, const v1::GetFeedStatusRequest* req,
                                          v1::GetFeedStatusResponse* resp) override;
  grpc::ServerUnaryReactor* PauseFeed(grpc::CallbackServerContext* ctx, const v1::PauseFeedRequest* req,
                                      v1::Feed* resp) override;
  grpc::ServerUnaryReactor* ResumeFeed(grpc::CallbackServerContext* ctx, const v1::ResumeFeedRequest* req,
                                       v1::Feed* resp) override;
  grpc::ServerUnaryReactor* ReplayFeed(grpc::CallbackServerContext* ctx, const v1::ReplayFeedRequest* req,
                                       v1::ReplayFeedResponse* resp) override;

  // For start-up wiring: audit checkpoints (services/common/audit_checkpointing.h).
  common::Access& access() { return access_; }

 private:
  grpc::ServerUnaryReactor* SetFeedPaused(grpc::CallbackServerContext* ctx, const std::string& name, bool paused,
                                          v1::Feed* resp);

  common::PgPool& pool_;
  common::Executor& executor_;
  common::Access access_;
  const common::CallerPolicy policy_;
  FeedStore feeds_;
  PatientIdentityStore* const identities_;
};

}  // namespace healthtwin::registry
