#include "services/storage/shard_directory.h"

#include <memory>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/storage/storage_client.h"

namespace sift::storage {
namespace {

// Three copies that are never called: picking a copy talks to none.
ShardReader ThreeCopies() {
  std::vector<std::shared_ptr<StorageClient>> copies;
  for (int port : {1, 2, 3}) {
    copies.push_back(StorageClient::Connect(absl::StrCat("127.0.0.1:", port)));
  }
  return ShardReader(std::move(copies));
}

TEST(ShardReaderTest, SearchesOneAtATimeStayOnOneCopy) {
  const ShardReader reader = ThreeCopies();
  const size_t first = reader.PickCopy().index();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(reader.PickCopy().index(), first);
}

TEST(ShardReaderTest, ConcurrentSearchesSpreadOverTheCopies) {
  const ShardReader reader = ThreeCopies();
  std::vector<ShardReader::Pick> held;
  std::vector<int> per_copy(3);
  for (int i = 0; i < 9; ++i) {
    held.push_back(reader.PickCopy());
    ++per_copy[held.back().index()];
  }
  EXPECT_EQ(per_copy, std::vector<int>({3, 3, 3}));

  // A copy whose searches finish is the first picked again.
  const size_t freed = held[4].index();
  std::vector<ShardReader::Pick> kept;
  for (ShardReader::Pick& pick : held) {
    if (pick.index() != freed) kept.push_back(std::move(pick));
  }
  held.clear();
  EXPECT_EQ(reader.PickCopy().index(), freed);
}

TEST(ShardReaderTest, AReaderWithoutCopiesFailsUnavailable) {
  const ShardReader reader({});
  EXPECT_EQ(reader.PickCopy().index(), 0u);
  absl::StatusOr<v1::FetchResponse> fetched =
      reader.Fetch(v1::FetchRequest(), absl::Now() + absl::Seconds(1));
  EXPECT_EQ(fetched.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sift::storage
