// The shard index over RocksDB: what is stored and fetched, what survives a
// restart, flushes and merges that change no answer. Views, concurrency and
// failures are in segment_index_views_test.cc; how queries match and rank
// is tested over memory segments (segment/*_test.cc).

#include "services/storage/segment_index.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_matchers.h"
#include "common/sync/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/index_database.h"
#include "services/storage/index_format.h"
#include "services/storage/internal/index_test_util.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/storage_handler.h"
#include "services/storage/view_search.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::AppendRawTerm;
using ::sift::storage::testing::Bool;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::DocSpec;
using ::sift::storage::testing::HitIds;
using ::sift::storage::testing::MatchAll;
using ::sift::storage::testing::PageAfter;
using ::sift::storage::testing::Phrase;
using ::sift::storage::testing::QuietOptions;
using ::sift::storage::testing::RandomBatches;
using ::sift::storage::testing::RandomMixedQueries;
using ::sift::storage::testing::RandomQueries;
using ::sift::storage::testing::SearcherOf;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::TempDir;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Where the documents of a test live when it searches: every behaviour
// must be the same in memory segments, in flushed ones and after merges.
enum class Layout { kMemory, kFlushedPerWrite };

std::string LayoutName(const ::testing::TestParamInfo<Layout>& info) {
  return info.param == Layout::kMemory ? "Memory" : "Flushed";
}

class SegmentIndexTest : public ::testing::TestWithParam<Layout> {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    index_.reset();
    IndexOptions options;
    options.block_cache_bytes = 8 << 20;
    options.write_buffer_bytes = 8 << 20;
    options.background_work = false;
    auto index = SegmentIndex::Open(dir_.Sub("db"), options);
    ASSERT_THAT(index, IsOk());
    index_ = *std::move(index);
  }

  void Write(std::vector<v1::WriteOp> ops) {
    ASSERT_THAT(index_->Apply(WriteOf(std::move(ops))), IsOk());
    if (GetParam() == Layout::kFlushedPerWrite) {
      ASSERT_THAT(index_->Flush(), IsOk());
    }
  }

  // Document frequencies count deleted documents until their segment is
  // merged; a merge makes them exact.
  void MergeAll() { ASSERT_THAT(index_->ForceMerge(1), IsOk()); }

  v1::ShardSearchResponse Search(const v1::ShardSearchRequest& request) {
    auto response = StorageHandler(index_.get()).Search(request);
    EXPECT_THAT(response, IsOk());
    return response.ok() ? *response : v1::ShardSearchResponse();
  }

  std::vector<std::string> Ids(v1::QueryNode query) {
    return HitIds(Search(SearchFor(std::move(query))));
  }

  uint64_t DocFreq(const std::string& term,
                   v1::Field field = v1::FIELD_UNSPECIFIED) {
    v1::StatsRequest request;
    v1::TermRef* ref = request.add_terms();
    ref->set_term(term);
    ref->set_field(field);
    auto stats = StorageHandler(index_.get()).Stats(request);
    EXPECT_THAT(stats, IsOk());
    return stats.ok() ? stats->doc_freqs(0) : 0;
  }

  v1::StatsResponse Counters() {
    auto stats = StorageHandler(index_.get()).Stats(v1::StatsRequest());
    EXPECT_THAT(stats, IsOk());
    return stats.ok() ? *stats : v1::StatsResponse();
  }

  TempDir dir_;
  std::unique_ptr<SegmentIndex> index_;
};
TEST_P(SegmentIndexTest, UpsertThenFetchReturnsTheStoredDocument) {
  v1::WriteOp op = Upsert({.id = "doc-1",
                           .title = "Hello World",
                           .body = "some body text",
                           .source = "Reuters",
                           .tags = {"EU", "Trade"},
                           .published_seconds = 1700000000});
  v1::Document* d = op.mutable_upsert()->mutable_document();
  d->set_url("https://example.org/1");
  d->set_language("en");
  (*d->mutable_attributes())["desk"] = "Foreign";
  const v1::Document expected = *d;
  auto response = index_->Apply(WriteOf({op}));
  ASSERT_THAT(response, IsOk());
  ASSERT_EQ(response->results_size(), 1);
  EXPECT_FALSE(response->results(0).existed());

  v1::FetchRequest fetch;
  fetch.add_ids("doc-1");
  fetch.add_ids("unknown");
  auto fetched = index_->Fetch(fetch);
  ASSERT_THAT(fetched, IsOk());
  ASSERT_EQ(fetched->results_size(), 2);
  EXPECT_EQ(fetched->results(0).id(), "doc-1");
  EXPECT_TRUE(fetched->results(0).found());
  // Stored as sent: the original casing of source and tags survives.
  EXPECT_EQ(fetched->results(0).document().SerializeAsString(),
            expected.SerializeAsString());
  EXPECT_EQ(fetched->results(1).id(), "unknown");
  EXPECT_FALSE(fetched->results(1).found());
  EXPECT_EQ(index_->DocCount(), 1u);
}

TEST_P(SegmentIndexTest, ReplaceRemovesStalePostings) {
  Write({Upsert({.id = "a", .title = "old title", .body = "stale words"}),
         Upsert({.id = "b", .title = "other", .body = "words"})});
  auto replaced = index_->Apply(
      WriteOf({Upsert({.id = "a", .title = "new title", .body = "fresh"})}));
  ASSERT_THAT(replaced, IsOk());
  EXPECT_TRUE(replaced->results(0).existed());

  EXPECT_THAT(Ids(Term("old")), IsEmpty());
  EXPECT_THAT(Ids(Term("stale")), IsEmpty());
  EXPECT_THAT(Ids(Term("words")), ElementsAre("b"));
  EXPECT_THAT(Ids(Term("new")), ElementsAre("a"));
  EXPECT_THAT(Ids(Term("title")), ElementsAre("a"));
  MergeAll();
  EXPECT_EQ(DocFreq("old"), 0u);
  EXPECT_EQ(DocFreq("words"), 1u);
  EXPECT_EQ(DocFreq("title"), 1u);
  const v1::StatsResponse stats = Counters();
  EXPECT_EQ(stats.doc_count(), 2u);
  EXPECT_EQ(stats.total_title_terms(), 3u);  // "new title" + "other"
  EXPECT_EQ(stats.total_body_terms(), 2u);   // "fresh" + "words"
}

// Every merge writes anew the location of each document it moves; after a
// force merge the id map holds one entry per live document, not one per
// location it ever had, so a merged index is no larger than it needs.
TEST_P(SegmentIndexTest, ForceMergeLeavesOneIdEntryPerLiveDocument) {
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<v1::WriteOp> ops;
    for (int i = 0; i < 50; ++i) {
      ops.push_back(Upsert({.id = absl::StrCat("d", batch * 50 + i),
                            .title = "title",
                            .body = absl::StrCat("body words ", i)}));
    }
    Write(std::move(ops));
    if (batch == 1) MergeAll();
  }
  Write({Delete("d3"), Delete("d77"),
         Upsert({.id = "d5", .title = "again", .body = "replaced"})});
  MergeAll();
  ASSERT_EQ(Counters().doc_count(), 198u);
  index_.reset();
  auto db = IndexDatabase::Open(dir_.Sub("db"), QuietOptions());
  ASSERT_THAT(db, IsOk());
  std::vector<rocksdb::LiveFileMetaData> files;
  (*db)->db()->GetLiveFilesMetaData(&files);
  uint64_t entries = 0;
  for (const rocksdb::LiveFileMetaData& file : files) {
    if (file.column_family_name == kFamilyNames[kIds]) {
      entries += file.num_entries;
    }
  }
  EXPECT_EQ(entries, 198u);
}

TEST_P(SegmentIndexTest, DeleteRemovesEverythingOfTheDocument) {
  Write({Upsert({.id = "a",
                 .title = "alpha",
                 .body = "shared",
                 .source = "S",
                 .tags = {"t"},
                 .published_seconds = 10}),
         Upsert({.id = "b", .title = "beta", .body = "shared"})});
  auto deleted = index_->Apply(WriteOf({Delete("a"), Delete("never-was")}));
  ASSERT_THAT(deleted, IsOk());
  EXPECT_TRUE(deleted->results(0).existed());
  EXPECT_FALSE(deleted->results(1).existed());

  EXPECT_THAT(Ids(Term("alpha")), IsEmpty());
  EXPECT_THAT(Ids(Term("shared")), ElementsAre("b"));
  EXPECT_THAT(Ids(Term("s", v1::FIELD_SOURCE)), IsEmpty());
  EXPECT_THAT(Ids(MatchAll()), ElementsAre("b"));
  MergeAll();
  EXPECT_EQ(DocFreq("shared"), 1u);
  EXPECT_EQ(DocFreq("t", v1::FIELD_TAG), 0u);
  EXPECT_EQ(Counters().doc_count(), 1u);
  v1::FetchRequest fetch;
  fetch.add_ids("a");
  auto fetched = index_->Fetch(fetch);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_FALSE(fetched->results(0).found());
}

TEST_P(SegmentIndexTest, DuplicateIdsInOneRequestLastWins) {
  auto response = index_->Apply(
      WriteOf({Upsert({.id = "a", .title = "first version"}),
               Upsert({.id = "a", .title = "second"}),
               Upsert({.id = "b", .title = "doomed"}), Delete("b")}));
  ASSERT_THAT(response, IsOk());
  ASSERT_EQ(response->results_size(), 4);
  EXPECT_FALSE(response->results(0).existed());
  EXPECT_TRUE(response->results(1).existed());
  EXPECT_FALSE(response->results(2).existed());
  EXPECT_TRUE(response->results(3).existed());

  EXPECT_THAT(Ids(Term("first")), IsEmpty());
  EXPECT_THAT(Ids(Term("second")), ElementsAre("a"));
  EXPECT_THAT(Ids(Term("doomed")), IsEmpty());
  const v1::StatsResponse stats = Counters();
  EXPECT_EQ(stats.doc_count(), 1u);
  EXPECT_EQ(stats.total_title_terms(), 1u);
  EXPECT_EQ(DocFreq("version"), 0u);
}

TEST_P(SegmentIndexTest, InvalidOperationAppliesNothing) {
  v1::WriteOp bad = Upsert({.id = "bad", .title = "x"});
  AppendRawTerm(bad.mutable_upsert()->mutable_body(), std::string("nul\0", 4));
  EXPECT_THAT(
      index_->Apply(WriteOf({Upsert({.id = "ok", .title = "fine"}), bad})),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("ops[1].upsert.body.vocabulary[0]")));
  v1::WriteOp dangling = Upsert({.id = "dangling", .body = "one"});
  dangling.mutable_upsert()->mutable_body()->add_term_ids(7);
  EXPECT_THAT(index_->Apply(WriteOf({dangling})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ops[0].upsert.body.term_ids[1]: term id 7 "
                                 "is past the vocabulary of 1 terms")));
  EXPECT_EQ(index_->DocCount(), 0u);
  EXPECT_THAT(Ids(Term("fine")), IsEmpty());
}

TEST_P(SegmentIndexTest, KeywordValuesAreStoredAsSent) {
  const std::string source("Big\0Paper", 9);
  Write({Upsert({.id = "n", .body = "x", .source = source, .tags = {"EU"}})});
  EXPECT_THAT(Ids(Term("big paper", v1::FIELD_SOURCE)), ElementsAre("n"));
  EXPECT_THAT(Ids(Term("eu", v1::FIELD_TAG)), ElementsAre("n"));
  v1::FetchRequest fetch;
  fetch.add_ids("n");
  auto fetched = index_->Fetch(fetch);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_EQ(fetched->results(0).document().source(), source);
  EXPECT_EQ(fetched->results(0).document().tags(0), "EU");
}

TEST_P(SegmentIndexTest, ReopenKeepsEverything) {
  Write({Upsert({.id = "x",
                 .title = "persistent",
                 .body = "data here",
                 .source = "Src",
                 .tags = {"T"},
                 .published_seconds = 5}),
         Upsert({.id = "y", .body = "data"})});
  Write({Delete("y")});
  const v1::StatsResponse before = Counters();
  const v1::ShardSearchResponse search_before =
      Search(SearchFor(Term("persistent")));
  Reopen();
  const v1::StatsResponse after = Counters();
  EXPECT_EQ(after.doc_count(), 1u);
  EXPECT_EQ(after.total_title_terms(), before.total_title_terms());
  EXPECT_EQ(after.total_body_terms(), before.total_body_terms());
  EXPECT_EQ(index_->DocCount(), 1u);
  EXPECT_EQ(Search(SearchFor(Term("persistent"))).SerializeAsString(),
            search_before.SerializeAsString());
  EXPECT_THAT(Ids(Term("src", v1::FIELD_SOURCE)), ElementsAre("x"));
  EXPECT_THAT(Ids(Term("data")), ElementsAre("x"));
  // New documents get fresh numbers after a restart: nothing is overwritten.
  Write({Upsert({.id = "z", .body = "data"})});
  EXPECT_THAT(Ids(Term("data")), UnorderedElementsAre("x", "z"));
  EXPECT_THAT(Ids(Term("persistent")), ElementsAre("x"));
}

TEST_P(SegmentIndexTest, StatsReportCountersDocFreqsAndDiskBytes) {
  Write({Upsert({.id = "1", .title = "a b", .body = "b c d"}),
         Upsert({.id = "2", .title = "c", .body = "d"})});
  v1::StatsRequest request;
  for (const char* term : {"b", "c", "d", "zzz"}) {
    request.add_terms()->set_term(term);
  }
  v1::TermRef* title_c = request.add_terms();
  title_c->set_term("c");
  title_c->set_field(v1::FIELD_TITLE);
  auto stats = StorageHandler(index_.get()).Stats(request);
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->doc_count(), 2u);
  EXPECT_EQ(stats->total_title_terms(), 3u);
  EXPECT_EQ(stats->total_body_terms(), 4u);
  EXPECT_THAT(stats->doc_freqs(), ElementsAre(1, 2, 2, 0, 1));
  EXPECT_GT(stats->disk_bytes(), 0u);
}
TEST(SegmentIndexOpenTest, RefusesADirectoryHeldByAnotherHandle) {
  TempDir dir;
  auto first = SegmentIndex::Open(dir.path(), IndexOptions());
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(SegmentIndex::Open(dir.path(), IndexOptions()),
              StatusIs(absl::StatusCode::kUnavailable));
}

INSTANTIATE_TEST_SUITE_P(Layouts, SegmentIndexTest,
                         ::testing::Values(Layout::kMemory,
                                           Layout::kFlushedPerWrite),
                         LayoutName);

// Memory and flushed segments at once: half of a collection written and
// flushed, half still in memory.
TEST(SegmentIndexSearchAfterTest, PagesAcrossMemoryAndFlushedSegments) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(index, IsOk());
  std::vector<std::vector<v1::WriteOp>> batches = RandomBatches(600, 150, 3);
  for (size_t b = 0; b < batches.size(); ++b) {
    ASSERT_THAT((*index)->Apply(WriteOf(std::move(batches[b]))), IsOk());
    if (b == 1) {
      ASSERT_THAT((*index)->Flush(), IsOk());
    }
  }
  for (v1::SortOrder sort :
       {v1::SORT_ORDER_RELEVANCE, v1::SORT_ORDER_PUBLISHED_DESC,
        v1::SORT_ORDER_PUBLISHED_ASC}) {
    for (const v1::QueryNode& query : RandomQueries(8, 5)) {
      v1::ShardSearchRequest request = SearchFor(query, 1000);
      request.set_sort(sort);
      auto all = SearcherOf(**index)(request);
      ASSERT_THAT(all, IsOk());
      std::vector<v1::ShardHit> paged =
          PageAfter(SearcherOf(**index), request, 9);
      ASSERT_EQ(paged.size(), static_cast<size_t>(all->hits_size()));
      for (size_t i = 0; i < paged.size(); ++i) {
        EXPECT_EQ(paged[i].id(), all->hits(i).id()) << i;
        EXPECT_EQ(paged[i].score(), all->hits(i).score()) << i;
      }
    }
  }
}

// Results with statistics fixed in the request: document frequencies that
// still count deleted documents would otherwise change with the layout.
std::vector<std::string> ResultsOf(SegmentIndex& index,
                                   const std::vector<v1::QueryNode>& queries) {
  std::vector<std::string> out;
  for (const v1::QueryNode& query : queries) {
    v1::ShardSearchRequest request = SearchFor(query, 20);
    v1::GlobalStats* stats = request.mutable_stats();
    stats->set_doc_count(1000);
    stats->set_total_title_terms(5000);
    stats->set_total_body_terms(100000);
    for (int i = 0; i < 300; ++i) {
      stats->add_terms()->set_term(absl::StrCat("w", i));
      stats->add_doc_freqs(1 + i);
    }
    auto response = SearcherOf(index)(request);
    EXPECT_THAT(response, IsOk());
    if (!response.ok()) continue;
    // Past the first 1,000 matches, how many a search skips (and so does
    // not count) depends on the order in which it meets documents.
    if (response->total_hits_is_lower_bound()) {
      EXPECT_GE(response->total_hits(), 1000u);
    }
    response->clear_total_hits();
    response->clear_total_hits_is_lower_bound();
    out.push_back(response->SerializeAsString());
  }
  return out;
}

// Flushing and merging move documents between segments; answers, scores
// and counts stay exactly the same.
TEST(SegmentIndexLayoutTest, FlushAndMergeDoNotChangeResults) {
  TempDir dir;
  IndexOptions options = QuietOptions();
  options.merge_factor = 3;
  auto index = SegmentIndex::Open(dir.Sub("db"), options);
  ASSERT_THAT(index, IsOk());
  SegmentIndex& idx = **index;
  for (auto& batch : RandomBatches(1200, 100, 3)) {
    ASSERT_THAT(idx.Apply(WriteOf(std::move(batch))), IsOk());
  }
  // Some documents replaced and some deleted, all still in memory.
  ASSERT_THAT(idx.Apply(WriteOf({Upsert({.id = "d5", .body = "w1 w2 w3"}),
                                 Delete("d7"), Delete("d1100")})),
              IsOk());
  std::vector<v1::QueryNode> queries = RandomQueries(30, 5);
  queries.push_back(Phrase("w1 w2", 0));
  queries.push_back(Bool({Term("w3")}, {Term("w4")}, {Term("w5")}));
  const std::vector<std::string> in_memory = ResultsOf(idx, queries);
  EXPECT_EQ(idx.DocCount(), 1198u);

  ASSERT_THAT(idx.Flush(), IsOk());
  for (const auto& info : idx.Segments()) EXPECT_FALSE(info.in_memory);
  EXPECT_EQ(ResultsOf(idx, queries), in_memory);

  ASSERT_THAT(idx.ForceMerge(1), IsOk());
  ASSERT_EQ(idx.Segments().size(), 1u);
  EXPECT_EQ(idx.Segments()[0].documents, 1198u);
  EXPECT_EQ(ResultsOf(idx, queries), in_memory);
  EXPECT_EQ(idx.DocCount(), 1198u);
}

// Deleting flushed documents persists: a reopened index has them deleted,
// and a later merge drops them for good.
TEST(SegmentIndexLayoutTest, DeletionsOfFlushedDocumentsSurviveReopen) {
  TempDir dir;
  std::vector<std::string> before;
  {
    auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
    ASSERT_THAT(index, IsOk());
    for (auto& batch : RandomBatches(400, 100, 9)) {
      ASSERT_THAT((*index)->Apply(WriteOf(std::move(batch))), IsOk());
    }
    ASSERT_THAT((*index)->Flush(), IsOk());
    std::vector<v1::WriteOp> deletes;
    for (int i = 0; i < 400; i += 3) {
      deletes.push_back(Delete(absl::StrCat("d", i)));
    }
    ASSERT_THAT((*index)->Apply(WriteOf(deletes)), IsOk());
    before = ResultsOf(**index, RandomQueries(20, 1));
    EXPECT_EQ((*index)->DocCount(), 266u);
  }
  auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(index, IsOk());
  EXPECT_EQ((*index)->DocCount(), 266u);
  EXPECT_EQ(ResultsOf(**index, RandomQueries(20, 1)), before);
  v1::FetchRequest fetch;
  fetch.add_ids("d3");
  fetch.add_ids("d4");
  auto fetched = (*index)->Fetch(fetch);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_FALSE(fetched->results(0).found());
  EXPECT_TRUE(fetched->results(1).found());
  ASSERT_THAT((*index)->ForceMerge(1), IsOk());
  ASSERT_EQ((*index)->Segments().size(), 1u);
  EXPECT_EQ((*index)->Segments()[0].documents, 266u);
  EXPECT_EQ((*index)->Segments()[0].deleted, 0u);
}

TEST(SegmentIndexLayoutTest, MemorySegmentsLoggedByAnEarlierVersionReplay) {
  // Earlier versions logged a memory segment as its documents' analyzed
  // fields (EncodeLogEntry, under PendingKey) rather than as its values; an
  // index they left with unflushed writes must open with every one of them.
  TempDir dir;
  std::vector<v1::WriteRequest> writes;
  for (int w = 0; w < 4; ++w) {
    std::vector<v1::WriteOp> ops;
    for (int i = 0; i < 10; ++i) {
      const int n = w * 10 + i;
      ops.push_back(Upsert(
          {.id = absl::StrCat("d", n),
           .title = absl::StrCat("title ", n % 3),
           .body = absl::StrCat("body words w", n % 7, " and more w", n % 5),
           .source = absl::StrCat("Src", n % 2),
           .tags = {absl::StrCat("t", n % 4)},
           .published_seconds = 1000 + n}));
    }
    writes.push_back(WriteOf(std::move(ops)));
  }
  // Replacements and deletions leave stale documents behind in the
  // segments before them.
  writes.push_back(WriteOf({Upsert({.id = "d3", .body = "replaced words"}),
                            Delete("d12"), Delete("d25")}));
  const std::vector<v1::QueryNode> queries = RandomQueries(20, 3);
  // Which documents match, whatever their scores: keywords come from the
  // stored documents in the earlier form.
  const auto matching = [](SegmentIndex& index) {
    std::vector<std::set<std::string>> out;
    for (const v1::QueryNode& query :
         {Term("words"), Term("src1", v1::FIELD_SOURCE),
          Term("t1", v1::FIELD_TAG)}) {
      auto response = SearcherOf(index)(SearchFor(query, 100));
      EXPECT_THAT(response, IsOk());
      const std::vector<std::string> ids =
          response.ok() ? HitIds(*response) : std::vector<std::string>();
      out.emplace_back(ids.begin(), ids.end());
    }
    return out;
  };
  // Closed without flushing, as a crash would leave it: the memory
  // segments stay in the pending family.
  {
    IndexOptions options = QuietOptions();
    options.flush_on_close = false;
    auto index = SegmentIndex::Open(dir.Sub("db"), options);
    ASSERT_THAT(index, IsOk());
    for (const v1::WriteRequest& write : writes) {
      ASSERT_THAT((*index)->Apply(write), IsOk());
    }
  }
  std::vector<std::string> before;
  std::vector<std::set<std::string>> matching_before;
  {
    auto reference = SegmentIndex::Open(dir.Sub("reference"), QuietOptions());
    ASSERT_THAT(reference, IsOk());
    for (const v1::WriteRequest& write : writes) {
      ASSERT_THAT((*reference)->Apply(write), IsOk());
    }
    before = ResultsOf(**reference, queries);
    matching_before = matching(**reference);
  }
  {
    // Write k made memory segment k + 1, its documents in request order.
    auto db = IndexDatabase::Open(dir.Sub("db"), QuietOptions());
    ASSERT_THAT(db, IsOk());
    rocksdb::WriteBatch batch;
    int rewritten = 0;
    std::unique_ptr<rocksdb::Iterator> it((*db)->db()->NewIterator(
        rocksdb::ReadOptions(), (*db)->family(kPending)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto key = DecodePendingKey(
          absl::string_view(it->key().data(), it->key().size()));
      ASSERT_TRUE(key.has_value());
      ASSERT_EQ(key->form, PendingForm::kValues);
      ASSERT_LE(key->segment_id, writes.size());
      const v1::WriteRequest& write = writes[key->segment_id - 1];
      std::vector<segment::SegmentDocument> docs;
      for (const v1::WriteOp& op : write.ops()) {
        if (op.has_upsert()) {
          docs.push_back({.analyzed = &op.upsert(), .source = {}, .tags = {}});
        }
      }
      batch.Delete((*db)->family(kPending), it->key());
      batch.Put((*db)->family(kPending), PendingKey(key->segment_id),
                EncodeLogEntry(docs));
      ++rewritten;
    }
    ASSERT_EQ(rewritten, static_cast<int>(writes.size()));
    ASSERT_TRUE((*db)->db()->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(index, IsOk());
  EXPECT_EQ((*index)->DocCount(), 38u);
  EXPECT_EQ(ResultsOf(**index, queries), before);
  EXPECT_EQ(matching(**index), matching_before);
  // The 20 odd documents have source Src1, less d25 (deleted) and d3
  // (replaced by a document without a source).
  EXPECT_EQ(matching_before[1].size(), 18u);
  // Flushing drops the entry in its earlier form like any other.
  ASSERT_THAT((*index)->Flush(), IsOk());
  auto reopened =
      (index->reset(), SegmentIndex::Open(dir.Sub("db"), QuietOptions()));
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ((*reopened)->DocCount(), 38u);
  EXPECT_EQ(ResultsOf(**reopened, queries), before);
  EXPECT_EQ(matching(**reopened), matching_before);
}

// Earlier versions stored each document serialized as it is, in an index
// of the previous format: it opens, is marked with this format, and its
// documents read; an older format still is refused.
TEST(SegmentIndexLayoutTest, DocumentsStoredByThePreviousFormatRead) {
  TempDir dir;
  v1::Document old_doc;
  {
    auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
    ASSERT_THAT(index, IsOk());
    const v1::WriteRequest write =
        WriteOf({Upsert({.id = "old", .title = "kept", .body = "as sent"}),
                 Upsert({.id = "new", .body = "compressed"})});
    old_doc = write.ops(0).upsert().document();
    ASSERT_THAT((*index)->Apply(write), IsOk());
  }
  {
    auto db = IndexDatabase::Open(dir.Sub("db"), QuietOptions());
    ASSERT_THAT(db, IsOk());
    rocksdb::WriteBatch batch;
    batch.Put((*db)->family(kDocs), "old", old_doc.SerializeAsString());
    batch.Put((*db)->family(kMeta), kFormatKey, "sift-segments-2");
    ASSERT_TRUE((*db)->db()->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  {
    auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
    ASSERT_THAT(index, IsOk());
    v1::FetchRequest request;
    request.add_ids("old");
    request.add_ids("new");
    auto fetched = (*index)->Fetch(request);
    ASSERT_THAT(fetched, IsOk());
    ASSERT_EQ(fetched->results_size(), 2);
    EXPECT_EQ(fetched->results(0).document().SerializeAsString(),
              old_doc.SerializeAsString());
    EXPECT_EQ(fetched->results(1).document().body(), "compressed");
  }
  {
    auto db = IndexDatabase::Open(dir.Sub("db"), QuietOptions());
    ASSERT_THAT(db, IsOk());
    std::string format;
    ASSERT_TRUE((*db)
                    ->db()
                    ->Get(rocksdb::ReadOptions(), (*db)->family(kMeta),
                          kFormatKey, &format)
                    .ok());
    EXPECT_EQ(format, kFormat);
    ASSERT_TRUE((*db)
                    ->db()
                    ->Put(rocksdb::WriteOptions(), (*db)->family(kMeta),
                          kFormatKey, "sift-segments-1")
                    .ok());
  }
  EXPECT_THAT(SegmentIndex::Open(dir.Sub("db"), QuietOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("sift-segments-1")));
}

// With background work on, small flush and merge thresholds keep the
// index in a few flushed segments while writes go on, and every write is
// searchable as soon as it returns.
TEST(SegmentIndexBackgroundTest, FlushesAndMergesWhileWriting) {
  TempDir dir;
  IndexOptions options = QuietOptions();
  options.background_work = true;
  options.flush_documents = 100;
  options.merge_factor = 4;
  auto index = SegmentIndex::Open(dir.Sub("db"), options);
  ASSERT_THAT(index, IsOk());
  int written = 0;
  for (auto& batch : RandomBatches(1500, 25, 21)) {
    const std::string last = batch.back().upsert().document().id();
    ASSERT_THAT((*index)->Apply(WriteOf(std::move(batch))), IsOk());
    written += 25;
    v1::FetchRequest fetch;
    fetch.add_ids(last);
    auto fetched = (*index)->Fetch(fetch);
    ASSERT_THAT(fetched, IsOk());
    EXPECT_TRUE(fetched->results(0).found());
    EXPECT_EQ((*index)->DocCount(), static_cast<uint64_t>(written));
  }
  auto all = SearcherOf(**index)(SearchFor(MatchAll(), 0));
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->total_hits(), 1500u);
  // How far the background thread got depends on the machine's speed;
  // Flush finishes its work on this thread, alongside it.
  ASSERT_THAT((*index)->Flush(), IsOk());
  ASSERT_THAT((*index)->Close(), IsOk());

  auto reopened = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ((*reopened)->DocCount(), 1500u);
  size_t segments = 0;
  for (const auto& info : (*reopened)->Segments()) {
    EXPECT_FALSE(info.in_memory);  // Close flushed them
    ++segments;
  }
  // 15 flushes of ~100 documents, merged four at a time.
  EXPECT_LT(segments, 10u);
}

}  // namespace
}  // namespace sift::storage
