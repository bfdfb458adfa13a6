#include "services/feeds/fhir/ids.h"

#include "gtest/gtest.h"

namespace healthtwin::feeds::fhir {
namespace {

TEST(FhirIdsTest, AnIdThatFitsIsKeptAsItIs) {
  EXPECT_EQ(PatientId("p-1.a"), "p-1.a");
  EXPECT_EQ(DeviceId("dev42"), "dev42");
}

TEST(FhirIdsTest, AnIdWithCharactersFhirRefusesIsHashedStablyAndDistinctly) {
  const std::string a = DeviceId("AA:BB:CC:DD:EE:FF");
  EXPECT_EQ(a, DeviceId("AA:BB:CC:DD:EE:FF"));
  EXPECT_NE(a, DeviceId("AA:BB:CC:DD:EE:F0"));
  EXPECT_EQ(a.size(), 42u);
  EXPECT_EQ(a.substr(0, 2), "h-");
  EXPECT_TRUE(IsFhirId(a));
  EXPECT_TRUE(IsFhirId(PatientId("under_score")));
  EXPECT_NE(PatientId("under_score"), "under_score");
}

TEST(FhirIdsTest, IsFhirIdFollowsTheR4IdType) {
  EXPECT_TRUE(IsFhirId("A-z.0"));
  EXPECT_FALSE(IsFhirId(""));
  EXPECT_FALSE(IsFhirId(std::string(65, 'a')));
  EXPECT_TRUE(IsFhirId(std::string(64, 'a')));
  EXPECT_FALSE(IsFhirId("a_b"));
  EXPECT_FALSE(IsFhirId("a:b"));
}

TEST(FhirIdsTest, RowIdsAreDerivedFromTheRowIdentity) {
  EXPECT_EQ(VitalObservationId(17), "ht-obs-17");
  EXPECT_EQ(BpObservationId(5, 6), "ht-bp-5-6");
  EXPECT_EQ(BpObservationId(5, 0), "ht-bp-5-x");
  EXPECT_EQ(BpObservationId(0, 6), "ht-bp-x-6");
  EXPECT_EQ(AcknowledgementCommunicationId(9), "ht-ack-9");
  const std::string uuid = "0cc175b9-c0f1-b6a8-31c3-99e269772661";
  EXPECT_EQ(AlertCommunicationRequestId(uuid), "ht-cr-" + uuid);
  EXPECT_EQ(AlertDetectedIssueId(uuid), "ht-di-" + uuid);
  EXPECT_TRUE(IsFhirId(AlertTriggerObservationId(uuid)));
}

TEST(FhirIdsTest, DerivedUuidIsStableAndVersion8) {
  const std::string u = DerivedUuid("ht-1-a5");
  EXPECT_EQ(u, DerivedUuid("ht-1-a5"));
  EXPECT_NE(u, DerivedUuid("ht-1-a6"));
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[8], '-');
  EXPECT_EQ(u[14], '8');
  EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b') << u;
}

TEST(FhirIdsTest, InstantIsUtcWithMilliseconds) {
  EXPECT_EQ(FhirInstant(1'700'000'000'123'456), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FhirInstant(0), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace healthtwin::feeds::fhir
