// A feed service replica for the kill -9 test (feeds_integration_test): runs the FeedWorker
// loop with the fake encoder and a transport that appends each message id it is given to a
// file, then acknowledges it, except the `hang_at`-th, which it records and then never answers
// (the test kills the process during that send). MAX_BATCH (default: DeliverOptions') is the
// deliverer's max_messages_per_batch, so a test can kill a batched or a one-message delivery.
//
//   feeds_replica CONNINFO RECORD_FILE HANG_AT [MAX_BATCH]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "services/common/pg.h"
#include "services/feeds/feed_worker.h"
#include "services/feeds/test_fakes.h"

namespace {

using namespace healthtwin::feeds;

class FileRecordingTransport : public Transport {
 public:
  FileRecordingTransport(int fd, int hang_at) : fd_(fd), hang_at_(hang_at) {}
  SendResult Send(const std::string&, const std::string& message_id) override {
    const std::string line = message_id + "\n";
    if (write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
    if (++sends_ == hang_at_) {
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    }
    return {SendResult::Outcome::kDelivered, "", "ACK " + message_id};
  }

 private:
  const int fd_;
  const int hang_at_;
  int sends_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: feeds_replica CONNINFO RECORD_FILE HANG_AT [MAX_BATCH]\n");
    return 2;
  }
  const int fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return 2;
  const int hang_at = std::atoi(argv[3]);
  healthtwin::common::PgPool pool(argv[1], 2);
  fakes::FakeEncoder encoder;
  WorkerOptions options;
  options.idle_poll = std::chrono::milliseconds(50);
  if (argc == 5) options.deliver.max_messages_per_batch = std::atoi(argv[4]);
  FeedWorker worker(
      pool, argv[1], [&](const Feed&) -> const MessageEncoder* { return &encoder; },
      [&](const Feed&) -> absl::StatusOr<std::unique_ptr<Transport>> {
        return std::make_unique<FileRecordingTransport>(fd, hang_at);
      },
      [] { return 0.0; }, options);
  worker.Start();
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}
