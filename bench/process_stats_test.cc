#include "bench/process_stats.h"

#include <sys/mman.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/status/status_matchers.h"
#include "gtest/gtest.h"

namespace sift::bench {
namespace {

using ::sift::testing::StatusIs;

constexpr size_t kMiB = size_t{1} << 20;

TEST(ProcessStatsTest, ParsesAKilobyteLineOfProcStatus) {
  const char* text =
      "Name:\tsift-bench\nVmPeak:\t  200000 kB\nVmHWM:\t   81234 kB\n";
  SIFT_ASSERT_OK_AND_ASSIGN(uint64_t bytes,
                            ParseProcStatusBytes(text, "VmHWM"));
  EXPECT_EQ(bytes, 81234u * 1024);
  EXPECT_THAT(ParseProcStatusBytes(text, "VmRSS").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ParseProcStatusBytes("VmHWM:\tlots\n", "VmHWM").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProcessStatsTest, PeakRssFollowsTouchedMemoryAndCanBeReset) {
  SIFT_ASSERT_OK_AND_ASSIGN(uint64_t before, ReadPeakRssBytes());
  // mmap, so that the pages surely go back to the kernel on munmap.
  const size_t size = 64 * kMiB;
  void* block = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(block, MAP_FAILED);
  std::memset(block, 1, size);
  SIFT_ASSERT_OK_AND_ASSIGN(uint64_t peak, ReadPeakRssBytes());
  EXPECT_GE(peak, size);
  EXPECT_GE(peak, before);
  munmap(block, size);

  if (!ResetPeakRss().ok()) GTEST_SKIP() << "this kernel cannot reset VmHWM";
  SIFT_ASSERT_OK_AND_ASSIGN(uint64_t after_reset, ReadPeakRssBytes());
  EXPECT_LT(after_reset + 32 * kMiB, peak);
}

TEST(ProcessStatsTest, DirectoryBytesSumsRegularFilesRecursively) {
  SIFT_ASSERT_OK_AND_ASSIGN(std::string dir, MakeTempDir("process-stats"));
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::create_directories(dir + "/sub/deeper");
  std::ofstream(dir + "/a") << std::string(100, 'a');
  std::ofstream(dir + "/sub/deeper/b") << std::string(23, 'b');
  std::filesystem::create_symlink(dir + "/a", dir + "/sub/link");
  SIFT_ASSERT_OK_AND_ASSIGN(uint64_t bytes, DirectoryBytes(dir));
  EXPECT_EQ(bytes, 123u);
  std::filesystem::remove_all(dir);
  EXPECT_THAT(DirectoryBytes(dir).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ProcessStatsTest, MachineInfoNamesProcessorsAndKernel) {
  const MachineInfo machine = ReadMachineInfo();
  EXPECT_GE(machine.cpus, 1);
  EXPECT_FALSE(machine.kernel.empty());
}

}  // namespace
}  // namespace sift::bench
