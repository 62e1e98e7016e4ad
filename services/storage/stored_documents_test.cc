#include "services/storage/stored_documents.h"

#include <zstd.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::storage {
namespace {

using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

// A news-like document: words of a small vocabulary, as a corpus repeats
// its words.
v1::Document Article(int i) {
  static const std::vector<std::string> words = {
      "market",   "shares", "rose",   "percent", "government", "election",
      "minister", "said",   "report", "company", "growth",     "quarter",
      "league",   "season", "storm",  "coast",   "prices",     "energy"};
  std::mt19937 rng(i);
  v1::Document doc;
  doc.set_id(absl::StrCat("doc-", i));
  doc.set_source(i % 2 == 0 ? "wire" : "daily");
  for (int w = 0; w < 6; ++w) {
    absl::StrAppend(doc.mutable_title(), words[rng() % words.size()], " ");
  }
  for (int w = 0; w < 150; ++w) {
    absl::StrAppend(doc.mutable_body(), words[rng() % words.size()],
                    w % 12 == 11 ? ". " : " ");
  }
  doc.add_tags("news");
  return doc;
}

std::string Serialized(const v1::Document& doc) {
  return doc.SerializeAsString();
}

// Whether a stored value names a dictionary.
unsigned DictionaryOf(const std::string& stored) {
  return ZSTD_getDictID_fromFrame(stored.data() + 1, stored.size() - 1);
}

TEST(StoredDocumentsTest, DocumentsRoundTripBeforeAndAfterTheDictionary) {
  StoredDocuments stored(/*sample_bytes=*/64 << 10,
                         /*dictionary_bytes=*/8 << 10);
  EXPECT_EQ(stored.Current(), nullptr);
  std::vector<std::string> values;
  for (int i = 0; i < 200; ++i) {
    std::shared_ptr<const DocumentDictionary> unsaved;
    values.push_back(stored.Encode(Serialized(Article(i)), &unsaved));
  }
  ASSERT_NE(stored.Current(), nullptr);
  EXPECT_EQ(DictionaryOf(values.front()), 0u);
  EXPECT_EQ(DictionaryOf(values.back()), stored.Current()->id());
  for (int i = 0; i < 200; ++i) {
    v1::Document doc;
    ASSERT_THAT(stored.Decode(values[i], &doc), IsOk());
    EXPECT_EQ(Serialized(doc), Serialized(Article(i))) << i;
  }
  // The dictionary pays: a document takes less with it than without.
  std::shared_ptr<const DocumentDictionary> unsaved;
  const std::string again = stored.Encode(Serialized(Article(0)), &unsaved);
  EXPECT_LT(again.size() * 10, values.front().size() * 9);
}

TEST(StoredDocumentsTest, AWriteCarriesTheDictionaryUntilOneIsCommitted) {
  StoredDocuments stored(16 << 10, 4 << 10);
  std::shared_ptr<const DocumentDictionary> unsaved;
  int i = 0;
  while (stored.Current() == nullptr) {
    stored.Encode(Serialized(Article(i++)), &unsaved);
  }
  stored.Encode(Serialized(Article(i++)), &unsaved);
  ASSERT_NE(unsaved, nullptr);
  EXPECT_EQ(unsaved->id(), stored.Current()->id());
  stored.MarkSaved(unsaved->id());
  stored.Encode(Serialized(Article(i++)), &unsaved);
  EXPECT_EQ(unsaved, nullptr);
}

TEST(StoredDocumentsTest, ACopyDecodesWithThePrimarysDictionary) {
  StoredDocuments primary(16 << 10, 4 << 10);
  std::shared_ptr<const DocumentDictionary> unsaved;
  int i = 0;
  while (primary.Current() == nullptr) {
    primary.Encode(Serialized(Article(i++)), &unsaved);
  }
  const std::string value = primary.Encode(Serialized(Article(i)), &unsaved);
  ASSERT_NE(unsaved, nullptr);

  StoredDocuments copy(/*sample_bytes=*/0, 4 << 10);
  v1::Document doc;
  EXPECT_THAT(copy.Decode(value, &doc),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("which this shard does not have")));
  // As the write that carries it arrives.
  auto received = DocumentDictionary::FromBytes(unsaved->bytes());
  ASSERT_THAT(received, IsOk());
  EXPECT_EQ((*received)->id(), unsaved->id());
  copy.Add(*received, /*saved=*/false);
  ASSERT_THAT(copy.Decode(value, &doc), IsOk());
  EXPECT_EQ(Serialized(doc), Serialized(Article(i)));
  // The copy compresses with it too, should it become the primary.
  const std::string own = copy.Encode(Serialized(Article(i + 1)), &unsaved);
  EXPECT_EQ(DictionaryOf(own), (*received)->id());
  EXPECT_NE(unsaved, nullptr);
}

TEST(StoredDocumentsTest, ValuesOfEarlierVersionsStillRead) {
  StoredDocuments stored(0, 4 << 10);
  v1::Document doc;
  ASSERT_THAT(stored.Decode(Serialized(Article(3)), &doc), IsOk());
  EXPECT_EQ(Serialized(doc), Serialized(Article(3)));
}

TEST(StoredDocumentsTest, DamageIsDataLoss) {
  StoredDocuments stored(0, 4 << 10);
  std::shared_ptr<const DocumentDictionary> unsaved;
  std::string value = stored.Encode(Serialized(Article(1)), &unsaved);
  value.resize(value.size() / 2);
  v1::Document doc;
  EXPECT_THAT(stored.Decode(value, &doc),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(stored.Decode(std::string(1, '\0') + "garbage", &doc),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(DocumentDictionary::FromBytes("not a dictionary"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sift::storage
