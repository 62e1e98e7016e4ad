#include "tools/siftctl/batcher.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sift::siftctl {
namespace {

SourceDocument JsonDocument(uint64_t sequence, size_t body_bytes) {
  SourceDocument doc;
  doc.input.set_json(absl::StrCat("{\"id\":\"", sequence, "\",\"body\":\"",
                                  std::string(body_bytes, 'w'), "\"}"));
  doc.origin = absl::StrCat("docs.jsonl:", sequence + 1);
  doc.sequence = sequence;
  return doc;
}

// Feeds `count` documents through a batcher and returns the batches.
std::vector<Batch> BatchAll(Batcher& batcher, int count, size_t body_bytes) {
  std::vector<Batch> batches;
  for (int i = 0; i < count; ++i) {
    if (auto full = batcher.Add(JsonDocument(i, body_bytes))) {
      batches.push_back(std::move(*full));
    }
  }
  if (auto last = batcher.Finish()) batches.push_back(std::move(*last));
  return batches;
}

TEST(BatcherTest, SplitsAtFiveHundredDocuments) {
  Batcher batcher(500, 16 << 20);
  std::vector<Batch> batches = BatchAll(batcher, 1201, 10);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].size(), 500u);
  EXPECT_EQ(batches[1].size(), 500u);
  EXPECT_EQ(batches[2].size(), 201u);
  EXPECT_EQ(batches[0].request.documents_size(), 500);
}

TEST(BatcherTest, SplitsAtSixteenMebibytes) {
  const size_t limit = 16 << 20;
  Batcher batcher(500, limit);
  // A little over 1 MiB each: 15 fit in 16 MiB, the 16th would not.
  std::vector<Batch> batches = BatchAll(batcher, 40, (1 << 20) + 100);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].size(), 15u);
  EXPECT_EQ(batches[1].size(), 15u);
  EXPECT_EQ(batches[2].size(), 10u);
  for (const Batch& batch : batches) {
    EXPECT_LE(batch.bytes, limit);
    // The running count is exactly what goes on the wire.
    EXPECT_EQ(batch.bytes, batch.request.ByteSizeLong());
  }
}

TEST(BatcherTest, DocumentLargerThanTheLimitTravelsAlone) {
  Batcher batcher(500, 1000);
  std::vector<Batch> batches;
  uint64_t sequence = 0;
  for (size_t body : {10, 5000, 10}) {
    if (auto full = batcher.Add(JsonDocument(sequence++, body))) {
      batches.push_back(std::move(*full));
    }
  }
  if (auto last = batcher.Finish()) batches.push_back(std::move(*last));
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[1].size(), 1u);
  EXPECT_GT(batches[1].bytes, 1000u);
}

TEST(BatcherTest, KeepsOrderAndOriginsAligned) {
  Batcher batcher(2, 1 << 20);
  std::vector<Batch> batches = BatchAll(batcher, 5, 1);
  ASSERT_EQ(batches.size(), 3u);
  uint64_t expected = 0;
  for (const Batch& batch : batches) {
    ASSERT_EQ(batch.origins.size(), batch.sequences.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      EXPECT_EQ(batch.sequences[i], expected);
      EXPECT_EQ(batch.origins[i], absl::StrCat("docs.jsonl:", expected + 1));
      EXPECT_EQ(batch.request.documents(i).json(),
                JsonDocument(expected, 1).input.json());
      ++expected;
    }
  }
  EXPECT_EQ(expected, 5u);
}

TEST(BatcherTest, FinishOnEmptyBatcherGivesNothing) {
  Batcher batcher(500, 16 << 20);
  EXPECT_FALSE(batcher.Finish().has_value());
}

}  // namespace
}  // namespace sift::siftctl
