#include "services/storage/shard_identity.h"

#include <fstream>
#include <string>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/test_util.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::TempDir;
using ::sift::testing::IsOkAndHolds;
using ::sift::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Optional;

TEST(ShardIdentityTest, IsWrittenOnceAndKept) {
  TempDir dir;
  EXPECT_THAT(LoadShardIdentity(dir.path(), ShardRef{2, 3}),
              IsOkAndHolds(Optional(ShardRef{2, 3})));
  // Later starts read it, with or without being told.
  EXPECT_THAT(LoadShardIdentity(dir.path(), std::nullopt),
              IsOkAndHolds(Optional(ShardRef{2, 3})));
  EXPECT_THAT(LoadShardIdentity(dir.path(), ShardRef{2, 3}),
              IsOkAndHolds(Optional(ShardRef{2, 3})));
}

TEST(ShardIdentityTest, AFolderOfAnotherShardIsRefusedNamingBoth) {
  TempDir dir;
  ASSERT_THAT(LoadShardIdentity(dir.path(), ShardRef{2, 3}),
              IsOkAndHolds(Optional(ShardRef{2, 3})));
  EXPECT_THAT(LoadShardIdentity(dir.path(), ShardRef{1, 3}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("holds shard 2 of 3"),
                             HasSubstr("started as shard 1 of 3"))));
  EXPECT_THAT(LoadShardIdentity(dir.path(), ShardRef{2, 4}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ShardIdentityTest, AnOldFolderWithoutOneStaysWithoutOne) {
  TempDir dir;
  EXPECT_THAT(LoadShardIdentity(dir.path(), std::nullopt),
              IsOkAndHolds(std::optional<ShardRef>()));
}

TEST(ShardIdentityTest, ACorruptFileIsReportedNotOverwritten) {
  TempDir dir;
  std::ofstream(dir.Sub(kShardIdentityFile)) << "three\n";
  EXPECT_THAT(LoadShardIdentity(dir.path(), ShardRef{0, 1}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("\"three\"")));
}

TEST(ShardIdentityTest, FlagsNameAShardOfTheClusterOrNothing) {
  EXPECT_THAT(ParseShardFlags("", 0), IsOkAndHolds(std::optional<ShardRef>()));
  EXPECT_THAT(ParseShardFlags("2", 3), IsOkAndHolds(Optional(ShardRef{2, 3})));
  EXPECT_THAT(ParseShardFlags("3", 3),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--shard=N and --shards=COUNT")));
  EXPECT_THAT(ParseShardFlags("1", 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseShardFlags("", 2),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseShardFlags("x", 2),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ShardIdentityTest, RoutingIsCheckedAgainstTheIdentity) {
  EXPECT_TRUE(CheckRouting(ShardRef{1, 3}, "1/3").ok());
  EXPECT_TRUE(CheckRouting(ShardRef{1, 3}, std::nullopt).ok());
  EXPECT_TRUE(CheckRouting(std::nullopt, "2/5").ok());
  EXPECT_THAT(CheckRouting(ShardRef{1, 3}, "0/3"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("routed to shard 0 of 3")));
  EXPECT_THAT(CheckRouting(ShardRef{1, 3}, "1/2"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckRouting(ShardRef{1, 3}, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sift::storage
