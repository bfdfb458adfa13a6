// Time limits of a PostgreSQL connection pool (PgPool). Kept apart from pg.h so that the
// service configuration can carry them without pulling in libpqxx.
#pragma once

#include <chrono>

namespace healthtwin::common {

struct PgPoolLimits {
  // Set as the session's statement_timeout on every pooled connection: a query running longer
  // is cancelled by the server (SQLSTATE 57014) and the call fails with DEADLINE_EXCEEDED. 15 s
  // is 3x the 5 s deadline our own callers put on an RPC, so only runaway queries hit it. 0: none.
  std::chrono::milliseconds statement_timeout{15'000};
  // How long a call waits for a free connection when all are busy before it fails with
  // RESOURCE_EXHAUSTED "database pool exhausted"; the same 5 s as a caller's RPC deadline.
  std::chrono::milliseconds acquire_timeout{5'000};
};

}  // namespace healthtwin::common
