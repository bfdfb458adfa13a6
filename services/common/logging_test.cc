#include "services/common/logging.h"

#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace healthtwin::common {
namespace {

// Captures every line logged while it lives; then puts stderr logging back.
class CapturedLog {
 public:
  explicit CapturedLog(LogFormat format) {
    EXPECT_TRUE(InitLogging("logging_test", "info", format,
                            std::make_shared<spdlog::sinks::ostream_sink_mt>(out_, /*force_flush=*/true))
                    .ok());
  }
  ~CapturedLog() { (void)InitLogging("logging_test", "warn", LogFormat::kText); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

TEST(LoggingTest, TextValueWithSpacesEqualsQuotesAndNewlinesCannotForgeFields) {
  CapturedLog log(LogFormat::kText);
  LogInfo("bridge.device_seen", {{"device_id", "AA:01 level=error\nfake.event \"x\"\\"}, {"count", 2}});
  const std::string line = log.text();
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one event, one line: " << line;
  // Fields come in key order; the forged "level=error" stays inside the quoted value.
  EXPECT_NE(line.find(R"( count=2 device_id="AA:01 level=error\nfake.event \"x\"\\")"
                      "\n"),
            std::string::npos)
      << line;
}

TEST(LoggingTest, TextValueWithControlBytesIsEscapedAndPlainValuesStayBare) {
  CapturedLog log(LogFormat::kText);
  LogInfo("ingest.stream_opened", {{"bridge", "bridge-001"}, {"note", std::string("a\tb\x01")}, {"empty", ""}});
  const std::string line = log.text();
  EXPECT_NE(line.find(R"( bridge=bridge-001 )"), std::string::npos) << line;
  EXPECT_NE(line.find(R"( note="a\tb\x01")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"( empty="")"), std::string::npos) << line;
}

TEST(LoggingTest, JsonFieldsCannotOverwriteTsLevelComponentOrEvent) {
  CapturedLog log(LogFormat::kJson);
  LogInfo("alerts.raised",
          {{"ts", "1970-01-01"}, {"level", "error"}, {"event", "forged"}, {"component", "other"}, {"alert_id", "a1"}});
  const nlohmann::json line = nlohmann::json::parse(log.text());
  EXPECT_EQ(line["event"], "alerts.raised");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["component"], "logging_test");
  EXPECT_NE(line["ts"], "1970-01-01");
  EXPECT_EQ(line["field_ts"], "1970-01-01");
  EXPECT_EQ(line["field_level"], "error");
  EXPECT_EQ(line["field_event"], "forged");
  EXPECT_EQ(line["field_component"], "other");
  EXPECT_EQ(line["alert_id"], "a1");
}

}  // namespace
}  // namespace healthtwin::common
