// Cohort part files: one shard's per-patient rows carried from `healthtwin sim cohort --shard I/N`
// to `healthtwin sim merge`, and the merge itself. Format (docs/simulation-specs.md, "Shards"):
//
//   {"type": "cohort_part", "format": 1, "spec": {...}, "spec_sha256": "<hex>",
//    "shard": {"index": I, "count": N}, "patients": {"begin": b, "end": e},
//    "archetypes": [...], "columns": [...], "rows": [[...], ...], "content_sha256": "<hex>"}
//
// spec_sha256 is the SHA-256 of the spec's canonical JSON (CohortSpecToJson, sorted keys, no
// spaces), so formatting of the spec file does not matter and any changed value does.
// content_sha256 is the SHA-256 of the canonical JSON of the whole document without that field,
// so an edited or damaged part is refused. Doubles are written as the shortest text that reads
// back to the same bits, so merged rows, summaries and CSV equal the unsharded run's exactly.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "models/treatment/cohort.h"

namespace healthtwin::models::treatment {

// Lower-case hex SHA-256 of the spec's canonical JSON.
std::string CohortSpecSha256(const CohortSpec& spec);

// The part file's text (one line of JSON and a newline).
std::string CohortPartText(const CohortSpec& spec, const CohortShardResult& part);

struct CohortPart {
  CohortSpec spec;
  std::string spec_sha256;
  CohortShardResult shard;
};

// InvalidArgument saying what is wrong (not JSON or truncated, not a part, checksum mismatch,
// a range that is not the shard's, rows that do not match the range). The caller names the file.
absl::StatusOr<CohortPart> ParseCohortPart(std::string_view text);

struct NamedPart {
  std::string name;  // for errors (the file name)
  std::string text;
};

struct MergedCohort {
  CohortSpec spec;
  CohortResult result;  // as RunCohort(spec) returns it
  int shard_count = 0;
};

// Merges all N parts of one sharded run, in any order. InvalidArgument naming the file for a
// bad part, a part from another spec, a part of a run with another N, a duplicated shard; and
// naming the shard (and its patients) for a missing one.
absl::StatusOr<MergedCohort> MergeCohortParts(const std::vector<NamedPart>& parts);

}  // namespace healthtwin::models::treatment
