// The vitals CSV of `healthtwin twin calibrate` (offline calibration).
//
//   measured_at,vital,value[,flagged]
//   2026-01-01T07:00:00Z,systolic,128
//   1767251100,heart_rate,64,0
//
// - The header line is required and must be exactly those column names (flagged optional).
// - measured_at: ISO-8601 / RFC 3339 with a zone (Z or +HH:MM), fractional seconds allowed, or
//   integer Unix seconds.
// - vital: heart_rate (bpm), systolic, diastolic (mmHg), weight (kg), spo2 (%), temperature (C).
// - value: a finite decimal number; flagged: 0/1/true/false (default false), readings flagged by
//   ingest are kept but excluded from the fit.
// - Blank lines and lines starting with # are ignored; rows may come in any order.
// Every error is InvalidArgument naming the file, the line number and the field.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/calibration/twin.h"

namespace healthtwin::models::calibration::cli {

absl::StatusOr<std::vector<Sample>> ParseVitalsCsv(std::istream& in, const std::string& name);

}  // namespace healthtwin::models::calibration::cli
