#include "services/feeds/hl7/encoder.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/strings/str_split.h"
#include "services/feeds/hl7/escape.h"

namespace healthtwin::feeds::hl7 {
namespace {

using Fields = std::vector<std::string>;

// Splits a message into segments and fields; for MSH, index n is MSH-n (like the standard).
std::vector<Fields> Parse(const std::string& message) {
  EXPECT_EQ(message.back(), '\r');
  std::vector<Fields> out;
  for (absl::string_view seg : absl::StrSplit(message, '\r', absl::SkipEmpty())) {
    Fields f = absl::StrSplit(seg, '|');
    if (f[0] == "MSH") f.insert(f.begin() + 1, "|");
    f.resize(30);
    out.push_back(f);
  }
  return out;
}

constexpr int64_t kT0 = 1'780'000'000'000'000;  // 2026-05-28T20:26:40Z

MessageContext Context() {
  MessageContext c;
  c.identity = {"HEALTHTWIN", "HOME", "ENGINE", "GENERAL", false, "P"};
  c.control_id = "feed1-42";
  c.created_at_us = kT0;
  return c;
}

AlertEventView Event() {
  AlertEventView e;
  e.alert_id = "al-7";
  e.event_seq = 3;
  e.kind = AlertEventKind::kAcknowledged;
  e.event_at_us = kT0 + 123'000;
  e.patient_id = "P|1^x~y\\z&w";
  e.rule_id = "hr_high";
  e.priority = AlertPriority::kHigh;
  e.category = AlertCategory::kPhysiological;
  e.text = "HR > 120 | 6 min ^ peak & more ~\\";
  e.phase = EventPhase::kContinue;
  e.alarm_state = AlarmState::kActive;
  e.inactivation = InactivationState::kAcknowledged;
  e.trigger = TriggerObservation{"heart_rate", 142, "/min", kT0 - 1'000'000};
  return e;
}

TEST(OruR40Test, SetsMshFields) {
  auto msg = EncodeOruR40(Event(), Context());
  ASSERT_TRUE(msg.ok()) << msg.status();
  const Fields msh = Parse(*msg)[0];
  EXPECT_EQ(msh[1], "|");
  EXPECT_EQ(msh[2], "^~\\&");
  EXPECT_EQ(msh[3], "HEALTHTWIN");
  EXPECT_EQ(msh[4], "HOME");
  EXPECT_EQ(msh[5], "ENGINE");
  EXPECT_EQ(msh[6], "GENERAL");
  EXPECT_EQ(msh[7], "20260528202640.000+0000");
  EXPECT_EQ(msh[9], "ORU^R40^ORU_R40");
  EXPECT_EQ(msh[10], "feed1-42");
  EXPECT_EQ(msh[11], "P");
  EXPECT_EQ(msh[12], "2.6");
  EXPECT_EQ(msh[15], "");
  EXPECT_EQ(msh[16], "");
  EXPECT_EQ(msh[18], "UNICODE UTF-8");
  EXPECT_EQ(msh[21], "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO");
}

TEST(OruR40Test, EnhancedModeSetsMsh15And16) {
  MessageContext c = Context();
  c.identity.enhanced_ack = true;
  auto msg = EncodeOruR40(Event(), c);
  ASSERT_TRUE(msg.ok()) << msg.status();
  const Fields msh = Parse(*msg)[0];
  EXPECT_EQ(msh[15], "AL");
  EXPECT_EQ(msh[16], "NE");
}

TEST(OruR40Test, EscapesThePatientIdInPid3) {
  auto msg = EncodeOruR40(Event(), Context());
  ASSERT_TRUE(msg.ok());
  const auto segs = Parse(*msg);
  ASSERT_EQ(segs[1][0], "PID");
  const std::vector<std::string> cx = absl::StrSplit(segs[1][3], '^');
  ASSERT_EQ(cx.size(), 5u);
  EXPECT_EQ(*Unescape(cx[0]), "P|1^x~y\\z&w");
  EXPECT_EQ(cx[3], "HEALTHTWIN");
  EXPECT_EQ(cx[4], "PI");
  EXPECT_EQ(segs[2][0], "PV1");
  EXPECT_EQ(segs[2][2], "U");
}

TEST(OruR40Test, ObrCarriesTheAlertIdentityAndTheEventTime) {
  auto msg = EncodeOruR40(Event(), Context());
  ASSERT_TRUE(msg.ok());
  const Fields obr = Parse(*msg)[3];
  EXPECT_EQ(obr[0], "OBR");
  EXPECT_EQ(obr[1], "1");
  EXPECT_EQ(obr[2], "al-7-3^HEALTHTWIN");
  EXPECT_EQ(obr[3], "al-7^HEALTHTWIN");
  EXPECT_EQ(obr[4], "196616^MDC_EVT_ALARM^MDC");
  EXPECT_EQ(obr[7], "20260528202640.123+0000");
}

TEST(OruR40Test, SameAlertIdentityInEveryTransition) {
  AlertEventView raised = Event();
  raised.event_seq = 1;
  raised.kind = AlertEventKind::kRaised;
  raised.phase = EventPhase::kStart;
  AlertEventView resolved = Event();
  resolved.event_seq = 9;
  resolved.kind = AlertEventKind::kResolved;
  resolved.phase = EventPhase::kEnd;
  resolved.alarm_state = AlarmState::kInactive;
  auto a = EncodeOruR40(raised, Context());
  auto b = EncodeOruR40(resolved, Context());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Parse(*a)[3][3], Parse(*b)[3][3]);
  EXPECT_NE(Parse(*a)[3][2], Parse(*b)[3][2]);
}

TEST(OruR40Test, AlarmObxSetInOrderWithValues) {
  auto msg = EncodeOruR40(Event(), Context());
  ASSERT_TRUE(msg.ok());
  const auto segs = Parse(*msg);
  ASSERT_EQ(segs.size(), 4u + 9u);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"196616^MDC_EVT_ALARM^MDC", "hr_high^hr_high^99HEALTHTWIN"},
      {"68480^MDC_ATTR_ALERT_SOURCE^MDC", "147842^MDC_ECG_HEART_RATE^MDC"},
      {"68481^MDC_ATTR_EVENT_PHASE^MDC", "continue"},
      {"68482^MDC_ATTR_ALARM_STATE^MDC", "active"},
      {"68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC", "alert-acknowledged"},
      {"68484^MDC_ATTR_ALARM_PRIORITY^MDC", "PH"},
      {"68485^MDC_ATTR_ALERT_TYPE^MDC", "SP"},
      {"68546^MDC_ATTR_ALERT_TEXT^MDC", Escape("HR > 120 | 6 min ^ peak & more ~\\")},
      {"147842^MDC_ECG_HEART_RATE^MDC", "142"},
  };
  for (size_t i = 0; i < want.size(); ++i) {
    const Fields& obx = segs[4 + i];
    SCOPED_TRACE(i);
    EXPECT_EQ(obx[0], "OBX");
    EXPECT_EQ(obx[1], std::to_string(i + 1));
    EXPECT_EQ(obx[3], want[i].first);
    EXPECT_EQ(obx[4], "1.0.0.0." + std::to_string(i + 1));
    EXPECT_EQ(obx[5], want[i].second);
  }
  EXPECT_EQ(segs[4][2], "CWE");
  EXPECT_EQ(segs[4][8], "PH~SP");
  EXPECT_EQ(segs[6][2], "ST");
  EXPECT_EQ(segs[6][11], "R");
  const Fields& trigger = segs[12];
  EXPECT_EQ(trigger[2], "NM");
  EXPECT_EQ(trigger[6], "264864^MDC_DIM_BEAT_PER_MIN^MDC");
  EXPECT_EQ(trigger[11], "F");
  EXPECT_EQ(trigger[14], "20260528202639.000+0000");
  EXPECT_EQ(*Unescape(segs[11][5]), "HR > 120 | 6 min ^ peak & more ~\\");
}

TEST(OruR40Test, MapsPriorityTypeAndStates) {
  AlertEventView e = Event();
  e.priority = AlertPriority::kLow;
  e.category = AlertCategory::kTechnical;
  e.alarm_state = AlarmState::kLatched;
  e.inactivation = InactivationState::kAudioPaused;
  e.phase = EventPhase::kEnd;
  auto msg = EncodeOruR40(e, Context());
  ASSERT_TRUE(msg.ok());
  const auto segs = Parse(*msg);
  EXPECT_EQ(segs[6][5], "end");
  EXPECT_EQ(segs[7][5], "latched");
  EXPECT_EQ(segs[8][5], "audio-paused");
  EXPECT_EQ(segs[9][5], "PL");
  EXPECT_EQ(segs[10][5], "ST");
  EXPECT_EQ(segs[4][8], "PL~ST");
  e.priority = AlertPriority::kMedium;
  e.inactivation = InactivationState::kEnabled;
  e.alarm_state = AlarmState::kInactive;
  e.phase = EventPhase::kStart;
  const auto segs2 = Parse(*EncodeOruR40(e, Context()));
  EXPECT_EQ(segs2[6][5], "start");
  EXPECT_EQ(segs2[7][5], "inactive");
  EXPECT_EQ(segs2[8][5], "enabled");
  EXPECT_EQ(segs2[9][5], "PM");
}

TEST(OruR40Test, PartialNews2IsPreliminaryWithALocalCode) {
  AlertEventView e = Event();
  e.rule_id = "news2";
  e.trigger = TriggerObservation{"news2", 7, "{score}", kT0};
  e.partial = true;
  auto msg = EncodeOruR40(e, Context());
  ASSERT_TRUE(msg.ok());
  const auto segs = Parse(*msg);
  EXPECT_EQ(segs[5][5], "news2^news2^99HEALTHTWIN");
  EXPECT_EQ(segs[12][3], "news2^news2^99HEALTHTWIN");
  EXPECT_EQ(segs[12][6], "{score}^{score}^UCUM");
  EXPECT_EQ(segs[12][11], "P");
}

TEST(OruR40Test, WithoutTriggerTheSourceIsTheRule) {
  AlertEventView e = Event();
  e.trigger.reset();
  auto msg = EncodeOruR40(e, Context());
  ASSERT_TRUE(msg.ok());
  const auto segs = Parse(*msg);
  ASSERT_EQ(segs.size(), 12u);
  EXPECT_EQ(segs[5][5], "hr_high^hr_high^99HEALTHTWIN");
}

TEST(OruR40Test, RejectsBadInputNamingTheField) {
  AlertEventView e = Event();
  e.patient_id.clear();
  EXPECT_NE(EncodeOruR40(e, Context()).status().message().find("alert.patient_id"), std::string::npos);
  MessageContext c = Context();
  c.control_id = "has|pipe";
  EXPECT_NE(EncodeOruR40(Event(), c).status().message().find("context.control_id"), std::string::npos);
  c.control_id = "";
  EXPECT_FALSE(EncodeOruR40(Event(), c).ok());
  e = Event();
  e.alert_id.clear();
  EXPECT_NE(EncodeOruR40(e, Context()).status().message().find("alert.alert_id"), std::string::npos);
}

std::vector<VitalSampleView> Samples() {
  using common::VitalType;
  return {
      {"P|1", "strap&1", VitalType::kHeartRate, 72, "/min", kT0},
      {"P|1", "cuff", VitalType::kSystolicBp, 121, "mm[Hg]", kT0 + 1'000'000},
      {"P|1", "cuff", VitalType::kDiastolicBp, 79, "mm[Hg]", kT0 + 1'000'000},
      {"P|1", "cuff", VitalType::kMeanArterialBp, 93, "mm[Hg]", kT0 + 1'000'000},
      {"P|1", "cuff", VitalType::kPulseRate, 70, "/min", kT0 + 1'000'000},
      {"P|1", "oxi", VitalType::kSpo2, 97, "%", kT0},
      {"P|1", "thermo", VitalType::kBodyTemperature, 36.85, "Cel", kT0},
      {"P|1", "scale", VitalType::kBodyWeight, 81.4, "kg", kT0},
      {"P|1", "manual", VitalType::kRespiratoryRate, 16, "/min", kT0},
      {"P|1", "meter", VitalType::kGlucose, 104, "mg/dL", kT0},
  };
}

TEST(OruR01Test, OneObrAndAnMdcCodedObxPerSample) {
  auto msg = EncodeOruR01(Samples(), Context());
  ASSERT_TRUE(msg.ok()) << msg.status();
  const auto segs = Parse(*msg);
  EXPECT_EQ(segs[0][9], "ORU^R01^ORU_R01");
  EXPECT_EQ(segs[0][21], "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO");
  EXPECT_EQ(segs[1][3], "P\\F\\1^^^HEALTHTWIN^PI");
  EXPECT_EQ(segs[3][0], "OBR");
  EXPECT_EQ(segs[3][3], "feed1-42^HEALTHTWIN");
  EXPECT_EQ(segs[3][4], "182777000^monitoring of patient^SCT");
  EXPECT_EQ(segs[3][7], "20260528202640.000+0000");
  const std::vector<std::tuple<std::string, std::string, std::string>> want = {
      {"147842^MDC_ECG_HEART_RATE^MDC", "72", "264864^MDC_DIM_BEAT_PER_MIN^MDC"},
      {"150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "121", "266016^MDC_DIM_MMHG^MDC"},
      {"150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "79", "266016^MDC_DIM_MMHG^MDC"},
      {"150023^MDC_PRESS_BLD_NONINV_MEAN^MDC", "93", "266016^MDC_DIM_MMHG^MDC"},
      {"149514^MDC_PULS_RATE^MDC", "70", "264864^MDC_DIM_BEAT_PER_MIN^MDC"},
      {"150456^MDC_PULS_OXIM_SAT_O2^MDC", "97", "262688^MDC_DIM_PERCENT^MDC"},
      {"150364^MDC_TEMP_BODY^MDC", "36.85", "268192^MDC_DIM_DEGC^MDC"},
      {"188736^MDC_MASS_BODY_ACTUAL^MDC", "81.4", "263875^MDC_DIM_KILO_G^MDC"},
      {"151562^MDC_RESP_RATE^MDC", "16", "264928^MDC_DIM_RESP_PER_MIN^MDC"},
      {"160184^MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD^MDC", "104", "264274^MDC_DIM_MILLI_G_PER_DL^MDC"},
  };
  ASSERT_EQ(segs.size(), 4u + want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const Fields& obx = segs[4 + i];
    SCOPED_TRACE(i);
    EXPECT_EQ(obx[1], std::to_string(i + 1));
    EXPECT_EQ(obx[2], "NM");
    EXPECT_EQ(obx[3], std::get<0>(want[i]));
    EXPECT_EQ(obx[5], std::get<1>(want[i]));
    EXPECT_EQ(obx[6], std::get<2>(want[i]));
    EXPECT_EQ(obx[11], "F");
  }
  EXPECT_EQ(segs[5][14], "20260528202641.000+0000");
  EXPECT_EQ(segs[4][18], "strap\\T\\1^HEALTHTWIN");
}

TEST(OruR01Test, RejectsMixedPatientsUnknownTypesAndWrongUnits) {
  auto s = Samples();
  s[2].patient_id = "other";
  EXPECT_NE(EncodeOruR01(s, Context()).status().message().find("samples[2].patient_id"), std::string::npos);
  s = Samples();
  s[1].type = common::VitalType::kUnspecified;
  EXPECT_NE(EncodeOruR01(s, Context()).status().message().find("samples[1].type"), std::string::npos);
  s = Samples();
  s[0].ucum_unit = "bpm";
  EXPECT_NE(EncodeOruR01(s, Context()).status().message().find("samples[0].ucum_unit"), std::string::npos);
  EXPECT_NE(EncodeOruR01({}, Context()).status().message().find("samples"), std::string::npos);
}

}  // namespace
}  // namespace healthtwin::feeds::hl7
