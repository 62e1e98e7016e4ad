#include "services/query/stats_cache.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sift::query {
namespace {

v1::TermRef Term(const std::string& text, v1::Field field = v1::FIELD_BODY) {
  v1::TermRef term;
  term.set_field(field);
  term.set_term(text);
  return term;
}

// Statistics of `terms` as a round over every shard would sum them.
v1::GlobalStats Gathered(std::initializer_list<std::pair<const char*, int>>
                             terms,
                         uint64_t doc_count = 1000) {
  v1::GlobalStats stats;
  stats.set_doc_count(doc_count);
  stats.set_total_title_terms(doc_count * 8);
  stats.set_total_body_terms(doc_count * 300);
  for (const auto& [text, doc_freq] : terms) {
    *stats.add_terms() = Term(text);
    stats.add_doc_freqs(doc_freq);
  }
  return stats;
}

// What a search asks the cache for: its terms, counts unknown.
v1::GlobalStats Asked(std::initializer_list<const char*> terms) {
  v1::GlobalStats stats;
  for (const char* text : terms) {
    *stats.add_terms() = Term(text);
    stats.add_doc_freqs(0);
  }
  return stats;
}

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

TEST(StatsCacheTest, RecentCountsOfEveryTermAnswerInPlaceOfARound) {
  StatsCache cache(absl::Seconds(1), 1000);
  cache.Store(3, kT0, Gathered({{"cocoa", 40}, {"prices", 90}}));
  v1::GlobalStats stats = Asked({"prices", "cocoa"});
  ASSERT_TRUE(cache.Lookup(3, kT0 + absl::Milliseconds(500), &stats));
  EXPECT_EQ(stats.doc_count(), 1000u);
  EXPECT_EQ(stats.total_title_terms(), 8000u);
  EXPECT_EQ(stats.total_body_terms(), 300000u);
  ASSERT_EQ(stats.doc_freqs_size(), 2);
  EXPECT_EQ(stats.doc_freqs(0), 90u);  // aligned with the asked terms
  EXPECT_EQ(stats.doc_freqs(1), 40u);
}

TEST(StatsCacheTest, OneUnknownTermMeansARound) {
  StatsCache cache(absl::Seconds(1), 1000);
  cache.Store(3, kT0, Gathered({{"cocoa", 40}}));
  v1::GlobalStats stats = Asked({"cocoa", "sugar"});
  EXPECT_FALSE(cache.Lookup(3, kT0, &stats));
  EXPECT_EQ(stats.doc_count(), 0u);  // left alone
  // The same text in another field is another term.
  v1::GlobalStats title;
  *title.add_terms() = Term("cocoa", v1::FIELD_TITLE);
  title.add_doc_freqs(0);
  EXPECT_FALSE(cache.Lookup(3, kT0, &title));
}

TEST(StatsCacheTest, CountsOlderThanTheMaxAgeMeanARound) {
  StatsCache cache(absl::Seconds(1), 1000);
  cache.Store(3, kT0, Gathered({{"cocoa", 40}}));
  v1::GlobalStats stats = Asked({"cocoa"});
  EXPECT_FALSE(cache.Lookup(3, kT0 + absl::Seconds(1), &stats));
  // A later round refreshes them, and the collection totals with them.
  cache.Store(3, kT0 + absl::Seconds(2), Gathered({{"cocoa", 41}}, 1001));
  ASSERT_TRUE(cache.Lookup(3, kT0 + absl::Milliseconds(2500), &stats));
  EXPECT_EQ(stats.doc_freqs(0), 41u);
  EXPECT_EQ(stats.doc_count(), 1001u);
  // A term last counted long ago does not ride on newer totals.
  cache.Store(3, kT0 + absl::Seconds(4), Gathered({{"prices", 90}}, 1002));
  EXPECT_FALSE(cache.Lookup(3, kT0 + absl::Milliseconds(4500), &stats));
}

TEST(StatsCacheTest, AnotherShardCountForgetsEverything) {
  StatsCache cache(absl::Seconds(1), 1000);
  cache.Store(3, kT0, Gathered({{"cocoa", 40}}));
  v1::GlobalStats stats = Asked({"cocoa"});
  EXPECT_FALSE(cache.Lookup(4, kT0, &stats));
  cache.Store(4, kT0, Gathered({{"prices", 90}}));
  EXPECT_FALSE(cache.Lookup(3, kT0, &stats));
  EXPECT_FALSE(cache.Lookup(4, kT0, &stats));  // cocoa went with layout 3
}

TEST(StatsCacheTest, AFullCacheStartsOverAndAZeroMaxAgeKeepsNothing) {
  StatsCache cache(absl::Seconds(1), 2);
  cache.Store(3, kT0, Gathered({{"a", 1}, {"b", 2}}));
  cache.Store(3, kT0, Gathered({{"c", 3}}));
  v1::GlobalStats ab = Asked({"a", "b"});
  EXPECT_FALSE(cache.Lookup(3, kT0, &ab));
  v1::GlobalStats c = Asked({"c"});
  EXPECT_TRUE(cache.Lookup(3, kT0, &c));

  StatsCache off(absl::ZeroDuration(), 1000);
  EXPECT_FALSE(off.enabled());
  off.Store(3, kT0, Gathered({{"a", 1}}));
  v1::GlobalStats a = Asked({"a"});
  EXPECT_FALSE(off.Lookup(3, kT0, &a));
}

}  // namespace
}  // namespace sift::query
