#ifndef SIFT_SERVICES_STORAGE_SEGMENT_PLAN_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_PLAN_H_

// What the search engine is asked and what it answers: a query plan with
// its scoring resolved, filters, order, paging cursor and facets
// (SearchSpec), and the hits, totals and counts (SearchResult). search.h
// runs a spec over segments.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/storage/scoring.h"
#include "services/storage/segment/segment.h"
#include "sift/v1/document.pb.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage::segment {

// A query plan with each term's field and idf resolved and keywords
// normalised; mirrors v1::QueryNode.
struct PlanNode {
  // kPrefix: every term of `keyword_field` (kText for title and body)
  // starting with `term`, each match scoring `idf` (a constant). kFuzzy:
  // every text term within `slop` edits of `term` (sharing its first
  // character), scoring `idf` likewise. Both match terms with
  // analysis::PrefixMatches and analysis::FuzzyMatches, which snippets use
  // too. kDateRange: every document whose
  // published_at lies in [from, to), scoring 0; undated ones never match.
  enum class Kind {
    kTerm,
    kKeyword,
    kPhrase,
    kBoolean,
    kMatchAll,
    kPrefix,
    kFuzzy,
    kDateRange
  };
  Kind kind = Kind::kMatchAll;
  // kTerm, kPhrase, kPrefix of text: the text fields counted; kKeyword:
  // kSource / kTag.
  TextFields fields = TextFields::kTitleAndBody;
  TermField keyword_field = TermField::kSource;
  std::string term;                // kTerm, kKeyword, kPrefix
  std::vector<std::string> terms;  // kPhrase
  uint32_t slop = 0;               // kPhrase; kFuzzy: the edits allowed
  double idf = 0.0;                // kTerm, kKeyword; the sum for kPhrase
  // The document frequencies the idfs come from, for explanations: kTerm,
  // kKeyword in `doc_freq`; kPhrase one per term in `doc_freqs`.
  uint64_t doc_freq = 0;
  std::vector<uint64_t> doc_freqs;
  // kDateRange: (seconds, nanos) bounds; nullopt is open.
  std::optional<std::pair<int64_t, int32_t>> from;  // inclusive
  std::optional<std::pair<int64_t, int32_t>> to;    // exclusive
  std::vector<PlanNode> must;
  std::vector<PlanNode> should;
  std::vector<PlanNode> must_not;
};

// Filters with keywords normalised; empty lists do not filter.
struct FilterSpec {
  std::vector<std::string> sources;                 // any of
  std::vector<std::string> tags;                    // all of
  std::optional<std::pair<int64_t, int32_t>> from;  // inclusive
  std::optional<std::pair<int64_t, int32_t>> to;    // exclusive
};

// The sort key of a hit that a search resumes after (search-after paging).
struct SearchAfter {
  double score = 0.0;   // relevance order
  Published published;  // the date orders; nullopt: undated
  std::string id;       // every order's tie-break
};

// A facet counted over every match (v1::FacetRequest, resolved).
struct FacetSpec {
  enum class Kind { kSource, kTags, kPublished };
  // The calendar buckets of kPublished, in UTC.
  enum class Unit { kDay, kMonth, kYear };
  Kind kind = Kind::kSource;
  Unit unit = Unit::kMonth;
};

// The counts of one facet over the matches of every segment searched.
// Memory grows with the distinct values, never with the matches.
struct FacetCounts {
  // kSource, kTags: normalised value -> matches that have it.
  absl::flat_hash_map<std::string, uint64_t> values;
  // kPublished: the bucket's first instant (Unix seconds) -> matches in it.
  absl::flat_hash_map<int64_t, uint64_t> buckets;
  // Matches without a value (no source, no tags, undated).
  uint64_t missing = 0;
};

// A search. A hit's score is the sum of its matching clauses' scores in
// plan order plus, when proximity_weight is not 0 and at least two of the
// plan's proximity terms (proximity.h) occur in it, their term proximity
// bonus: a function of the document and the statistics alone, so that it is
// the same whatever the segments, the shards or the page.
struct SearchSpec {
  const PlanNode* root = nullptr;
  const Bm25f* bm25 = nullptr;
  FilterSpec filters;
  uint32_t limit = 10;
  v1::SortOrder sort = v1::SORT_ORDER_RELEVANCE;
  // When set, only hits strictly after it in `sort` order (ties by id) are
  // returned; total_hits still counts every match.
  std::optional<SearchAfter> after;
  // Matches are counted exactly up to this many; beyond it, relevance
  // queries may skip documents that cannot enter the top `limit`, and the
  // total becomes a lower bound.
  uint64_t exact_total_hits_up_to = 1000;
  // Facets to count over every match. When there are any, every match is
  // visited (nothing is pruned) and total_hits is exact.
  std::vector<FacetSpec> facets;
  // Explain the score of every returned hit (only those): computed once
  // the hits are chosen, by the iterators that score them, so it changes
  // neither the hits nor their order.
  bool explain = false;
};

struct SearchHit {
  double score = 0.0;
  std::string id;
  Published published;
  // With SearchSpec::explain: how `score` was computed; the root's value
  // equals `score`.
  std::optional<v1::Explanation> explanation;
};

struct SearchResult {
  std::vector<SearchHit> hits;  // best first
  uint64_t total_hits = 0;
  bool total_hits_is_lower_bound = false;
  // One per spec.facets entry, in order.
  std::vector<FacetCounts> facets;
};

// Most terms one prefix may expand to in one segment; past it the search
// fails with INVALID_ARGUMENT, asking for a longer prefix.
inline constexpr size_t kMaxPrefixTerms = 10000;

// Most values (or date buckets) of one facet a shard returns: past it, only
// the most frequent, and the shard's counts say they were truncated. The
// coordinator sums counts across shards, so a shard returns every value
// it can for the merged top values to be exact.
inline constexpr size_t kMaxShardFacetValues = 50000;

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_PLAN_H_
