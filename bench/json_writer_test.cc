#include "bench/json_writer.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace sift::bench {
namespace {

TEST(JsonQuoteTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonQuote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonQuote("line\nnext\ttab\r"), R"("line\nnext\ttab\r")");
  EXPECT_EQ(JsonQuote(std::string("\x01\x1f", 2)), R"("\u0001\u001f")");
  EXPECT_EQ(JsonQuote(std::string("nul\0", 4)), R"("nul\u0000")");
}

TEST(JsonQuoteTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(JsonQuote("caf\xC3\xA9 \xE2\x80\x94"),
            "\"caf\xC3\xA9 \xE2\x80\x94\"");
  // A lone continuation byte and a truncated sequence.
  EXPECT_EQ(JsonQuote("a\x80z\xC3"), "\"a\xEF\xBF\xBDz\xEF\xBF\xBD\"");
}

TEST(JsonWriterTest, WritesNestedValuesInOrderWithTwoSpaceIndent) {
  JsonWriter json;
  json.BeginObject();
  json.Key("mode").String("in_process");
  json.Key("index").BeginObject();
  json.Key("docs").Uint(5000);
  json.Key("seconds").Double(1.25);
  json.EndObject();
  json.Key("empty").BeginArray().EndArray();
  json.Key("list").BeginArray().Int(-1).Bool(true).Null().EndArray();
  json.EndObject();
  EXPECT_EQ(json.str(),
            "{\n"
            "  \"mode\": \"in_process\",\n"
            "  \"index\": {\n"
            "    \"docs\": 5000,\n"
            "    \"seconds\": 1.25\n"
            "  },\n"
            "  \"empty\": [],\n"
            "  \"list\": [\n"
            "    -1,\n"
            "    true,\n"
            "    null\n"
            "  ]\n"
            "}\n");
}

TEST(JsonWriterTest, DoublesDropTrailingZerosAndNonFiniteBecomesNull) {
  JsonWriter json;
  json.BeginArray();
  json.Double(12.5, 3);
  json.Double(3.0, 3);
  json.Double(0.123456, 2);
  json.Double(-0.0001, 2);
  json.Double(std::nan(""));
  json.Double(std::numeric_limits<double>::infinity());
  json.EndArray();
  EXPECT_EQ(json.str(),
            "[\n  12.5,\n  3,\n  0.12,\n  0,\n  null,\n  null\n]\n");
}

}  // namespace
}  // namespace sift::bench
