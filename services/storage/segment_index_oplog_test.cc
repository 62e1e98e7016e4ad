// The shard's history: sequence numbers and terms of writes, the op log a
// copy catches up from, replaying it into another index, and checkpoints.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/index_format.h"
#include "services/storage/internal/index_test_util.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/segment_index.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::Delete;
using ::sift::storage::testing::HitIds;
using ::sift::storage::testing::MatchAll;
using ::sift::storage::testing::QuietOptions;
using ::sift::storage::testing::RandomBatches;
using ::sift::storage::testing::SearcherOf;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::TempDir;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;
using ::sift::testing::IsOkAndHolds;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

IndexOptions WithOpLog(size_t writes, size_t bytes = size_t{1} << 30) {
  IndexOptions options = QuietOptions();
  options.op_log_writes = writes;
  options.op_log_bytes = bytes;
  return options;
}

// Options whose Close leaves the memory segments logged, as a crash would.
IndexOptions Unflushed(IndexOptions options) {
  options.flush_on_close = false;
  return options;
}

std::unique_ptr<SegmentIndex> OpenIndex(const std::string& dir,
                                        const IndexOptions& options) {
  auto index = SegmentIndex::Open(dir, options);
  EXPECT_THAT(index, IsOk());
  return index.ok() ? *std::move(index) : nullptr;
}

// Commits `request` as a write the primary of `term` ordered.
OpId Commit(SegmentIndex& index, const v1::WriteRequest& request,
            uint64_t term) {
  auto prepared = index.PrepareWrite(request);
  EXPECT_THAT(prepared, IsOk());
  OpId id;
  EXPECT_THAT(index.CommitWrite(*std::move(prepared), term, &id), IsOk());
  return id;
}

// Every document id the index holds, in id order.
std::vector<std::string> AllIds(SegmentIndex& index) {
  auto response = SearcherOf(index)(SearchFor(MatchAll(), 100000));
  EXPECT_THAT(response, IsOk());
  std::vector<std::string> ids = HitIds(*response);
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(OpLogTest, WritesTakeConsecutiveSequenceNumbersThatSurviveARestart) {
  TempDir dir;
  auto index = OpenIndex(dir.Sub("db"), WithOpLog(100));
  EXPECT_EQ(index->LastOp(), (OpId{0, 0}));
  EXPECT_EQ(Commit(*index, WriteOf({Upsert({.id = "a", .body = "x"})}), 3),
            (OpId{3, 1}));
  EXPECT_EQ(Commit(*index, WriteOf({Delete("a")}), 3), (OpId{3, 2}));
  EXPECT_EQ(Commit(*index, WriteOf({Upsert({.id = "b", .body = "y"})}), 4),
            (OpId{4, 3}));
  ASSERT_THAT(index->Close(), IsOk());
  index = OpenIndex(dir.Sub("db"), WithOpLog(100));
  EXPECT_EQ(index->LastOp(), (OpId{4, 3}));
  EXPECT_EQ(Commit(*index, WriteOf({Delete("b")}), 4), (OpId{4, 4}));
  EXPECT_THAT(index->TermAt(1), IsOkAndHolds(3u));
  EXPECT_THAT(index->TermAt(4), IsOkAndHolds(4u));
  EXPECT_THAT(index->TermAt(9), StatusIs(absl::StatusCode::kNotFound));
}

TEST(OpLogTest, AFailedWriteTakesNoSequenceNumber) {
  TempDir dir;
  auto index = OpenIndex(dir.Sub("db"), WithOpLog(100));
  Commit(*index, WriteOf({Upsert({.id = "a", .body = "x"})}), 1);
  v1::WriteRequest bad = WriteOf({Upsert({.id = "b", .body = "y"})});
  bad.mutable_ops(0)->mutable_upsert()->mutable_body()->add_term_ids(99);
  EXPECT_THAT(index->PrepareWrite(bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Commit(*index, WriteOf({Upsert({.id = "c", .body = "z"})}), 1),
            (OpId{1, 2}));
}

TEST(OpLogTest, ReadsTheRetainedWritesInOrderWithinTheByteBudget) {
  TempDir dir;
  auto index = OpenIndex(dir.Sub("db"), WithOpLog(100));
  std::vector<v1::WriteRequest> sent;
  for (int i = 0; i < 10; ++i) {
    sent.push_back(WriteOf({Upsert(
        {.id = absl::StrCat("d", i), .body = absl::StrCat("word", i)})}));
    Commit(*index, sent.back(), 2);
  }
  auto all = index->ReadOpLog(4, size_t{1} << 20);
  ASSERT_THAT(all, IsOk());
  ASSERT_THAT(*all, SizeIs(7));
  for (size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].seq(), 4 + i);
    EXPECT_EQ((*all)[i].term(), 2u);
    // The write as the primary prepared it, its document included.
    const std::string& entry = (*all)[i].entry();
    ASSERT_FALSE(entry.empty());
    EXPECT_EQ(entry[0], kPreparedEntryTag);
    EXPECT_THAT(entry, HasSubstr(absl::StrCat("word", 3 + i)));
  }
  // A budget smaller than one write still returns one.
  auto one = index->ReadOpLog(4, 1);
  ASSERT_THAT(one, IsOk());
  EXPECT_THAT(*one, SizeIs(1));
  auto none = index->ReadOpLog(11, size_t{1} << 20);
  ASSERT_THAT(none, IsOk());
  EXPECT_THAT(*none, IsEmpty());
}

TEST(OpLogTest, TrimsToItsLimitAndSaysWhenAWriteIsGone) {
  TempDir dir;
  auto index = OpenIndex(dir.Sub("db"), WithOpLog(16));
  // Flushed as they come: the log also keeps the writes of memory segments
  // (TheLogKeepsWhatMemorySegmentsRestoreFrom).
  for (int i = 0; i < 100; ++i) {
    Commit(*index, WriteOf({Upsert({.id = absl::StrCat("d", i), .body = "x"})}),
           1);
    ASSERT_THAT(index->Flush(), IsOk());
  }
  EXPECT_THAT(index->ReadOpLog(1, size_t{1} << 20),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("must start from a checkpoint")));
  // At least the limit is kept, at most an eighth more and one commit's.
  auto kept = index->ReadOpLog(100 - 15, size_t{1} << 20);
  ASSERT_THAT(kept, IsOk());
  EXPECT_THAT(*kept, SizeIs(16));
  EXPECT_THAT(index->ReadOpLog(100 - 19, size_t{1} << 20),
              StatusIs(absl::StatusCode::kOutOfRange));
  // The extent survives a restart, and trimming goes on from it.
  ASSERT_THAT(index->Close(), IsOk());
  index = OpenIndex(dir.Sub("db"), WithOpLog(16));
  for (int i = 0; i < 40; ++i) {
    Commit(*index, WriteOf({Delete(absl::StrCat("d", i))}), 1);
    ASSERT_THAT(index->Flush(), IsOk());
  }
  EXPECT_THAT(index->ReadOpLog(140 - 15, size_t{1} << 20), IsOk());
  EXPECT_THAT(index->ReadOpLog(100, size_t{1} << 20),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(OpLogTest, TrimsByBytes) {
  TempDir dir;
  // Each write is well over 100 bytes: a 1,000-byte log holds under 10.
  auto index = OpenIndex(dir.Sub("db"), WithOpLog(1000, 1000));
  for (int i = 0; i < 50; ++i) {
    Commit(*index,
           WriteOf({Upsert({.id = absl::StrCat("d", i),
                            .body = std::string(40, 'a') + " " +
                                    std::string(40, 'b') + " " +
                                    std::string(40, 'c')})}),
           1);
    ASSERT_THAT(index->Flush(), IsOk());
  }
  EXPECT_THAT(index->ReadOpLog(50 - 11, size_t{1} << 20),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(index->ReadOpLog(50, size_t{1} << 20), IsOk());
}

TEST(OpLogTest, TheLogKeepsWhatMemorySegmentsRestoreFrom) {
  // With an op log, a memory segment's pending entry names its write in the
  // log instead of holding its values again: the log keeps that write until
  // the segment is flushed, whatever its limit, and a crash restores the
  // segment from it.
  TempDir dir;
  {
    auto index = OpenIndex(dir.Sub("db"), Unflushed(WithOpLog(4)));
    for (int i = 0; i < 30; ++i) {
      Commit(*index,
             WriteOf({Upsert({.id = absl::StrCat("d", i),
                              .body = absl::StrCat("w", i)}),
                      Delete(absl::StrCat("d", i - 10))}),
             1);
    }
    EXPECT_THAT(index->ReadOpLog(1, size_t{1} << 20), IsOk());
  }
  auto index = OpenIndex(dir.Sub("db"), WithOpLog(4));
  EXPECT_EQ(index->LastOp(), (OpId{1, 30}));
  EXPECT_EQ(index->DocCount(), 10u);
  EXPECT_EQ(AllIds(*index).front(), "d20");
  EXPECT_THAT(index->ReadOpLog(1, size_t{1} << 20), IsOk());
  // Once the segments are flushed, the next write trims the log.
  ASSERT_THAT(index->Flush(), IsOk());
  Commit(*index, WriteOf({Upsert({.id = "e", .body = "w1"})}), 1);
  EXPECT_THAT(index->ReadOpLog(1, size_t{1} << 20),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(index->DocCount(), 11u);
}

TEST(OpLogTest, AnIndexOpenedWithoutItsOpLogKeepsItsMemorySegments) {
  // A member's data opened as a single node drops the op log; memory
  // segments that named their writes in it take their values first. Each
  // index is closed without flushing, as a crash would leave it.
  TempDir dir;
  {
    auto index = OpenIndex(dir.Sub("db"), Unflushed(WithOpLog(100)));
    for (int i = 0; i < 12; ++i) {
      Commit(*index,
             WriteOf({Upsert(
                 {.id = absl::StrCat("d", i), .body = absl::StrCat("w", i)})}),
             2);
    }
  }
  {
    auto index = OpenIndex(dir.Sub("db"), Unflushed(QuietOptions()));
    EXPECT_EQ(index->DocCount(), 12u);
  }
  auto index = OpenIndex(dir.Sub("db"), QuietOptions());
  EXPECT_EQ(index->DocCount(), 12u);
  EXPECT_EQ(index->LastOp(), (OpId{2, 12}));
  EXPECT_THAT(index->ReadOpLog(1, size_t{1} << 20),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(AllIds(*index).size(), 12u);
}

TEST(OpLogTest, WithoutAnOpLogTheLastWriteIsStillKnown) {
  TempDir dir;
  {
    auto index = OpenIndex(dir.Sub("db"), WithOpLog(100));
    Commit(*index, WriteOf({Upsert({.id = "a", .body = "x"})}), 1);
  }
  // Reopened without one, the old log is dropped.
  auto index = OpenIndex(dir.Sub("db"), QuietOptions());
  EXPECT_EQ(Commit(*index, WriteOf({Upsert({.id = "b", .body = "y"})}), 0),
            (OpId{0, 2}));
  EXPECT_THAT(index->ReadOpLog(1, size_t{1} << 20),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(index->TermAt(2), IsOkAndHolds(0u));
  EXPECT_THAT(index->TermAt(1), StatusIs(absl::StatusCode::kNotFound));
}

TEST(OpLogTest, ReplayingTheLogRebuildsTheSameShard) {
  TempDir dir;
  auto primary = OpenIndex(dir.Sub("primary"), WithOpLog(10000));
  const auto batches = RandomBatches(600, 25, 7);
  uint64_t term = 1;
  for (size_t i = 0; i < batches.size(); ++i) {
    if (i == batches.size() / 2) term = 2;
    Commit(*primary, WriteOf(batches[i]), term);
    if (i % 3 == 0) {
      Commit(*primary,
             WriteOf({Delete(batches[i][0].upsert().document().id())}), term);
    }
  }
  ASSERT_THAT(primary->Flush(), IsOk());

  auto copy = OpenIndex(dir.Sub("copy"), WithOpLog(10000));
  uint64_t next = 1;
  bool keep_prepared = false;
  while (next <= primary->LastOp().seq) {
    auto writes = primary->ReadOpLog(next, 64 << 10);
    ASSERT_THAT(writes, IsOk());
    ASSERT_THAT(copy->AppendLogged(*writes), IsOk());
    next += writes->size();
    // Appended, not applied, until the copy is told to.
    EXPECT_EQ(copy->LogEnd().seq, next - 1);
    EXPECT_LT(copy->LastOp().seq, next - 1);
    // Every other round, as a follower does, the writes just appended are
    // applied as prepared from what came rather than read back.
    absl::flat_hash_map<uint64_t, std::unique_ptr<Index::PreparedWrite>>
        prepared;
    if (keep_prepared) {
      for (v1::LoggedWrite& write : *writes) {
        const uint64_t seq = write.seq();
        auto one = copy->PrepareLogged(std::move(write));
        ASSERT_THAT(one, IsOk());
        prepared[seq] = *std::move(one);
      }
    }
    keep_prepared = !keep_prepared;
    ASSERT_THAT(copy->ApplyLog(next - 1, &prepared), IsOk());
    EXPECT_THAT(prepared, IsEmpty());
  }
  EXPECT_EQ(copy->LastOp(), primary->LastOp());
  EXPECT_EQ(AllIds(*copy), AllIds(*primary));
  EXPECT_EQ(copy->DocCount(), primary->DocCount());
  // The copy keeps the history too, so that it can serve it as a primary.
  auto from_copy = copy->ReadOpLog(1, 1);
  ASSERT_THAT(from_copy, IsOk());
  EXPECT_EQ((*from_copy)[0].SerializeAsString(),
            (*primary->ReadOpLog(1, 1))[0].SerializeAsString());
}

TEST(OpLogTest, ACopyAppliesAWriteLoggedByAnEarlierVersion) {
  // Earlier versions logged the request itself; a copy that catches up
  // from such a log, or restarts with one, still applies it.
  TempDir dir;
  auto copy = OpenIndex(dir.Sub("copy"), WithOpLog(100));
  v1::LoggedWrite old;
  old.set_term(3);
  old.set_seq(1);
  old.set_entry(WriteOf({Upsert({.id = "a", .body = "old format"}),
                         Upsert({.id = "b", .body = "other"}), Delete("b")})
                    .SerializeAsString());
  ASSERT_THAT(copy->AppendLogged({old}), IsOk());
  auto applied = copy->ApplyLog(1, nullptr);
  ASSERT_THAT(applied, IsOk());
  ASSERT_THAT(*applied, SizeIs(1));
  EXPECT_THAT((*applied)[0].results(), SizeIs(3));
  EXPECT_EQ(copy->LastOp(), (OpId{3, 1}));
  EXPECT_EQ(AllIds(*copy), std::vector<std::string>({"a"}));
}

TEST(OpLogTest, ACorruptEntryIsDataLossAndAppliesNothing) {
  TempDir dir;
  auto primary = OpenIndex(dir.Sub("primary"), WithOpLog(100));
  Commit(*primary, WriteOf({Upsert({.id = "a", .body = "x y z"})}), 1);
  auto logged = primary->ReadOpLog(1, 1 << 20);
  ASSERT_THAT(logged, IsOk());
  for (size_t cut :
       {size_t{1}, size_t{5}, logged->front().entry().size() - 3}) {
    SCOPED_TRACE(cut);
    TempDir copy_dir;
    auto copy = OpenIndex(copy_dir.Sub("copy"), WithOpLog(100));
    v1::LoggedWrite broken = logged->front();
    broken.mutable_entry()->resize(cut);
    ASSERT_THAT(copy->AppendLogged({broken}), IsOk());
    EXPECT_THAT(copy->ApplyLog(1, nullptr),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("applying logged write 1")));
    EXPECT_EQ(copy->LastOp(), (OpId{0, 0}));
    EXPECT_EQ(copy->DocCount(), 0u);
  }
}

TEST(OpLogTest, AppendingRefusesAGapOrAnOverlap) {
  TempDir dir;
  auto primary = OpenIndex(dir.Sub("primary"), WithOpLog(100));
  for (int i = 0; i < 5; ++i) {
    Commit(*primary,
           WriteOf({Upsert({.id = absl::StrCat("d", i), .body = "x"})}), 1);
  }
  auto copy = OpenIndex(dir.Sub("copy"), WithOpLog(100));
  auto from_three = primary->ReadOpLog(3, 1 << 20);
  ASSERT_THAT(from_three, IsOk());
  EXPECT_THAT(copy->AppendLogged(*from_three),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("start at sequence number 3")));
  EXPECT_EQ(copy->LogEnd(), (OpId{0, 0}));
  auto all = primary->ReadOpLog(1, 1 << 20);
  ASSERT_THAT(all, IsOk());
  std::vector<v1::LoggedWrite> gap = {(*all)[0], (*all)[2]};
  EXPECT_THAT(copy->AppendLogged(gap),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("consecutive")));
  ASSERT_THAT(copy->AppendLogged(*all), IsOk());
  EXPECT_THAT(copy->AppendLogged(*all),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(copy->LogEnd(), (OpId{1, 5}));
  EXPECT_THAT(copy->ApplyLog(6, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("op log ends at 5")));
  EXPECT_THAT(copy->ApplyLog(5, nullptr), IsOk());
  EXPECT_EQ(copy->LastOp(), (OpId{1, 5}));
  EXPECT_EQ(copy->DocCount(), 5u);
}

TEST(OpLogTest, ThePrimaryAppendsThenAppliesWhatItPrepared) {
  TempDir dir;
  auto index = OpenIndex(dir.Sub("db"), WithOpLog(100));
  const v1::WriteRequest first = WriteOf({Upsert({.id = "a", .body = "x"})});
  const v1::WriteRequest second =
      WriteOf({Upsert({.id = "a", .body = "y"}), Delete("b")});
  absl::flat_hash_map<uint64_t, std::unique_ptr<Index::PreparedWrite>> ready;
  for (const v1::WriteRequest* request : {&first, &second}) {
    auto prepared = index->PrepareWrite(*request);
    ASSERT_THAT(prepared, IsOk());
    auto id = index->AppendToLog(**prepared, 7);
    ASSERT_THAT(id, IsOk());
    ready[id->seq] = *std::move(prepared);
  }
  EXPECT_EQ(index->LogEnd(), (OpId{7, 2}));
  EXPECT_EQ(index->LastOp(), (OpId{0, 0}));
  EXPECT_EQ(index->DocCount(), 0u);
  // A write through the combined path would jump the queue.
  EXPECT_THAT(index->Apply(WriteOf({Delete("a")})),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  auto responses = index->ApplyLog(2, &ready);
  ASSERT_THAT(responses, IsOk());
  ASSERT_THAT(*responses, SizeIs(2));
  EXPECT_FALSE((*responses)[0].results(0).existed());
  EXPECT_TRUE((*responses)[1].results(0).existed());
  EXPECT_FALSE((*responses)[1].results(1).existed());
  EXPECT_THAT(ready, IsEmpty());
  EXPECT_EQ(index->LastOp(), (OpId{7, 2}));
  EXPECT_EQ(AllIds(*index), std::vector<std::string>{"a"});
}

TEST(OpLogTest, WritesLoggedButNotAppliedSurviveARestartAndCanBeDropped) {
  TempDir dir;
  {
    auto index = OpenIndex(dir.Sub("db"), WithOpLog(100));
    for (int i = 0; i < 4; ++i) {
      auto prepared = index->PrepareWrite(
          WriteOf({Upsert({.id = absl::StrCat("d", i), .body = "x"})}));
      ASSERT_THAT(prepared, IsOk());
      ASSERT_THAT(index->AppendToLog(**prepared, 2), IsOk());
    }
    ASSERT_THAT(index->ApplyLog(2, nullptr), IsOk());
  }
  auto index = OpenIndex(dir.Sub("db"), WithOpLog(100));
  EXPECT_EQ(index->LastOp(), (OpId{2, 2}));
  EXPECT_EQ(index->LogEnd(), (OpId{2, 4}));
  EXPECT_THAT(index->TruncateLog(1),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("up to 2 are applied")));
  ASSERT_THAT(index->TruncateLog(3), IsOk());
  EXPECT_EQ(index->LogEnd(), (OpId{2, 3}));
  EXPECT_THAT(index->ReadOpLog(4, 1 << 20), IsOkAndHolds(IsEmpty()));
  ASSERT_THAT(index->ApplyLog(3, nullptr), IsOk());
  EXPECT_EQ(AllIds(*index), (std::vector<std::string>{"d0", "d1", "d2"}));
  // Without an op log, writes never applied are not silently dropped.
  ASSERT_THAT(index->TruncateLog(3), IsOk());
  auto prepared = index->PrepareWrite(WriteOf({Delete("d0")}));
  ASSERT_THAT(prepared, IsOk());
  ASSERT_THAT(index->AppendToLog(**prepared, 2), IsOk());
  ASSERT_THAT(index->Close(), IsOk());
  EXPECT_THAT(SegmentIndex::Open(dir.Sub("db"), QuietOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("never applied")));
}

TEST(OpLogTest, ACheckpointOpensAsAnIndexWithTheSameDocumentsAndHistory) {
  TempDir dir;
  auto index = OpenIndex(dir.Sub("db"), WithOpLog(100));
  const auto batches = RandomBatches(300, 30, 11);
  for (size_t i = 0; i < batches.size(); ++i) {
    Commit(*index, WriteOf(batches[i]), 5);
    // Some documents flushed, some only in memory segments.
    if (i == batches.size() / 2) {
      ASSERT_THAT(index->Flush(), IsOk());
    }
  }
  auto at = index->Checkpoint(dir.Sub("checkpoint"));
  ASSERT_THAT(at, IsOk());
  EXPECT_EQ(*at, index->LastOp());
  // Writes after the checkpoint do not reach it.
  Commit(*index, WriteOf({Delete(batches[0][0].upsert().document().id())}), 5);

  auto copy = OpenIndex(dir.Sub("checkpoint"), WithOpLog(100));
  EXPECT_EQ(copy->LastOp(), *at);
  EXPECT_EQ(copy->DocCount(), index->DocCount() + 1);
  // It catches up from the log like any copy.
  auto rest = index->ReadOpLog(at->seq + 1, 1 << 20);
  ASSERT_THAT(rest, IsOk());
  ASSERT_THAT(copy->AppendLogged(*rest), IsOk());
  ASSERT_THAT(copy->ApplyLog(copy->LogEnd().seq, nullptr), IsOk());
  EXPECT_EQ(AllIds(*copy), AllIds(*index));
  EXPECT_THAT(index->Checkpoint(dir.Sub("checkpoint")), ::testing::Not(IsOk()));
}

// Every document the index holds, serialized, in id order.
std::vector<std::string> AllDocuments(SegmentIndex& index) {
  v1::FetchRequest request;
  for (const std::string& id : AllIds(index)) request.add_ids(id);
  auto fetched = index.Fetch(request);
  EXPECT_THAT(fetched, IsOk());
  std::vector<std::string> out;
  if (!fetched.ok()) return out;
  for (const v1::FetchResult& result : fetched->results()) {
    EXPECT_TRUE(result.found()) << result.id();
    out.push_back(result.document().SerializeAsString());
  }
  return out;
}

// Options that train the stored documents' dictionary after a few dozen
// documents.
IndexOptions SmallDictionary(IndexOptions options) {
  options.document_dictionary_samples = 16 << 10;
  options.document_dictionary_bytes = 4 << 10;
  return options;
}

TEST(OpLogTest, ACopyStoresThePrimarysDocumentsWithItsDictionary) {
  TempDir dir;
  auto primary =
      OpenIndex(dir.Sub("primary"), SmallDictionary(WithOpLog(10000)));
  auto copy = OpenIndex(dir.Sub("copy"), WithOpLog(10000));
  const auto batches = RandomBatches(600, 20, 5);
  for (size_t i = 0; i < batches.size(); ++i) {
    Commit(*primary, WriteOf(batches[i]), 1);
    // Part of the log applies before the dictionary exists, part after.
    if (i % 10 == 9) {
      auto writes = primary->ReadOpLog(copy->LogEnd().seq + 1, 1 << 30);
      ASSERT_THAT(writes, IsOk());
      ASSERT_THAT(copy->AppendLogged(*writes), IsOk());
      ASSERT_THAT(copy->ApplyLog(copy->LogEnd().seq, nullptr), IsOk());
    }
  }
  ASSERT_NE(primary->DocumentDictionaryId(), 0u);
  EXPECT_EQ(copy->DocumentDictionaryId(), primary->DocumentDictionaryId());
  const std::vector<std::string> documents = AllDocuments(*primary);
  ASSERT_THAT(documents, SizeIs(primary->DocCount()));
  EXPECT_EQ(AllDocuments(*copy), documents);

  // Both read their documents back after a restart, with the dictionary
  // they stored.
  const uint32_t dictionary = primary->DocumentDictionaryId();
  ASSERT_THAT(copy->Close(), IsOk());
  copy = OpenIndex(dir.Sub("copy"), WithOpLog(10000));
  EXPECT_EQ(copy->DocumentDictionaryId(), dictionary);
  EXPECT_EQ(AllDocuments(*copy), documents);
  // Promoted, the copy compresses with the same dictionary.
  Commit(*copy, WriteOf({Upsert({.id = "new", .body = "after a failover"})}),
         2);
  ASSERT_THAT(copy->Close(), IsOk());
  copy = OpenIndex(dir.Sub("copy"), WithOpLog(10000));
  EXPECT_EQ(copy->DocumentDictionaryId(), dictionary);
  EXPECT_THAT(AllDocuments(*copy), SizeIs(documents.size() + 1));
}

TEST(OpLogTest, ACopyAppliesAPreparedWriteOfTheVersionBeforeDictionaries) {
  // That version's entries had no dictionary section after the tag.
  TempDir dir;
  IndexOptions no_dictionary = WithOpLog(100);
  no_dictionary.document_dictionary_samples = 0;
  auto primary = OpenIndex(dir.Sub("primary"), no_dictionary);
  Commit(*primary, WriteOf({Upsert({.id = "a", .body = "earlier entry"})}), 1);
  auto writes = primary->ReadOpLog(1, 1 << 20);
  ASSERT_THAT(writes, IsOk());
  std::string entry = (*writes)[0].entry();
  ASSERT_EQ(entry.substr(0, 2), std::string({kPreparedEntryTag, 0}));
  entry = kPreparedEntryTagV1 + entry.substr(2);
  (*writes)[0].set_entry(entry);

  auto copy = OpenIndex(dir.Sub("copy"), WithOpLog(100));
  ASSERT_THAT(copy->AppendLogged(*writes), IsOk());
  ASSERT_THAT(copy->ApplyLog(1, nullptr), IsOk());
  EXPECT_EQ(AllDocuments(*copy), AllDocuments(*primary));
}

}  // namespace
}  // namespace sift::storage
