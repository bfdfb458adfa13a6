#include "services/ingest/vitals_paging.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "services/common/vital_type.h"

namespace healthtwin::ingest {
namespace {

constexpr std::string_view kSamplesPrefix = "s1.";
constexpr std::string_view kBucketsPrefix = "b1.";

bool ParseInt(std::string_view s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

absl::Status CheckBucketCount(int64_t start_us, int64_t end_us, uint32_t bucket_s) {
  if (bucket_s == 0) return absl::OkStatus();
  const int64_t bucket_us = static_cast<int64_t>(bucket_s) * 1'000'000;
  // No overflow: bucket_us <= 31 days (2.7e12 us), times 1e4 stays far below 2^63.
  if (end_us - start_us > kMaxBucketsPerQuery * bucket_us) {
    const int64_t range_s = (end_us - start_us) / 1'000'000;
    const int64_t min_bucket_s = (range_s + kMaxBucketsPerQuery - 1) / kMaxBucketsPerQuery;
    return absl::InvalidArgumentError(absl::StrCat("bucket_s: ", bucket_s, " s over ", range_s, " s gives more than ",
                                                   kMaxBucketsPerQuery, " buckets; use bucket_s >= ", min_bucket_s,
                                                   " or a shorter range"));
  }
  return absl::OkStatus();
}

std::string EncodeCursor(const VitalsCursor& cursor) {
  return absl::StrCat(std::string(cursor.bucketed ? kBucketsPrefix : kSamplesPrefix), cursor.at_us, ".", cursor.after);
}

absl::StatusOr<VitalsCursor> DecodeCursor(std::string_view token) {
  const auto bad = [] { return absl::InvalidArgumentError("page_token: not a token this service issued"); };
  if (token.size() > kMaxPageTokenBytes) return bad();
  VitalsCursor c;
  if (token.substr(0, kBucketsPrefix.size()) == kBucketsPrefix) {
    c.bucketed = true;
  } else if (token.substr(0, kSamplesPrefix.size()) != kSamplesPrefix) {
    return bad();
  }
  token.remove_prefix(kSamplesPrefix.size());
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return bad();
  if (!ParseInt(token.substr(0, dot), c.at_us) || !ParseInt(token.substr(dot + 1), c.after)) return bad();
  if (c.after < 0 || (c.bucketed && c.after > common::kMaxVitalType)) return bad();
  return c;
}

int64_t BucketStartUs(int64_t t_us, uint32_t bucket_s) {
  const int64_t bucket_us = static_cast<int64_t>(bucket_s) * 1'000'000;
  int64_t q = t_us / bucket_us;
  if (t_us % bucket_us != 0 && t_us < 0) --q;
  return q * bucket_us;
}

}  // namespace healthtwin::ingest
