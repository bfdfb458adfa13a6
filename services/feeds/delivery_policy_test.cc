#include "services/feeds/delivery_policy.h"

#include "gtest/gtest.h"

namespace healthtwin::feeds {
namespace {

using std::chrono::milliseconds;
using Outcome = SendResult::Outcome;

TEST(RetryDelayTest, FirstRetryIsBetweenHalfAndAllOfTheFirstStep) {
  const BackoffPolicy p;
  EXPECT_EQ(RetryDelay(p, 1, 0.0), milliseconds(500));
  EXPECT_EQ(RetryDelay(p, 1, 0.999), milliseconds(999));
}

TEST(RetryDelayTest, DoublesPerAttempt) {
  const BackoffPolicy p;
  EXPECT_EQ(RetryDelay(p, 2, 0.0), milliseconds(1000));
  EXPECT_EQ(RetryDelay(p, 3, 0.0), milliseconds(2000));
  EXPECT_EQ(RetryDelay(p, 4, 0.5), milliseconds(6000));
}

TEST(RetryDelayTest, CappedAtFiveMinutesEvenAfterManyAttempts) {
  const BackoffPolicy p;
  EXPECT_EQ(RetryDelay(p, 10, 0.999), milliseconds(299850));
  EXPECT_EQ(RetryDelay(p, 1000000, 0.0), milliseconds(150000));
  EXPECT_LE(RetryDelay(p, 1000000, 1.0), milliseconds(300000));
}

TEST(RetryDelayTest, JitterSpreadsReplicasThatFailedTogether) {
  const BackoffPolicy p;
  EXPECT_NE(RetryDelay(p, 5, 0.1), RetryDelay(p, 5, 0.9));
}

TEST(DecideTest, DeliveredRecordsTheAck) {
  const RowUpdate u = Decide({Outcome::kDelivered, "", "MSA|AA|ht-1-a7"}, 2, {}, 0.5);
  EXPECT_EQ(u.state, RowUpdate::State::kDelivered);
  EXPECT_EQ(u.attempts, 3);
  EXPECT_EQ(u.ack, "MSA|AA|ht-1-a7");
  EXPECT_FALSE(u.raise_technical_event);
}

TEST(DecideTest, RetryStaysPendingWithBackoffAndTheError) {
  const RowUpdate u = Decide({Outcome::kRetry, "AE: busy", "MSA|AE|ht-1-a7"}, 0, {}, 0.0);
  EXPECT_EQ(u.state, RowUpdate::State::kPending);
  EXPECT_EQ(u.attempts, 1);
  EXPECT_EQ(u.retry_in, milliseconds(500));
  EXPECT_EQ(u.last_error, "AE: busy");
  EXPECT_FALSE(u.raise_technical_event);
}

TEST(DecideTest, RetryNeverDeadLettersHoweverManyAttempts) {
  const RowUpdate u = Decide({Outcome::kRetry, "connection refused", ""}, 100000, {}, 0.5);
  EXPECT_EQ(u.state, RowUpdate::State::kPending);
  EXPECT_LE(u.retry_in, milliseconds(300000));
}

TEST(DecideTest, PermanentRejectionDeadLettersAndRaisesATechnicalEvent) {
  const RowUpdate u = Decide({Outcome::kPermanent, "AR: unknown patient", "MSA|AR|ht-1-a7"}, 0, {}, 0.5);
  EXPECT_EQ(u.state, RowUpdate::State::kDead);
  EXPECT_TRUE(u.raise_technical_event);
  EXPECT_EQ(u.last_error, "AR: unknown patient");
  EXPECT_EQ(u.ack, "MSA|AR|ht-1-a7");
}

TEST(DecideTest, TheThirdFailureInARowRaisesOneRetryingEvent) {
  const SendResult ae{Outcome::kRetry, "AE: busy", "MSA|AE|ht-1-a7"};
  EXPECT_FALSE(Decide(ae, 0, {}, 0.5).raise_retrying_event);
  EXPECT_FALSE(Decide(ae, 1, {}, 0.5).raise_retrying_event);
  const RowUpdate third = Decide(ae, 2, {}, 0.5);
  EXPECT_TRUE(third.raise_retrying_event);
  EXPECT_EQ(third.state, RowUpdate::State::kPending);  // still retried
  EXPECT_FALSE(third.raise_technical_event);
  EXPECT_FALSE(Decide(ae, 3, {}, 0.5).raise_retrying_event);  // once per message, not per retry
  EXPECT_FALSE(Decide(ae, 50, {}, 0.5).raise_retrying_event);
}

TEST(DecideTest, DeliveryOrRejectionOnTheThirdAttemptRaisesNoRetryingEvent) {
  EXPECT_FALSE(Decide({Outcome::kDelivered, "", "MSA|AA|x"}, 2, {}, 0.5).raise_retrying_event);
  EXPECT_FALSE(Decide({Outcome::kPermanent, "AR", "MSA|AR|x"}, 2, {}, 0.5).raise_retrying_event);
}

}  // namespace
}  // namespace healthtwin::feeds
