// kill -9 of a process in the middle of appending: every append that returned OK before the
// kill is in the outbox afterwards, with its content, and the state written in the same
// transaction matches the rows.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "ble_bridge/outbox/outbox.h"
#include "gtest/gtest.h"

namespace healthtwin::ble {
namespace {

struct Acked {
  int64_t id;
  uint64_t record_seq;
};

// Child: appends forever, reporting each acknowledged append on `fd`. Never returns.
[[noreturn]] void AppendUntilKilled(const std::string& path, int fd, uint64_t first_seq) {
  auto outbox = Outbox::Open(path);
  if (!outbox.ok()) _exit(3);
  for (uint64_t seq = first_seq;; ++seq) {
    Measurement m{"AA:BB:CC:DD:EE:01", common::VitalType::kHeartRate, static_cast<double>(40 + seq % 100), "/min",
                  static_cast<int64_t>(seq) * 1'000'000, static_cast<int64_t>(seq) * 1'000'000 + 5, seq};
    auto ids = (*outbox)->Append(std::span<const Measurement>(&m, 1), {{"racp/AA", std::to_string(seq)}});
    if (!ids.ok()) _exit(4);
    const Acked a{ids->front(), seq};
    if (write(fd, &a, sizeof a) != static_cast<ssize_t>(sizeof a)) _exit(5);
  }
}

TEST(OutboxCrashTest, EveryAcknowledgedAppendSurvivesKillNine) {
  char tmpl[] = "/tmp/ht-outbox-crash-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string path = dir + "/outbox.db";
  std::map<int64_t, uint64_t> acked;  // id -> record seq
  uint64_t next_seq = 1;

  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      AppendUntilKilled(path, fds[1], next_seq);
    }
    close(fds[1]);
    // Let it acknowledge a few hundred appends, then kill it while it is mid-append.
    Acked a;
    int got = 0;
    while (got < 200 && read(fds[0], &a, sizeof a) == static_cast<ssize_t>(sizeof a)) {
      acked[a.id] = a.record_seq;
      next_seq = a.record_seq + 1;
      ++got;
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    // Acknowledgements already in the pipe were acknowledged before the kill.
    while (read(fds[0], &a, sizeof a) == static_cast<ssize_t>(sizeof a)) {
      acked[a.id] = a.record_seq;
      next_seq = a.record_seq + 1;
    }
    close(fds[0]);
    ASSERT_EQ(got, 200);
    // The append in flight at the kill may or may not have committed; skip its seq.
    next_seq += 1;
  }

  auto outbox = Outbox::Open(path);
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  auto rows = (*outbox)->ReadAfter(0, 1'000'000);
  ASSERT_TRUE(rows.ok());
  std::map<int64_t, const OutboxRow*> by_id;
  for (const auto& r : *rows) by_id[r.id] = &r;
  for (const auto& [id, seq] : acked) {
    auto it = by_id.find(id);
    ASSERT_NE(it, by_id.end()) << "acknowledged row " << id << " lost";
    EXPECT_EQ(it->second->measurement.device_record_seq, seq);
    EXPECT_EQ(it->second->measurement.value, static_cast<double>(40 + seq % 100));
    EXPECT_EQ(it->second->measurement.measured_at_unix_us, static_cast<int64_t>(seq) * 1'000'000);
  }
  // At most one unacknowledged (in-flight) row per kill.
  EXPECT_LE(rows->size(), acked.size() + 3);
  EXPECT_EQ((*outbox)->Stats().rows, static_cast<int64_t>(rows->size()));
  // The cursor committed with the newest row names that row.
  auto cursor = (*outbox)->GetState("racp/AA");
  ASSERT_TRUE(cursor.ok() && cursor->has_value());
  EXPECT_EQ(*cursor, std::to_string(rows->back().measurement.device_record_seq));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace healthtwin::ble
