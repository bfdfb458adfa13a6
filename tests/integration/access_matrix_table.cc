#include "tests/integration/access_matrix_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace healthtwin::testing {
namespace {

std::mutex g_mu;
std::vector<MatrixRow>* g_rows = new std::vector<MatrixRow>();  // never freed: read at exit

constexpr char kHeader[] = "| Service | RPC | Caller | Decision | Audit row |";
constexpr char kRule[] = "| --- | --- | --- | --- | --- |";

std::vector<std::string> DataRows(std::vector<std::string> lines) {
  lines.erase(
      std::remove_if(lines.begin(), lines.end(), [](const std::string& l) { return l == kHeader || l == kRule; }),
      lines.end());
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The rows of sorted `a` that sorted `b` lacks.
std::vector<std::string> Missing(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> missing;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(missing));
  return missing;
}

std::string ReadDocument(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Prints the table at the end of the run and checks the document against it (header comment).
class MatrixTableEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    std::vector<MatrixRow> rows;
    {
      std::lock_guard lock(g_mu);
      rows = *g_rows;
    }
    if (rows.empty()) return;
    const std::vector<std::string> table = MatrixTableLines(rows);
    std::cout << "\nThe authorization matrix (" << rows.size() << " decisions):\n"
              << kMatrixBegin << "\n"
              << absl::StrJoin(table, "\n") << "\n"
              << kMatrixEnd << "\n";

    const std::vector<std::string> documented = DataRows(DocumentTableLines(ReadDocument(HT_SECURITY_DOC)));
    const std::vector<std::string> printed = DataRows(table);
    const std::vector<std::string> undocumented = Missing(printed, documented);
    EXPECT_TRUE(undocumented.empty()) << HT_SECURITY_DOC << " lacks " << undocumented.size()
                                      << " row(s) of the matrix printed above, the first: " << undocumented.front()
                                      << "\nPaste the printed table between its markers.";
    const ::testing::UnitTest& run = *::testing::UnitTest::GetInstance();
    if (run.test_to_run_count() == run.total_test_count() && run.Passed()) {
      const std::vector<std::string> stale = Missing(documented, printed);
      EXPECT_TRUE(stale.empty()) << HT_SECURITY_DOC << " has " << stale.size()
                                 << " row(s) no test produced, the first: " << stale.front()
                                 << "\nPaste the printed table between its markers.";
    }
  }
};

[[maybe_unused]] ::testing::Environment* const kMatrixTableEnvironment =
    ::testing::AddGlobalTestEnvironment(new MatrixTableEnvironment);

}  // namespace

void RecordMatrixRow(MatrixRow row) {
  std::lock_guard lock(g_mu);
  g_rows->push_back(std::move(row));
}

std::vector<std::string> MatrixTableLines(std::vector<MatrixRow> rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const MatrixRow& a, const MatrixRow& b) {
    return std::tie(a.service, a.rpc) < std::tie(b.service, b.rpc);
  });
  std::vector<std::string> lines = {kHeader, kRule};
  for (const MatrixRow& r : rows) {
    lines.push_back(
        absl::StrCat("| ", r.service, " | ", r.rpc, " | ", r.caller, " | ", r.decision, " | ", r.audit, " |"));
  }
  return lines;
}

std::vector<std::string> DocumentTableLines(const std::string& document) {
  const size_t begin = document.find(kMatrixBegin);
  const size_t end = document.find(kMatrixEnd);
  if (begin == std::string::npos || end == std::string::npos || end < begin) return {};
  std::vector<std::string> lines;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(document).substr(begin, end - begin), '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "|")) lines.emplace_back(line);
  }
  return lines;
}

}  // namespace healthtwin::testing
