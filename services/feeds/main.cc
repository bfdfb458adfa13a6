// healthtwin-feeds: delivers alert and vitals feeds to hospital systems (issue 12). Follows
// alert_events and vitals into each feed's durable outbox, then sends from the outbox in order
// per patient with retries until delivered. See README.md.
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"
#include "services/common/access.h"
#include "services/common/audit_checkpointing.h"
#include "services/common/config.h"
#include "services/common/logging.h"
#include "services/common/pg.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"
#include "services/feeds/feed_worker.h"
#include "services/feeds/fhir_feed.h"
#include "services/feeds/hl7_feed.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  feeds::WorkerOptions options;
  int samples_per_message = options.enqueue.max_samples_per_message;
  int first_retry_ms = static_cast<int>(options.deliver.backoff.first.count());
  // Our FHIR base (the clinician API's /fhir/r4) for fullUrls and references in the Bundles; the
  // reserved .invalid domain until one is configured.
  std::string fhir_base_url = "https://healthtwin.invalid/fhir/r4";
  std::string fhir_token_dir;
  std::string keyring_dir;  // audit checkpoints only (audit-signing.key)
  common::AuditCheckpointFlags checkpoints;
  int max_retry_s =
      static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(options.deliver.backoff.cap).count());
  auto cfg = common::ParseServiceConfigOrExit(argc, argv, "feeds", {}, [&](CLI::App& app) {
    app.add_option("--samples-per-message", samples_per_message, "most vitals samples in one ORU^R01 / Bundle")
        ->check(CLI::Range(1, 10000));
    app.add_option("--first-retry-ms", first_retry_ms, "delay before the first resend (doubles per attempt)")
        ->check(CLI::Range(10, 600000));
    app.add_option("--max-retry-s", max_retry_s, "cap of the delay between resends (retries never stop)")
        ->check(CLI::Range(1, 86400));
    app.add_option("--fhir-base-url", fhir_base_url, "our FHIR base URL, used in fhir-rest-hook Bundles' fullUrls");
    app.add_option("--fhir-token-dir", fhir_token_dir,
                   "directory of bearer tokens for fhir-rest-hook feeds: <feed name>.token (never in the database)")
        ->check(CLI::ExistingDirectory);
    checkpoints.AddTo(app, &keyring_dir);
  });
  options.enqueue.max_samples_per_message = samples_per_message;
  options.deliver.backoff.first = std::chrono::milliseconds(first_retry_ms);
  options.deliver.backoff.cap = std::chrono::seconds(max_retry_s);

  std::mutex rng_mu;
  std::mt19937_64 rng(std::random_device{}());
  auto jitter = [&] {
    std::lock_guard lock(rng_mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  };
  // hl7v2-mllp: the HL7 v2 encoder and MLLP client (services/feeds/hl7); fhir-rest-hook: Backport
  // notification Bundles (services/feeds/fhir) over HTTPS. Both present the service's own
  // certificate when a feed asks for a client certificate.
  const feeds::Hl7Encoder hl7_encoder;
  const feeds::FhirEncoder fhir_encoder(fhir_base_url);
  feeds::EncoderLookup encoders = [&](const feeds::Feed& feed) -> const feeds::MessageEncoder* {
    switch (feed.config.kind) {
      case registry::FeedKind::kHl7v2Mllp:
        return &hl7_encoder;
      case registry::FeedKind::kFhirRestHook:
        return &fhir_encoder;
    }
    return nullptr;
  };
  const feeds::ClientIdentityFiles identity{cfg.tls.cert_path, cfg.tls.key_path};
  feeds::FhirTransportOptions fhir_options;
  fhir_options.identity = identity;
  fhir_options.bearer_token_dir = fhir_token_dir;
  feeds::TransportFactory transports =
      [&](const feeds::Feed& feed) -> absl::StatusOr<std::unique_ptr<feeds::Transport>> {
    if (feed.config.kind == registry::FeedKind::kHl7v2Mllp) return feeds::MakeMllpTransport(feed, identity);
    if (feed.config.kind == registry::FeedKind::kFhirRestHook) return feeds::MakeFhirTransport(feed, fhir_options);
    return absl::UnimplementedError(absl::StrCat(
        "no transport for kind ", std::string(registry::FeedKindName(feed.config.kind)), " in this build"));
  };

  // Deliveries are audited as disclosures by this service, as its certificate names it.
  auto material = common::LoadTlsMaterial(cfg.tls);
  auto agent = material.ok() ? common::IdentityFromCertificatePem(material->cert_pem) : material.status();
  if (!agent.ok()) {
    std::fprintf(stderr, "healthtwin-feeds: --tls-cert: %s\n", std::string(agent.status().message()).c_str());
    return 2;
  }
  options.deliver.agent = *agent;
  auto checkpoint_key = common::LoadAuditCheckpointKeyOrExit("feeds", keyring_dir);

  common::PgPool pool(cfg.db_conninfo, 4, {}, cfg.db_limits);
  common::Access access(pool);
  options.deliver.checkpoints = &access;
  auto checkpoint_timer = common::EnableAuditCheckpoints(checkpoint_key, checkpoints, {&access});
  feeds::FeedWorker worker(pool, cfg.db_conninfo, encoders, transports, jitter, options);
  return common::RunService(
      cfg, {},
      {.on_first_healthy = [&] { worker.Start(); },
       .on_drain =
           [&] {
             // The send in flight is finished and recorded; a second is left for the server.
             const auto deadline =
                 std::chrono::steady_clock::now() + std::chrono::seconds(cfg.drain_timeout_s) - std::chrono::seconds(1);
             if (!worker.StopBy(deadline)) {
               // Its transaction has not committed: the message stays pending and is sent again
               // (same message id) by the next start or another replica.
               common::LogWarn("feeds.drain_timeout", {{"note", "a send was still running; exiting without it"}});
               if (!cfg.port_file.empty()) std::remove(cfg.port_file.c_str());
               std::_Exit(0);
             }
           }});
}
