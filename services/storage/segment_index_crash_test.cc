// Durability: a write acknowledged by Apply survives kill -9 of the process,
// whatever flush or merge was running.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gtest/gtest.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/segment_index.h"
#include "services/storage/storage_handler.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::TempDir;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;

constexpr uint32_t kAcksBeforeKill = 300;

// Tiny thresholds so that the kill lands among flushes and merges.
IndexOptions BusyOptions() {
  IndexOptions options;
  options.block_cache_bytes = 8 << 20;
  options.write_buffer_bytes = 8 << 20;
  options.flush_documents = 16;
  options.merge_factor = 3;
  return options;
}

// Child process: writes documents one request at a time, reporting the
// number of each acknowledged one on `ack_fd`, until it is killed.
[[noreturn]] void WriteUntilKilled(const std::string& dir, int ack_fd) {
  auto index = SegmentIndex::Open(dir, BusyOptions());
  if (!index.ok()) _exit(2);
  for (uint32_t i = 0;; ++i) {
    auto written = (*index)->Apply(
        WriteOf({Upsert({.id = absl::StrCat("doc-", i),
                         .title = "survivor",
                         .body = absl::StrCat("body number ", i)})}));
    if (!written.ok()) _exit(3);
    if (write(ack_fd, &i, sizeof i) != sizeof i) _exit(4);
  }
}

TEST(SegmentIndexCrashTest, AcknowledgedWritesSurviveKill9) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    WriteUntilKilled(dir.path(), fds[1]);
  }
  close(fds[1]);

  uint32_t acknowledged = 0;
  uint32_t i = 0;
  while (acknowledged < kAcksBeforeKill &&
         read(fds[0], &i, sizeof i) == sizeof i) {
    acknowledged = i + 1;
  }
  // Killed while it is most likely in the middle of the next write.
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << status;
  // Acknowledgements sent before the kill count too.
  while (read(fds[0], &i, sizeof i) == sizeof i) acknowledged = i + 1;
  close(fds[0]);
  ASSERT_GE(acknowledged, kAcksBeforeKill);

  auto index = SegmentIndex::Open(dir.path(), IndexOptions());
  ASSERT_THAT(index, IsOk());
  v1::FetchRequest fetch;
  for (uint32_t n = 0; n < acknowledged; ++n) {
    fetch.add_ids(absl::StrCat("doc-", n));
  }
  auto fetched = (*index)->Fetch(fetch);
  ASSERT_THAT(fetched, IsOk());
  for (const v1::FetchResult& result : fetched->results()) {
    EXPECT_TRUE(result.found()) << result.id() << " was acknowledged";
  }
  // Postings and counters came back with the documents, consistently.
  auto search =
      StorageHandler(index->get()).Search(SearchFor(Term("survivor"), 0));
  ASSERT_THAT(search, IsOk());
  EXPECT_GE(search->total_hits(), acknowledged);
  EXPECT_EQ(search->total_hits(), (*index)->DocCount());
}

}  // namespace
}  // namespace sift::storage
