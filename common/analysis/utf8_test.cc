#include "common/analysis/utf8.h"

#include <unicode/utf8.h>

#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::analysis {
namespace {

using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

// ICU's strict U8_NEXT as the reference: it rejects what RFC 3629 rejects.
bool IcuAcceptsUtf8(const std::string& s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const auto n = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
  }
  return true;
}

size_t OffsetOf(absl::string_view bytes) {
  std::optional<Utf8Error> error = FindInvalidUtf8(bytes);
  return error.has_value() ? error->offset : std::string::npos;
}

TEST(Utf8Test, AcceptsEmptyAsciiAndEveryEncodingLength) {
  EXPECT_EQ(FindInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("plain ASCII, long enough for eight-byte steps"),
            std::nullopt);
  // U+00E9, U+20AC, U+1F600 and the edges U+D7FF, U+E000, U+10FFFF.
  EXPECT_EQ(FindInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF"),
            std::nullopt);
}

TEST(Utf8Test, ReportsTruncatedSequenceAtEndAndInMiddle) {
  std::optional<Utf8Error> end = FindInvalidUtf8("abc\xE6\x88");
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->offset, 3u);
  EXPECT_STREQ(end->reason, "truncated sequence");
  EXPECT_EQ(OffsetOf("a\xE6\x88z"), 1u);
  EXPECT_EQ(OffsetOf("a\xF0\x9F\x98"), 1u);
  EXPECT_EQ(OffsetOf("\xC3"), 0u);
}

TEST(Utf8Test, RejectsOverlongEncodings) {
  for (absl::string_view overlong :
       {"\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xE0\x9F\xBF",
        "\xF0\x80\x80\xAF", "\xF0\x8F\xBF\xBF"}) {
    std::optional<Utf8Error> error = FindInvalidUtf8(overlong);
    ASSERT_TRUE(error.has_value()) << absl::CEscape(overlong);
    EXPECT_EQ(error->offset, 0u);
    EXPECT_STREQ(error->reason, "overlong encoding");
  }
}

TEST(Utf8Test, RejectsSurrogatesAndCodePointsAboveMax) {
  std::optional<Utf8Error> surrogate = FindInvalidUtf8("ok \xED\xA0\x80");
  ASSERT_TRUE(surrogate.has_value());
  EXPECT_EQ(surrogate->offset, 3u);
  EXPECT_STREQ(surrogate->reason, "UTF-16 surrogate");
  EXPECT_EQ(OffsetOf("\xED\xBF\xBF"), 0u);
  EXPECT_EQ(OffsetOf("\xF4\x90\x80\x80"), 0u);
  EXPECT_EQ(OffsetOf("\xF5\x80\x80\x80"), 0u);
  EXPECT_EQ(OffsetOf("\xFF"), 0u);
}

TEST(Utf8Test, RejectsLoneContinuationByte) {
  std::optional<Utf8Error> error = FindInvalidUtf8("ab\x80yz");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->offset, 2u);
  EXPECT_STREQ(error->reason, "unexpected continuation byte");
}

TEST(Utf8Test, FindsBadByteAfterLongAsciiRun) {
  // Exercises the eight-bytes-at-a-time path at every alignment.
  for (size_t prefix = 0; prefix < 40; ++prefix) {
    std::string s(prefix, 'a');
    s += '\xFE';
    s += "tail of text";
    EXPECT_EQ(OffsetOf(s), prefix);
  }
}

TEST(Utf8Test, ValidateNamesTheOffsetAndReason) {
  EXPECT_THAT(ValidateUtf8("valid \xE2\x80\x99"), IsOk());
  EXPECT_THAT(ValidateUtf8("hello \xC0\xAF"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("byte offset 6: overlong encoding")));
}

TEST(Utf8Test, AgreesWithIcuOnAllShortStrings) {
  // Every 1- and 2-byte string, then every 3-byte string starting with a
  // non-ASCII byte: this covers every lead byte with every second byte.
  std::string s;
  for (int a = 0; a < 256; ++a) {
    s.assign(1, static_cast<char>(a));
    ASSERT_EQ(FindInvalidUtf8(s) == std::nullopt, IcuAcceptsUtf8(s)) << a;
    for (int b = 0; b < 256; ++b) {
      s.assign({static_cast<char>(a), static_cast<char>(b)});
      ASSERT_EQ(FindInvalidUtf8(s) == std::nullopt, IcuAcceptsUtf8(s))
          << a << " " << b;
    }
  }
  for (int a = 0x80; a < 256; ++a) {
    for (int b = 0x80; b < 0xC0; ++b) {
      for (int c = 0; c < 256; ++c) {
        s.assign(
            {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        ASSERT_EQ(FindInvalidUtf8(s) == std::nullopt, IcuAcceptsUtf8(s))
            << a << " " << b << " " << c;
      }
    }
  }
}

TEST(Utf8Test, AgreesWithIcuOnRandomStrings) {
  std::mt19937 rng(42);
  // Bytes biased towards the interesting ranges, so valid multi-byte
  // sequences occur often enough.
  const uint8_t kAlphabet[] = {'a',  ' ',  0x7F, 0x80, 0x8F, 0x90, 0x9F,
                               0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED,
                               0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 1);
  std::uniform_int_distribution<size_t> length(0, 12);
  for (int i = 0; i < 200000; ++i) {
    std::string s(length(rng), '\0');
    for (char& c : s) c = static_cast<char>(kAlphabet[pick(rng)]);
    ASSERT_EQ(FindInvalidUtf8(s) == std::nullopt, IcuAcceptsUtf8(s))
        << absl::CEscape(s);
  }
}

}  // namespace
}  // namespace sift::analysis
