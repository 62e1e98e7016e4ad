#include "services/ingest/ingest_service.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/server/channels.h"
#include "common/server/executor.h"
#include "common/server/server_runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/testing/scripted_shard.h"

namespace sift::ingest {
namespace {

using ::sift::ingest::testing::RunningShard;
using ::testing::HasSubstr;

v1::DocumentInput Doc(const std::string& id) {
  v1::DocumentInput input;
  input.mutable_document()->set_id(id);
  input.mutable_document()->set_title("Title " + id);
  return input;
}

v1::DocumentInput Json(const std::string& json) {
  v1::DocumentInput input;
  input.set_json(json);
  return input;
}

// An ingest server on 127.0.0.1 writing to one scripted shard.
class IngestServiceTest : public ::testing::Test {
 protected:
  void Start(size_t threads = 2, size_t max_queue = 16,
             IngestServiceOptions service_options = {}) {
    shard_ = RunningShard::Start();
    ASSERT_NE(shard_, nullptr);
    executor_ = std::make_unique<Executor>(threads, max_queue);
    std::vector<std::unique_ptr<storage::StorageClient>> clients;
    clients.push_back(storage::StorageClient::Connect(shard_->address()));
    IngestOptions options;
    options.retry.initial_backoff = absl::Milliseconds(10);
    options.retry.max_backoff = absl::Milliseconds(40);
    handler_ = std::make_unique<IngestHandler>(std::move(clients), options,
                                               executor_.get());
    service_ = std::make_unique<IngestServiceImpl>(
        handler_.get(), executor_.get(), service_options);
    auto server = StartServer("127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = v1::IngestService::NewStub(
        MakeChannel(absl::StrCat("127.0.0.1:", server_->port())));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
    executor_.reset();
  }

  static void SetDeadline(grpc::ClientContext* context, absl::Duration d) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + d));
  }

  std::unique_ptr<RunningShard> shard_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<IngestHandler> handler_;
  std::unique_ptr<IngestServiceImpl> service_;
  std::unique_ptr<RunningServer> server_;
  std::unique_ptr<v1::IngestService::Stub> stub_;
};

TEST_F(IngestServiceTest, IndexAnswersEveryDocument) {
  Start();
  v1::IndexRequest request;
  *request.add_documents() = Doc("a");
  *request.add_documents() = Json("not json");
  *request.add_documents() = Doc("b");
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(10));
  v1::IndexResponse response;
  grpc::Status status = stub_->Index(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted(), 2u);
  EXPECT_EQ(response.rejected(), 1u);
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(1).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(response.results(1).message(), HasSubstr("json: invalid at"));
  EXPECT_EQ(shard_->shard.documents().size(), 2u);
}

TEST_F(IngestServiceTest, IndexRefusesAnEmptyBatch) {
  Start();
  grpc::ClientContext context;
  v1::IndexResponse response;
  grpc::Status status = stub_->Index(&context, v1::IndexRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("empty batch"));
}

TEST_F(IngestServiceTest, IndexStreamCountsPositionsAcrossMessages) {
  Start();
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(20));
  v1::IndexStreamResponse response;
  auto writer = stub_->IndexStream(&context, &response);
  v1::IndexRequest first;
  *first.add_documents() = Doc("s0");
  *first.add_documents() = Json("{\"id\": 1}");
  ASSERT_TRUE(writer->Write(first));
  ASSERT_TRUE(writer->Write(v1::IndexRequest()));  // empty: nothing happens
  v1::IndexRequest too_big;
  for (int i = 0; i < 1001; ++i) *too_big.add_documents() = Doc("x");
  ASSERT_TRUE(writer->Write(too_big));
  v1::IndexRequest last;
  *last.add_documents() = Doc("s3");
  *last.add_documents() = Json("[]");
  ASSERT_TRUE(writer->Write(last));
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted(), 2u);
  EXPECT_EQ(response.rejected(), 1u + 1001u + 1u);
  ASSERT_EQ(response.rejections_size(), 1003);
  EXPECT_EQ(response.rejections(0).position(), 1u);
  EXPECT_EQ(response.rejections(1).position(), 2u);
  EXPECT_THAT(response.rejections(1).message(),
              HasSubstr("1001 in one batch, limit 1000"));
  EXPECT_EQ(response.rejections(1002).position(), 2u + 1001u + 1u);
  EXPECT_EQ(shard_->shard.documents().size(), 2u);
}

TEST_F(IngestServiceTest, IndexStreamCapsTheListOfRejections) {
  IngestServiceOptions options;
  options.max_stream_rejections = 2;
  Start(2, 16, options);
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(20));
  v1::IndexStreamResponse response;
  auto writer = stub_->IndexStream(&context, &response);
  v1::IndexRequest message;
  for (int i = 0; i < 5; ++i) *message.add_documents() = Json("{}");
  *message.add_documents() = Doc("ok");
  ASSERT_TRUE(writer->Write(message));
  ASSERT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(response.accepted(), 1u);
  EXPECT_EQ(response.rejected(), 5u);
  EXPECT_EQ(response.rejections_size(), 2);
}

TEST_F(IngestServiceTest, ACancelledStreamStopsWaitingForItsShard) {
  Start();
  shard_->shard.FailNext(1'000'000, absl::UnavailableError("down"));
  grpc::ClientContext context;
  v1::IndexStreamResponse response;
  auto writer = stub_->IndexStream(&context, &response);
  v1::IndexRequest message;
  *message.add_documents() = Doc("a");
  ASSERT_TRUE(writer->Write(message));
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time start = absl::Now();
  context.TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The server lets go of the stream quickly: shutting down does not wait
  // for the 30 s shard timeout.
  server_->Shutdown(absl::Seconds(5));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(IngestServiceTest, DeleteReportsFound) {
  Start();
  {
    v1::IndexRequest request;
    *request.add_documents() = Doc("a");
    grpc::ClientContext context;
    v1::IndexResponse response;
    ASSERT_TRUE(stub_->Index(&context, request, &response).ok());
  }
  v1::DeleteRequest request;
  request.add_ids("a");
  request.add_ids("b");
  grpc::ClientContext context;
  v1::DeleteResponse response;
  ASSERT_TRUE(stub_->Delete(&context, request, &response).ok());
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_TRUE(response.results(0).found());
  EXPECT_FALSE(response.results(1).found());
}

TEST_F(IngestServiceTest, DeleteRefusesAnInvalidId) {
  Start();
  v1::DeleteRequest request;
  request.add_ids("a\nb");
  grpc::ClientContext context;
  v1::DeleteResponse response;
  grpc::Status status = stub_->Delete(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("ids[0]: control character"));
}

TEST_F(IngestServiceTest, AnOverloadedServerAnswersResourceExhausted) {
  // No room in the queue: every call is refused at once.
  Start(1, 0);
  v1::IndexRequest index;
  *index.add_documents() = Doc("a");
  grpc::ClientContext c1;
  v1::IndexResponse indexed;
  grpc::Status status = stub_->Index(&c1, index, &indexed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("retry with backoff"));

  v1::DeleteRequest remove;
  remove.add_ids("a");
  grpc::ClientContext c2;
  v1::DeleteResponse removed;
  EXPECT_EQ(stub_->Delete(&c2, remove, &removed).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);

  grpc::ClientContext c3;
  v1::IndexStreamResponse streamed;
  auto writer = stub_->IndexStream(&c3, &streamed);
  writer->Write(index);
  writer->WritesDone();
  status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("stopped at position 0"));
  EXPECT_EQ(shard_->shard.attempts(), 0);
}

}  // namespace
}  // namespace sift::ingest
