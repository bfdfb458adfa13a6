#include "services/feeds/hl7/mllp.h"

#include <gtest/gtest.h>

namespace healthtwin::feeds::hl7 {
namespace {

std::string NextOrDie(MllpDeframer& d) {
  auto next = d.Next();
  EXPECT_TRUE(next.ok()) << next.status();
  if (!next.ok() || !next->has_value()) return "<none>";
  return **next;
}

bool NothingYet(MllpDeframer& d) {
  auto next = d.Next();
  return next.ok() && !next->has_value();
}

TEST(MllpFrameTest, WrapsInStartEndAndCarriageReturn) {
  EXPECT_EQ(MllpFrame("MSH|x\r"), std::string("\x0bMSH|x\r\x1c\x0d"));
}

TEST(MllpDeframerTest, ReassemblesAFrameSplitAcrossReads) {
  const std::string frame = MllpFrame("MSH|^~\\&|A\rMSA|AA|1\r");
  MllpDeframer d;
  for (size_t i = 0; i + 1 < frame.size(); ++i) {
    d.Feed(frame.substr(i, 1));
    EXPECT_TRUE(NothingYet(d)) << "complete too early at byte " << i;
  }
  d.Feed(frame.substr(frame.size() - 1));
  EXPECT_EQ(NextOrDie(d), "MSH|^~\\&|A\rMSA|AA|1\r");
}

TEST(MllpDeframerTest, ReturnsTwoFramesFromOneRead) {
  MllpDeframer d;
  d.Feed(MllpFrame("one") + MllpFrame("two"));
  EXPECT_EQ(NextOrDie(d), "one");
  EXPECT_EQ(NextOrDie(d), "two");
  EXPECT_TRUE(NothingYet(d));
}

TEST(MllpDeframerTest, DiscardsGarbageBetweenFrames) {
  MllpDeframer d;
  d.Feed("noise" + MllpFrame("one") + "\r\njunk" + MllpFrame("two"));
  EXPECT_EQ(NextOrDie(d), "one");
  EXPECT_EQ(NextOrDie(d), "two");
  EXPECT_EQ(d.garbage_bytes(), 11u);
}

TEST(MllpDeframerTest, ResyncsOnANewStartInsideAnUnfinishedFrame) {
  MllpDeframer d;
  d.Feed(std::string("\x0b"
                     "cut off") +
         MllpFrame("whole"));
  EXPECT_EQ(NextOrDie(d), "whole");
}

TEST(MllpDeframerTest, EndByteWithoutCarriageReturnIsNotAFrame) {
  MllpDeframer d;
  d.Feed(std::string("\x0b"
                     "bad\x1cX") +
         MllpFrame("good"));
  EXPECT_EQ(NextOrDie(d), "good");
}

TEST(MllpDeframerTest, RejectsAFrameOverTheLimitBeforeItEnds) {
  MllpDeframer d(/*max_frame_bytes=*/10);
  d.Feed(std::string("\x0b") + std::string(11, 'x'));
  auto next = d.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(next.status().message().find("10 bytes"), std::string::npos);
}

TEST(MllpDeframerTest, AcceptsAFrameExactlyAtTheLimit) {
  MllpDeframer d(/*max_frame_bytes=*/10);
  d.Feed(MllpFrame(std::string(10, 'x')));
  EXPECT_EQ(NextOrDie(d), std::string(10, 'x'));
}

}  // namespace
}  // namespace healthtwin::feeds::hl7
