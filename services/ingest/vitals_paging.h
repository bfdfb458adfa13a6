// The limits of one vitals query, and its keyset page tokens. Plain C++ (no database), so the
// rules are unit-tested alone; VitalsReader applies them.
//
// Paging is by key, never by offset: a token names the last row (raw samples: measured_at and
// ingest_seq) or the bucket position (bucketed: bucket start and the last vital type returned
// in that bucket) a page ended at, so the next page starts there through the index instead of
// re-reading and skipping every earlier row, and rows stored meanwhile before the position
// neither repeat nor shift rows between pages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace healthtwin::ingest {

// Rows per page: 500 by default (a plot's worth), at most 10,000 (about 1 MiB of samples, a
// quarter of gRPC's 4 MiB message limit).
inline constexpr uint32_t kDefaultPageSize = 500;
inline constexpr uint32_t kMaxPageSize = 10'000;
// Buckets one query may ask for: (end - start) / bucket_s. 10,000 is more points than any
// screen plots, and bounds the pages (and group-by work) a bucketed query can cause.
inline constexpr int64_t kMaxBucketsPerQuery = 10'000;
inline constexpr uint32_t kMaxBucketS = 31u * 86400u;
// Our tokens are at most ~45 characters; anything longer was not issued by us.
inline constexpr std::size_t kMaxPageTokenBytes = 64;

// INVALID_ARGUMENT naming bucket_s when (end - start) / bucket_s exceeds kMaxBucketsPerQuery.
absl::Status CheckBucketCount(int64_t start_us, int64_t end_us, uint32_t bucket_s);

// Where the next page starts.
struct VitalsCursor {
  bool bucketed = false;
  // Raw samples: measured_at of the last row returned. Bucketed: a bucket start.
  int64_t at_us = 0;
  // Raw samples: ingest_seq of the last row returned. Bucketed: the last vital type returned
  // for the bucket at `at_us`, 0 when that bucket has not been started.
  int64_t after = 0;
};

std::string EncodeCursor(const VitalsCursor& cursor);
// INVALID_ARGUMENT ("page_token: ...") for anything EncodeCursor did not produce.
absl::StatusOr<VitalsCursor> DecodeCursor(std::string_view token);

// floor(t_us / bucket) * bucket, also for times before 1970 (the SQL uses floor too).
int64_t BucketStartUs(int64_t t_us, uint32_t bucket_s);

}  // namespace healthtwin::ingest
