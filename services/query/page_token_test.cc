#include "services/query/page_token.h"

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/routing/shard_router.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::query {
namespace {

using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kWebSafeBase64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

PageCursor RelevanceCursor(double score, const std::string& id) {
  PageCursor cursor;
  cursor.fingerprint = 0x0123456789abcdefull;
  cursor.after.set_score(score);
  cursor.after.set_id(id);
  cursor.stats = FrozenStats{.doc_count = 21578,
                             .total_title_terms = 150000,
                             .total_body_terms = 2500000,
                             .doc_freqs = {3000, 12}};
  return cursor;
}

// Cursors of every kind of sort key over generated values, with and
// without statistics.
std::vector<PageCursor> GeneratedCursors() {
  std::mt19937_64 rng(42);
  std::vector<PageCursor> cursors;
  const std::vector<double> scores = {0.0,
                                      -0.0,
                                      1.0,
                                      12.345678901234567,
                                      std::nextafter(1.0, 2.0),
                                      std::numeric_limits<double>::denorm_min(),
                                      std::numeric_limits<double>::max(),
                                      -3.5};
  const std::vector<int64_t> seconds = {0,
                                        1,
                                        -1,
                                        536457600,
                                        -62135596800,
                                        253402300799,
                                        std::numeric_limits<int64_t>::min(),
                                        std::numeric_limits<int64_t>::max()};
  for (int i = 0; i < 200; ++i) {
    PageCursor cursor;
    cursor.fingerprint = rng();
    std::string id(1 + rng() % 40, 'x');
    for (char& c : id) c = static_cast<char>(rng() % 256);
    if (i % 17 == 0) id = std::string(512, 'z');
    cursor.after.set_id(id);
    switch (i % 3) {
      case 0:
        cursor.after.set_score(i < static_cast<int>(scores.size())
                                   ? scores[i]
                                   : std::bit_cast<double>(rng() >> 2));
        break;
      case 1:
        cursor.after.mutable_published_at()->set_seconds(
            seconds[(i / 3) % seconds.size()]);
        cursor.after.mutable_published_at()->set_nanos(
            static_cast<int32_t>(rng() % 1000000000));
        break;
      default:
        cursor.after.set_undated(true);
    }
    if (i % 4 != 0) {
      FrozenStats& stats = cursor.stats.emplace();
      stats.doc_count = rng() >> (rng() % 64);
      stats.total_title_terms = rng() >> (rng() % 64);
      stats.total_body_terms = rng();
      for (uint64_t t = rng() % 12; t > 0; --t) {
        stats.doc_freqs.push_back(rng() >> (rng() % 64));
      }
    }
    cursors.push_back(std::move(cursor));
  }
  return cursors;
}

TEST(PageTokenTest, RoundTripsGeneratedCursors) {
  for (const PageCursor& cursor : GeneratedCursors()) {
    const std::string token = EncodePageToken(cursor);
    EXPECT_EQ(token.find_first_not_of(kWebSafeBase64), std::string::npos)
        << token;
    absl::StatusOr<PageCursor> decoded = DecodePageToken(token);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_TRUE(SameCursor(*decoded, cursor)) << token;
  }
}

TEST(PageTokenTest, KeepsTheExactBitsOfTheScore) {
  const double score = 7.1234567890123456;
  const double next = std::nextafter(score, 100.0);
  absl::StatusOr<PageCursor> a =
      DecodePageToken(EncodePageToken(RelevanceCursor(score, "a")));
  absl::StatusOr<PageCursor> b =
      DecodePageToken(EncodePageToken(RelevanceCursor(next, "a")));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->after.score(), score);
  EXPECT_EQ(b->after.score(), next);
  EXPECT_NE(a->after.score(), b->after.score());
}

TEST(PageTokenTest, CursorsThatDifferAreNotTheSame) {
  const PageCursor base = RelevanceCursor(1.5, "doc1");
  PageCursor other = base;
  other.after.set_id("doc2");
  EXPECT_FALSE(SameCursor(base, other));
  other = base;
  ASSERT_TRUE(other.stats.has_value());
  other.stats->total_body_terms += 1;
  EXPECT_FALSE(SameCursor(base, other));
  other = base;
  other.stats.reset();
  EXPECT_FALSE(SameCursor(base, other));
  EXPECT_NE(EncodePageToken(base), EncodePageToken(other));
}

// The sizes docs/paging.md quotes, from the layout in page_token.h.
TEST(PageTokenTest, ATypicalTokenIsSmall) {
  // Version 1, fingerprint 8, kind 1, score 8, id 1 + 5, stats flag 1,
  // counts 3 + 3 + 4, term count 1, frequencies 2 + 1, checksum 4: 43
  // bytes, 14 groups of three and one byte left, so 14 * 4 + 2 characters.
  const std::string relevance =
      EncodePageToken(RelevanceCursor(9.87654321, "12345"));
  EXPECT_EQ(relevance.size(), 58u) << relevance;
  // Version 1, fingerprint 8, kind 1, seconds 5 (zigzag of 541209600 is
  // over 2^28), nanos 1, id 1 + 5, stats flag 1, checksum 4: 27 bytes.
  PageCursor by_date;
  by_date.fingerprint = 1;
  by_date.after.mutable_published_at()->set_seconds(541209600);
  by_date.after.set_id("12345");
  EXPECT_EQ(EncodePageToken(by_date).size(), 36u);
}

TEST(PageTokenTest, RejectsWhatDoesNotDecode) {
  for (const char* token : {"not-a-token", "!!!!", "", "AAAA", "AAAAAAAA",
                            "a=", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    EXPECT_THAT(
        DecodePageToken(token),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token: ")))
        << token;
  }
}

TEST(PageTokenTest, DetectsEveryChangedCharacter) {
  for (const PageCursor& cursor :
       {RelevanceCursor(3.25, "doc-17"), GeneratedCursors()[1]}) {
    const std::string token = EncodePageToken(cursor);
    for (size_t i = 0; i < token.size(); ++i) {
      for (char replacement : {'A', 'B', '_'}) {
        if (token[i] == replacement) continue;
        std::string tampered = token;
        tampered[i] = replacement;
        EXPECT_THAT(DecodePageToken(tampered),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("page_token: ")))
            << "position " << i << ": " << tampered;
      }
    }
  }
}

TEST(PageTokenTest, DetectsTruncationAndExtension) {
  const std::string token = EncodePageToken(RelevanceCursor(3.25, "doc-17"));
  for (size_t n = 0; n < token.size(); ++n) {
    EXPECT_THAT(
        DecodePageToken(token.substr(0, n)),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token: ")))
        << n;
  }
  EXPECT_THAT(DecodePageToken(token + "A"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodePageToken(token + "AAAA"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// A well-formed token of another layout (the offset tokens of version 1)
// is refused as such, not misread.
TEST(PageTokenTest, RefusesAnotherVersion) {
  std::string raw = "\x01";
  raw.append(16, '\0');
  uint32_t checksum = static_cast<uint32_t>(StableHash64(raw));
  for (int i = 0; i < 4; ++i)
    raw.push_back(static_cast<char>(checksum >> (8 * i)));
  EXPECT_THAT(DecodePageToken(absl::WebSafeBase64Escape(raw)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("incompatible version")));
}

TEST(PageTokenTest, FingerprintCoversWhatMustNotChangeBetweenPages) {
  v1::SearchRequest base;
  base.set_query("cocoa");
  base.mutable_filters()->add_sources("reuters");
  const uint64_t fp = SearchFingerprint(base, 10);

  v1::SearchRequest other = base;
  other.set_query("coffee");
  EXPECT_NE(SearchFingerprint(other, 10), fp);
  EXPECT_NE(SearchFingerprint(base, 20), fp);
  other = base;
  other.mutable_filters()->add_tags("x");
  EXPECT_NE(SearchFingerprint(other, 10), fp);
  other = base;
  other.mutable_filters()->mutable_published_from()->set_seconds(1);
  EXPECT_NE(SearchFingerprint(other, 10), fp);
  other = base;
  other.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  EXPECT_NE(SearchFingerprint(other, 10), fp);
  other = base;
  other.set_default_operator(v1::DEFAULT_OPERATOR_AND);
  EXPECT_NE(SearchFingerprint(other, 10), fp);
  // Sources ["a b"] and ["a", "b"] are different filters.
  v1::SearchRequest one, two;
  one.mutable_filters()->add_sources("ab");
  two.mutable_filters()->add_sources("a");
  two.mutable_filters()->add_sources("b");
  EXPECT_NE(SearchFingerprint(one, 10), SearchFingerprint(two, 10));
}

TEST(PageTokenTest, FingerprintIgnoresWhatMayChange) {
  v1::SearchRequest base;
  base.set_query("cocoa");
  v1::SearchRequest next = base;
  // The offset, the token itself and highlighting may differ; unspecified
  // sort and operator equal their defaults.
  next.set_offset(30);
  next.set_page_token("whatever");
  next.set_highlight(false);
  next.set_sort(v1::SORT_ORDER_RELEVANCE);
  next.set_default_operator(v1::DEFAULT_OPERATOR_OR);
  EXPECT_EQ(SearchFingerprint(next, 10), SearchFingerprint(base, 10));
}

}  // namespace
}  // namespace sift::query
