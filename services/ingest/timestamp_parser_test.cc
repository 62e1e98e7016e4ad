#include "services/ingest/timestamp_parser.h"

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::ingest {
namespace {

using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

std::string Normalised(absl::string_view text) {
  absl::StatusOr<google::protobuf::Timestamp> t = ParseTimestamp(text);
  if (!t.ok()) return std::string(t.status().message());
  return FormatTimestamp(*t);
}

TEST(TimestampParserTest, ReadsDatesAsMidnightUtc) {
  EXPECT_EQ(Normalised("2021-02-22"), "2021-02-22T00:00:00Z");
  EXPECT_EQ(Normalised("1000-01-01"), "1000-01-01T00:00:00Z");
  EXPECT_EQ(Normalised("2024-02-29"), "2024-02-29T00:00:00Z");
}

TEST(TimestampParserTest, ReadsRfc3339WithOffsetsAndFractions) {
  EXPECT_EQ(Normalised("2021-02-22T10:30:00Z"), "2021-02-22T10:30:00Z");
  EXPECT_EQ(Normalised("2021-02-22t10:30:00z"), "2021-02-22T10:30:00Z");
  EXPECT_EQ(Normalised("2021-02-22 10:30:00+02:00"), "2021-02-22T08:30:00Z");
  EXPECT_EQ(Normalised("2021-02-22T00:30:00-01:30"), "2021-02-22T02:00:00Z");
  EXPECT_EQ(Normalised("2021-02-22T10:30:00.5Z"),
            "2021-02-22T10:30:00.500000000Z");
  EXPECT_EQ(Normalised("2021-02-22T10:30:00.123456789Z"),
            "2021-02-22T10:30:00.123456789Z");
  EXPECT_EQ(Normalised("1969-12-31T23:59:59Z"), "1969-12-31T23:59:59Z");
}

TEST(TimestampParserTest, RefusesWhatIsNotADateOrTimestamp) {
  for (const char* bad :
       {"", "2021", "2021-2-22", "22-02-2021", "2021-02-22T10:30Z",
        "2021-02-22T10:30:00", "2021-02-22T10:30:00.Z",
        "2021-02-22T10:30:00.1234567890Z", "2021-02-22T24:00:00Z",
        "2021-02-22T23:59:60Z", "2021-02-22T10:30:00+0100",
        "2021-02-22T10:30:00Zjunk", "2021-02-22 ", "2021-02-22x"}) {
    EXPECT_THAT(ParseTimestamp(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("expected a date (YYYY-MM-DD)")))
        << bad;
  }
  EXPECT_THAT(ParseTimestamp("2021-13-01"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("month 13 does not exist")));
  EXPECT_THAT(ParseTimestamp("2021-02-29"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("day 29 does not exist in 2021-02")));
  EXPECT_THAT(ParseTimestamp("2021-04-00"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("day 0 does not exist")));
}

TEST(TimestampParserTest, FormatsWithFourDigitYears) {
  google::protobuf::Timestamp t;
  t.set_seconds(-30610224000 - 86400);  // 0999-12-31
  EXPECT_EQ(FormatTimestamp(t), "0999-12-31T00:00:00Z");
}

}  // namespace
}  // namespace sift::ingest
