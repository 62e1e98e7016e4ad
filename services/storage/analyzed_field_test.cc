#include "services/storage/analyzed_field.h"

#include <string>
#include <vector>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::storage {
namespace {

using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(AnalyzedFieldTest, RepeatedTermsAreListedOnceInFirstOccurrenceOrder) {
  v1::AnalyzedField field;
  EncodeTerms({"the", "cat", "saw", "the", "other", "cat"}, &field);
  EXPECT_THAT(field.vocabulary(), ElementsAre("the", "cat", "saw", "other"));
  EXPECT_THAT(field.term_ids(), ElementsAre(0, 1, 2, 0, 3, 1));
  EXPECT_EQ(FieldLength(field), 6u);
  EXPECT_THAT(DecodeTerms(field),
              ElementsAre("the", "cat", "saw", "the", "other", "cat"));
  EXPECT_THAT(CheckTermIds(field, "body"), IsOk());
}

TEST(AnalyzedFieldTest, LongTermsSurviveTheMoveIntoTheVocabulary) {
  // Long strings own heap bytes and short ones live inside the string; both
  // must come out intact after the map over them is gone.
  const std::vector<std::string> terms = {std::string(100, 'x'), "a",
                                          std::string(100, 'x'), "a", "b"};
  v1::AnalyzedField field;
  EncodeTerms(terms, &field);
  EXPECT_EQ(field.vocabulary_size(), 3);
  EXPECT_EQ(DecodeTerms(field), terms);
}

TEST(AnalyzedFieldTest, EncodingReplacesWhatTheFieldHeld) {
  v1::AnalyzedField field;
  EncodeTerms({"old", "words"}, &field);
  EncodeTerms({}, &field);
  EXPECT_THAT(field.vocabulary(), IsEmpty());
  EXPECT_EQ(FieldLength(field), 0u);
}

TEST(AnalyzedFieldTest, AnIdPastTheVocabularyIsRefusedWithItsPosition) {
  v1::AnalyzedField field;
  EncodeTerms({"one", "two"}, &field);
  field.add_term_ids(2);
  EXPECT_THAT(
      CheckTermIds(field, "ops[3].upsert.title"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("ops[3].upsert.title.term_ids[2]: term id 2 is past "
                         "the vocabulary of 2 terms")));
}

}  // namespace
}  // namespace sift::storage
