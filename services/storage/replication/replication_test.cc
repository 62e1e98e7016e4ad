// Replication between copies of a shard over real gRPC on loopback, with
// real indexes: acknowledgement by the in-sync set, copies leaving and
// joining it, a copy dropping a tail an earlier primary left, fencing.
// The in-sync set is recorded by a function here; etcd's part is tested in
// tests/cluster.

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/server/channels.h"
#include "common/server/server_runner.h"
#include "common/status/status_matchers.h"
#include "common/sync/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/index_test_util.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/replication/replication_service.h"
#include "services/storage/replication/shard_follower.h"
#include "services/storage/replication/shard_primary.h"
#include "services/storage/segment_index.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::Delete;
using ::sift::storage::testing::QuietOptions;
using ::sift::storage::testing::TempDir;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr ShardRef kShard{0, 1};

v1::WriteRequest Doc(int i) {
  return WriteOf({Upsert({.id = absl::StrCat("d", i),
                          .body = absl::StrCat("word", i % 7, " common")})});
}

// Polls `done` until it holds or 20 s pass.
template <typename F>
bool Eventually(F done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

std::unique_ptr<SegmentIndex> OpenWithLog(const std::string& dir) {
  IndexOptions options = QuietOptions();
  options.op_log_writes = 10000;
  auto index = SegmentIndex::Open(dir, options);
  EXPECT_THAT(index, IsOk());
  return index.ok() ? *std::move(index) : nullptr;
}

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    primary_index_ = OpenWithLog(dir_.Sub("primary"));
    service_ = std::make_unique<ReplicationServiceImpl>(
        [this] {
          MutexLock lock(&mu_);
          return primary_;
        },
        [this] {
          // Not owned by the caller: the fixture keeps the index.
          return std::shared_ptr<Index>(primary_index_.get(), [](Index*) {});
        },
        dir_.Sub("scratch"), kShard);
    auto server = StartServer("127.0.0.1:0", {service_.get()});
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
  }

  void TearDown() override {
    followers_.clear();
    std::shared_ptr<ShardPrimary> primary;
    {
      MutexLock lock(&mu_);
      primary = std::move(primary_);
    }
    // Destroyed without the fixture's lock, which its callbacks take.
    primary.reset();
    server_->Shutdown(absl::Seconds(1));
  }

  // Makes the primary of `term` with the in-sync set `in_sync`.
  void StartPrimary(uint64_t term, std::vector<std::string> in_sync,
                    absl::Duration copy_timeout = absl::Milliseconds(300)) {
    PrimaryOptions options;
    options.member = "p";
    options.term = term;
    options.in_sync = std::move(in_sync);
    options.copy_timeout = copy_timeout;
    options.write_timeout = absl::Seconds(10);
    options.write_in_sync = [this](const std::vector<std::string>& members) {
      MutexLock lock(&mu_);
      if (!in_sync_error_.ok()) return in_sync_error_;
      published_.push_back(members);
      return absl::OkStatus();
    };
    options.valid_until = [this] {
      MutexLock lock(&mu_);
      return valid_until_;
    };
    auto primary = std::make_shared<ShardPrimary>(primary_index_.get(),
                                                  std::move(options));
    std::shared_ptr<ShardPrimary> old;
    {
      MutexLock lock(&mu_);
      old = std::exchange(primary_, std::move(primary));
    }
  }

  std::shared_ptr<ShardPrimary> primary() {
    MutexLock lock(&mu_);
    return primary_;
  }

  // A copy named `name` with its own index, following the primary.
  SegmentIndex* AddCopy(const std::string& name, uint64_t term) {
    copy_indexes_.push_back(OpenWithLog(dir_.Sub(name)));
    FollowCopy(name, copy_indexes_.back().get(), term);
    return copy_indexes_.back().get();
  }
  void FollowCopy(const std::string& name, SegmentIndex* index, uint64_t term) {
    FollowerOptions options;
    options.member = name;
    options.shard = kShard;
    options.primary_address = address_;
    options.term = term;
    options.pull_wait = absl::Milliseconds(200);
    followers_.push_back(std::make_unique<ShardFollower>(index, options));
  }

  std::vector<std::vector<std::string>> Published() {
    MutexLock lock(&mu_);
    return published_;
  }

  TempDir dir_;
  std::unique_ptr<SegmentIndex> primary_index_;
  std::unique_ptr<ReplicationServiceImpl> service_;
  std::unique_ptr<RunningServer> server_;
  std::string address_;
  std::vector<std::unique_ptr<SegmentIndex>> copy_indexes_;
  std::vector<std::unique_ptr<ShardFollower>> followers_;

  Mutex mu_;
  std::shared_ptr<ShardPrimary> primary_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<std::string>> published_ ABSL_GUARDED_BY(mu_);
  absl::Status in_sync_error_ ABSL_GUARDED_BY(mu_);
  absl::Time valid_until_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

TEST_F(ReplicationTest, AWriteIsAcknowledgedOnlyOnceEveryInSyncCopyHasIt) {
  StartPrimary(1, {"p", "r1"}, absl::Seconds(30));
  std::atomic<bool> acknowledged = false;
  std::thread writer([&] {
    EXPECT_THAT(primary()->Write(Doc(1)), IsOk());
    acknowledged = true;
  });
  // Logged on the primary, but r1 has not got it.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(acknowledged);
  EXPECT_EQ(primary_index_->LogEnd().seq, 1u);
  EXPECT_EQ(primary_index_->DocCount(), 0u);

  SegmentIndex* r1 = AddCopy("r1", 1);
  writer.join();
  EXPECT_TRUE(acknowledged);
  EXPECT_GE(r1->LogEnd().seq, 1u);
  EXPECT_EQ(primary_index_->DocCount(), 1u);
  for (int i = 2; i <= 50; ++i) ASSERT_THAT(primary()->Write(Doc(i)), IsOk());
  // The copy applies up to the commit point it learns on its next pull.
  EXPECT_TRUE(Eventually([&] { return r1->LastOp().seq == 50; }));
  EXPECT_EQ(r1->DocCount(), 50u);
  EXPECT_EQ(r1->LastOp(), primary_index_->LastOp());
  EXPECT_TRUE(Published().empty());
}

TEST_F(ReplicationTest, ConcurrentWritesAllReachTheCopiesInOrder) {
  // Copies never time out here: the set must not change.
  StartPrimary(1, {"p", "r1", "r2"}, absl::Seconds(30));
  SegmentIndex* r1 = AddCopy("r1", 1);
  SegmentIndex* r2 = AddCopy("r2", 1);
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        EXPECT_THAT(primary()->Write(Doc(t * 1000 + i)), IsOk());
        if (i % 10 == 0) {
          EXPECT_THAT(primary()->Write(
                          WriteOf({Delete(absl::StrCat("d", t * 1000 + i))})),
                      IsOk());
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  const OpId last = primary_index_->LastOp();
  EXPECT_EQ(last.seq, 4u * 44u);
  EXPECT_TRUE(
      Eventually([&] { return r1->LastOp() == last && r2->LastOp() == last; }));
  EXPECT_EQ(r1->DocCount(), primary_index_->DocCount());
  EXPECT_EQ(r2->DocCount(), primary_index_->DocCount());
  EXPECT_TRUE(Published().empty());
}

TEST_F(ReplicationTest, ACopyThatStopsLeavesTheInSyncSetBeforeWritesGoOn) {
  StartPrimary(1, {"p", "r1", "r2"});
  AddCopy("r1", 1);
  AddCopy("r2", 1);
  ASSERT_THAT(primary()->Write(Doc(1)), IsOk());
  // r2 goes away.
  followers_.pop_back();
  const absl::Time start = absl::Now();
  ASSERT_THAT(primary()->Write(Doc(2)), IsOk());
  // It waited for r2 until the copy timeout, then recorded the set without
  // it, then acknowledged.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_THAT(Published(), ElementsAre(std::vector<std::string>{"p", "r1"}));
  for (const CopyProgress& copy : primary()->Copies()) {
    EXPECT_EQ(copy.in_sync, copy.member == "r1") << copy.member;
  }
  // Writes no longer wait for it.
  const absl::Time again = absl::Now();
  ASSERT_THAT(primary()->Write(Doc(3)), IsOk());
  EXPECT_LT(absl::Now() - again, absl::Milliseconds(300));
}

TEST_F(ReplicationTest, ANewCopyCatchesUpThenJoinsTheInSyncSet) {
  StartPrimary(1, {"p"});
  for (int i = 0; i < 30; ++i) ASSERT_THAT(primary()->Write(Doc(i)), IsOk());
  SegmentIndex* r1 = AddCopy("r1", 1);
  EXPECT_TRUE(Eventually([&] { return !Published().empty(); }));
  EXPECT_THAT(Published(), ElementsAre(std::vector<std::string>{"p", "r1"}));
  // From then on writes wait for it, so it has each acknowledged one.
  for (int i = 30; i < 40; ++i) {
    ASSERT_THAT(primary()->Write(Doc(i)), IsOk());
    EXPECT_GE(r1->LogEnd().seq, static_cast<uint64_t>(i + 1));
  }
  EXPECT_TRUE(Eventually([&] { return r1->DocCount() == 40; }));
}

TEST_F(ReplicationTest, ACopyDropsATailItLoggedFromAnEarlierPrimary) {
  // Writes 1-2 reached every copy under term 1; write 3 of term 1 reached
  // only r1 before the primary died. p took over as primary of term 2 and
  // wrote its own 3 and 4.
  SegmentIndex* r1 = nullptr;
  {
    copy_indexes_.push_back(OpenWithLog(dir_.Sub("r1")));
    r1 = copy_indexes_.back().get();
    std::vector<v1::LoggedWrite> old(3);
    for (int i = 0; i < 3; ++i) {
      old[i].set_term(1);
      old[i].set_seq(i + 1);
      // Logged as an earlier version did: the request itself.
      old[i].set_entry(Doc(100 + i).SerializeAsString());
    }
    ASSERT_THAT(r1->AppendLogged(old), IsOk());
    ASSERT_THAT(r1->ApplyLog(2, nullptr), IsOk());
    old.pop_back();
    ASSERT_THAT(primary_index_->AppendLogged(old), IsOk());
  }
  StartPrimary(2, {"p", "r1"}, absl::Seconds(30));
  FollowCopy("r1", r1, 2);
  ASSERT_THAT(primary()->Write(Doc(3)), IsOk());
  ASSERT_THAT(primary()->Write(Doc(4)), IsOk());
  EXPECT_TRUE(Eventually([&] { return r1->LastOp().seq == 4; }));
  EXPECT_EQ(r1->LastOp(), (OpId{2, 4}));
  auto log = r1->ReadOpLog(3, 1 << 20);
  ASSERT_THAT(log, IsOk());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].term(), 2u);
  EXPECT_THAT((*log)[0].entry(), HasSubstr("d3"));
  // d102, the lost tail's document, is in neither.
  EXPECT_EQ(r1->DocCount(), 4u);
  EXPECT_EQ(primary_index_->DocCount(), 4u);
}

TEST_F(ReplicationTest,
       ACopyWhoseAppliedWritesDifferStartsOverFromACheckpoint) {
  // r1 applied a write 1 of term 1 that the primary's history does not
  // have (its write 1 is of term 2): nothing to drop, so a checkpoint.
  copy_indexes_.push_back(OpenWithLog(dir_.Sub("r1")));
  SegmentIndex* r1 = copy_indexes_.back().get();
  v1::LoggedWrite other;
  other.set_term(1);
  other.set_seq(1);
  other.set_entry(Doc(500).SerializeAsString());
  ASSERT_THAT(r1->AppendLogged({other}), IsOk());
  ASSERT_THAT(r1->ApplyLog(1, nullptr), IsOk());
  StartPrimary(2, {"p"});
  ASSERT_THAT(primary()->Write(Doc(1)), IsOk());
  FollowCopy("r1", r1, 2);
  EXPECT_TRUE(
      Eventually([&] { return followers_.back()->State().needs_checkpoint; }));
  EXPECT_THAT(followers_.back()->State().last_error,
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("differ from the primary's history")));
}

TEST_F(ReplicationTest, APrimaryThatCannotRecordTheSetAcknowledgesNothing) {
  StartPrimary(1, {"p", "r1"});
  {
    MutexLock lock(&mu_);
    in_sync_error_ = absl::FailedPreconditionError(
        "the shard's primary key is held by another member");
  }
  // r1 never shows up; removing it fails as it would for a deposed
  // primary.
  EXPECT_THAT(primary()->Write(Doc(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("may or may not be applied")));
  EXPECT_THAT(primary()->Stopped(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(primary()->Write(Doc(2)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(primary_index_->DocCount(), 0u);
}

TEST_F(ReplicationTest, APrimaryPastItsLeaseAcknowledgesNothing) {
  StartPrimary(1, {"p"});
  ASSERT_THAT(primary()->Write(Doc(1)), IsOk());
  {
    MutexLock lock(&mu_);
    valid_until_ = absl::Now() - absl::Seconds(1);
  }
  EXPECT_THAT(
      primary()->Write(Doc(2)),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("lease")));
  EXPECT_EQ(primary_index_->DocCount(), 1u);
}

TEST_F(ReplicationTest, PullsOfAnotherTermAreRefusedAndANewerOneDeposes) {
  StartPrimary(5, {"p"});
  v1::PullWritesRequest pull;
  pull.set_member("r1");
  pull.set_term(4);
  EXPECT_THAT(primary()->Pull(pull),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("this primary's term is 5")));
  EXPECT_THAT(primary()->Stopped(), IsOk());
  pull.set_term(6);
  EXPECT_THAT(primary()->Pull(pull),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(
      primary()->Stopped(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("term 6")));
  EXPECT_THAT(primary()->Write(Doc(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(ReplicationTest, ACopyTooFarBehindIsToldToStartFromACheckpoint) {
  IndexOptions options = QuietOptions();
  options.op_log_writes = 8;
  primary_index_.reset();
  auto index = SegmentIndex::Open(dir_.Sub("small-log"), options);
  ASSERT_THAT(index, IsOk());
  primary_index_ = *std::move(index);
  StartPrimary(1, {"p"});
  for (int i = 0; i < 40; ++i) ASSERT_THAT(primary()->Write(Doc(i)), IsOk());
  // The log keeps what unflushed memory segments need; flushed, the next
  // write trims it.
  ASSERT_THAT(primary_index_->Flush(), IsOk());
  ASSERT_THAT(primary()->Write(Doc(40)), IsOk());
  AddCopy("r1", 1);
  EXPECT_TRUE(
      Eventually([&] { return followers_.back()->State().needs_checkpoint; }));
  EXPECT_THAT(followers_.back()->State().last_error,
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("start from a checkpoint")));
}

TEST_F(ReplicationTest, ACopyStartsFromACheckpointThenFollowsTheLog) {
  IndexOptions options = QuietOptions();
  options.op_log_writes = 8;
  primary_index_.reset();
  auto index = SegmentIndex::Open(dir_.Sub("small-log"), options);
  ASSERT_THAT(index, IsOk());
  primary_index_ = *std::move(index);
  StartPrimary(3, {"p"});
  for (int i = 0; i < 60; ++i) ASSERT_THAT(primary()->Write(Doc(i)), IsOk());
  ASSERT_THAT(primary_index_->Flush(), IsOk());
  for (int i = 60; i < 70; ++i) {
    ASSERT_THAT(primary()->Write(WriteOf({Delete(absl::StrCat("d", i - 60))})),
                IsOk());
  }

  v1::FetchCheckpointRequest request;
  request.set_member("r1");
  request.set_shard(kShard.shard);
  request.set_shard_count(kShard.count);
  request.set_term(3);
  auto at =
      DownloadCheckpoint(address_, request, dir_.Sub("r1"), absl::Seconds(30));
  ASSERT_THAT(at, IsOk());
  EXPECT_EQ(*at, primary_index_->LastOp());
  SegmentIndex* r1 = nullptr;
  copy_indexes_.push_back(OpenWithLog(dir_.Sub("r1")));
  r1 = copy_indexes_.back().get();
  ASSERT_NE(r1, nullptr);
  EXPECT_EQ(r1->LastOp(), *at);
  EXPECT_EQ(r1->DocCount(), 50u);
  // The primary's scratch folder is empty again.
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Sub("scratch")));

  FollowCopy("r1", r1, 3);
  // Once in the in-sync set, writes wait for it: none can fall off the
  // primary's short log before it has them.
  EXPECT_TRUE(Eventually([&] { return !Published().empty(); }));
  for (int i = 70; i < 80; ++i) ASSERT_THAT(primary()->Write(Doc(i)), IsOk());
  EXPECT_TRUE(Eventually([&] { return r1->LastOp().seq == 80; }));
  EXPECT_EQ(r1->DocCount(), primary_index_->DocCount());
}

TEST_F(ReplicationTest, APullWithoutAMemberNameIsRefused) {
  StartPrimary(1, {"p"});
  auto stub = v1::ReplicationService::NewStub(MakeChannel(address_));
  v1::PullWritesRequest pull;
  pull.set_shard(kShard.shard);
  pull.set_shard_count(kShard.count);
  pull.set_term(1);
  grpc::ClientContext context;
  v1::PullWritesResponse response;
  const grpc::Status status = stub->PullWrites(&context, pull, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("member"));
  EXPECT_TRUE(primary()->Copies().empty());
}

TEST_F(ReplicationTest, ACheckpointIsRefusedToAnotherShard) {
  StartPrimary(1, {"p"});
  v1::FetchCheckpointRequest request;
  request.set_shard(1);
  request.set_shard_count(2);
  EXPECT_THAT(
      DownloadCheckpoint(address_, request, dir_.Sub("r1"), absl::Seconds(30)),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("routed to shard 1 of 2")));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("r1")));
}

}  // namespace
}  // namespace sift::storage
