#include "ble_bridge/cli/terminate_handler.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace healthtwin::ble {
namespace {

TEST(TerminateHandlerTest, NamesTheTypeAndMessageOfWhatEscapedAThread) {
  EXPECT_DEATH(
      {
        InstallTerminateHandler("bridge-test");
        std::thread([] { throw std::runtime_error("bus went away"); }).join();
      },
      "bridge-test: std::terminate: std::runtime_error: bus went away");
}

TEST(TerminateHandlerTest, NamesANonStandardExceptionType) {
  struct Odd {};
  EXPECT_DEATH(
      {
        InstallTerminateHandler("bridge-test");
        std::thread([] { throw Odd{}; }).join();
      },
      "bridge-test: std::terminate: .*Odd \\(not a std::exception\\)");
}

TEST(TerminateHandlerTest, DescribesTheExceptionBeingHandled) {
  try {
    throw std::out_of_range("index 7");
  } catch (...) {
    EXPECT_EQ(DescribeCurrentException(), "std::out_of_range: index 7");
  }
}

}  // namespace
}  // namespace healthtwin::ble
