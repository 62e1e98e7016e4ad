#include "services/query/page_token.h"

#include <string>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::query {
namespace {

using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

TEST(PageTokenTest, RoundTrips) {
  for (uint64_t offset : {0ull, 1ull, 127ull, 128ull, 9990ull, ~0ull}) {
    const PageCursor cursor{.offset = offset,
                            .fingerprint = 0x0123456789abcdefull ^ offset};
    const std::string token = EncodePageToken(cursor);
    EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "abcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
        << token;
    absl::StatusOr<PageCursor> decoded = DecodePageToken(token);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, cursor);
  }
}

TEST(PageTokenTest, RejectsWhatDoesNotDecode) {
  for (const char* token : {"not-a-token", "!!!!", "", "AAAA"}) {
    EXPECT_THAT(
        DecodePageToken(token),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token: ")))
        << token;
  }
}

TEST(PageTokenTest, DetectsEveryChangedCharacter) {
  const std::string token =
      EncodePageToken({.offset = 20, .fingerprint = 0xfeedface});
  for (size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    absl::StatusOr<PageCursor> decoded = DecodePageToken(tampered);
    EXPECT_THAT(decoded, StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("page_token: ")))
        << "position " << i << ": " << tampered;
  }
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
