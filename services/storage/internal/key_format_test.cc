#include "services/storage/internal/key_format.h"

#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace sift::storage::internal {
namespace {

TEST(VarintTest, RoundTripsBoundaryValues) {
  const uint64_t values[] = {
      0,          1,           127,
      128,        16383,       16384,
      0xffffffff, 0x100000000, std::numeric_limits<uint64_t>::max()};
  for (uint64_t v : values) {
    std::string encoded;
    PutVarint64(&encoded, v);
    absl::string_view input(encoded);
    uint64_t decoded = 0;
    ASSERT_TRUE(GetVarint64(&input, &decoded)) << v;
    EXPECT_EQ(decoded, v);
    EXPECT_TRUE(input.empty());
  }
}

TEST(VarintTest, RejectsTruncatedInputAndOversizedVarint32) {
  std::string encoded;
  PutVarint64(&encoded, 300);
  absl::string_view truncated(encoded.data(), 1);
  uint64_t v = 0;
  EXPECT_FALSE(GetVarint64(&truncated, &v));

  std::string big;
  PutVarint64(&big, uint64_t{1} << 32);
  absl::string_view input(big);
  uint32_t v32 = 0;
  EXPECT_FALSE(GetVarint32(&input, &v32));
}

TEST(KeyFormatTest, PostingKeysSortByTermThenDocnum) {
  // Big-endian docnums make byte order equal numeric order, and the NUL
  // after the term keeps "ab" postings before every "abc" posting.
  EXPECT_LT(PostingKey(FieldTag::kText, "ab", 2),
            PostingKey(FieldTag::kText, "ab", 256));
  EXPECT_LT(PostingKey(FieldTag::kText, "ab", 0xfffffffe),
            PostingKey(FieldTag::kText, "abc", 1));
  EXPECT_LT(PostingKey(FieldTag::kText, "zzz", 9),
            PostingKey(FieldTag::kTitle, "a", 1));
  const std::string key = PostingKey(FieldTag::kSource, "reuters", 258);
  EXPECT_EQ(key, std::string("\x04reuters\0\x00\x00\x01\x02", 13));
  EXPECT_EQ(DocnumOfPostingKey(key), 258u);
  EXPECT_EQ(key.substr(0, 9), TermPrefix(FieldTag::kSource, "reuters"));
}

TEST(KeyFormatTest, FieldsAndMetaKeysHaveDocumentedBytes) {
  EXPECT_EQ(DocKey(1), std::string("\0\0\0\x01", 4));
  EXPECT_EQ(DocValuesKey(0x01020304), std::string("d\x01\x02\x03\x04"));
  EXPECT_EQ(DocTermsKey(5), std::string("t\0\0\0\x05", 5));
  EXPECT_EQ(DocFreqKey(FieldTag::kTag, "eu"), std::string("\x05"
                                                          "eu"));
}

TEST(KeyFormatTest, PositionsRoundTripGeneratedLists) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<uint32_t> positions;
    uint32_t p = rng() % 5;
    const int n = static_cast<int>(rng() % 50);
    for (int i = 0; i < n; ++i) {
      positions.push_back(p);
      p += 1 + rng() % (round % 2 == 0 ? 3 : 100000);
    }
    std::vector<uint32_t> decoded;
    ASSERT_TRUE(DecodePositions(EncodePositions(positions), &decoded));
    EXPECT_EQ(decoded, positions);
  }
}

TEST(KeyFormatTest, TextPostingRoundTripsAndRejectsTrailingBytes) {
  TextPosting p{3, 0, 12, 700};
  TextPosting decoded;
  std::string value = EncodeTextPosting(p);
  ASSERT_TRUE(DecodeTextPosting(value, &decoded));
  EXPECT_EQ(decoded.tf_title, 3u);
  EXPECT_EQ(decoded.tf_body, 0u);
  EXPECT_EQ(decoded.title_length, 12u);
  EXPECT_EQ(decoded.body_length, 700u);
  EXPECT_FALSE(DecodeTextPosting(value + "x", &decoded));
}

TEST(KeyFormatTest, DocValuesRoundTripWithAndWithoutDate) {
  DocValues v;
  v.id = "doc/1";
  v.published_at.emplace(-86400, 5);
  v.title_length = 4;
  v.body_length = 99;
  v.source = "reuters";
  v.tags = {"eu", "trade"};
  DocValues decoded;
  ASSERT_TRUE(DecodeDocValues(EncodeDocValues(v), &decoded));
  EXPECT_EQ(decoded.id, v.id);
  EXPECT_EQ(decoded.published_at, v.published_at);
  EXPECT_EQ(decoded.title_length, 4u);
  EXPECT_EQ(decoded.body_length, 99u);
  EXPECT_EQ(decoded.source, "reuters");
  EXPECT_EQ(decoded.tags, v.tags);

  v.published_at.reset();
  v.tags.clear();
  ASSERT_TRUE(DecodeDocValues(EncodeDocValues(v), &decoded));
  EXPECT_FALSE(decoded.published_at.has_value());
  EXPECT_TRUE(decoded.tags.empty());
}

TEST(KeyFormatTest, DocTermsAndCountersRoundTrip) {
  DocTerms terms{{"a", "b"}, {"b", "c", "d"}};
  DocTerms decoded;
  ASSERT_TRUE(DecodeDocTerms(EncodeDocTerms(terms), &decoded));
  EXPECT_EQ(decoded.title, terms.title);
  EXPECT_EQ(decoded.body, terms.body);

  Counters c{42, 40, 123456789012, 7};
  Counters dc;
  ASSERT_TRUE(DecodeCounters(EncodeCounters(c), &dc));
  EXPECT_EQ(dc.next_docnum, 42u);
  EXPECT_EQ(dc.doc_count, 40u);
  EXPECT_EQ(dc.total_title_terms, 123456789012u);
  EXPECT_EQ(dc.total_body_terms, 7u);
}

}  // namespace
}  // namespace sift::storage::internal
