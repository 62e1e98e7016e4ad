#include "services/storage/storage_service.h"

#include <future>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/server/channels.h"
#include "common/server/executor.h"
#include "common/server/server_runner.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/segment_index.h"
#include "services/storage/storage_client.h"
#include "services/storage/storage_handler.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::Delete;
using ::sift::storage::testing::DocSpec;
using ::sift::storage::testing::HitIds;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::TempDir;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Time Deadline() { return absl::Now() + absl::Seconds(10); }

// A real shard: RocksDB in a temp dir, served on 127.0.0.1 port 0.
class StorageServiceTest : public ::testing::Test {
 protected:
  void Start(size_t max_queue,
             std::optional<ShardRef> identity = std::nullopt) {
    IndexOptions options;
    options.block_cache_bytes = 4 << 20;
    options.write_buffer_bytes = 4 << 20;
    auto index = SegmentIndex::Open(dir_.path(), options);
    ASSERT_THAT(index, IsOk());
    index_ = *std::move(index);
    handler_ = std::make_unique<StorageHandler>(index_.get());
    executor_ = std::make_unique<Executor>(2, max_queue);
    service_ = std::make_unique<StorageServiceImpl>(handler_.get(),
                                                    executor_.get(), identity);
    auto server = StartServer("127.0.0.1:0", {service_.get()});
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    client_ =
        StorageClient::Connect(absl::StrCat("127.0.0.1:", server_->port()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    executor_.reset();
  }

  TempDir dir_;
  std::unique_ptr<SegmentIndex> index_;
  std::unique_ptr<StorageHandler> handler_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<StorageServiceImpl> service_;
  std::unique_ptr<RunningServer> server_;
  std::unique_ptr<StorageClient> client_;
};

TEST_F(StorageServiceTest, RefusesRequestsRoutedForAnotherShard) {
  Start(64, ShardRef{1, 3});
  const std::string address = absl::StrCat("127.0.0.1:", server_->port());
  const v1::WriteRequest write = WriteOf({Upsert({.id = "a", .body = "x"})});
  auto mine = StorageClient::Connect(address, ShardRef{1, 3});
  EXPECT_THAT(mine->Write(write, Deadline()), IsOk());
  EXPECT_THAT(mine->Search(SearchFor(Term("x")), Deadline()), IsOk());

  auto other_shard = StorageClient::Connect(address, ShardRef{2, 3});
  EXPECT_THAT(other_shard->Write(write, Deadline()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("holds shard 1 of 3"),
                             HasSubstr("routed to shard 2 of 3"))));
  EXPECT_THAT(other_shard->Search(SearchFor(Term("x")), Deadline()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  auto other_count = StorageClient::Connect(address, ShardRef{1, 4});
  EXPECT_THAT(other_count->Fetch(v1::FetchRequest(), Deadline()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("routed to shard 1 of 4")));
  EXPECT_THAT(other_count->Stats(v1::StatsRequest(), Deadline()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Nothing misrouted was stored.
  auto stats = mine->Stats(v1::StatsRequest(), Deadline());
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->doc_count(), 1u);
  // A client that says nothing (a tool) is served.
  EXPECT_THAT(client_->Stats(v1::StatsRequest(), Deadline()), IsOk());
}

TEST_F(StorageServiceTest, EveryRpcRoundTrips) {
  Start(64);
  auto written = client_->Write(
      WriteOf({Upsert({.id = "n1",
                       .title = "storm warning",
                       .body = "heavy storm tonight",
                       .source = "Met",
                       .published_seconds = 1000}),
               Upsert({.id = "n2", .title = "calm", .body = "no storm"}),
               Delete("absent")}),
      Deadline());
  ASSERT_THAT(written, IsOk());
  ASSERT_EQ(written->results_size(), 3);
  EXPECT_FALSE(written->results(2).existed());

  v1::StatsRequest stats_request;
  stats_request.add_terms()->set_term("storm");
  auto stats = client_->Stats(stats_request, Deadline());
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->doc_count(), 2u);
  EXPECT_EQ(stats->total_title_terms(), 3u);
  EXPECT_EQ(stats->total_body_terms(), 5u);
  EXPECT_THAT(stats->doc_freqs(), ElementsAre(2));
  EXPECT_GT(stats->disk_bytes(), 0u);

  auto search = client_->Search(SearchFor(Term("storm")), Deadline());
  ASSERT_THAT(search, IsOk());
  EXPECT_EQ(search->total_hits(), 2u);
  EXPECT_THAT(HitIds(*search), ElementsAre("n1", "n2"));
  EXPECT_GT(search->hits(0).score(), search->hits(1).score());
  EXPECT_EQ(search->hits(0).published_at().seconds(), 1000);

  v1::FetchRequest fetch;
  fetch.add_ids("n1");
  fetch.add_ids("nope");
  auto fetched = client_->Fetch(fetch, Deadline());
  ASSERT_THAT(fetched, IsOk());
  ASSERT_EQ(fetched->results_size(), 2);
  EXPECT_TRUE(fetched->results(0).found());
  EXPECT_EQ(fetched->results(0).document().source(), "Met");
  EXPECT_FALSE(fetched->results(1).found());

  // The asynchronous client path reaches the same service.
  std::promise<absl::StatusOr<v1::ShardSearchResponse>> promise;
  client_->SearchAsync(SearchFor(Term("calm")), Deadline(),
                       [&](absl::StatusOr<v1::ShardSearchResponse> r) {
                         promise.set_value(std::move(r));
                       });
  auto async_result = promise.get_future().get();
  ASSERT_THAT(async_result, IsOk());
  EXPECT_THAT(HitIds(*async_result), ElementsAre("n2"));
}

TEST_F(StorageServiceTest, InvalidRequestsAreInvalidArgumentNamingTheField) {
  Start(64);
  EXPECT_THAT(client_->Write(WriteOf({Upsert({.id = ""})}), Deadline()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ops[0].upsert.document.id")));
  v1::StatsRequest stats;
  stats.add_terms();
  EXPECT_THAT(
      client_->Stats(stats, Deadline()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("terms[0].term")));
  EXPECT_THAT(
      client_->Search(SearchFor(Term("x"), kMaxSearchLimit + 1), Deadline()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
  v1::FetchRequest fetch;
  fetch.add_ids("");
  EXPECT_THAT(
      client_->Fetch(fetch, Deadline()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ids[0]")));
}

TEST_F(StorageServiceTest, FullQueueIsResourceExhausted) {
  // No queue at all: a write is refused before it reaches the index.
  Start(0);
  EXPECT_THAT(
      client_->Write(WriteOf({Upsert({.id = "a", .body = "x"})}), Deadline()),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("retry")));
  EXPECT_EQ(index_->DocCount(), 0u);
  // A read alone runs on gRPC's own thread, waiting for no worker.
  EXPECT_THAT(client_->Search(SearchFor(Term("x")), Deadline()), IsOk());
}

TEST(StorageServiceUnreachableTest, ClientReportsUnavailable) {
  // Nothing listens on port 1 of the loopback interface.
  StorageClient client("127.0.0.1:1", MakeChannel("127.0.0.1:1"));
  EXPECT_THAT(client.Stats(v1::StatsRequest(), absl::Now() + absl::Seconds(2)),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace sift::storage
