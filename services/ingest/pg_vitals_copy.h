// The direct path of PgSampleStore: a batch whose every sample belongs in a patient's vitals is
// COPYed straight into vitals, as the raw COPY baseline does, instead of through the staging
// table, the classifying UPDATE and INSERT ... ON CONFLICT.
#pragma once

#include <pqxx/pqxx>
#include <string_view>
#include <vector>

#include "services/ingest/validation.h"

namespace healthtwin::ingest {

// Looks up the batch's devices in `tx`; when every sample's device is bound to a patient, this
// bridge is one of its gateways and the sample was measured no earlier than the binding less
// `binding_clock_grace_s` (the staging path's rule for vitals, kClassify in pg_sample_store.cc),
// COPYs them all into vitals under a savepoint and returns true. Returns false, having stored
// nothing, when some sample would go to quarantine, has a timestamp outside 1970..9999, or a key
// the unique index already holds (the savepoint is rolled back): the staging path then decides.
bool CopyStraightIntoVitals(pqxx::work& tx, std::string_view bridge_id, const std::vector<ValidSample>& samples,
                            int binding_clock_grace_s);

}  // namespace healthtwin::ingest
