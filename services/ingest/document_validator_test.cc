#include "services/ingest/document_validator.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/timestamp_parser.h"

namespace sift::ingest {
namespace {

using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

v1::Document Valid() {
  v1::Document doc;
  doc.set_id("doc-7");
  doc.set_title("Council votes for bike lanes");
  doc.set_body("The council voted 7-2 on Tuesday.");
  doc.set_source("Harbour Gazette");
  doc.add_tags("transport");
  doc.set_url("https://example.org/7");
  doc.set_language("en");
  (*doc.mutable_attributes())["desk"] = "city";
  *doc.mutable_published_at() = *ParseTimestamp("2021-02-22");
  return doc;
}

TEST(DocumentValidatorTest, AcceptsAFullDocumentAndAMinimalOne) {
  EXPECT_THAT(ValidateDocument(Valid(), IngestLimits()), IsOk());
  v1::Document minimal;
  minimal.set_id("x");
  EXPECT_THAT(ValidateDocument(minimal, IngestLimits()), IsOk());
}

TEST(DocumentValidatorTest, RequiresAnId) {
  v1::Document doc = Valid();
  doc.clear_id();
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("id: required")));
}

TEST(DocumentValidatorTest, LimitsTheIdTo512Bytes) {
  EXPECT_THAT(ValidateId(std::string(512, 'a'), IngestLimits()), IsOk());
  EXPECT_THAT(ValidateId(std::string(513, 'a'), IngestLimits()),
              StatusIs(kInvalid, "id: too long (513 bytes, limit 512)"));
}

TEST(DocumentValidatorTest, RefusesIdsThatAreNotPrintableUtf8) {
  EXPECT_THAT(ValidateId("ab\xC0\xAF", IngestLimits()),
              StatusIs(kInvalid, HasSubstr("id: not valid UTF-8 at byte 2")));
  EXPECT_THAT(ValidateId("a\nb", IngestLimits()),
              StatusIs(kInvalid, HasSubstr("id: control character U+000A at "
                                           "byte 1")));
  EXPECT_THAT(ValidateId("a\x7F", IngestLimits()),
              StatusIs(kInvalid, HasSubstr("U+007F")));
  EXPECT_THAT(ValidateId("a\u0085", IngestLimits()),
              StatusIs(kInvalid, HasSubstr("U+0085 at byte 1")));
  EXPECT_THAT(ValidateId("caf\u00e9/\u4e2d\u6587 #1", IngestLimits()), IsOk());
}

TEST(DocumentValidatorTest, LimitsTheTitle) {
  v1::Document doc = Valid();
  doc.set_title(std::string(70000, 't'));
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid,
                       "document \"doc-7\": title: too long (70000 "
                       "bytes, limit 65536)"));
}

TEST(DocumentValidatorTest, LimitsTheWholeDocument) {
  v1::Document doc = Valid();
  IngestLimits limits;
  limits.max_document_bytes = 1000;
  doc.set_body(std::string(2000, 'b'));
  EXPECT_THAT(ValidateDocument(doc, limits),
              StatusIs(kInvalid, HasSubstr("document \"doc-7\": too large (")));
  EXPECT_THAT(ValidateDocument(doc, limits),
              StatusIs(kInvalid, HasSubstr("bytes serialized, limit 1000)")));
  doc.set_body(std::string(8 << 20, 'b'));
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("limit 8388608")));
}

TEST(DocumentValidatorTest, LimitsSourceUrlAndLanguage) {
  v1::Document doc = Valid();
  doc.set_source(std::string(1025, 's'));
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid,
                       "document \"doc-7\": source: too long (1025 "
                       "bytes, limit 1024)"));
  doc = Valid();
  doc.set_url(std::string(8193, 'u'));
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("url: too long (8193 bytes, limit "
                                           "8192)")));
  doc = Valid();
  doc.set_language(std::string(65, 'l'));
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("language: too long (65 bytes")));
}

TEST(DocumentValidatorTest, LimitsTags) {
  v1::Document doc = Valid();
  for (int i = 0; i < 1000; ++i) doc.add_tags(absl::StrCat("t", i));
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid,
                       "document \"doc-7\": tags: too many (1001, "
                       "limit 1000)"));
  doc = Valid();
  doc.add_tags(std::string(1025, 'x'));
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("tags[1]: too long (1025 bytes, "
                                           "limit 1024)")));
  doc = Valid();
  doc.add_tags("");
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("document \"doc-7\": tags[1]: "
                                           "empty")));
  doc = Valid();
  doc.add_tags(" \u00a0 ");
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("tags[1]: empty")));
}

TEST(DocumentValidatorTest, LimitsAttributes) {
  v1::Document doc = Valid();
  for (int i = 0; i < 1000; ++i) {
    (*doc.mutable_attributes())[absl::StrCat("k", i)] = "v";
  }
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid,
                       "document \"doc-7\": attributes: too many "
                       "(1001, limit 1000)"));
}

TEST(DocumentValidatorTest, RequiresUtf8InEveryString) {
  const std::string bad = "ok \xE2\x82";  // truncated sequence at byte 3
  struct Case {
    const char* field;
    void (*set)(v1::Document*, const std::string&);
  };
  for (const Case& c : std::initializer_list<Case>{
           {"title",
            [](v1::Document*d, const std::string&s) { d->set_title(s); }},
           {"body",
            [](v1::Document*d, const std::string&s) { d->set_body(s); }},
           {"source",
            [](v1::Document*d, const std::string&s) { d->set_source(s); }},
           {"tags[0]",
            [](v1::Document*d, const std::string&s) { d->set_tags(0, s); }},
           {"url", [](v1::Document*d, const std::string&s) { d->set_url(s); }},
           {"language",
            [](v1::Document*d, const std::string&s) { d->set_language(s); }},
           {"attributes[\"desk\"]",
            [](v1::Document*d, const std::string&s) {
              (*d->mutable_attributes())["desk"] = s;
            }},
       }) {
    v1::Document doc = Valid();
    c.set(&doc, bad);
    EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
                StatusIs(kInvalid, HasSubstr(absl::StrCat(
                                       "document \"doc-7\": ", c.field,
                                       ": not valid UTF-8 at byte 3"))))
        << c.field;
  }
  v1::Document doc = Valid();
  (*doc.mutable_attributes())[bad] = "v";
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("attributes: a key is not valid "
                                           "UTF-8")));
}

TEST(DocumentValidatorTest, KeepsPublishedAtBetweenYears1000And3000) {
  v1::Document doc = Valid();
  *doc.mutable_published_at() = *ParseTimestamp("1000-01-01");
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()), IsOk());
  *doc.mutable_published_at() = *ParseTimestamp("2999-12-31T23:59:59Z");
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()), IsOk());
  *doc.mutable_published_at() = *ParseTimestamp("0999-12-31");
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid,
                       "document \"doc-7\": published_at: "
                       "0999-12-31T00:00:00Z is before 1000-01-01"));
  *doc.mutable_published_at() = *ParseTimestamp("3000-01-01");
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("published_at: "
                                           "3000-01-01T00:00:00Z is not "
                                           "before 3000-01-01")));
  doc.mutable_published_at()->set_seconds(0);
  doc.mutable_published_at()->set_nanos(1'000'000'000);
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("published_at: nanos 1000000000 "
                                           "out of range")));
  doc.mutable_published_at()->set_nanos(-1);
  EXPECT_THAT(ValidateDocument(doc, IngestLimits()),
              StatusIs(kInvalid, HasSubstr("nanos -1")));
}

TEST(DocumentValidatorTest, LimitsAreConfigurable) {
  IngestLimits limits;
  limits.max_title_bytes = 4;
  v1::Document doc = Valid();
  doc.set_title("five!");
  EXPECT_THAT(ValidateDocument(doc, limits),
              StatusIs(kInvalid, HasSubstr("title: too long (5 bytes, limit "
                                           "4)")));
}

}  // namespace
}  // namespace sift::ingest
