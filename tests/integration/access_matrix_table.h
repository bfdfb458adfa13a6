// The authorization matrix as a table (issue 13, item 6): every decision the access matrix
// tests check is recorded here as one row (service, RPC, caller, decision, audit row), and the
// binary prints the rows as a Markdown table when it ends. docs/security.md ("The authorization
// matrix") holds the same table between the markers kMatrixBegin and kMatrixEnd.
//
// At the end of the run the rows are compared with the document's table: every row printed
// must be there, and when every test of the binary ran, the document must hold no other row.
// ctest runs each test alone, so `make test` checks the first; running the binary whole checks
// both, and prints the table to paste into the document when they differ.
#pragma once

#include <string>
#include <vector>

namespace healthtwin::testing {

inline constexpr char kMatrixBegin[] =
    "<!-- access-matrix:begin (tests/integration/access_matrix_integration_test) -->";
inline constexpr char kMatrixEnd[] = "<!-- access-matrix:end -->";

struct MatrixRow {
  std::string service;   // ClinicianService, RegistryService, TwinService
  std::string rpc;       // as in the proto
  std::string caller;    // who called, and how ("dr-alice", "no certificate", "dr-alice, expired token")
  std::string decision;  // the status code the caller got: OK, PERMISSION_DENIED, ...
  std::string audit;     // the audit row checked ("vitals.read pat-a denied"), or why there is none
};

// Thread-safe. Rows keep their order within one RPC; the table sorts by service and RPC.
void RecordMatrixRow(MatrixRow row);

// The rows as Markdown table lines (header included), sorted as above.
std::vector<std::string> MatrixTableLines(std::vector<MatrixRow> rows);

// The table lines between the markers of `document`'s text; empty when the markers are missing.
std::vector<std::string> DocumentTableLines(const std::string& document);

}  // namespace healthtwin::testing
