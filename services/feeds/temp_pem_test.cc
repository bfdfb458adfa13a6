#include "services/feeds/temp_pem.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "gtest/gtest.h"

namespace healthtwin::feeds {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(TempPemFileTest, HoldsThePemUntilItsLastOwnerGoes) {
  std::string path;
  {
    auto file = TempPemFile::Write("-----BEGIN CERTIFICATE-----\nabc\n");
    ASSERT_TRUE(file.ok()) << file.status();
    path = file->path();
    EXPECT_EQ(Read(path), "-----BEGIN CERTIFICATE-----\nabc\n");
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::others_read,
              std::filesystem::perms::none);
    TempPemFile moved = std::move(file).value();
    EXPECT_EQ(moved.path(), path);
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace healthtwin::feeds
