#include "services/query/query_service.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/routing/shard_router.h"
#include "common/server/channels.h"
#include "common/server/server_runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/query/fake_shard.h"

namespace sift::query {
namespace {

using ::sift::query::testing::FakeCluster;
using ::sift::query::testing::FakeShard;
using ::testing::HasSubstr;

std::vector<FakeShard::StoredDoc> Corpus() {
  std::vector<FakeShard::StoredDoc> docs;
  for (int i = 0; i < 8; ++i) {
    FakeShard::StoredDoc& doc = docs.emplace_back();
    doc.score = i;
    doc.document.set_id(absl::StrCat("d", i));
    doc.document.set_title("Glacier retreat");
    doc.document.set_body("Glacier retreat measurements.");
  }
  return docs;
}

// The query service over fake shards, on a loopback port.
class QueryServiceTest : public ::testing::Test {
 protected:
  void Start(size_t max_queued) {
    std::vector<std::unique_ptr<storage::StorageClient>> clients;
    for (const std::string& address : cluster_.addresses()) {
      clients.push_back(storage::StorageClient::Connect(address));
    }
    handler_ = std::make_unique<QueryHandler>(std::move(clients), &analyzer_,
                                              QueryOptions());
    executor_ = std::make_unique<Executor>(2, max_queued);
    service_ =
        std::make_unique<QueryServiceImpl>(handler_.get(), executor_.get());
    absl::StatusOr<std::unique_ptr<RunningServer>> server =
        StartServer("127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::QueryService::NewStub(
        MakeChannel(absl::StrCat("127.0.0.1:", server_->port())));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    // Workers may still be returning from Finish when the drain ends.
    executor_.reset();
  }

  static void SetDeadline(grpc::ClientContext& context, absl::Duration d) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + d));
  }

  analysis::Analyzer analyzer_;
  FakeCluster cluster_{2, Corpus()};
  std::unique_ptr<QueryHandler> handler_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<QueryServiceImpl> service_;
  std::unique_ptr<RunningServer> server_;
  std::unique_ptr<v1::QueryService::Stub> stub_;
};

TEST_F(QueryServiceTest, SearchGetAndClusterStatsOverGrpc) {
  ASSERT_NO_FATAL_FAILURE(Start(16));
  grpc::ClientContext search_context;
  SetDeadline(search_context, absl::Seconds(10));
  v1::SearchRequest search;
  search.set_query("glacier");
  v1::SearchResponse found;
  grpc::Status s = stub_->Search(&search_context, search, &found);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(found.total_hits(), 8u);
  ASSERT_EQ(found.hits_size(), 8);
  EXPECT_EQ(found.hits(0).id(), "d7");
  EXPECT_EQ(found.hits(0).snippet().highlighted(),
            "<em>Glacier</em> retreat measurements.");

  grpc::ClientContext get_context;
  v1::GetRequest get;
  get.set_id("d3");
  v1::GetResponse got;
  s = stub_->Get(&get_context, get, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.document().id(), "d3");

  grpc::ClientContext stats_context;
  v1::ClusterStatsResponse stats;
  s = stub_->ClusterStats(&stats_context, v1::ClusterStatsRequest(), &stats);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(stats.total_documents(), 8u);
}

TEST_F(QueryServiceTest, ErrorsKeepTheirCodeAndMessage) {
  ASSERT_NO_FATAL_FAILURE(Start(16));
  grpc::ClientContext get_context;
  v1::GetRequest get;
  get.set_id("nope");
  v1::GetResponse got;
  grpc::Status s = stub_->Get(&get_context, get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "no document with id \"nope\"");

  grpc::ClientContext search_context;
  v1::SearchRequest search;
  search.set_query("a AND");
  v1::SearchResponse found;
  s = stub_->Search(&search_context, search, &found);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("query: column 3"));
}

TEST_F(QueryServiceTest, AHangingShardStillLetsTheClientHavePartialResults) {
  ASSERT_NO_FATAL_FAILURE(Start(16));
  cluster_.shard(1).SetMode(FakeShard::Mode::kHang);
  grpc::ClientContext context;
  SetDeadline(context, absl::Milliseconds(800));
  v1::SearchRequest search;
  search.set_query("glacier");
  v1::SearchResponse found;
  grpc::Status s = stub_->Search(&context, search, &found);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(found.partial());
  EXPECT_GT(found.hits_size(), 0);
}

TEST_F(QueryServiceTest, FullQueueAnswersResourceExhausted) {
  ASSERT_NO_FATAL_FAILURE(Start(0));
  grpc::ClientContext context;
  v1::SearchRequest search;
  search.set_query("glacier");
  v1::SearchResponse found;
  grpc::Status s = stub_->Search(&context, search, &found);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(cluster_.total_calls(), 0);
}

}  // namespace
}  // namespace sift::query
