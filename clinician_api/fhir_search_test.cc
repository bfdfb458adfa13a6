#include "clinician_api/fhir_search.h"

#include <gtest/gtest.h>

namespace healthtwin::clinician {
namespace {

constexpr int64_t kNow = 1'796'000'000'000'000;  // 2026-11-30

absl::Status ErrorOf(const QueryParams& p) { return ParseObservationSearch(p, kNow).status(); }

TEST(FhirSearchTest, ObservationParsesPatientCodesDatesCountAndCursor) {
  auto q = ParseObservationSearch({{"patient", "Patient/p1"},
                                   {"code", "http://loinc.org|8867-4,85354-9"},
                                   {"date", "ge2026-12-01"},
                                   {"date", "lt2026-12-02T00:00:00.5+01:00"},
                                   {"_count", "7"},
                                   {"_cursor", "abc"}},
                                  kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->patient_id, "p1");
  // 8867-4 is heart rate and pulse rate (one code in the R4 heartrate profile).
  EXPECT_EQ(q->types,
            (std::vector<common::VitalType>{common::VitalType::kHeartRate, common::VitalType::kPulseRate,
                                            common::VitalType::kSystolicBp, common::VitalType::kDiastolicBp}));
  EXPECT_EQ(q->start_us, 1'796'083'200'000'000);                 // 2026-12-01T00:00:00Z
  EXPECT_EQ(q->end_us, 1'796'083'200'000'000 + 82'800'500'000);  // 2026-12-01T23:00:00.5Z
  EXPECT_EQ(q->count, 7u);
  EXPECT_EQ(q->cursor, "abc");
}

TEST(FhirSearchTest, ObservationDefaultsAndExclusiveBounds) {
  auto q = ParseObservationSearch({{"subject", "p1"}, {"date", "gt2026-12-01"}, {"date", "le2026-12-02"}}, kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->start_us, 1'796'083'200'000'001);
  EXPECT_EQ(q->end_us, 1'796'169'600'000'001);
  EXPECT_EQ(q->count, kDefaultCount);
  EXPECT_EQ(q->types, ServedVitalTypes());
  auto open = ParseObservationSearch({{"patient", "p1"}}, kNow);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->start_us, 0);
  EXPECT_EQ(open->end_us, kNow + 86'400'000'000);
}

TEST(FhirSearchTest, EachBadParameterIsNamed) {
  struct Case {
    QueryParams params;
    std::string prefix;
  };
  const std::vector<Case> cases = {
      {{}, "patient:"},
      {{{"patient", "p1"}, {"subject", "p1"}}, "patient:"},
      {{{"patient", "a/b"}}, "patient:"},
      {{{"patient", "p1"}, {"code", "1234-5"}}, "code:"},
      {{{"patient", "p1"}, {"code", "http://snomed.info/sct|8867-4"}}, "code:"},
      {{{"patient", "p1"}, {"date", "eq2026-12-01"}}, "date:"},
      {{{"patient", "p1"}, {"date", "ge2026-13-01"}}, "date:"},
      {{{"patient", "p1"}, {"date", "ge2026-12-01T10:00:00"}}, "date:"},  // no zone
      {{{"patient", "p1"}, {"date", "ge2026-12-02"}, {"date", "lt2026-12-01"}}, "date:"},
      {{{"patient", "p1"}, {"date", "ge2026-12-02"}, {"date", "gt2026-12-01"}}, "date:"},
      {{{"patient", "p1"}, {"_count", "0"}}, "_count:"},
      {{{"patient", "p1"}, {"_count", "1001"}}, "_count:"},
      {{{"patient", "p1"}, {"_count", "-1"}}, "_count:"},
      {{{"patient", "p1"}, {"_count", "5x"}}, "_count:"},
      {{{"patient", "p1"}, {"_cursor", "a"}, {"_cursor", "b"}}, "_cursor:"},
      {{{"patient", "p1"}, {"_offset", "5"}}, "_offset:"},
  };
  for (const auto& c : cases) {
    const absl::Status s = ErrorOf(c.params);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.prefix;
    EXPECT_EQ(std::string(s.message()).rfind(c.prefix, 0), 0u) << s.message();
  }
}

TEST(FhirSearchTest, CommunicationRequestStatusAndPatient) {
  auto q = ParseCommunicationRequestSearch({{"patient", "Patient/p2"}, {"status", "completed"}});
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->patient_id, "p2");
  EXPECT_EQ(q->status, "completed");
  auto all = ParseCommunicationRequestSearch({});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->patient_id.empty());
  auto bad = ParseCommunicationRequestSearch({{"status", "draft"}});
  EXPECT_EQ(std::string(bad.status().message()).rfind("status:", 0), 0u) << bad.status();
}

TEST(FhirSearchTest, OnlyTypesWithAVitalSignsProfileAreServed) {
  using common::VitalType;
  EXPECT_EQ(ServedVitalTypes(),
            (std::vector<VitalType>{VitalType::kHeartRate, VitalType::kSystolicBp, VitalType::kDiastolicBp,
                                    VitalType::kSpo2, VitalType::kBodyTemperature, VitalType::kBodyWeight,
                                    VitalType::kRespiratoryRate, VitalType::kPulseRate}));
  auto spo2 = ParseObservationSearch({{"patient", "p1"}, {"code", "59408-5,2708-6"}}, kNow);
  ASSERT_TRUE(spo2.ok()) << spo2.status();
  EXPECT_EQ(spo2->types, std::vector<VitalType>{VitalType::kSpo2});
  // A BP half is a component of the served panel; mean arterial BP and glucose are not served.
  const std::string half(ErrorOf({{"patient", "p1"}, {"code", "8480-6"}}).message());
  EXPECT_NE(half.find("search code=85354-9"), std::string::npos) << half;
  for (const char* code : {"8478-0", "2339-0"}) {
    const absl::Status s = ErrorOf({{"patient", "p1"}, {"code", code}});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << code;
    EXPECT_NE(std::string(s.message()).find("not a vital-signs LOINC code served here"), std::string::npos) << s;
  }
}

TEST(FhirSearchTest, InstantAndUrlEncoding) {
  EXPECT_EQ(FhirInstant(1'796'083'200'000'004), "2026-12-01T00:00:00.000004Z");
  EXPECT_EQ(UrlEncode("ge2026-12-01T00:00:00+01:00 a|b"), "ge2026-12-01T00%3A00%3A00%2B01%3A00%20a%7Cb");
}

}  // namespace
}  // namespace healthtwin::clinician
