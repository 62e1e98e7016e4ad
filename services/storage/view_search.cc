#include "services/storage/view_search.h"

#include <string>

#include "common/status/status_macros.h"
#include "services/storage/segment/postings.h"
#include "services/storage/segment/search.h"

namespace sift::storage {
namespace {

using segment::PlanNode;

absl::StatusOr<uint64_t> DocFreq(const ScoringStats& stats,
                                 const IndexView& view, const TermKey& key) {
  auto it = stats.doc_freqs.find(key);
  if (it != stats.doc_freqs.end()) return it->second;
  return OwnDocFreq(view, key);
}

}  // namespace

absl::StatusOr<uint64_t> OwnDocFreq(const IndexView& view, const TermKey& key) {
  const segment::TermField field =
      key.field == v1::FIELD_SOURCE ? segment::TermField::kSource
      : key.field == v1::FIELD_TAG  ? segment::TermField::kTag
                                    : segment::TermField::kText;
  const std::string postings_key = segment::PostingsKey(field, key.term);
  uint64_t df = 0;
  segment::ValueHolder holder;
  for (const ViewSegment& s : view.segments()) {
    SIFT_ASSIGN_OR_RETURN(bool found, s.segment->Get(postings_key, &holder));
    if (!found) continue;
    segment::PostingsHeader header;
    SIFT_RETURN_IF_ERROR(segment::ReadPostingsHeader(holder.value, &header));
    df += key.field == v1::FIELD_TITLE  ? header.df_title
          : key.field == v1::FIELD_BODY ? header.df_body
                                        : header.df;
  }
  return df;
}

Bm25f ScorerFor(const ShardQuery& query, const IndexView& view) {
  const ScoringStats& stats = query.stats;
  if (stats.doc_count == 0) {
    return Bm25f(query.scoring, view.doc_count(), view.total_title_terms(),
                 view.total_body_terms());
  }
  return Bm25f(query.scoring, stats.doc_count, stats.total_title_terms,
               stats.total_body_terms);
}

absl::Status ResolveScoring(const ScoringStats& stats, const Bm25f& bm25,
                            const IndexView& view, PlanNode* plan) {
  switch (plan->kind) {
    case PlanNode::Kind::kTerm:
    case PlanNode::Kind::kKeyword: {
      SIFT_ASSIGN_OR_RETURN(
          plan->doc_freq,
          DocFreq(stats, view, TermKey{DocFreqField(*plan), plan->term}));
      plan->idf = bm25.Idf(plan->doc_freq);
      return absl::OkStatus();
    }
    case PlanNode::Kind::kPhrase: {
      // A phrase scores the sum of its terms' idfs, in order.
      plan->idf = 0.0;
      plan->doc_freqs.clear();
      for (const std::string& term : plan->terms) {
        SIFT_ASSIGN_OR_RETURN(
            uint64_t df,
            DocFreq(stats, view, TermKey{DocFreqField(*plan), term}));
        plan->idf += bm25.Idf(df);
        plan->doc_freqs.push_back(df);
      }
      return absl::OkStatus();
    }
    case PlanNode::Kind::kBoolean:
      for (auto* clauses : {&plan->must, &plan->should, &plan->must_not}) {
        for (PlanNode& child : *clauses) {
          SIFT_RETURN_IF_ERROR(ResolveScoring(stats, bm25, view, &child));
        }
      }
      return absl::OkStatus();
    case PlanNode::Kind::kMatchAll:
    case PlanNode::Kind::kPrefix:
    case PlanNode::Kind::kFuzzy:
    case PlanNode::Kind::kDateRange:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<segment::SearchResult> SearchView(
    const IndexView& view, const ShardQuery& query,
    segment::SearchHelpers* helpers) {
  const Bm25f bm25 = ScorerFor(query, view);
  segment::PlanNode plan = query.plan;
  SIFT_RETURN_IF_ERROR(ResolveScoring(query.stats, bm25, view, &plan));
  segment::SearchSpec spec;
  spec.root = &plan;
  spec.bm25 = &bm25;
  spec.filters = query.filters;
  spec.limit = query.limit;
  spec.sort = query.sort;
  spec.after = query.after;
  spec.facets = query.facets;
  spec.explain = query.explain;
  return segment::Search(view.Snapshots(), spec, helpers);
}

}  // namespace sift::storage
