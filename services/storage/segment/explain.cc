#include "services/storage/segment/explain.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"
#include "services/storage/segment/context.h"
#include "services/storage/segment/iterators.h"
#include "services/storage/segment/proximity.h"

namespace sift::storage::segment {

absl::string_view FieldsText(TextFields fields) {
  switch (fields) {
    case TextFields::kTitle:
      return "in the title";
    case TextFields::kBody:
      return "in the body";
    case TextFields::kTitleAndBody:
      break;
  }
  return "in title and body";
}

std::string QuotedTerm(const PlanNode& node, absl::string_view term) {
  const absl::string_view field =
      node.keyword_field == TermField::kSource ? "source:"
      : node.keyword_field == TermField::kTag  ? "tag:"
                                               : "";
  return absl::StrCat(field, "\"", term, "\"");
}

std::string FormatPublished(const std::pair<int64_t, int32_t>& published) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ",
                          absl::FromUnixSeconds(published.first) +
                              absl::Nanoseconds(published.second),
                          absl::UTCTimeZone());
}

v1::Explanation MakeExplanation(double value, std::string description) {
  v1::Explanation out;
  out.set_value(value);
  out.set_description(std::move(description));
  return out;
}

namespace {

// Explains the hits of one segment (in increasing doc order) into the
// explanations they point to. Hits are never looked for: each is a match of
// the plan.
absl::Status ExplainSegmentHits(
    const SegmentSnapshot& segment, const SearchSpec& spec,
    const std::vector<const PlanNode*>& proximity_terms,
    const std::vector<std::pair<const TopK::Entry*, v1::Explanation*>>& hits) {
  SegmentContext context(segment, spec.bm25);
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<Iter> root,
                        BuildIter(&context, *spec.root));
  std::unique_ptr<ProximityScorer> proximity;
  if (ScoresProximity(spec, proximity_terms)) {
    proximity = std::make_unique<ProximityScorer>();
    SIFT_RETURN_IF_ERROR(proximity->Init(&context, proximity_terms));
  }
  for (const auto& [entry, out] : hits) {
    root->SeekTo(entry->raw + 1);
    SIFT_RETURN_IF_ERROR(context.status());
    if (root->doc() != entry->raw + 1) {
      return absl::InternalError(
          absl::StrCat("explaining hit \"", entry->id, "\" of segment ",
                       segment.segment->id(), ": the query does not match it"));
    }
    v1::Explanation query = root->Explain();
    size_t present = 0;
    if (proximity != nullptr) {
      SIFT_ASSIGN_OR_RETURN(present, proximity->MoveTo(entry->raw));
    }
    if (present < 2) {
      *out = std::move(query);
      continue;
    }
    SIFT_ASSIGN_OR_RETURN(v1::Explanation bonus,
                          proximity->Explain(entry->raw));
    // The order of the search: the query's score, then the bonus.
    out->set_value(query.value() + bonus.value());
    out->set_description(
        "sum of the query's score and the term proximity bonus:");
    *out->add_details() = std::move(query);
    *out->add_details() = std::move(bonus);
  }
  return context.status();
}

}  // namespace

absl::StatusOr<std::vector<v1::Explanation>> ExplainHits(
    absl::Span<const SegmentSnapshot> segments,
    absl::Span<const TopK::Entry> hits, const SearchSpec& spec,
    const std::vector<const PlanNode*>& proximity_terms) {
  std::vector<v1::Explanation> explanations(hits.size());
  std::vector<std::pair<const TopK::Entry*, v1::Explanation*>> order;
  for (size_t i = 0; i < hits.size(); ++i) {
    order.emplace_back(&hits[i], &explanations[i]);
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first->segment != b.first->segment
               ? a.first->segment < b.first->segment
               : a.first->raw < b.first->raw;
  });
  for (size_t i = 0; i < order.size();) {
    size_t end = i;
    while (end < order.size() &&
           order[end].first->segment == order[i].first->segment) {
      ++end;
    }
    SIFT_RETURN_IF_ERROR(ExplainSegmentHits(
        segments[order[i].first->segment], spec, proximity_terms,
        {order.begin() + i, order.begin() + end}));
    i = end;
  }
  return explanations;
}

}  // namespace sift::storage::segment
