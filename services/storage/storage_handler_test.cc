#include "services/storage/storage_handler.h"

#include <cmath>
#include <memory>
#include <string>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/segment_index.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::AppendRawTerm;
using ::sift::storage::testing::Bool;
using ::sift::storage::testing::DateRange;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::Phrase;
using ::sift::storage::testing::Prefix;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::TempDir;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

MATCHER_P(InvalidArgumentAbout, field, "") {
  return ::testing::ExplainMatchResult(
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)), arg,
      result_listener);
}

TEST(ValidateWriteRequestTest, AcceptsAWellFormedRequest) {
  EXPECT_THAT(ValidateWriteRequest(WriteOf({Upsert({.id = "a",
                                                    .title = "t",
                                                    .body = "b c",
                                                    .tags = {"x"},
                                                    .published_seconds = 1}),
                                            Delete("b")})),
              IsOk());
}

TEST(ValidateWriteRequestTest, LimitsTheNumberOfOps) {
  v1::WriteRequest request;
  for (int i = 0; i <= kMaxWriteOps; ++i) *request.add_ops() = Delete("x");
  EXPECT_THAT(ValidateWriteRequest(request), InvalidArgumentAbout("ops"));
  request.mutable_ops()->RemoveLast();
  EXPECT_THAT(ValidateWriteRequest(request), IsOk());
}

TEST(ValidateWriteRequestTest, NamesTheBadIdOrTerm) {
  EXPECT_THAT(ValidateWriteRequest(WriteOf({Delete("ok"), Delete("")})),
              InvalidArgumentAbout("ops[1].delete_id"));
  EXPECT_THAT(ValidateWriteRequest(
                  WriteOf({Upsert({.id = std::string(kMaxIdBytes + 1, 'x')})})),
              InvalidArgumentAbout("ops[0].upsert.document.id"));
  EXPECT_THAT(ValidateWriteRequest(
                  WriteOf({Upsert({.id = std::string(kMaxIdBytes, 'x')})})),
              IsOk());

  v1::WriteOp op = Upsert({.id = "a", .body = "fine"});
  AppendRawTerm(op.mutable_upsert()->mutable_body(), "");
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.body.vocabulary[1]"));
  op = Upsert({.id = "a"});
  AppendRawTerm(op.mutable_upsert()->mutable_title(), std::string("a\0b", 3));
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.title.vocabulary[0]"));
  op = Upsert({.id = "a"});
  AppendRawTerm(op.mutable_upsert()->mutable_title(),
                std::string(kMaxTermBytes + 1, 'x'));
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("must be at most 256 bytes"));
  // A position naming a term the vocabulary does not have.
  op = Upsert({.id = "a", .body = "two words"});
  op.mutable_upsert()->mutable_body()->add_term_ids(2);
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.body.term_ids[2]"));
}

TEST(ValidateWriteRequestTest, RejectsEmptyOpsAndBadValues) {
  v1::WriteRequest request;
  request.add_ops();
  EXPECT_THAT(ValidateWriteRequest(request), InvalidArgumentAbout("ops[0]"));

  v1::WriteOp op = Upsert({.id = "a"});
  op.mutable_upsert()->mutable_document()->mutable_published_at()->set_nanos(
      -1);
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.document.published_at"));
  EXPECT_THAT(ValidateWriteRequest(WriteOf({Upsert(
                  {.id = "a",
                   .tags = {"ok", std::string(kMaxKeywordBytes + 1, 't')}})})),
              InvalidArgumentAbout("ops[0].upsert.document.tags[1]"));
}

TEST(ValidateFetchRequestTest, NamesTheBadId) {
  v1::FetchRequest fetch;
  fetch.add_ids("ok");
  fetch.add_ids(std::string(kMaxIdBytes + 1, 'x'));
  EXPECT_THAT(ValidateFetchRequest(fetch), InvalidArgumentAbout("ids[1]"));
}

TEST(StorageHandlerTest, InvalidWriteAppliesNothing) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.path(), IndexOptions());
  ASSERT_THAT(index, IsOk());
  StorageHandler handler(index->get());
  EXPECT_THAT(
      handler.Write(WriteOf({Upsert({.id = "good", .body = "x"}), Delete("")})),
      InvalidArgumentAbout("ops[1].delete_id"));
  EXPECT_EQ((*index)->DocCount(), 0u);
  ASSERT_THAT(handler.Write(WriteOf({Upsert({.id = "good", .body = "x"})})),
              IsOk());
  auto found = handler.Search(SearchFor(Term("x")));
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->total_hits(), 1u);
  EXPECT_THAT(handler.Search(SearchFor(Term("x"), kMaxSearchLimit + 1)),
              InvalidArgumentAbout("limit"));
}

}  // namespace
}  // namespace sift::storage
