// The researcher view's table per arm (dashboard_e2e.mjs trialTables) against the JSON that
// /api/cohorts/{job} returned for the same job: every figure the page shows equals the API's to
// the page's one decimal, and each arm without a difference says why.
#pragma once

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace healthtwin::testing {

// The decimal numbers in a cell's text, in order ("-3.4 to -1.0": -3.4, -1.0).
inline std::vector<double> CellNumbers(const std::string& text) {
  static const std::regex kNumber("[+-]?[0-9]+\\.[0-9]");
  std::vector<double> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kNumber); it != std::sregex_iterator(); ++it) {
    out.push_back(std::stod(it->str()));
  }
  return out;
}

// `cell` shows `want` (one number, or a CI's two) rounded to one decimal.
inline void ExpectCellShows(const nlohmann::json& cell, const std::vector<double>& want) {
  ASSERT_TRUE(cell.is_string()) << cell.dump();
  const std::vector<double> got = CellNumbers(cell.get<std::string>());
  ASSERT_EQ(got.size(), want.size()) << cell.dump();
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 0.05 + 1e-9) << cell.dump();
}

inline void ExpectTrialTablesMatch(const nlohmann::json& page, const nlohmann::json& api) {
  const nlohmann::json& arms = api.at("arms");
  ASSERT_EQ(page.size(), arms.size()) << page.dump();
  const std::string placebo = api.value("placeboArm", "");
  for (std::size_t a = 0; a < arms.size(); ++a) {
    const nlohmann::json& want = arms[a];
    const nlohmann::json& got = page[a];
    const std::string arm = want.at("arm").get<std::string>();
    SCOPED_TRACE("arm " + arm);
    EXPECT_EQ(got["arm"], arm);
    EXPECT_EQ(got["analysed"], std::to_string(want.at("analysed").get<int>()));
    EXPECT_EQ(got["dropouts"], std::to_string(want.at("dropouts").get<int>()));
    EXPECT_EQ(got["columns"], nlohmann::json::array({"Quantity", "Mean change", "SD of change", "95 % CI of change",
                                                     "Placebo-adjusted difference", "95 % CI of difference"}));
    for (const char* q : {"systolicMmhg", "diastolicMmhg", "heartRateBpm"}) {
      SCOPED_TRACE(q);
      const nlohmann::json& m = want.at(q);
      const nlohmann::json& row = got["rows"][q];
      ExpectCellShows(row["meanChange"], {m.at("meanChange").get<double>()});
      ExpectCellShows(row["sdChange"], {m.at("sdChange").get<double>()});
      ExpectCellShows(row["changeCi"], {m.at("changeCi95Low").get<double>(), m.at("changeCi95High").get<double>()});
      const bool adjusted = want.contains("placeboAdjusted") && want["placeboAdjusted"].contains(q);
      if (placebo.empty()) {
        EXPECT_EQ(row["difference"], "no placebo arm");
      } else if (arm == placebo) {
        EXPECT_EQ(row["difference"], "reference (placebo arm)");
      } else if (!adjusted) {
        EXPECT_EQ(row["difference"], "not computed (blood pressure only)");
      } else {
        const nlohmann::json& d = want["placeboAdjusted"][q];
        ExpectCellShows(row["difference"], {d.at("difference").get<double>()});
        ExpectCellShows(row["differenceCi"], {d.at("ci95Low").get<double>(), d.at("ci95High").get<double>()});
      }
      if (!adjusted) {
        EXPECT_FALSE(row.contains("differenceCi")) << row.dump();
      }
    }
  }
}

}  // namespace healthtwin::testing
