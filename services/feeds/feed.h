// What the feed service reads from PostgreSQL: a feed's configuration (migration 0013, managed
// by the registry) and the source rows it turns into messages (alert_events joined with
// alerts, vitals). Plain structs, no database or gRPC types, so the encoders and the delivery
// decisions can be tested alone.
#pragma once

#include <cstdint>
#include <string>

#include "services/registry/feed_config.h"

namespace healthtwin::feeds {

struct Feed {
  int64_t feed_id = 0;
  // Kind, target, TLS, content, filters and HL7 names, as the registry checked them.
  registry::FeedConfig config;
  bool paused = false;
  // Changes whenever the registry changes the row; a transport is rebuilt when it does.
  int64_t updated_at_us = 0;
};

// One alert_events row with its alert (alerts table, migrations 0002 and 0009).
struct AlertEventRow {
  int64_t event_seq = 0;
  std::string alert_id;
  int kind = 0;  // alert_events.kind, healthtwin.alerts.v1.AlertEvent.Kind
  std::string actor;
  int64_t event_at_us = 0;
  std::string patient_id;
  std::string rule_id;
  int priority = 0;  // 1 low, 2 medium, 3 high
  int category = 0;  // 1 physiological, 2 technical
  int phase = 0;     // 1 active, 2 ended, 3 resolved
  bool latched = false;
  std::string summary;
  double peak_value = 0;
  std::string ucum_unit;
  // The first physiology the rule covers (alerts.covers[1]: "heart_rate", "news2", ...), or "".
  std::string covers;
  // As of the event: someone had acknowledged the alert; a recipient's shelf was running.
  bool any_acknowledgement = false;
  bool any_active_shelf = false;
};

// One vitals row.
struct VitalRow {
  int64_t ingest_seq = 0;
  std::string patient_id;
  std::string device_id;
  int vital_type = 0;  // common::VitalType
  double value = 0;
  std::string ucum_unit;
  int64_t measured_at_us = 0;
};

}  // namespace healthtwin::feeds
