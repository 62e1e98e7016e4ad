// Facets end to end: Reuters-21578 through the real ingest, storage and
// query binaries on three shards, every count checked against counts this
// test makes itself from the corpus file.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/json_document.h"
#include "tests/integration/cluster.h"

namespace sift::testing {
namespace {

using ::testing::ElementsAreArray;

constexpr char kReutersDocs[] = "corpora/reuters21578/docs.jsonl";
constexpr int kShards = 3;

// What the test needs of one story, keywords lower-cased: that is all the
// normalisation this corpus needs (its values are ASCII, without runs of
// spaces; checked below).
struct Story {
  std::string id;
  std::string source;
  std::set<std::string> tags;
  std::string date;  // YYYY-MM-DD, or empty
};

// (value, count) by count descending, then value: the order facets use.
using Counts = std::vector<std::pair<std::string, uint64_t>>;

Counts Ranked(const std::map<std::string, uint64_t>& counts) {
  Counts out(counts.begin(), counts.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return out;
}

Counts Buckets(const v1::FacetResult& facet) {
  Counts out;
  for (const v1::FacetBucket& b : facet.buckets()) {
    out.emplace_back(b.value(), b.count());
  }
  return out;
}

// The counts this test expects over `stories`.
struct Expected {
  std::map<std::string, uint64_t> sources, tags, months, days;
  uint64_t no_source = 0, no_tags = 0, undated = 0;
};

Expected Count(const std::vector<const Story*>& stories) {
  Expected e;
  for (const Story* s : stories) {
    if (s->source.empty())
      ++e.no_source;
    else
      ++e.sources[s->source];
    if (s->tags.empty()) ++e.no_tags;
    for (const std::string& tag : s->tags) ++e.tags[tag];
    if (s->date.empty()) {
      ++e.undated;
    } else {
      ++e.months[s->date.substr(0, 7)];
      ++e.days[s->date];
    }
  }
  return e;
}

v1::FacetRequest Facet(
    v1::FacetField field, uint32_t size = 0,
    v1::DateInterval interval = v1::DATE_INTERVAL_UNSPECIFIED) {
  v1::FacetRequest facet;
  facet.set_field(field);
  facet.set_size(size);
  facet.set_interval(interval);
  return facet;
}

// Source (all), tags (all), months, days.
void AddEveryFacet(v1::SearchRequest* request) {
  *request->add_facets() = Facet(v1::FACET_FIELD_SOURCE, 1000);
  *request->add_facets() = Facet(v1::FACET_FIELD_TAGS, 1000);
  *request->add_facets() =
      Facet(v1::FACET_FIELD_PUBLISHED_AT, 0, v1::DATE_INTERVAL_MONTH);
  *request->add_facets() =
      Facet(v1::FACET_FIELD_PUBLISHED_AT, 0, v1::DATE_INTERVAL_DAY);
}

// Checks the four facets of AddEveryFacet against `e`.
void ExpectEveryFacet(const v1::SearchResponse& r, const Expected& e) {
  ASSERT_EQ(r.facets_size(), 4);
  for (const v1::FacetResult& facet : r.facets()) {
    EXPECT_FALSE(facet.incomplete());
    EXPECT_EQ(facet.other_count(), 0u);
  }
  EXPECT_THAT(Buckets(r.facets(0)), ElementsAreArray(Ranked(e.sources)));
  EXPECT_EQ(r.facets(0).missing_count(), e.no_source);
  EXPECT_THAT(Buckets(r.facets(1)), ElementsAreArray(Ranked(e.tags)));
  EXPECT_EQ(r.facets(1).missing_count(), e.no_tags);
  const Counts months(e.months.begin(), e.months.end());  // in time order
  EXPECT_THAT(Buckets(r.facets(2)), ElementsAreArray(months));
  EXPECT_EQ(r.facets(2).missing_count(), e.undated);
  const Counts days(e.days.begin(), e.days.end());
  EXPECT_THAT(Buckets(r.facets(3)), ElementsAreArray(days));
  EXPECT_EQ(r.facets(3).missing_count(), e.undated);
  // Every match is in one month bucket or missing.
  for (int f : {2, 3}) {
    uint64_t sum = r.facets(f).missing_count();
    for (const v1::FacetBucket& b : r.facets(f).buckets()) {
      sum += b.count();
      EXPECT_EQ(b.start().seconds() % 86400, 0) << b.value();
      EXPECT_EQ(absl::FormatTime("%Y-%m-%d",
                                 absl::FromUnixSeconds(b.start().seconds()),
                                 absl::UTCTimeZone())
                    .substr(0, b.value().size()),
                b.value());
    }
    EXPECT_EQ(sum, r.total_hits());
  }
}

grpc::Status Search(Cluster& cluster, const v1::SearchRequest& request,
                    v1::SearchResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(60)));
  return cluster.query().Search(&context, request, response);
}

TEST(ReutersFacetsTest, CountsOverEveryMatchEqualTheCorpus) {
  auto lines = ReadSharedLines(kReutersDocs);
  if (!lines.ok()) GTEST_SKIP() << lines.status().message();
  ASSERT_EQ(lines->size(), 21578u);

  std::vector<Story> stories;
  std::map<std::string, const Story*> by_id;
  stories.reserve(lines->size());
  for (const std::string& line : *lines) {
    // Ingest's parser, so that the test reads the corpus as Sift does (and
    // without protobuf's Struct, whose map code crashes in a
    // ThreadSanitizer build against Debian's uninstrumented libprotobuf).
    v1::Document doc;
    ASSERT_TRUE(ingest::ParseJsonDocument(line, &doc).ok())
        << line.substr(0, 200);
    Story& s = stories.emplace_back();
    s.id = doc.id();
    s.source = absl::AsciiStrToLower(doc.source());
    for (const std::string& tag : doc.tags()) {
      s.tags.insert(absl::AsciiStrToLower(tag));
    }
    if (doc.has_published_at()) {
      s.date = absl::FormatTime(
          "%Y-%m-%d", absl::FromUnixSeconds(doc.published_at().seconds()),
          absl::UTCTimeZone());
    }
    // Lower-casing is the whole normalisation only for plain ASCII values
    // without surrounding or repeated spaces.
    std::vector<std::string> keywords(s.tags.begin(), s.tags.end());
    keywords.push_back(s.source);
    for (const std::string& k : keywords) {
      for (char c : k) ASSERT_TRUE(absl::ascii_isgraph(c)) << k;
    }
  }
  for (const Story& s : stories) by_id[s.id] = &s;

  TempDir dir;
  auto cluster = Cluster::Start(kShards, dir.path());
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const absl::Time ingest_start = absl::Now();
  std::vector<v1::DocumentInput> inputs(lines->size());
  for (size_t i = 0; i < lines->size(); ++i) inputs[i].set_json((*lines)[i]);
  const absl::StatusOr<int> indexed = IndexAll(**cluster, inputs);
  ASSERT_TRUE(indexed.ok()) << indexed.status() << (*cluster)->Logs();
  const auto accepted = static_cast<size_t>(*indexed);
  ASSERT_EQ(accepted, stories.size()) << (*cluster)->Logs();
  std::cerr << "ingested " << accepted << " stories in "
            << absl::FormatDuration(absl::Now() - ingest_start) << "\n";

  std::vector<const Story*> all;
  for (const Story& s : stories) all.push_back(&s);
  const Expected everything = Count(all);

  {
    SCOPED_TRACE("match-all");
    v1::SearchRequest request;
    request.set_page_size(5);
    AddEveryFacet(&request);
    v1::SearchResponse r;
    grpc::Status s = Search(**cluster, request, &r);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_FALSE(r.partial());
    EXPECT_EQ(r.hits_size(), 5);
    EXPECT_EQ(r.total_hits(), stories.size());
    ExpectEveryFacet(r, everything);
  }

  {
    SCOPED_TRACE("top values and other_count");
    const Counts tags = Ranked(everything.tags);
    ASSERT_GT(tags.size(), 20u);
    v1::SearchRequest request;
    *request.add_facets() = Facet(v1::FACET_FIELD_TAGS, 7);
    *request.add_facets() = Facet(v1::FACET_FIELD_SOURCE);
    *request.add_facets() =
        Facet(v1::FACET_FIELD_PUBLISHED_AT, 0, v1::DATE_INTERVAL_YEAR);
    v1::SearchResponse r;
    grpc::Status s = Search(**cluster, request, &r);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(r.facets_size(), 3);
    EXPECT_THAT(Buckets(r.facets(0)),
                ElementsAreArray(tags.begin(), tags.begin() + 7));
    uint64_t others = 0;
    for (size_t i = 7; i < tags.size(); ++i) others += tags[i].second;
    EXPECT_EQ(r.facets(0).other_count(), others);
    EXPECT_EQ(r.facets(0).missing_count(), everything.no_tags);
    EXPECT_THAT(Buckets(r.facets(1)),
                ElementsAreArray(Ranked(everything.sources)));
    std::map<std::string, uint64_t> years;
    for (const auto& [day, n] : everything.days) years[day.substr(0, 4)] += n;
    EXPECT_THAT(Buckets(r.facets(2)),
                ElementsAreArray(Counts(years.begin(), years.end())));
  }

  // A text query with filters: the facets must count exactly the
  // documents the search pages through.
  struct Case {
    std::string query;
    std::function<void(v1::Filters*)> filter;
  };
  const std::vector<Case> cases = {
      {"oil", [](v1::Filters* f) { f->add_tags("CRUDE"); }},
      {"wheat corn",
       [](v1::Filters* f) {
         f->mutable_published_from()->set_seconds(absl::ToUnixSeconds(
             absl::FromCivil(absl::CivilDay(1987, 4, 1), absl::UTCTimeZone())));
       }},
      {"\"interest rates\"",
       [](v1::Filters* f) {
         f->add_sources("reuters");
         f->add_tags("interest");
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    v1::SearchRequest request;
    request.set_query(c.query);
    c.filter(request.mutable_filters());
    request.set_highlight(false);
    request.set_page_size(1000);
    AddEveryFacet(&request);
    v1::SearchResponse faceted;
    grpc::Status s = Search(**cluster, request, &faceted);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_FALSE(faceted.partial())
        << absl::StrJoin(faceted.shard_errors(), "; ");
    const uint64_t total = faceted.total_hits();
    ASSERT_GT(total, 20u);
    ASSERT_LT(total, 10000u);
    ASSERT_FALSE(faceted.total_hits_is_lower_bound());
    // Every hit, page by page, without facets.
    request.clear_facets();
    std::vector<const Story*> matched;
    for (uint32_t offset = 0; offset < total; offset += 1000) {
      request.set_offset(offset);
      v1::SearchResponse page;
      s = Search(**cluster, request, &page);
      ASSERT_TRUE(s.ok()) << s.error_message();
      ASSERT_FALSE(page.partial()) << absl::StrJoin(page.shard_errors(), "; ");
      for (const v1::Hit& hit : page.hits()) {
        matched.push_back(by_id.at(hit.id()));
      }
    }
    ASSERT_EQ(matched.size(), total);
    // The filters hold for every hit, read from the corpus file.
    for (const Story* story : matched) {
      for (const std::string& tag : request.filters().tags()) {
        EXPECT_TRUE(story->tags.contains(absl::AsciiStrToLower(tag)))
            << story->id;
      }
      if (request.filters().has_published_from()) {
        EXPECT_GE(story->date, "1987-04-01") << story->id;
      }
    }
    ExpectEveryFacet(faceted, Count(matched));
  }
}

}  // namespace
}  // namespace sift::testing
