// PostgreSQL array literals to send as one bound parameter, so that a round's rows go to the
// server in one statement (`= ANY($1::text[])`, `unnest($1::bigint[], ...)`) instead of one
// statement per row. libpqxx 6 has no array conversion of its own.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace healthtwin::alerts {

// {"a","b"}: every element quoted, backslash and double quote escaped.
std::string TextArrayLiteral(const std::vector<std::string>& values);

// {1,2,3} of integers.
template <typename T>
std::string NumberArray(const std::vector<T>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

// {0.1,2.5e+300,NaN}: each double in its shortest form that reads back exactly (absl's
// formatting keeps six digits only); infinities and NaN as PostgreSQL spells them.
std::string DoubleArray(const std::vector<double>& values);

// {t,f}.
std::string BoolArray(const std::vector<bool>& values);

}  // namespace healthtwin::alerts
