#include "services/ingest/ingest_handler.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/routing/shard_router.h"
#include "common/server/executor.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/testing/scripted_shard.h"
#include "services/ingest/timestamp_parser.h"
#include "services/storage/analyzed_field.h"

namespace sift::ingest {
namespace {

using ::sift::ingest::testing::RunningShard;
using ::sift::ingest::testing::UnusedAddress;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using Inputs = google::protobuf::RepeatedPtrField<v1::DocumentInput>;

constexpr int kOk = 0;
constexpr int kCancelled = 1;
constexpr int kInvalid = 3;
constexpr int kDeadlineExceeded = 4;
constexpr int kFailedPrecondition = 9;
constexpr int kUnavailable = 14;

v1::DocumentInput Doc(const std::string& id, const std::string& title,
                      const std::string& body = "body text") {
  v1::DocumentInput input;
  input.mutable_document()->set_id(id);
  input.mutable_document()->set_title(title);
  input.mutable_document()->set_body(body);
  return input;
}

v1::DocumentInput Json(const std::string& json) {
  v1::DocumentInput input;
  input.set_json(json);
  return input;
}

v1::DocumentInput Article(const std::string& id, const std::string& text) {
  v1::DocumentInput input;
  input.mutable_article()->set_id(id);
  input.mutable_article()->set_text(text);
  return input;
}

absl::Time In(absl::Duration d) { return absl::Now() + d; }

// Retries quickly so that tests of shards that stay down stay short.
IngestOptions FastOptions() {
  IngestOptions options;
  options.retry.initial_backoff = absl::Milliseconds(10);
  options.retry.max_backoff = absl::Milliseconds(40);
  return options;
}

class IngestHandlerTest : public ::testing::Test {
 protected:
  // Starts `n` scripted shards and a handler writing to them (plus
  // `extra_addresses`, shards that may not exist).
  std::unique_ptr<IngestHandler> Start(
      int n, IngestOptions options = FastOptions(),
      Executor* executor = nullptr,
      const std::vector<std::string>& extra_addresses = {}) {
    std::vector<std::unique_ptr<storage::StorageClient>> clients;
    for (int i = 0; i < n; ++i) {
      shards_.push_back(RunningShard::Start());
      EXPECT_NE(shards_.back(), nullptr);
      clients.push_back(
          storage::StorageClient::Connect(shards_.back()->address()));
    }
    for (const std::string& address : extra_addresses) {
      clients.push_back(storage::StorageClient::Connect(address));
    }
    return std::make_unique<IngestHandler>(std::move(clients), options,
                                           executor);
  }

  testing::ScriptedShard& shard(int i) { return shards_[i]->shard; }

  std::vector<std::unique_ptr<RunningShard>> shards_;
};

std::vector<std::string> Ids(const v1::WriteRequest& request) {
  std::vector<std::string> ids;
  for (const v1::WriteOp& op : request.ops()) {
    ids.push_back(op.has_upsert() ? op.upsert().document().id()
                                  : op.delete_id());
  }
  return ids;
}

TEST(PrepareDocumentTest, ParsesAnArticleAndAnalyzesItsFields) {
  const analysis::Analyzer analyzer;
  const PreparedDocument prepared = PrepareDocument(
      Article("a-1",
              "Solar Plant Opens\nMarch 3, 2023 | Valley Courier\n"
              "The plant opened on Friday.\n"),
      IngestLimits(), analyzer);
  ASSERT_THAT(prepared.status, IsOk());
  EXPECT_EQ(prepared.id, "a-1");
  const v1::Document& doc = prepared.analyzed.document();
  EXPECT_EQ(doc.id(), "a-1");
  EXPECT_EQ(doc.title(), "Solar Plant Opens");
  EXPECT_EQ(doc.source(), "Valley Courier");
  EXPECT_EQ(FormatTimestamp(doc.published_at()), "2023-03-03T00:00:00Z");
  EXPECT_THAT(storage::DecodeTerms(prepared.analyzed.title()),
              ElementsAreArray(*analyzer.Terms("Solar Plant Opens")));
  EXPECT_THAT(storage::DecodeTerms(prepared.analyzed.body()),
              ElementsAreArray(*analyzer.Terms("The plant opened on Friday.")));
}

TEST(PrepareDocumentTest, KeepsAStructuredDocumentAsGiven) {
  const analysis::Analyzer analyzer;
  v1::DocumentInput input = Doc("d", "Title", "Body");
  input.mutable_document()->set_source("Mixed Case Source");
  input.mutable_document()->add_tags("Cycling");
  const PreparedDocument prepared =
      PrepareDocument(input, IngestLimits(), analyzer);
  ASSERT_THAT(prepared.status, IsOk());
  EXPECT_EQ(prepared.analyzed.document().SerializeAsString(),
            input.document().SerializeAsString());
}

TEST(PrepareDocumentTest, NamesTheDocumentInParseErrors) {
  const analysis::Analyzer analyzer;
  PreparedDocument prepared = PrepareDocument(Json(R"({"id":"j1","title":1})"),
                                              IngestLimits(), analyzer);
  EXPECT_EQ(prepared.id, "j1");
  EXPECT_THAT(prepared.status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "document \"j1\": json: expected string for \"title\" "
                       "at byte 19"));
  prepared = PrepareDocument(Json("{"), IngestLimits(), analyzer);
  EXPECT_EQ(prepared.id, "");
  EXPECT_THAT(prepared.status, StatusIs(absl::StatusCode::kInvalidArgument,
                                        StartsWith("json: invalid at byte 1")));
  prepared = PrepareDocument(v1::DocumentInput(), IngestLimits(), analyzer);
  EXPECT_THAT(prepared.status, StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("empty DocumentInput")));
}

TEST(PrepareDocumentTest, RefusesAnOversizedArticleBeforeParsingIt) {
  const analysis::Analyzer analyzer;
  IngestLimits limits;
  limits.max_document_bytes = 100;
  const PreparedDocument prepared =
      PrepareDocument(Article("big", std::string(101, 'x')), limits, analyzer);
  EXPECT_THAT(prepared.status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "document \"big\": article text: too long (101 bytes, "
                       "limit 100)"));
}

TEST_F(IngestHandlerTest, WritesEachDocumentToItsShardInInputOrder) {
  auto handler = Start(2);
  Inputs inputs;
  for (int i = 0; i < 40; ++i) {
    *inputs.Add() = Doc(absl::StrCat("doc-", i), absl::StrCat("Title ", i));
  }
  SIFT_ASSERT_OK_AND_ASSIGN(v1::IndexResponse response,
                            handler->Index(inputs, In(absl::Seconds(10))));
  EXPECT_EQ(response.accepted(), 40u);
  EXPECT_EQ(response.rejected(), 0u);
  ASSERT_EQ(response.results_size(), 40);
  std::vector<std::string> expected[2];
  for (int i = 0; i < 40; ++i) {
    const std::string id = absl::StrCat("doc-", i);
    EXPECT_EQ(response.results(i).id(), id);
    EXPECT_EQ(response.results(i).code(), kOk);
    EXPECT_EQ(response.results(i).position(), static_cast<uint64_t>(i));
    expected[ShardForId(id, 2)].push_back(id);
  }
  for (int s = 0; s < 2; ++s) {
    ASSERT_EQ(shard(s).applied().size(), 1u) << "shard " << s;
    EXPECT_EQ(Ids(shard(s).applied()[0]), expected[s]) << "shard " << s;
  }
  const v1::AnalyzedDocument stored =
      shard(ShardForId("doc-3", 2)).documents()["doc-3"];
  const analysis::Analyzer analyzer;
  EXPECT_THAT(storage::DecodeTerms(stored.title()),
              ElementsAreArray(*analyzer.Terms("Title 3")));
}

TEST_F(IngestHandlerTest, TheLastVersionOfAnIdInABatchWins) {
  auto handler = Start(1);
  Inputs inputs;
  *inputs.Add() = Doc("dup", "first");
  *inputs.Add() = Doc("dup", "second");
  SIFT_ASSERT_OK_AND_ASSIGN(v1::IndexResponse response,
                            handler->Index(inputs, In(absl::Seconds(10))));
  EXPECT_EQ(response.accepted(), 2u);
  EXPECT_EQ(shard(0).documents()["dup"].document().title(), "second");
}

TEST_F(IngestHandlerTest, RejectsInvalidDocumentsAndWritesTheRest) {
  auto handler = Start(1);
  Inputs inputs;
  *inputs.Add() = Doc("good-1", "Fine");
  *inputs.Add() = Json(R"({"id": "bad-json", "title": "x",)");
  *inputs.Add() = Doc("long", std::string(70000, 't'));
  *inputs.Add() = Doc("", "no id");
  *inputs.Add() = v1::DocumentInput();
  *inputs.Add() = Json(R"({"id":"good-2","date":"2021-02-22"})");
  *inputs.Add() = Article("good-3", "Title\nBy Staff\nBody.");
  SIFT_ASSERT_OK_AND_ASSIGN(v1::IndexResponse response,
                            handler->Index(inputs, In(absl::Seconds(10))));
  ASSERT_EQ(response.results_size(), 7);
  EXPECT_EQ(response.accepted(), 3u);
  EXPECT_EQ(response.rejected(), 4u);
  const std::vector<int> codes = {kOk,      kInvalid, kInvalid, kInvalid,
                                  kInvalid, kOk,      kOk};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(response.results(i).code(), codes[i]) << i;
  }
  EXPECT_EQ(response.results(1).id(), "bad-json");
  EXPECT_THAT(response.results(1).message(),
              StartsWith("document \"bad-json\": json: invalid at byte"));
  EXPECT_EQ(response.results(2).message(),
            "document \"long\": title: too long (70000 bytes, limit 65536)");
  EXPECT_THAT(response.results(3).message(), StartsWith("id: required"));
  const auto stored = shard(0).documents();
  EXPECT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored.count("long"), 0u);
  EXPECT_EQ(stored.at("good-3").document().source(), "Staff");
}

TEST_F(IngestHandlerTest, RefusesEmptyAndOversizedBatches) {
  auto handler = Start(1);
  Inputs inputs;
  EXPECT_THAT(handler->Index(inputs, In(absl::Seconds(10))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("documents: empty batch")));
  for (int i = 0; i < 1001; ++i) *inputs.Add() = Doc("x", "t");
  EXPECT_THAT(handler->Index(inputs, In(absl::Seconds(10))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "documents: 1001 in one batch, limit 1000 (split the "
                       "batch)"));
  IngestOptions options = FastOptions();
  options.limits.max_batch_bytes = 1000;
  auto small = Start(1, options);
  Inputs big;
  *big.Add() = Doc("x", "t", std::string(2000, 'b'));
  EXPECT_THAT(small->Index(big, In(absl::Seconds(10))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("limit 1000 (split the batch)")));
  EXPECT_EQ(shard(0).attempts(), 0);
}

TEST_F(IngestHandlerTest, RetriesAShardThatIsBrieflyAway) {
  auto handler = Start(1);
  shard(0).FailNext(2, absl::UnavailableError("restarting"));
  Inputs inputs;
  *inputs.Add() = Doc("a", "t");
  *inputs.Add() = Doc("b", "t");
  SIFT_ASSERT_OK_AND_ASSIGN(v1::IndexResponse response,
                            handler->Index(inputs, In(absl::Seconds(10))));
  EXPECT_EQ(response.accepted(), 2u);
  EXPECT_EQ(shard(0).attempts(), 3);
  EXPECT_EQ(shard(0).documents().size(), 2u);
}

TEST_F(IngestHandlerTest, RetriesAnOverloadedShard) {
  auto handler = Start(1);
  shard(0).FailNext(1, absl::ResourceExhaustedError("busy"));
  Inputs inputs;
  *inputs.Add() = Doc("a", "t");
  SIFT_ASSERT_OK_AND_ASSIGN(v1::IndexResponse response,
                            handler->Index(inputs, In(absl::Seconds(10))));
  EXPECT_EQ(response.accepted(), 1u);
  EXPECT_EQ(shard(0).attempts(), 2);
}

TEST_F(IngestHandlerTest, ReportsAShardThatStaysDownBeforeTheDeadline) {
  auto handler = Start(2);
  shard(1).FailNext(1'000'000, absl::UnavailableError("shard is down"));
  Inputs inputs;
  for (int i = 0; i < 20; ++i) *inputs.Add() = Doc(absl::StrCat("n", i), "t");
  const absl::Time deadline = absl::Now() + absl::Milliseconds(500);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::IndexResponse response,
                            handler->Index(inputs, deadline));
  // Shard writes end 25 ms before the deadline; allow for a loaded machine.
  EXPECT_LT(absl::Now(), deadline + absl::Milliseconds(100));
  EXPECT_GT(shard(1).attempts(), 3);
  int accepted = 0;
  for (const v1::DocumentResult& result : response.results()) {
    if (ShardForId(result.id(), 2) == 0) {
      EXPECT_EQ(result.code(), kOk) << result.id();
      ++accepted;
    } else {
      EXPECT_EQ(result.code(), kUnavailable) << result.id();
      EXPECT_THAT(result.message(),
                  HasSubstr("not stored: shard 1 did not acknowledge"));
      EXPECT_THAT(result.message(), HasSubstr("shard is down"));
    }
  }
  EXPECT_EQ(response.accepted(), static_cast<uint32_t>(accepted));
  EXPECT_EQ(shard(1).documents().size(), 0u);
}

TEST_F(IngestHandlerTest, ASlowShardRunsIntoTheDeadline) {
  auto handler = Start(1);
  shard(0).DelayWrites(absl::Milliseconds(600));
  Inputs inputs;
  *inputs.Add() = Doc("a", "t");
  SIFT_ASSERT_OK_AND_ASSIGN(
      v1::IndexResponse response,
      handler->Index(inputs, In(absl::Milliseconds(200))));
  EXPECT_EQ(response.results(0).code(), kDeadlineExceeded);
  EXPECT_THAT(response.results(0).message(), HasSubstr("shard 0"));
}

TEST_F(IngestHandlerTest, ADeadlineCuttingARetryShortReportsWhyItRetried) {
  auto handler = Start(1);
  shard(0).FailNext(1, absl::UnavailableError("restarting"));
  shard(0).DelayWrites(absl::Milliseconds(600));
  Inputs inputs;
  *inputs.Add() = Doc("a", "t");
  SIFT_ASSERT_OK_AND_ASSIGN(
      v1::IndexResponse response,
      handler->Index(inputs, In(absl::Milliseconds(200))));
  EXPECT_EQ(response.results(0).code(), kUnavailable);
  EXPECT_THAT(response.results(0).message(),
              HasSubstr("the deadline passed while retrying"));
  EXPECT_THAT(response.results(0).message(), HasSubstr("restarting"));
}

TEST_F(IngestHandlerTest, AnAttemptThatHangsIsTriedAgainWithinTheDeadline) {
  // A primary that hangs answers nothing; ingest tries again (on whoever
  // is primary by then) rather than wait out the whole deadline.
  IngestOptions options = FastOptions();
  options.retry.attempt_timeout = absl::Milliseconds(100);
  auto handler = Start(1, options);
  shard(0).DelayWrites(absl::Seconds(5));
  Inputs inputs;
  *inputs.Add() = Doc("a", "t");
  SIFT_ASSERT_OK_AND_ASSIGN(
      v1::IndexResponse response,
      handler->Index(inputs, In(absl::Milliseconds(700))));
  EXPECT_EQ(response.results(0).code(), kDeadlineExceeded);
  EXPECT_GE(shard(0).attempts(), 2);
}

TEST_F(IngestHandlerTest, AnUnreachableShardIsUnavailable) {
  auto handler = Start(0, FastOptions(), nullptr, {UnusedAddress()});
  Inputs inputs;
  *inputs.Add() = Doc("a", "t");
  SIFT_ASSERT_OK_AND_ASSIGN(
      v1::IndexResponse response,
      handler->Index(inputs, In(absl::Milliseconds(400))));
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).code(), kUnavailable);
  EXPECT_THAT(response.results(0).message(), HasSubstr("shard 0"));
}

TEST_F(IngestHandlerTest, DoesNotRetryAFinalError) {
  auto handler = Start(1);
  shard(0).FailNext(1, absl::FailedPreconditionError("disk full"));
  Inputs inputs;
  *inputs.Add() = Doc("a", "t");
  SIFT_ASSERT_OK_AND_ASSIGN(v1::IndexResponse response,
                            handler->Index(inputs, In(absl::Seconds(10))));
  EXPECT_EQ(response.results(0).code(), kFailedPrecondition);
  EXPECT_THAT(response.results(0).message(), HasSubstr("disk full"));
  EXPECT_EQ(shard(0).attempts(), 1);
}

TEST_F(IngestHandlerTest, IsolatesTheDocumentAShardRefuses) {
  auto handler = Start(1);
  shard(0).RefuseId("poison");
  Inputs inputs;
  for (const char* id : {"a", "b", "poison", "c"}) *inputs.Add() = Doc(id, "t");
  SIFT_ASSERT_OK_AND_ASSIGN(v1::IndexResponse response,
                            handler->Index(inputs, In(absl::Seconds(10))));
  EXPECT_EQ(response.accepted(), 3u);
  EXPECT_EQ(response.results(2).code(), kInvalid);
  EXPECT_THAT(response.results(2).message(), HasSubstr("malformed operation"));
  EXPECT_EQ(shard(0).documents().size(), 3u);
}

TEST_F(IngestHandlerTest, StopsWaitingWhenCancelled) {
  auto handler = Start(1);
  shard(0).FailNext(1'000'000, absl::UnavailableError("down"));
  Inputs inputs;
  *inputs.Add() = Doc("a", "t");
  const absl::Time start = absl::Now();
  SIFT_ASSERT_OK_AND_ASSIGN(
      v1::IndexResponse response,
      handler->Index(inputs, In(absl::Seconds(20)), 0, [start] {
        return absl::Now() - start > absl::Milliseconds(150);
      }));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(response.results(0).code(), kCancelled);
}

TEST_F(IngestHandlerTest, AnalyzesBigBatchesOnTheExecutor) {
  Executor executor(2, 16);
  auto handler = Start(3, FastOptions(), &executor);
  Inputs inputs;
  for (int i = 0; i < 300; ++i) {
    *inputs.Add() =
        Json(absl::StrCat(R"({"id":"j)", i, R"(","title":"Harbour news )", i,
                          R"(","body":"Boats and ferries."})"));
  }
  SIFT_ASSERT_OK_AND_ASSIGN(
      v1::IndexResponse response,
      handler->Index(inputs, In(absl::Seconds(20)), /*first_position=*/1000));
  EXPECT_EQ(response.accepted(), 300u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(response.results(i).id(), absl::StrCat("j", i));
    EXPECT_EQ(response.results(i).position(), 1000u + i);
  }
  size_t stored = 0;
  for (int s = 0; s < 3; ++s) stored += shard(s).documents().size();
  EXPECT_EQ(stored, 300u);
}

TEST_F(IngestHandlerTest, SplitsLargeShardWritesBySize) {
  IngestOptions options = FastOptions();
  options.max_write_request_bytes = 3000;
  auto handler = Start(1, options);
  Inputs inputs;
  for (int i = 0; i < 10; ++i) {
    *inputs.Add() = Doc(absl::StrCat("d", i), "t", std::string(900, 'w'));
  }
  SIFT_ASSERT_OK_AND_ASSIGN(v1::IndexResponse response,
                            handler->Index(inputs, In(absl::Seconds(10))));
  EXPECT_EQ(response.accepted(), 10u);
  EXPECT_GE(shard(0).applied().size(), 4u);
  EXPECT_EQ(shard(0).documents().size(), 10u);
}

TEST_F(IngestHandlerTest, DeleteReportsWhichIdsExisted) {
  auto handler = Start(2);
  Inputs inputs;
  *inputs.Add() = Doc("a", "t");
  *inputs.Add() = Doc("b", "t");
  ASSERT_THAT(handler->Index(inputs, In(absl::Seconds(10))), IsOk());
  google::protobuf::RepeatedPtrField<std::string> ids;
  *ids.Add() = "a";
  *ids.Add() = "zzz";
  SIFT_ASSERT_OK_AND_ASSIGN(v1::DeleteResponse response,
                            handler->Delete(ids, In(absl::Seconds(10))));
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).id(), "a");
  EXPECT_TRUE(response.results(0).found());
  EXPECT_EQ(response.results(1).id(), "zzz");
  EXPECT_FALSE(response.results(1).found());
  EXPECT_EQ(shard(ShardForId("a", 2)).documents().count("a"), 0u);
  EXPECT_EQ(shard(ShardForId("b", 2)).documents().count("b"), 1u);
}

TEST_F(IngestHandlerTest, DeleteRefusesBadIdLists) {
  auto handler = Start(1);
  google::protobuf::RepeatedPtrField<std::string> ids;
  EXPECT_THAT(
      handler->Delete(ids, In(absl::Seconds(10))),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ids: empty")));
  *ids.Add() = "fine";
  *ids.Add() = std::string(513, 'x');
  EXPECT_THAT(handler->Delete(ids, In(absl::Seconds(10))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "ids[1]: too long (513 bytes, limit 512)"));
  EXPECT_EQ(shard(0).attempts(), 0);
}

TEST_F(IngestHandlerTest, DeleteFailsWhenAShardStaysDown) {
  auto handler = Start(1);
  shard(0).FailNext(1'000'000, absl::UnavailableError("down"));
  google::protobuf::RepeatedPtrField<std::string> ids;
  *ids.Add() = "a";
  EXPECT_THAT(handler->Delete(ids, In(absl::Milliseconds(300))),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("1 of 1 deletes not acknowledged")));
}

}  // namespace
}  // namespace sift::ingest
