#ifndef SIFT_SERVICES_STORAGE_SHARD_QUERY_H_
#define SIFT_SERVICES_STORAGE_SHARD_QUERY_H_

// The shard's requests for reading, decoded once at the edge: a
// ShardSearchRequest becomes a typed ShardQuery (plan, filters, cursor,
// facets, explain, scoring), a StatsRequest a list of TermKeys, each checked
// against shard_limits.h and with keyword values normalised. What is left
// for the index to resolve needs its segments: document frequencies the
// request does not carry, and the idfs that come from them.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/storage/scoring.h"
#include "services/storage/segment/plan.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage {

// A term in a field as the index holds it: keyword values (FIELD_SOURCE,
// FIELD_TAG) normalised, text terms as analyzed. FIELD_UNSPECIFIED is
// title and body together.
struct TermKey {
  v1::Field field = v1::FIELD_UNSPECIFIED;
  std::string term;

  friend bool operator==(const TermKey&, const TermKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const TermKey& key) {
    return H::combine(std::move(h), key.field, key.term);
  }
};

// The collection statistics a search scores with (v1::GlobalStats). With
// doc_count 0 the shard's own counters are used instead, and a term missing
// from `doc_freqs` gets the shard's own document frequency.
struct ScoringStats {
  uint64_t doc_count = 0;
  uint64_t total_title_terms = 0;
  uint64_t total_body_terms = 0;
  absl::flat_hash_map<TermKey, uint64_t> doc_freqs;
};

// What Index::Search runs.
struct ShardQuery {
  // Terms checked and keyword values normalised; idf and doc_freq(s) are
  // left at 0 for the index to resolve.
  segment::PlanNode plan;
  segment::FilterSpec filters;
  uint32_t limit = 0;
  v1::SortOrder sort = v1::SORT_ORDER_RELEVANCE;
  std::optional<segment::SearchAfter> after;
  std::vector<segment::FacetSpec> facets;
  bool explain = false;
  Bm25fParams scoring;
  ScoringStats stats;
  // Not 0 when `stats` were summed from statistics the coordinator kept:
  // the version (IndexStats::version) this shard's share came from. The
  // index searches only a state of that version (Index::Search).
  uint64_t stats_version = 0;
};

// The form under which the shard indexes and matches a keyword value
// (source, tag): analysis::Analyzer::NormalizeKeyword, with NUL read as a
// space as the query service reads it. INVALID_ARGUMENT for invalid UTF-8.
absl::StatusOr<std::string> NormalizeKeyword(absl::string_view value);

// Decodes and checks `request`. INVALID_ARGUMENT naming the offending
// field by its path (e.g. "query.boolean.must[1].term.term") and saying
// what is wrong; nothing else.
absl::StatusOr<ShardQuery> DecodeShardQuery(
    const v1::ShardSearchRequest& request);

// The terms of a StatsRequest, in order; INVALID_ARGUMENT as above.
absl::StatusOr<std::vector<TermKey>> DecodeStatsRequest(
    const v1::StatsRequest& request);

// The field a plan node's document frequency is kept under: title, body or
// both for text; source or tag for keywords.
v1::Field DocFreqField(const segment::PlanNode& node);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_SHARD_QUERY_H_
