#include "services/ingest/ingest_results.h"

#include "gtest/gtest.h"

namespace sift::ingest {
namespace {

TEST(IngestResultsTest, AssemblesOneResultPerDocumentInOrder) {
  const v1::IndexResponse response = AssembleIndexResponse(
      {{"a", absl::OkStatus()},
       {"", absl::InvalidArgumentError("json: invalid at byte 3: x")},
       {"c", absl::UnavailableError("not stored: shard 1 ...")}},
      100);
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.accepted(), 1u);
  EXPECT_EQ(response.rejected(), 2u);
  EXPECT_EQ(response.results(0).id(), "a");
  EXPECT_EQ(response.results(0).code(), 0);
  EXPECT_EQ(response.results(0).message(), "");
  EXPECT_EQ(response.results(0).position(), 100u);
  EXPECT_EQ(response.results(1).id(), "");
  EXPECT_EQ(response.results(1).code(), 3);
  EXPECT_EQ(response.results(1).message(), "json: invalid at byte 3: x");
  EXPECT_EQ(response.results(1).position(), 101u);
  EXPECT_EQ(response.results(2).code(), 14);
  EXPECT_EQ(response.results(2).position(), 102u);
}

TEST(IngestResultsTest, StreamTallyCountsAcrossMessages) {
  StreamTally tally(10);
  tally.Add(AssembleIndexResponse(
      {{"a", absl::OkStatus()}, {"b", absl::InvalidArgumentError("bad b")}},
      0));
  EXPECT_EQ(tally.documents(), 2u);
  tally.Add(AssembleIndexResponse(
      {{"c", absl::OkStatus()}, {"d", absl::UnavailableError("down")}}, 2));
  const v1::IndexStreamResponse& response = tally.response();
  EXPECT_EQ(response.accepted(), 2u);
  EXPECT_EQ(response.rejected(), 2u);
  ASSERT_EQ(response.rejections_size(), 2);
  EXPECT_EQ(response.rejections(0).id(), "b");
  EXPECT_EQ(response.rejections(0).position(), 1u);
  EXPECT_EQ(response.rejections(1).id(), "d");
  EXPECT_EQ(response.rejections(1).position(), 3u);
  EXPECT_EQ(response.rejections(1).code(), 14);
  EXPECT_EQ(tally.documents(), 4u);
}

TEST(IngestResultsTest, StreamTallyCapsTheListButCountsEverything) {
  StreamTally tally(3);
  std::vector<DocumentOutcome> outcomes;
  for (int i = 0; i < 5; ++i) {
    outcomes.push_back({"x", absl::InvalidArgumentError("bad")});
  }
  tally.Add(AssembleIndexResponse(outcomes, 0));
  EXPECT_EQ(tally.response().rejected(), 5u);
  EXPECT_EQ(tally.response().rejections_size(), 3);
  EXPECT_EQ(tally.documents(), 5u);
}

TEST(IngestResultsTest, StreamTallyRejectsAWholeMessage) {
  StreamTally tally(10);
  v1::IndexRequest message;
  message.add_documents()->mutable_document()->set_id("s1");
  message.add_documents()->set_json("{}");
  message.add_documents()->mutable_article()->set_id("a1");
  tally.RejectMessage(message, 7,
                      absl::InvalidArgumentError("documents: too many"));
  const v1::IndexStreamResponse& response = tally.response();
  EXPECT_EQ(response.rejected(), 3u);
  ASSERT_EQ(response.rejections_size(), 3);
  EXPECT_EQ(response.rejections(0).id(), "s1");
  EXPECT_EQ(response.rejections(1).id(), "");
  EXPECT_EQ(response.rejections(2).id(), "a1");
  EXPECT_EQ(response.rejections(2).position(), 9u);
  EXPECT_EQ(response.rejections(2).message(), "documents: too many");
  EXPECT_EQ(tally.documents(), 3u);
}

}  // namespace
}  // namespace sift::ingest
