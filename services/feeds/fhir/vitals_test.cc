#include "services/feeds/fhir/vitals.h"

#include <vector>

#include "gtest/gtest.h"
#include "services/feeds/fhir/ids.h"

namespace healthtwin::feeds::fhir {
namespace {

using common::VitalType;
using nlohmann::json;

VitalSample Sample(int64_t seq, VitalType type, double value, std::string unit, int64_t at_us = 1'700'000'000'000'000,
                   std::string device = "dev1") {
  return {seq, "p1", std::move(device), type, value, std::move(unit), at_us};
}

std::vector<std::string> Loincs(const json& o) {
  std::vector<std::string> out;
  for (const auto& c : o["code"]["coding"]) {
    EXPECT_EQ(c["system"], "http://loinc.org");
    out.push_back(c["code"]);
  }
  return out;
}

json One(const VitalSample& s) {
  const std::vector<VitalSample> v = {s};
  auto got = BuildVitalObservations(v);
  EXPECT_EQ(got.observations.size(), 1u);
  return got.observations.empty() ? json() : got.observations[0];
}

TEST(FhirVitalsTest, HeartRateIs8867_4PerMinuteWithTheVitalSignsShape) {
  const json o = One(Sample(7, VitalType::kHeartRate, 72, "/min"));
  EXPECT_EQ(o["resourceType"], "Observation");
  EXPECT_EQ(o["id"], "ht-obs-7");
  EXPECT_EQ(o["status"], "final");
  EXPECT_EQ(o["meta"]["profile"][0], "http://hl7.org/fhir/StructureDefinition/heartrate");
  EXPECT_EQ(o["category"][0]["coding"][0]["system"], "http://terminology.hl7.org/CodeSystem/observation-category");
  EXPECT_EQ(o["category"][0]["coding"][0]["code"], "vital-signs");
  EXPECT_EQ(Loincs(o), std::vector<std::string>{"8867-4"});
  EXPECT_EQ(o["subject"]["reference"], "Patient/p1");
  EXPECT_EQ(o["device"]["reference"], "Device/dev1");
  EXPECT_EQ(o["effectiveDateTime"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(o["valueQuantity"]["value"], 72.0);
  EXPECT_EQ(o["valueQuantity"]["system"], "http://unitsofmeasure.org");
  EXPECT_EQ(o["valueQuantity"]["code"], "/min");
}

TEST(FhirVitalsTest, EachProfiledTypeHasItsLoincAndUcum) {
  struct Case {
    VitalType type;
    std::string unit;
    std::vector<std::string> loinc;
  };
  for (const Case& c : std::vector<Case>{{VitalType::kSpo2, "%", {"2708-6", "59408-5"}},
                                         {VitalType::kBodyTemperature, "Cel", {"8310-5"}},
                                         {VitalType::kBodyWeight, "kg", {"29463-7"}},
                                         {VitalType::kRespiratoryRate, "/min", {"9279-1"}},
                                         {VitalType::kPulseRate, "/min", {"8867-4"}}}) {
    const json o = One(Sample(1, c.type, 50, c.unit));
    EXPECT_EQ(Loincs(o), c.loinc) << c.unit;
    EXPECT_EQ(o["valueQuantity"]["code"], c.unit);
    EXPECT_EQ(o["valueQuantity"]["unit"], c.unit);
  }
}

TEST(FhirVitalsTest, SystolicAndDiastolicOfOneReadingBecomeOneBpPanel) {
  const std::vector<VitalSample> v = {Sample(10, VitalType::kSystolicBp, 120, "mm[Hg]"),
                                      Sample(11, VitalType::kHeartRate, 70, "/min"),
                                      Sample(12, VitalType::kDiastolicBp, 80, "mm[Hg]")};
  const auto got = BuildVitalObservations(v);
  ASSERT_EQ(got.observations.size(), 2u);
  const json& bp = got.observations[0];
  EXPECT_EQ(bp["id"], "ht-bp-10-12");
  EXPECT_EQ(bp["meta"]["profile"][0], "http://hl7.org/fhir/StructureDefinition/bp");
  EXPECT_EQ(Loincs(bp), std::vector<std::string>{"85354-9"});
  EXPECT_FALSE(bp.contains("valueQuantity"));
  ASSERT_EQ(bp["component"].size(), 2u);
  EXPECT_EQ(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
  EXPECT_EQ(bp["component"][0]["valueQuantity"]["value"], 120.0);
  EXPECT_EQ(bp["component"][0]["valueQuantity"]["code"], "mm[Hg]");
  EXPECT_EQ(bp["component"][1]["code"]["coding"][0]["code"], "8462-4");
  EXPECT_EQ(bp["component"][1]["valueQuantity"]["value"], 80.0);
  EXPECT_EQ(got.observations[1]["id"], "ht-obs-11");
  EXPECT_EQ(got.first_ingest_seq, (std::vector<int64_t>{10, 11}));
}

TEST(FhirVitalsTest, BpHalvesOfDifferentTimesOrDevicesAreNotPaired) {
  const std::vector<VitalSample> v = {Sample(1, VitalType::kSystolicBp, 120, "mm[Hg]", 1000),
                                      Sample(2, VitalType::kDiastolicBp, 80, "mm[Hg]", 2000),
                                      Sample(3, VitalType::kDiastolicBp, 81, "mm[Hg]", 1000, "dev2")};
  const auto got = BuildVitalObservations(v);
  ASSERT_EQ(got.observations.size(), 3u);
  EXPECT_EQ(got.observations[0]["id"], "ht-bp-1-x");
  EXPECT_EQ(got.observations[0]["component"][1]["dataAbsentReason"]["coding"][0]["code"], "unknown");
  EXPECT_FALSE(got.observations[0]["component"][1].contains("valueQuantity"));
  EXPECT_EQ(got.observations[1]["id"], "ht-bp-x-2");
  EXPECT_EQ(got.observations[1]["component"][0]["dataAbsentReason"]["coding"][0]["code"], "unknown");
  EXPECT_EQ(got.observations[2]["id"], "ht-bp-x-3");
}

TEST(FhirVitalsTest, TwoReadingsAtOneTimePairInOrder) {
  const std::vector<VitalSample> v = {
      Sample(1, VitalType::kSystolicBp, 120, "mm[Hg]"), Sample(2, VitalType::kSystolicBp, 130, "mm[Hg]"),
      Sample(3, VitalType::kDiastolicBp, 80, "mm[Hg]"), Sample(4, VitalType::kDiastolicBp, 85, "mm[Hg]")};
  const auto got = BuildVitalObservations(v);
  ASSERT_EQ(got.observations.size(), 2u);
  EXPECT_EQ(got.observations[0]["id"], "ht-bp-1-3");
  EXPECT_EQ(got.observations[1]["id"], "ht-bp-2-4");
}

TEST(FhirVitalsTest, TypesWithoutAProfileAndWrongUnitsAreSkippedAndCounted) {
  const std::vector<VitalSample> v = {
      Sample(1, VitalType::kMeanArterialBp, 93, "mm[Hg]"), Sample(2, VitalType::kGlucose, 100, "mg/dL"),
      Sample(3, VitalType::kHeartRate, 70, "bpm"), Sample(4, VitalType::kSystolicBp, 120, "kPa"),
      Sample(5, VitalType::kSpo2, 97, "%")};
  const auto got = BuildVitalObservations(v);
  EXPECT_EQ(got.skipped_without_profile, 2);
  EXPECT_EQ(got.skipped_unit_mismatch, 2);
  ASSERT_EQ(got.observations.size(), 1u);
  EXPECT_EQ(got.observations[0]["id"], "ht-obs-5");
}

TEST(FhirVitalsTest, SameRowsGiveTheSameResources) {
  const std::vector<VitalSample> v = {Sample(10, VitalType::kSystolicBp, 120, "mm[Hg]"),
                                      Sample(12, VitalType::kDiastolicBp, 80, "mm[Hg]")};
  EXPECT_EQ(BuildVitalObservations(v).observations, BuildVitalObservations(v).observations);
}

TEST(FhirVitalsTest, PatientCarriesOnlyItsPseudonymousIdAndDeviceItsAddress) {
  const json p = BuildPatient("p1");
  EXPECT_EQ(p, (json{{"resourceType", "Patient"}, {"id", "p1"}}));
  const json d = BuildDevice("AA:BB:CC:DD:EE:FF", "p1");
  EXPECT_EQ(d["id"], DeviceId("AA:BB:CC:DD:EE:FF"));
  EXPECT_EQ(d["identifier"][0]["value"], "AA:BB:CC:DD:EE:FF");
  EXPECT_EQ(d["patient"]["reference"], "Patient/p1");
  const json o = One(Sample(1, VitalType::kHeartRate, 60, "/min", 0, "AA:BB:CC:DD:EE:FF"));
  EXPECT_EQ(o["device"]["reference"], "Device/" + DeviceId("AA:BB:CC:DD:EE:FF"));
}

}  // namespace
}  // namespace healthtwin::feeds::fhir
