// The engine's pruning over a MemoryIndex (block-max WAND, skipped blocks,
// the proximity bounds that skip reading positions) checked against an
// independent, exhaustive evaluation of every query.

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/analysis/term_match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/engine_test.h"
#include "services/storage/scoring.h"
#include "services/storage/segment/iterators.h"
#include "services/storage/shard_query.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::Bool;
using ::sift::storage::testing::DateRange;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::DocSpec;
using ::sift::storage::testing::EngineTest;
using ::sift::storage::testing::HitIds;
using ::sift::storage::testing::Layout;
using ::sift::storage::testing::MatchAll;
using ::sift::storage::testing::MemoryIndex;
using ::sift::storage::testing::PageAfter;
using ::sift::storage::testing::Phrase;
using ::sift::storage::testing::RandomBatches;
using ::sift::storage::testing::RandomConjunctions;
using ::sift::storage::testing::RandomMixedQueries;
using ::sift::storage::testing::RandomQueries;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class PruningTest : public EngineTest {};

// An independent evaluation of queries over the documents as they stand:
// each live document matched and scored on its own, from its words, with
// the formulas of Bm25f and the sums of the query language in plan order,
// then sorted. What the engine's pruning (block-max WAND, the proximity
// bounds, skipped blocks and segments) returns must equal it.
class Exhaustive {
 public:
  // The live documents: the last upsert of each id not deleted after it.
  explicit Exhaustive(const std::vector<std::vector<v1::WriteOp>>& batches) {
    std::map<std::string, const v1::AnalyzedDocument*> live;
    for (const auto& batch : batches) {
      for (const v1::WriteOp& op : batch) {
        if (op.has_upsert()) {
          live[op.upsert().document().id()] = &op.upsert();
        } else {
          live.erase(op.delete_id());
        }
      }
    }
    for (const auto& [id, analyzed] : live) {
      Doc& doc = docs_.emplace_back();
      doc.id = id;
      for (uint32_t t : analyzed->title().term_ids()) {
        doc.title.push_back(analyzed->title().vocabulary(t));
      }
      for (uint32_t t : analyzed->body().term_ids()) {
        doc.body.push_back(analyzed->body().vocabulary(t));
      }
      const v1::Document& d = analyzed->document();
      if (!d.source().empty()) doc.source = *NormalizeKeyword(d.source());
      for (const std::string& tag : d.tags()) {
        doc.tags.insert(*NormalizeKeyword(tag));
      }
      if (d.has_published_at()) {
        doc.published = {d.published_at().seconds(), d.published_at().nanos()};
      }
      title_terms_ += doc.title.size();
      body_terms_ += doc.body.size();
    }
  }

  // `request` with the collection's statistics for every term it scores.
  v1::ShardSearchRequest WithStats(v1::ShardSearchRequest request) const {
    v1::GlobalStats* stats = request.mutable_stats();
    stats->Clear();
    stats->set_doc_count(docs_.size());
    stats->set_total_title_terms(title_terms_);
    stats->set_total_body_terms(body_terms_);
    std::set<std::pair<int, std::string>> refs;
    CollectRefs(request.query(), &refs);
    for (const auto& [field, term] : refs) {
      v1::TermRef* ref = stats->add_terms();
      ref->set_field(static_cast<v1::Field>(field));
      ref->set_term(term);
      stats->add_doc_freqs(DocFreq(static_cast<v1::Field>(field), term));
    }
    return request;
  }

  struct Hit {
    std::string id;
    double score;
    std::optional<std::pair<int64_t, int32_t>> published;
  };

  // Every match of `request` (WithStats) in its order, after its cursor,
  // and how many matched in all.
  std::vector<Hit> Search(const v1::ShardSearchRequest& request,
                          uint64_t* total) const {
    const Bm25f bm25(Bm25fParams::FromProto(request.scoring()), docs_.size(),
                     title_terms_, body_terms_);
    std::vector<std::pair<v1::Field, std::string>> proximity;
    CollectProximityTerms(request.query(), &proximity);
    std::vector<Hit> hits;
    *total = 0;
    for (const Doc& doc : docs_) {
      if (!PassesFilters(request.filters(), doc)) continue;
      const std::optional<double> score =
          Evaluate(request.query(), doc, bm25, request.stats());
      if (!score) continue;
      ++*total;
      double full = *score;
      if (request.limit() > 0 && proximity.size() >= 2 &&
          bm25.params().proximity_weight > 0) {
        std::vector<double> idfs;
        std::vector<std::vector<uint32_t>> title, body;
        size_t present = 0;
        for (const auto& [field, term] : proximity) {
          idfs.push_back(bm25.Idf(StatOf(request.stats(), field, term)));
          title.push_back(Positions(doc.title, term));
          body.push_back(Positions(doc.body, term));
          if (!title.back().empty() || !body.back().empty()) ++present;
        }
        if (present >= 2) {
          full += bm25.Proximity(idfs, title, body,
                                 static_cast<uint32_t>(doc.title.size()),
                                 static_cast<uint32_t>(doc.body.size()));
        }
      }
      hits.push_back({doc.id, full, doc.published});
    }
    const v1::SortOrder sort = request.sort();
    auto better = [sort](const Hit& a, const Hit& b) {
      if (sort == v1::SORT_ORDER_PUBLISHED_DESC ||
          sort == v1::SORT_ORDER_PUBLISHED_ASC) {
        if (a.published.has_value() != b.published.has_value()) {
          return a.published.has_value();
        }
        if (a.published && *a.published != *b.published) {
          return sort == v1::SORT_ORDER_PUBLISHED_DESC
                     ? *a.published > *b.published
                     : *a.published < *b.published;
        }
        return a.id < b.id;
      }
      return a.score != b.score ? a.score > b.score : a.id < b.id;
    };
    std::sort(hits.begin(), hits.end(), better);
    if (request.has_search_after()) {
      const v1::SearchAfter& after = request.search_after();
      Hit cursor{after.id(), after.score(), std::nullopt};
      if (after.has_published_at()) {
        cursor.published = {after.published_at().seconds(),
                            after.published_at().nanos()};
      }
      hits.erase(
          std::remove_if(hits.begin(), hits.end(),
                         [&](const Hit& h) { return !better(cursor, h); }),
          hits.end());
    }
    return hits;
  }

 private:
  struct Doc {
    std::string id;
    std::vector<std::string> title, body;
    std::string source;
    std::set<std::string> tags;
    std::optional<std::pair<int64_t, int32_t>> published;
  };

  static bool IsKeyword(v1::Field field) {
    return field == v1::FIELD_SOURCE || field == v1::FIELD_TAG;
  }

  static std::vector<uint32_t> Positions(const std::vector<std::string>& words,
                                         const std::string& term) {
    std::vector<uint32_t> out;
    for (uint32_t i = 0; i < words.size(); ++i) {
      if (words[i] == term) out.push_back(i);
    }
    return out;
  }

  static void CollectRefs(const v1::QueryNode& node,
                          std::set<std::pair<int, std::string>>* refs) {
    if (node.has_term()) {
      refs->insert({node.term().field(), node.term().term()});
    } else if (node.has_phrase()) {
      for (const std::string& t : node.phrase().terms()) {
        refs->insert({node.phrase().field(), t});
      }
    } else if (node.has_boolean()) {
      for (const auto* list : {&node.boolean().must(), &node.boolean().should(),
                               &node.boolean().must_not()}) {
        for (const v1::QueryNode& child : *list) CollectRefs(child, refs);
      }
    }
  }

  // The plain terms of positive clauses, first occurrence first, must
  // clauses before should clauses at each level.
  static void CollectProximityTerms(
      const v1::QueryNode& node,
      std::vector<std::pair<v1::Field, std::string>>* out) {
    if (node.has_term()) {
      if (node.term().field() != v1::FIELD_UNSPECIFIED) return;
      for (const auto& [field, term] : *out) {
        if (term == node.term().term()) return;
      }
      out->push_back({v1::FIELD_UNSPECIFIED, node.term().term()});
    } else if (node.has_boolean()) {
      for (const v1::QueryNode& child : node.boolean().must()) {
        CollectProximityTerms(child, out);
      }
      for (const v1::QueryNode& child : node.boolean().should()) {
        CollectProximityTerms(child, out);
      }
    }
  }

  uint64_t DocFreq(v1::Field field, const std::string& term) const {
    uint64_t df = 0;
    const std::string keyword =
        IsKeyword(field) ? *NormalizeKeyword(term) : std::string();
    for (const Doc& doc : docs_) {
      bool has = false;
      if (field == v1::FIELD_SOURCE) {
        has = doc.source == keyword;
      } else if (field == v1::FIELD_TAG) {
        has = doc.tags.count(keyword) > 0;
      } else {
        const bool in_title =
            std::count(doc.title.begin(), doc.title.end(), term) > 0;
        const bool in_body =
            std::count(doc.body.begin(), doc.body.end(), term) > 0;
        has = field == v1::FIELD_TITLE  ? in_title
              : field == v1::FIELD_BODY ? in_body
                                        : in_title || in_body;
      }
      if (has) ++df;
    }
    return df;
  }

  static uint64_t StatOf(const v1::GlobalStats& stats, v1::Field field,
                         const std::string& term) {
    for (int i = 0; i < stats.terms_size(); ++i) {
      if (stats.terms(i).field() == field && stats.terms(i).term() == term) {
        return stats.doc_freqs(i);
      }
    }
    ADD_FAILURE() << "no statistics for " << term;
    return 0;
  }

  static bool PassesFilters(const v1::Filters& filters, const Doc& doc) {
    if (filters.sources_size() > 0) {
      bool any = false;
      for (const std::string& s : filters.sources()) {
        any |= *NormalizeKeyword(s) == doc.source && !doc.source.empty();
      }
      if (!any) return false;
    }
    for (const std::string& t : filters.tags()) {
      if (!doc.tags.count(*NormalizeKeyword(t))) return false;
    }
    if (filters.has_published_from() || filters.has_published_to()) {
      if (!doc.published) return false;
      if (filters.has_published_from() &&
          *doc.published < std::make_pair(filters.published_from().seconds(),
                                          filters.published_from().nanos())) {
        return false;
      }
      if (filters.has_published_to() &&
          !(*doc.published < std::make_pair(filters.published_to().seconds(),
                                            filters.published_to().nanos()))) {
        return false;
      }
    }
    return true;
  }

  // The (title, body) frequencies a clause on `field` counts.
  static std::pair<uint32_t, uint32_t> Counted(v1::Field field, uint32_t title,
                                               uint32_t body) {
    if (field == v1::FIELD_TITLE) return {title, 0};
    if (field == v1::FIELD_BODY) return {0, body};
    return {title, body};
  }

  static TextFields FieldsOf(v1::Field field) {
    if (field == v1::FIELD_TITLE) return TextFields::kTitle;
    if (field == v1::FIELD_BODY) return TextFields::kBody;
    return TextFields::kTitleAndBody;
  }

  // Whether any word of the fields `field` counts satisfies `matches`.
  bool AnyWord(const Doc& doc, v1::Field field,
               const std::function<bool(const std::string&)>& matches) const {
    if (field != v1::FIELD_BODY) {
      for (const std::string& w : doc.title) {
        if (matches(w)) return true;
      }
    }
    if (field != v1::FIELD_TITLE) {
      for (const std::string& w : doc.body) {
        if (matches(w)) return true;
      }
    }
    return false;
  }

  // The clause's score in `doc`, or nullopt when it does not match.
  std::optional<double> Evaluate(const v1::QueryNode& node, const Doc& doc,
                                 const Bm25f& bm25,
                                 const v1::GlobalStats& stats) const {
    const auto title_length = static_cast<uint32_t>(doc.title.size());
    const auto body_length = static_cast<uint32_t>(doc.body.size());
    if (node.has_term()) {
      const v1::Field field = node.term().field();
      const std::string& term = node.term().term();
      const double idf = bm25.Idf(StatOf(stats, field, term));
      if (field == v1::FIELD_SOURCE) {
        if (doc.source.empty() || doc.source != *NormalizeKeyword(term)) {
          return std::nullopt;
        }
        return idf;
      }
      if (field == v1::FIELD_TAG) {
        if (!doc.tags.count(*NormalizeKeyword(term))) return std::nullopt;
        return idf;
      }
      const auto [tf_title, tf_body] =
          Counted(field,
                  static_cast<uint32_t>(
                      std::count(doc.title.begin(), doc.title.end(), term)),
                  static_cast<uint32_t>(
                      std::count(doc.body.begin(), doc.body.end(), term)));
      if (tf_title + tf_body == 0) return std::nullopt;
      return bm25.Score(idf, bm25.WeightedTf(FieldsOf(field), tf_title, tf_body,
                                             title_length, body_length));
    }
    if (node.has_phrase()) {
      const v1::Field field = node.phrase().field();
      double idf = 0.0;
      std::vector<std::vector<uint32_t>> title, body;
      for (const std::string& term : node.phrase().terms()) {
        idf += bm25.Idf(StatOf(stats, field, term));
        title.push_back(Positions(doc.title, term));
        body.push_back(Positions(doc.body, term));
      }
      const auto [in_title, in_body] = Counted(
          field, segment::CountPhraseOccurrences(title, node.phrase().slop()),
          segment::CountPhraseOccurrences(body, node.phrase().slop()));
      if (in_title + in_body == 0) return std::nullopt;
      return bm25.Score(idf, bm25.WeightedTf(FieldsOf(field), in_title, in_body,
                                             title_length, body_length));
    }
    if (node.has_prefix()) {
      const v1::Field field = node.prefix().field();
      if (IsKeyword(field)) {
        const std::string prefix = *NormalizeKeyword(node.prefix().prefix());
        bool any = false;
        if (field == v1::FIELD_SOURCE) {
          any = !doc.source.empty() &&
                analysis::PrefixMatches(prefix, doc.source);
        } else {
          for (const std::string& tag : doc.tags) {
            any |= analysis::PrefixMatches(prefix, tag);
          }
        }
        return any ? std::optional<double>(1.0) : std::nullopt;
      }
      const bool any = AnyWord(doc, field, [&](const std::string& w) {
        return analysis::PrefixMatches(node.prefix().prefix(), w);
      });
      return any ? std::optional<double>(1.0) : std::nullopt;
    }
    if (node.has_fuzzy()) {
      const bool any =
          AnyWord(doc, node.fuzzy().field(), [&](const std::string& w) {
            return analysis::FuzzyMatches(node.fuzzy().term(),
                                          node.fuzzy().max_edits(), w);
          });
      return any ? std::optional<double>(1.0) : std::nullopt;
    }
    if (node.has_date_range()) {
      if (!doc.published) return std::nullopt;
      const v1::DateRangeQuery& range = node.date_range();
      if (range.has_from() &&
          *doc.published <
              std::make_pair(range.from().seconds(), range.from().nanos())) {
        return std::nullopt;
      }
      if (range.has_to() &&
          !(*doc.published <
            std::make_pair(range.to().seconds(), range.to().nanos()))) {
        return std::nullopt;
      }
      return 0.0;
    }
    if (node.has_match_all()) return 0.0;
    const v1::BooleanQuery& b = node.boolean();
    for (const v1::QueryNode& child : b.must_not()) {
      if (Evaluate(child, doc, bm25, stats)) return std::nullopt;
    }
    double score = 0.0;
    for (const v1::QueryNode& child : b.must()) {
      const std::optional<double> s = Evaluate(child, doc, bm25, stats);
      if (!s) return std::nullopt;
      score += *s;
    }
    bool any_should = false;
    for (const v1::QueryNode& child : b.should()) {
      const std::optional<double> s = Evaluate(child, doc, bm25, stats);
      if (!s) continue;
      any_should = true;
      score += *s;
    }
    if (b.must().empty() && !any_should) return std::nullopt;
    return score;
  }

  std::vector<Doc> docs_;
  uint64_t title_terms_ = 0;
  uint64_t body_terms_ = 0;
};

// Random filters for some queries: sources, tags, dates.
void AddRandomFilters(std::mt19937& rng, v1::ShardSearchRequest* request) {
  switch (rng() % 6) {
    case 0:
      request->mutable_filters()->add_sources(absl::StrCat("SRC", rng() % 5));
      request->mutable_filters()->add_sources(absl::StrCat("src", rng() % 5));
      break;
    case 1:
      request->mutable_filters()->add_tags(absl::StrCat("tag", rng() % 4));
      break;
    case 2:
      request->mutable_filters()->mutable_published_from()->set_seconds(
          1000 + rng() % 2000);
      break;
    default:
      break;
  }
}

// Compares the engine with the exhaustive evaluation: the top `limit` by
// relevance, pages after a cursor, and the date orders, ids and scores.
void ExpectEngineEqualsExhaustive(const testing::SearchFunction& engine,
                                  const Exhaustive& exhaustive,
                                  const std::vector<v1::QueryNode>& queries,
                                  uint32_t seed, int* pruned_queries) {
  std::mt19937 rng(seed);
  for (const v1::QueryNode& query : queries) {
    for (uint32_t limit : {1u, 10u, 57u}) {
      v1::ShardSearchRequest request = SearchFor(query, limit);
      AddRandomFilters(rng, &request);
      if (rng() % 4 == 0) {
        request.set_sort(rng() % 2 ? v1::SORT_ORDER_PUBLISHED_DESC
                                   : v1::SORT_ORDER_PUBLISHED_ASC);
      }
      request = exhaustive.WithStats(std::move(request));
      uint64_t total = 0;
      const std::vector<Exhaustive::Hit> all =
          exhaustive.Search(request, &total);
      auto check = [&](const v1::ShardSearchRequest& r,
                       const std::vector<Exhaustive::Hit>& expected) {
        absl::StatusOr<v1::ShardSearchResponse> response = engine(r);
        ASSERT_THAT(response, IsOk());
        if (response->total_hits_is_lower_bound()) {
          ++*pruned_queries;
          EXPECT_GE(response->total_hits(), 1000u);
          EXPECT_LE(response->total_hits(), total);
        } else {
          EXPECT_EQ(response->total_hits(), total) << r.ShortDebugString();
        }
        const size_t n = std::min<size_t>(expected.size(), r.limit());
        ASSERT_EQ(static_cast<size_t>(response->hits_size()), n)
            << r.ShortDebugString();
        for (size_t i = 0; i < n; ++i) {
          EXPECT_EQ(response->hits(i).id(), expected[i].id)
              << i << " " << r.ShortDebugString();
          EXPECT_EQ(response->hits(i).score(), expected[i].score)
              << i << " " << expected[i].id << " " << r.ShortDebugString();
        }
      };
      check(request, all);
      // A page after a cursor somewhere in the order.
      if (all.size() > 3) {
        const Exhaustive::Hit& at =
            all[rng() % std::min<size_t>(all.size() - 1, 40)];
        v1::ShardSearchRequest later = request;
        v1::SearchAfter* after = later.mutable_search_after();
        after->set_id(at.id);
        if (request.sort() == v1::SORT_ORDER_PUBLISHED_DESC ||
            request.sort() == v1::SORT_ORDER_PUBLISHED_ASC) {
          if (at.published) {
            after->mutable_published_at()->set_seconds(at.published->first);
            after->mutable_published_at()->set_nanos(at.published->second);
          } else {
            after->set_undated(true);
          }
        } else {
          after->set_score(at.score);
        }
        uint64_t ignored = 0;
        check(later, exhaustive.Search(later, &ignored));
      }
    }
  }
}

// Block-max WAND, the block-max conjunction, the proximity bounds that
// skip reading positions, the iterator tree, filters, deletions and
// replacements, cursors and date orders, over many segments and over one: every
// answer equals the exhaustive evaluation, hit for hit and score for score.
TEST_P(PruningTest, EveryPruningPathEqualsExhaustiveEvaluation) {
  std::vector<std::vector<v1::WriteOp>> batches = RandomBatches(3000, 500, 7);
  // Replacements and deletions across segments.
  std::vector<v1::WriteOp> changes;
  for (int i = 0; i < 3000; i += 11) {
    changes.push_back(i % 2 ? Delete(absl::StrCat("d", i))
                            : Upsert({.id = absl::StrCat("d", i),
                                      .title = "w1 w2",
                                      .body = "w3 w1 w2 w4 w5 w1"}));
  }
  batches.push_back(std::move(changes));
  for (const auto& batch : batches) Write(batch);
  const Exhaustive exhaustive(batches);
  std::vector<v1::QueryNode> queries = RandomQueries(40, 11);
  for (v1::QueryNode& q : RandomMixedQueries(60, 12)) queries.push_back(q);
  // A must_not beside a disjunction of terms: WAND with exclusions.
  queries.push_back(
      Bool({}, {Term("w1"), Term("w2"), Term("w7")}, {Term("w3")}));
  queries.push_back(Bool({Term("w1"), Term("w2")}, {Term("w4")}));
  int pruned = 0;
  ExpectEngineEqualsExhaustive(Searcher(), exhaustive, queries, 21, &pruned);
  // The collection is big enough for common terms to be pruned.
  EXPECT_GT(pruned, 10);
  // Conjunctions of rarer terms, and of the commonest, which match more
  // than 1,000 documents too.
  std::vector<v1::QueryNode> conjunctions = RandomConjunctions(20, 40, 13);
  for (v1::QueryNode& q : RandomConjunctions(20, 4, 14)) {
    conjunctions.push_back(q);
  }
  int pruned_conjunctions = 0;
  ExpectEngineEqualsExhaustive(Searcher(), exhaustive, conjunctions, 22,
                               &pruned_conjunctions);
  // Segments of 500 documents leave too few blocks to skip.
  if (GetParam() == testing::Layout::kMerged) {
    EXPECT_GT(pruned_conjunctions, 0);
  }
}

// A segment searched in two halves at once, one on a helper thread, each
// half with its own cursors and top k: the same answers as the exhaustive
// evaluation, for disjunctions (MaxScore), conjunctions and single terms,
// with the proximity bonus, filters and exclusions. Segments of any size
// are split here, and the helper may take the half or leave it to the
// search, whichever comes first: both ways must give the same hits.
TEST_P(PruningTest, HalvesSearchedAtOnceEqualExhaustiveEvaluation) {
  segment::SearchHelpers::Options options;
  options.threads = 1;
  options.processors = 64;
  options.min_split_docs = 1;
  options.min_split_postings = 0;
  segment::SearchHelpers helpers(options);
  index_.SetSearchHelpers(&helpers);
  std::vector<std::vector<v1::WriteOp>> batches = RandomBatches(3000, 500, 8);
  std::vector<v1::WriteOp> changes;
  for (int i = 0; i < 3000; i += 13) {
    changes.push_back(Delete(absl::StrCat("d", i)));
  }
  batches.push_back(std::move(changes));
  for (const auto& batch : batches) Write(batch);
  const Exhaustive exhaustive(batches);
  std::vector<v1::QueryNode> queries = RandomQueries(40, 15);
  for (v1::QueryNode& q : RandomConjunctions(20, 40, 16)) queries.push_back(q);
  for (v1::QueryNode& q : RandomConjunctions(10, 4, 17)) queries.push_back(q);
  queries.push_back(
      Bool({}, {Term("w1"), Term("w2"), Term("w7")}, {Term("w3")}));
  const uint64_t before = helpers.parts_handed();
  int pruned = 0;
  ExpectEngineEqualsExhaustive(Searcher(), exhaustive, queries, 23, &pruned);
  // Every search hands a half of each segment over, but for the few that
  // came before the helper was waiting for work.
  EXPECT_GT(helpers.parts_handed() - before, queries.size());
  EXPECT_GT(pruned, 5);
}

// A phrase alone, once the top k is full and a thousand matches are
// counted, passes over blocks and candidates whose terms' frequencies bound
// it under the k-th best score, without reading their positions: exact
// phrases by every term's frequency, sloppy ones by the first term's. The
// hits and scores are still the exhaustive evaluation's.
TEST_P(PruningTest, PhrasesPassOverCandidatesThatCannotEnterTheTopK) {
  std::vector<std::vector<v1::WriteOp>> batches = RandomBatches(3000, 500, 9);
  std::vector<v1::WriteOp> changes;
  for (int i = 0; i < 3000; i += 17) {
    changes.push_back(i % 2 ? Delete(absl::StrCat("d", i))
                            : Upsert({.id = absl::StrCat("d", i),
                                      .title = "w0 w1 w0 w1",
                                      .body = "w1 w0 w1 w0 w0 w2"}));
  }
  batches.push_back(std::move(changes));
  for (const auto& batch : batches) Write(batch);
  const Exhaustive exhaustive(batches);
  std::mt19937 rng(31);
  std::vector<v1::QueryNode> queries;
  for (int q = 0; q < 40; ++q) {
    std::string words = absl::StrCat("w", rng() % 4);
    for (uint32_t t = 1 + rng() % 2; t > 0; --t) {
      absl::StrAppend(&words, " w", rng() % 4);
    }
    const uint32_t slop = q % 2 == 0 ? 0 : 1 + rng() % 3;
    const v1::Field field = q % 5 == 3   ? v1::FIELD_TITLE
                            : q % 5 == 4 ? v1::FIELD_BODY
                                         : v1::FIELD_UNSPECIFIED;
    queries.push_back(Phrase(words, slop, field));
  }
  // A term twice: each occurrence still holds positions of its own.
  queries.push_back(Phrase("w0 w0"));
  queries.push_back(Phrase("w1 w0 w1", 2));
  int pruned = 0;
  ExpectEngineEqualsExhaustive(Searcher(), exhaustive, queries, 24, &pruned);
  EXPECT_GT(pruned, 10) << pruned;
}

// Disjunctions that WAND does not run, because a clause is not a plain
// term (a phrase, as a hyphenated word makes, a scoped term, a keyword, a
// prefix, a nested boolean): once the top k is full and a thousand matches
// are counted, MaxScore over the clauses' bounds passes over documents that
// only weak clauses hold, and a lone strong phrase skips candidates itself.
// The hits and scores are still the exhaustive evaluation's.
TEST_P(PruningTest, DisjunctionsOfAnyClausesPassOverWhatCannotEnter) {
  std::vector<std::vector<v1::WriteOp>> batches = RandomBatches(3000, 500, 10);
  std::vector<v1::WriteOp> changes;
  for (int i = 0; i < 3000; i += 19) {
    changes.push_back(Delete(absl::StrCat("d", i)));
  }
  batches.push_back(std::move(changes));
  for (const auto& batch : batches) Write(batch);
  const Exhaustive exhaustive(batches);
  std::mt19937 rng(41);
  auto word = [&rng](uint32_t range) {
    return absl::StrCat("w", rng() % range);
  };
  auto clause = [&]() -> v1::QueryNode {
    switch (rng() % 7) {
      case 0:
        return Term(word(40));
      case 1:
        return Phrase(absl::StrCat(word(6), " ", word(6)), rng() % 2);
      case 2:
        return Term(word(20), rng() % 2 ? v1::FIELD_TITLE : v1::FIELD_BODY);
      case 3:
        return Term(absl::StrCat("src", rng() % 5), v1::FIELD_SOURCE);
      case 4:
        return testing::Prefix(absl::StrCat("w", 1 + rng() % 9, rng() % 10));
      case 5:
        return Bool({}, {Term(word(20)), Phrase(word(20))});
      default:
        return Phrase(absl::StrCat(word(4), " ", word(4), " ", word(4)));
    }
  };
  std::vector<v1::QueryNode> queries;
  for (int q = 0; q < 50; ++q) {
    std::vector<v1::QueryNode> should;
    for (uint32_t i = 2 + rng() % 3; i > 0; --i) should.push_back(clause());
    std::vector<v1::QueryNode> must_not;
    if (q % 5 == 4) must_not.push_back(Term(word(60)));
    queries.push_back(Bool({}, std::move(should), std::move(must_not)));
  }
  int pruned = 0;
  ExpectEngineEqualsExhaustive(Searcher(), exhaustive, queries, 25, &pruned);
  EXPECT_GT(pruned, 10) << pruned;
}

SIFT_INSTANTIATE_LAYOUTS(PruningTest);

}  // namespace
}  // namespace sift::storage
