// A real full disk under the outbox: a 512 KiB tmpfs filled with a ballast file. Appends are
// refused cleanly (counted, logged once at error level), everything acknowledged before stays
// intact and readable, the cursor written with a refused append does not move, and the same
// open Outbox appends again once the ballast is deleted.
//
// Mounting needs root (CI runs the tests as root). Without it the test fails and says so: a
// silent skip would hide that the disk-full path is untested.
#include <spdlog/sinks/ostream_sink.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ble_bridge/outbox/outbox.h"
#include "gtest/gtest.h"
#include "services/common/logging.h"

namespace healthtwin::ble {
namespace {

constexpr char kCursorKey[] = "racp.cursor.AA:BB:CC:DD:EE:01.2A18";

struct Acked {
  int64_t id;
  uint64_t seq;
};

Measurement Glucose(uint64_t seq) {
  const int64_t t_us = 1'700'000'000'000'000 + static_cast<int64_t>(seq) * 1'000'000;
  return {"AA:BB:CC:DD:EE:01",
          common::VitalType::kGlucose,
          90.0 + static_cast<double>(seq % 50),
          "mg/dL",
          t_us,
          t_us + 5,
          seq};
}

int CountOccurrences(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

class OutboxDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ht-outbox-full-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=512k") != 0) {
      const int err = errno;
      std::filesystem::remove(dir_);
      dir_.clear();
      FAIL() << "cannot mount a 512 KiB tmpfs (" << std::strerror(err)
             << "): this test needs root (CI runs it as root) to produce a real ENOSPC";
    }
    mounted_ = true;
    ASSERT_TRUE(common::InitLogging("outbox_disk_full_test", "info", common::LogFormat::kJson,
                                    std::make_shared<spdlog::sinks::ostream_sink_mt>(log_, /*force_flush=*/true))
                    .ok());
  }
  void TearDown() override {
    (void)common::InitLogging("outbox_disk_full_test", "warn", common::LogFormat::kText);
    if (mounted_) {
      EXPECT_EQ(umount(dir_.c_str()), 0) << std::strerror(errno);
    }
    if (!dir_.empty()) std::filesystem::remove(dir_);
  }

  // Writes zeros until the file system says ENOSPC.
  void FillWithBallast() {
    std::ofstream out(ballast(), std::ios::binary);
    const std::string block(4096, '\0');
    while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
    }
    // tmpfs allocates whole pages, so a failed 4 KiB write leaves no room for a smaller one.
  }

  std::string ballast() const { return dir_ + "/ballast"; }
  std::string db_path() const { return dir_ + "/outbox.db"; }

  std::string dir_;
  bool mounted_ = false;
  std::ostringstream log_;
};

// What a second, independent connection finds in the file.
std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  std::string result = "cannot open";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    } else {
      result = sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return result;
}

void ExpectExactlyAcked(Outbox& outbox, const std::vector<Acked>& acked) {
  auto rows = outbox.ReadAfter(0, 1'000'000);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), acked.size());
  for (std::size_t i = 0; i < acked.size(); ++i) {
    const OutboxRow& r = (*rows)[i];
    const Measurement want = Glucose(acked[i].seq);
    EXPECT_EQ(r.id, acked[i].id);
    EXPECT_EQ(r.measurement.device_record_seq, acked[i].seq);
    EXPECT_EQ(r.measurement.value, want.value);
    EXPECT_EQ(r.measurement.measured_at_unix_us, want.measured_at_unix_us);
  }
  auto cursor = outbox.GetState(kCursorKey);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  ASSERT_TRUE(cursor->has_value());
  EXPECT_EQ(**cursor, std::to_string(acked.back().seq)) << "the cursor moved past the last stored record";
}

TEST_F(OutboxDiskFullTest, RefusesCleanlyAndResumesInTheSameOutboxWhenSpaceReturns) {
  auto opened = Outbox::Open(db_path());
  ASSERT_TRUE(opened.ok()) << opened.status();
  Outbox& outbox = **opened;
  std::vector<Acked> acked;
  uint64_t seq = 1;
  auto append = [&]() -> absl::Status {
    const Measurement m = Glucose(seq);
    auto ids = outbox.Append(std::span<const Measurement>(&m, 1), {{kCursorKey, std::to_string(seq)}});
    if (!ids.ok()) return ids.status();
    acked.push_back({ids->front(), seq++});
    return absl::OkStatus();
  };
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append().ok());

  FillWithBallast();
  absl::Status refused;
  for (int i = 0; i < 5'000 && refused.ok(); ++i) refused = append();
  ASSERT_FALSE(refused.ok()) << "5000 appends fitted on a full 512 KiB file system";
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_NE(refused.message().find("disk full"), std::string::npos) << refused;

  // Refused again and again while full: counted each time, logged once.
  for (int i = 0; i < 50; ++i) EXPECT_EQ(append().code(), absl::StatusCode::kResourceExhausted);
  OutboxStats stats = outbox.Stats();
  EXPECT_EQ(stats.disk_full_total, 51u);
  EXPECT_EQ(stats.refused_total, 51u);
  EXPECT_TRUE(stats.disk_full);
  EXPECT_EQ(stats.rows, static_cast<int64_t>(acked.size()));
  EXPECT_EQ(CountOccurrences(log_.str(), "\"bridge.outbox_disk_full\""), 1) << log_.str();
  EXPECT_NE(log_.str().find("\"level\":\"error\""), std::string::npos) << log_.str();

  // Nothing half-written, nothing acknowledged lost, the connection still reads.
  EXPECT_EQ(IntegrityCheck(db_path()), "ok");
  ExpectExactlyAcked(outbox, acked);

  ASSERT_TRUE(std::filesystem::remove(ballast()));
  const std::size_t before_resume = acked.size();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(append().ok()) << "append " << i << " after space returned";
  stats = outbox.Stats();
  EXPECT_FALSE(stats.disk_full);
  EXPECT_EQ(stats.appended_total, acked.size());
  EXPECT_EQ(CountOccurrences(log_.str(), "\"bridge.outbox_disk_space_returned\""), 1) << log_.str();
  EXPECT_GT(acked.size(), before_resume);
  EXPECT_EQ(IntegrityCheck(db_path()), "ok");
  ExpectExactlyAcked(outbox, acked);

  // And it is all still there for the next process.
  opened->reset();
  auto reopened = Outbox::Open(db_path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ExpectExactlyAcked(**reopened, acked);
}

TEST_F(OutboxDiskFullTest, RefusalWhileFullDoesNotCountAsBoundRefusal) {
  auto opened = Outbox::Open(db_path(), {.max_rows = 1'000'000});
  ASSERT_TRUE(opened.ok()) << opened.status();
  FillWithBallast();
  absl::Status s;
  uint64_t seq = 1;
  for (int i = 0; i < 5'000 && s.ok(); ++i) {
    auto id = (*opened)->Append(Glucose(seq++));
    s = id.status();
  }
  ASSERT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(log_.str().find("\"bridge.outbox_full\""), std::string::npos) << "a full disk is not a full outbox";
  std::filesystem::remove(ballast());
}

}  // namespace
}  // namespace healthtwin::ble
