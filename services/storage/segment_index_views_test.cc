// The shard index while it changes: searches keep the view they started
// from, writers, searchers and merges run together, and a background
// failure stops writes until a retry succeeds.

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
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
#include "services/storage/internal/faulty_file_system.h"
#include "services/storage/internal/index_test_util.h"
#include "services/storage/merge_policy.h"
#include "services/storage/segment_index.h"
#include "services/storage/storage_handler.h"
#include "services/storage/view_search.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::Bool;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::EnvOver;
using ::sift::storage::testing::FaultyFileSystem;
using ::sift::storage::testing::QuietOptions;
using ::sift::storage::testing::RandomBatches;
using ::sift::storage::testing::SearcherOf;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::TempDir;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

// A search holds the view it started from: whatever is written, deleted,
// flushed or merged meanwhile, the view answers as it did, its segments'
// values still readable, while new searches see the new state.
TEST(SegmentIndexViewTest, ASearchKeepsItsViewWhileTheIndexChanges) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(index, IsOk());
  SegmentIndex& idx = **index;
  std::vector<std::vector<v1::WriteOp>> batches = RandomBatches(900, 300, 5);
  for (size_t b = 0; b < batches.size(); ++b) {
    ASSERT_THAT(idx.Apply(WriteOf(batches[b])), IsOk());
    if (b < 2) {
      ASSERT_THAT(idx.Flush(), IsOk());
    }
  }
  auto query =
      DecodeShardQuery(SearchFor(Bool({}, {Term("w1"), Term("w2")}), 1000));
  ASSERT_THAT(query, IsOk());
  std::shared_ptr<const IndexView> held = idx.CurrentView();
  auto before = SearchView(*held, *query);
  ASSERT_THAT(before, IsOk());
  ASSERT_GT(before->hits.size(), 100u);

  std::vector<v1::WriteOp> changes;
  for (int i = 0; i < 900; i += 3)
    changes.push_back(Delete(absl::StrCat("d", i)));
  for (int i = 1; i < 900; i += 9) {
    changes.push_back(Upsert({.id = absl::StrCat("d", i), .body = "w1 w2"}));
  }
  ASSERT_THAT(idx.Apply(WriteOf(changes)), IsOk());
  ASSERT_THAT(idx.ForceMerge(1), IsOk());
  ASSERT_THAT(idx.Apply(WriteOf({Upsert({.id = "new", .body = "w1 w1 w2"})})),
              IsOk());
  ASSERT_THAT(idx.Flush(), IsOk());

  auto again = SearchView(*held, *query);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->total_hits, before->total_hits);
  ASSERT_EQ(again->hits.size(), before->hits.size());
  for (size_t i = 0; i < before->hits.size(); ++i) {
    EXPECT_EQ(again->hits[i].id, before->hits[i].id) << i;
    EXPECT_EQ(again->hits[i].score, before->hits[i].score) << i;
  }
  EXPECT_EQ(held->doc_count(), 900u);
  auto now = idx.Search(*query);
  ASSERT_THAT(now, IsOk());
  EXPECT_NE(now->total_hits, before->total_hits);
  EXPECT_EQ(idx.DocCount(), 601u);
  held.reset();
  // With the last holder gone, the merged-away segments can be dropped.
  ASSERT_THAT(idx.Flush(), IsOk());
  EXPECT_EQ(idx.Segments().size(), 2u);
}

// Writers, searchers and background flushes and merges all at once: every
// write lands exactly once, and every search sees one consistent state
// (its facet counts add up to its total).
TEST(SegmentIndexConcurrencyTest, WritersSearchersAndMergesTogether) {
  TempDir dir;
  IndexOptions options = QuietOptions();
  options.background_work = true;
  options.flush_documents = 50;
  options.merge_factor = 3;
  auto index = SegmentIndex::Open(dir.Sub("db"), options);
  ASSERT_THAT(index, IsOk());
  SegmentIndex& idx = **index;
  constexpr int kWriters = 4;
  constexpr int kDocs = 200;
  std::atomic<bool> writing{true};
  std::atomic<int> searches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&idx, t] {
      auto id = [t](int i) { return absl::StrCat("t", t, "-", i); };
      for (int i = 0; i < kDocs; i += 5) {
        std::vector<v1::WriteOp> ops;
        for (int j = i; j < i + 5; ++j) {
          ops.push_back(Upsert(
              {.id = id(j),
               .body = absl::StrCat("common unique", j, "x", t, " w", j % 7),
               .source = absl::StrCat("s", j % 3)}));
        }
        ASSERT_THAT(idx.Apply(WriteOf(std::move(ops))), IsOk());
      }
      std::vector<v1::WriteOp> later;
      for (int i = 0; i < kDocs; i += 5) later.push_back(Delete(id(i)));
      for (int i = 1; i < kDocs; i += 7) {
        later.push_back(Upsert({.id = id(i), .body = "common replaced"}));
      }
      for (size_t k = 0; k < later.size(); k += 4) {
        std::vector<v1::WriteOp> ops(
            later.begin() + k, later.begin() + std::min(k + 4, later.size()));
        ASSERT_THAT(idx.Apply(WriteOf(std::move(ops))), IsOk());
      }
    });
  }
  for (int s = 0; s < 2; ++s) {
    threads.emplace_back([&] {
      while (writing) {
        v1::ShardSearchRequest request = SearchFor(Term("common"), 5);
        request.add_facets()->set_field(v1::FACET_FIELD_SOURCE);
        auto r = SearcherOf(idx)(request);
        ASSERT_THAT(r, IsOk());
        uint64_t counted = r->facets(0).missing_count();
        for (const auto& c : r->facets(0).counts()) counted += c.count();
        EXPECT_EQ(counted, r->total_hits());
        ++searches;
      }
    });
  }
  for (int t = 0; t < kWriters; ++t) threads[t].join();
  writing = false;
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
  EXPECT_GT(searches.load(), 0);

  // Each writer deleted every fifth document, then wrote every seventh
  // again (some of them deleted just before).
  int live = 0, rewritten = 0;
  for (int i = 0; i < kDocs; ++i) {
    live += i % 5 != 0 || i % 7 == 1;
    rewritten += i % 7 == 1;
  }
  EXPECT_EQ(idx.DocCount(), uint64_t(kWriters * live));
  auto all = SearcherOf(idx)(SearchFor(Term("common"), 0));
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->total_hits(), idx.DocCount());
  auto replaced = SearcherOf(idx)(SearchFor(Term("replaced"), 1000));
  ASSERT_THAT(replaced, IsOk());
  std::set<std::string> ids;
  for (const v1::ShardHit& hit : replaced->hits()) ids.insert(hit.id());
  EXPECT_EQ(ids.size(), static_cast<size_t>(replaced->hits_size()));
  EXPECT_EQ(replaced->hits_size(), kWriters * rewritten);
  ASSERT_THAT(idx.Close(), IsOk());
  auto reopened = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ((*reopened)->DocCount(), uint64_t(kWriters * live));
}

// Memory segments are bounded: past max_memory_bytes a write waits for a
// flush to make room, then goes through. (Without background work only an
// explicit Flush makes room, so the wait is seen for certain.)
TEST(SegmentIndexMemoryTest, AWriteWaitsForAFlushPastTheMemoryLimit) {
  TempDir dir;
  IndexOptions options = QuietOptions();
  options.max_memory_bytes = 1;  // any memory segment is too much
  auto index = SegmentIndex::Open(dir.Sub("db"), options);
  ASSERT_THAT(index, IsOk());
  SegmentIndex& idx = **index;
  ASSERT_THAT(idx.Apply(WriteOf({Upsert({.id = "a", .body = "first"})})),
              IsOk());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    EXPECT_THAT(idx.Apply(WriteOf({Upsert({.id = "b", .body = "second"})})),
                IsOk());
    done = true;
  });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(done.load()) << "the write did not wait for a flush";
  EXPECT_EQ(idx.DocCount(), 1u);
  ASSERT_THAT(idx.Flush(), IsOk());
  writer.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(idx.DocCount(), 2u);
}

// Flushes do not wait behind a merge: while the merge thread is held
// inside a merge, writes that make flushes due are flushed all the same.
// (Behind a merge of millions of documents, which takes minutes, the
// memory segments of a bulk load used to pile up by the gigabyte.)
TEST(SegmentIndexMemoryTest, FlushesGoOnWhileAMergeRuns) {
  TempDir dir;
  IndexOptions options = QuietOptions();
  options.background_work = true;
  options.flush_documents = 100;
  options.merge_factor = 2;
  options.settle_after = absl::InfiniteDuration();
  Notification merging, release;
  options.on_merge_start = [&] {
    if (!merging.HasBeenNotified()) merging.Notify();
    release.WaitForNotification();
  };
  auto index = SegmentIndex::Open(dir.Sub("db"), options);
  ASSERT_THAT(index, IsOk());
  SegmentIndex& idx = **index;
  auto count = [&idx](bool in_memory, bool docs) {
    size_t n = 0;
    for (const SegmentStats& s : idx.CurrentView()->Stats()) {
      if (s.in_memory == in_memory) n += docs ? s.doc_count : 1;
    }
    return n;
  };
  constexpr size_t kDocs = 1200;
  std::vector<std::vector<v1::WriteOp>> batches = RandomBatches(kDocs, 50, 3);
  // Two flushes make a tier of two, whose merge the hook holds. How many
  // writes that takes depends on when the flush thread runs (a flush takes
  // every document in memory, 100 or 150 of them), so write until it does.
  size_t b = 0;
  while (!merging.HasBeenNotified() && b < 8) {
    ASSERT_THAT(idx.Apply(WriteOf(batches[b++])), IsOk());
    merging.WaitForNotificationWithTimeout(absl::Milliseconds(100));
  }
  ASSERT_TRUE(merging.WaitForNotificationWithTimeout(absl::Minutes(1)));
  for (; b < batches.size(); ++b) {
    ASSERT_THAT(idx.Apply(WriteOf(batches[b])), IsOk());
  }
  // Every flush that came due is done (what is left in memory is not due),
  // so the 800 or more documents written during the merge are flushed but
  // for fewer than a flush's worth.
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (count(true, true) >= 100 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_LT(count(true, true), 100u) << "flushes waited behind the merge";
  EXPECT_GT(count(false, false), 2u);
  release.Notify();
  EXPECT_EQ(idx.DocCount(), kDocs);
  ASSERT_THAT(idx.Close(), IsOk());
}

// A flush that fails stops every later write with its error, reported to
// the listener and in the statistics, while searches go on; once the disk
// is back, a retry succeeds, writes are accepted again, and nothing
// acknowledged is lost.
TEST(SegmentIndexFailureTest, AFailedFlushStopsWritesUntilARetrySucceeds) {
  TempDir dir;
  auto fs = std::make_shared<FaultyFileSystem>();
  std::unique_ptr<rocksdb::Env> env = EnvOver(fs);
  Mutex mu;
  std::vector<absl::Status> reported;
  IndexOptions options = QuietOptions();
  options.env = env.get();
  options.background_work = true;
  options.flush_documents = 20;
  options.retry_delay = absl::Milliseconds(20);
  options.max_retry_delay = absl::Milliseconds(100);
  options.on_background_status = [&](const absl::Status& status) {
    MutexLock lock(&mu);
    reported.push_back(status);
  };
  auto index = SegmentIndex::Open(dir.Sub("db"), options);
  ASSERT_THAT(index, IsOk());
  SegmentIndex& idx = **index;
  StorageHandler handler(&idx);
  // Waits (for at most a minute) until `done` holds.
  auto await = [](const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + absl::Minutes(1);
    while (!done() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return done();
  };

  fs->FailCreating("segment-", rocksdb::IOStatus::NoSpace("disk full"));
  // The flush is due, and starts, once the twentieth is written.
  int acknowledged = 0;
  for (; acknowledged < 20; ++acknowledged) {
    ASSERT_THAT(
        idx.Apply(WriteOf({Upsert(
            {.id = absl::StrCat("doc", acknowledged), .body = "kept"})})),
        IsOk());
  }
  ASSERT_TRUE(await([&] { return !idx.BackgroundError().ok(); }));
  EXPECT_GT(fs->failures(), 0);
  EXPECT_THAT(
      idx.Apply(WriteOf({Upsert({.id = "refused", .body = "kept"})})),
      StatusIs(absl::StatusCode::kResourceExhausted,
               HasSubstr("writes are stopped: a background flush or merge "
                         "failed")));
  // The error shows in the statistics, and searches go on.
  auto stats = handler.Stats(v1::StatsRequest());
  ASSERT_THAT(stats, IsOk());
  EXPECT_THAT(stats->background_error(), HasSubstr("disk full"));
  auto found = handler.Search(SearchFor(Term("kept"), 0));
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->total_hits(), 20u);
  {
    MutexLock lock(&mu);
    ASSERT_FALSE(reported.empty());
    EXPECT_EQ(reported[0].code(), absl::StatusCode::kResourceExhausted);
  }

  fs->Heal();
  ASSERT_TRUE(await([&] { return idx.BackgroundError().ok(); }));
  {
    MutexLock lock(&mu);
    EXPECT_TRUE(reported.back().ok());
  }
  ASSERT_THAT(idx.Apply(WriteOf({Upsert({.id = "after", .body = "kept"})})),
              IsOk());
  stats = handler.Stats(v1::StatsRequest());
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->background_error(), "");
  // The retry flushed what was waiting.
  bool flushed = false;
  for (const auto& info : idx.Segments()) flushed |= !info.in_memory;
  EXPECT_TRUE(flushed);
  ASSERT_THAT(idx.Close(), IsOk());
  auto reopened = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ((*reopened)->DocCount(), 21u);
}

// A shard that goes quiet settles: its memory segments are flushed and its
// segments merged into one, with the same answers; a write makes it settle
// again once the shard is quiet again.
// How many segments a load leaves depends on when the flush thread ran (a
// flush takes every document in memory), and settling merges a segment with
// smaller ones only once they hold a quarter of its documents; so a quiet
// shard ends in one segment or two, every one flushed, with nothing left to
// settle.
TEST(SegmentIndexSettleTest,
     AQuietShardEndsInOneOrTwoSegmentsWithTheSameAnswers) {
  TempDir dir;
  IndexOptions options = QuietOptions();
  options.background_work = true;
  options.flush_documents = 100;
  options.merge_factor = 100;  // no tiered merge: only settling merges
  options.settle_after = absl::Milliseconds(300);
  auto index = SegmentIndex::Open(dir.Sub("db"), options);
  ASSERT_THAT(index, IsOk());
  SegmentIndex& idx = **index;
  auto segments = [&idx] { return idx.CurrentView()->Stats().size(); };
  auto settled = [&idx, &options] {
    const std::vector<SegmentStats> stats = idx.CurrentView()->Stats();
    for (const SegmentStats& s : stats) {
      if (s.in_memory) return false;
    }
    return stats.size() <= 2 && PickSettle(stats, options).empty();
  };
  auto await = [](const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + absl::Minutes(1);
    while (!done() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    return done();
  };
  for (const std::vector<v1::WriteOp>& batch : RandomBatches(650, 50, 7)) {
    ASSERT_THAT(idx.Apply(WriteOf(batch)), IsOk());
  }
  auto query =
      DecodeShardQuery(SearchFor(Bool({}, {Term("w1"), Term("w2")}), 1000));
  ASSERT_THAT(query, IsOk());
  auto before = SearchView(*idx.CurrentView(), *query);
  ASSERT_THAT(before, IsOk());
  ASSERT_GT(before->hits.size(), 50u);
  EXPECT_GT(segments(), 1u);

  // Bytes of the WAL files: the load's documents, until settling flushes
  // the memtables that hold them.
  auto wal_bytes = [&dir] {
    uint64_t bytes = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(dir.Sub("db"))) {
      if (entry.path().extension() == ".log") bytes += entry.file_size();
    }
    return bytes;
  };
  EXPECT_GT(wal_bytes(), 20'000u);

  ASSERT_TRUE(await(settled)) << segments();
  EXPECT_EQ(idx.DocCount(), 650u);
  ASSERT_TRUE(await([&] { return wal_bytes() == 0; })) << wal_bytes();
  auto after = SearchView(*idx.CurrentView(), *query);
  ASSERT_THAT(after, IsOk());
  ASSERT_EQ(after->hits.size(), before->hits.size());
  for (size_t i = 0; i < after->hits.size(); ++i) {
    EXPECT_EQ(after->hits[i].id, before->hits[i].id) << i;
    EXPECT_DOUBLE_EQ(after->hits[i].score, before->hits[i].score) << i;
  }

  // A write leaves a memory segment, settled in turn (flushed: merged
  // into a segment smaller than it, or alone).
  const size_t quiet = segments();
  ASSERT_THAT(idx.Apply(WriteOf({Upsert({.id = "late", .body = "w1 w2"})})),
              IsOk());
  EXPECT_EQ(segments(), quiet + 1);
  ASSERT_TRUE(await([&] {
    const std::vector<SegmentStats> stats = idx.CurrentView()->Stats();
    for (const SegmentStats& s : stats) {
      if (s.in_memory) return false;
    }
    return stats.size() <= quiet + 1 && PickSettle(stats, options).empty();
  }));
  EXPECT_EQ(idx.DocCount(), 651u);
  EXPECT_THAT(idx.Close(), IsOk());
}

// Closing does not wait for a settling merge to end: it is abandoned, and
// nothing is lost.
TEST(SegmentIndexSettleTest, ClosingAbandonsASettlingMerge) {
  TempDir dir;
  IndexOptions options = QuietOptions();
  options.background_work = true;
  options.flush_documents = 500;
  options.merge_factor = 100;
  options.settle_after = absl::Milliseconds(1);
  {
    auto index = SegmentIndex::Open(dir.Sub("db"), options);
    ASSERT_THAT(index, IsOk());
    for (const std::vector<v1::WriteOp>& batch : RandomBatches(3000, 250, 11)) {
      ASSERT_THAT((*index)->Apply(WriteOf(batch)), IsOk());
    }
    // Settling starts about now; closing stops it wherever it is.
    EXPECT_THAT((*index)->Close(), IsOk());
    EXPECT_TRUE((*index)->BackgroundError().ok());
  }
  options.settle_after = absl::InfiniteDuration();
  auto reopened = SegmentIndex::Open(dir.Sub("db"), options);
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ((*reopened)->DocCount(), 3000u);
}

}  // namespace
}  // namespace sift::storage
