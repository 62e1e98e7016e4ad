#include "bench/command_line.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "bench/process_stats.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::bench {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Converted(std::vector<std::string> argv) {
  std::vector<char*> raw;
  for (std::string& arg : argv) raw.push_back(arg.data());
  std::vector<std::string> storage;
  std::vector<char*> args =
      HyphensToUnderscores(static_cast<int>(raw.size()), raw.data(), storage);
  return std::vector<std::string>(args.begin(), args.end());
}

TEST(HyphensToUnderscoresTest, RenamesFlagsButNotValuesOrWhatFollowsDashDash) {
  EXPECT_THAT(Converted({"sift-bench", "--warmup-min=2000", "--run-k", "a-b",
                         "--dir=/tmp/x-y", "-v", "--", "--not-a-flag"}),
              ElementsAre("sift-bench", "--warmup_min=2000", "--run_k", "a-b",
                          "--dir=/tmp/x-y", "-v", "--", "--not-a-flag"));
}

TEST(PrepareIndexDirTest, MakesAMissingDirAndAcceptsAnEmptyOne) {
  absl::StatusOr<std::string> root = MakeTempDir("command-line-test");
  ASSERT_TRUE(root.ok()) << root.status();
  const std::string dir = *root + "/a/b";
  EXPECT_TRUE(PrepareIndexDir(dir).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_TRUE(PrepareIndexDir(dir).ok());
  std::filesystem::remove_all(*root);
}

TEST(PrepareIndexDirTest, RefusesAFileAndADirThatHoldsSomething) {
  absl::StatusOr<std::string> root = MakeTempDir("command-line-test");
  ASSERT_TRUE(root.ok()) << root.status();
  std::ofstream(*root + "/kept") << "a person's file";
  EXPECT_EQ(PrepareIndexDir(*root).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PrepareIndexDir(*root + "/kept").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(*root + "/kept"));
  std::filesystem::remove_all(*root);
}

}  // namespace
}  // namespace sift::bench
