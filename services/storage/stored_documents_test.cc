#include "services/storage/stored_documents.h"

#include <zstd.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/codec/varint.h"
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

// The dictionary a stored value names (0: none), from its first frame.
unsigned DictionaryOf(const std::string& stored) {
  absl::string_view frame = absl::string_view(stored).substr(1);
  if (stored.front() == 1) {  // body apart: the head frame's size first
    uint32_t head_size = 0;
    if (!codec::GetVarint32(&frame, &head_size)) return 0;
  }
  return ZSTD_getDictID_fromFrame(frame.data(), frame.size());
}

v1::Document WithoutBody(v1::Document doc) {
  doc.clear_body();
  return doc;
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

TEST(StoredDocumentsTest, AReaderThatShowsNoBodyDecompressesNone) {
  StoredDocuments stored(16 << 10, 4 << 10);
  std::shared_ptr<const DocumentDictionary> unsaved;
  v1::Document article = Article(7);
  article.set_url("https://example.com/7");
  article.add_tags("markets");
  (*article.mutable_attributes())["desk"] = "business";
  article.mutable_published_at()->set_seconds(536457600);
  for (int round = 0; round < 2; ++round) {
    // Before the dictionary, then with it.
    int i = 100;
    while (round == 1 && stored.Current() == nullptr) {
      stored.Encode(Serialized(Article(i++)), &unsaved);
    }
    std::string value = stored.Encode(Serialized(article), &unsaved);
    EXPECT_EQ(DictionaryOf(value) != 0, round == 1);
    v1::Document doc;
    ASSERT_THAT(stored.Decode(value, &doc), IsOk());
    EXPECT_EQ(Serialized(doc), Serialized(article));
    v1::Document head;
    ASSERT_THAT(stored.Decode(value, &head, StoredParts::kWithoutBody), IsOk());
    EXPECT_EQ(Serialized(head), Serialized(WithoutBody(article)));
    // Damage to the body's frame (at the value's end) is seen only by a
    // reader that needs the body: the others never decompress it.
    value[value.size() - 2] ^= 0x5a;
    value[value.size() - 5] ^= 0x5a;
    EXPECT_THAT(stored.Decode(value, &doc),
                StatusIs(absl::StatusCode::kDataLoss));
    ASSERT_THAT(stored.Decode(value, &head, StoredParts::kWithoutBody), IsOk());
    EXPECT_EQ(Serialized(head), Serialized(WithoutBody(article)));
  }
}

TEST(StoredDocumentsTest, DocumentsStoredWholeReadTheSameEverywhere) {
  // A primary whose copies cannot read the body apart stores documents
  // whole; any reader reads them, with their body even when it needs none.
  StoredDocuments whole(0, 4 << 10, /*body_apart=*/false);
  StoredDocuments apart(0, 4 << 10);
  std::shared_ptr<const DocumentDictionary> unsaved;
  const std::string value = whole.Encode(Serialized(Article(5)), &unsaved);
  ASSERT_EQ(value.front(), '\0');
  for (const StoredDocuments* reader : {&whole, &apart}) {
    for (StoredParts parts : {StoredParts::kWhole, StoredParts::kWithoutBody}) {
      v1::Document doc;
      ASSERT_THAT(reader->Decode(value, &doc, parts), IsOk());
      EXPECT_EQ(Serialized(doc), Serialized(Article(5)));
    }
  }
  // And a reader configured to store whole still reads the body apart.
  const std::string split = apart.Encode(Serialized(Article(6)), &unsaved);
  ASSERT_EQ(split.front(), '\1');
  v1::Document doc;
  ASSERT_THAT(whole.Decode(split, &doc), IsOk());
  EXPECT_EQ(Serialized(doc), Serialized(Article(6)));
}

TEST(StoredDocumentsTest, MovingTheBodyKeepsWhatTheParserWouldRead) {
  StoredDocuments stored(0, 4 << 10);
  std::shared_ptr<const DocumentDictionary> unsaved;
  // Two occurrences of the body, as a merged message may hold: the later
  // wins, before the split and after it.
  v1::Document later;
  later.set_body("the later body");
  const std::string serialized = Serialized(Article(2)) + Serialized(later);
  v1::Document expected;
  ASSERT_TRUE(expected.ParseFromString(serialized));
  ASSERT_EQ(expected.body(), "the later body");
  v1::Document doc;
  ASSERT_THAT(stored.Decode(stored.Encode(serialized, &unsaved), &doc), IsOk());
  EXPECT_EQ(Serialized(doc), Serialized(expected));

  // No body: nothing to keep apart.
  const std::string bodiless =
      stored.Encode(Serialized(WithoutBody(Article(3))), &unsaved);
  EXPECT_EQ(bodiless.front(), '\0');
  ASSERT_THAT(stored.Decode(bodiless, &doc), IsOk());
  EXPECT_EQ(Serialized(doc), Serialized(WithoutBody(Article(3))));

  std::string head, body;
  EXPECT_TRUE(StoredDocuments::SplitBody(serialized, &head, &body));
  EXPECT_FALSE(StoredDocuments::SplitBody(
      serialized.substr(0, serialized.size() - 3), &head, &body));
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
  // A head longer than the value.
  EXPECT_THAT(stored.Decode(std::string("\1\x7f", 2) + "short", &doc,
                            StoredParts::kWithoutBody),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(DocumentDictionary::FromBytes("not a dictionary"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sift::storage
