#include "services/storage/segment/proximity.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace sift::storage::segment {
namespace {

void CollectProximityTerms(const PlanNode& node,
                           std::vector<const PlanNode*>* terms) {
  switch (node.kind) {
    case PlanNode::Kind::kTerm:
      if (node.fields == TextFields::kTitleAndBody &&
          std::none_of(
              terms->begin(), terms->end(),
              [&node](const PlanNode* t) { return t->term == node.term; })) {
        terms->push_back(&node);
      }
      return;
    case PlanNode::Kind::kBoolean:
      for (const PlanNode& child : node.must) {
        CollectProximityTerms(child, terms);
      }
      for (const PlanNode& child : node.should) {
        CollectProximityTerms(child, terms);
      }
      return;
    default:
      return;
  }
}

}  // namespace

std::vector<const PlanNode*> ProximityTerms(const PlanNode& root) {
  std::vector<const PlanNode*> terms;
  CollectProximityTerms(root, &terms);
  return terms;
}

bool ScoresProximity(const SearchSpec& spec,
                     const std::vector<const PlanNode*>& terms) {
  return spec.bm25->params().proximity_weight > 0 && terms.size() >= 2;
}

absl::Status ProximityScorer::Init(
    SegmentContext* context, const std::vector<const PlanNode*>& terms,
    absl::Span<const std::pair<const PlanNode*, PostingCursor*>> borrowed) {
  context_ = context;
  const size_t n = terms.size();
  // Sized once: terms hold pointers to their own cursors.
  terms_.resize(n);
  title_.assign(n, {});
  body_.assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    Term& term = terms_[i];
    term.node = terms[i];
    idfs_.push_back(terms[i]->idf);
    names_.push_back(terms[i]->term);
    for (const auto& [node, cursor] : borrowed) {
      if (node == terms[i]) term.cursor = cursor;
    }
    if (term.cursor == nullptr) {
      SIFT_ASSIGN_OR_RETURN(
          std::optional<absl::string_view> postings,
          context->Load(PostingsKey(TermField::kText, terms[i]->term)));
      if (postings) {
        SIFT_RETURN_IF_ERROR(term.own.Init(*postings));
        term.cursor = &term.own;
      }
    }
    if (term.cursor != nullptr) {
      segment_bound_ += ShareBound(i, term.cursor->header().impacts);
    }
  }
  segment_bound_ = WithRoundingMargin(segment_bound_);
  return absl::OkStatus();
}

double ProximityScorer::ShareBound(size_t i, const Impacts& impacts) const {
  double bound = 0.0;
  for (const Impact& impact : impacts) {
    bound =
        std::max(bound, context_->bm25().ProximityBound(
                            idfs_[i], impact.max_tf_title, impact.max_tf_body,
                            Bm25f::kAnyOccurrences, Bm25f::kAnyOccurrences,
                            impact.min_title_length, impact.min_body_length));
  }
  return bound;
}

absl::StatusOr<size_t> ProximityScorer::MoveTo(uint32_t raw) {
  size_t present = 0;
  for (Term& term : terms_) {
    term.tf_title = term.tf_body = 0;
    if (term.cursor == nullptr) continue;
    // A no-op for a cursor already there, as WAND's are; an iterator tree
    // may not have moved a should clause's cursor this far.
    term.cursor->SeekTo(raw);
    SIFT_RETURN_IF_ERROR(term.cursor->status());
    if (term.cursor->doc() != raw) continue;
    term.tf_title = term.cursor->tf_title();
    term.tf_body = term.cursor->tf_body();
    ++present;
  }
  return present;
}

double ProximityScorer::Bound(uint32_t raw) {
  uint32_t all_title = 0, all_body = 0;
  for (const Term& term : terms_) {
    all_title += term.tf_title;
    all_body += term.tf_body;
  }
  const Columns& c = context_->columns();
  const Bm25f& bm25 = context_->bm25();
  const Bm25f::LengthNorms norms =
      bm25.Norms(c.lengths[raw].title, c.lengths[raw].body);
  double bound = 0.0;
  for (size_t i = 0; i < terms_.size(); ++i) {
    const Term& term = terms_[i];
    if (term.tf_title == 0 && term.tf_body == 0) continue;
    bound += bm25.ProximityBound(idfs_[i], term.tf_title, term.tf_body,
                                 all_title - term.tf_title,
                                 all_body - term.tf_body, norms);
  }
  return WithRoundingMargin(bound);
}

absl::Status ProximityScorer::ReadPositions(uint32_t raw) {
  for (size_t i = 0; i < terms_.size(); ++i) {
    Term& term = terms_[i];
    title_[i].clear();
    body_[i].clear();
    if (term.tf_title == 0 && term.tf_body == 0) continue;
    if (!term.positions_loaded) {
      SIFT_RETURN_IF_ERROR(
          context_->OpenPositions(term.node->term, &term.positions));
      term.positions_loaded = true;
    }
    PostingCursor& cursor = *term.cursor;
    SIFT_RETURN_IF_ERROR(term.positions.Read(
        cursor.block_index(), cursor.index_in_block(), cursor.block_tf_title(),
        cursor.block_tf_body(), &title_[i], &body_[i]));
  }
  return absl::OkStatus();
}

absl::StatusOr<double> ProximityScorer::Bonus(uint32_t raw) {
  SIFT_RETURN_IF_ERROR(ReadPositions(raw));
  const Columns& c = context_->columns();
  return context_->bm25().Proximity(idfs_, title_, body_, c.lengths[raw].title,
                                    c.lengths[raw].body);
}

absl::StatusOr<v1::Explanation> ProximityScorer::Explain(uint32_t raw) {
  SIFT_RETURN_IF_ERROR(ReadPositions(raw));
  const Columns& c = context_->columns();
  return context_->bm25().ExplainProximity(
      names_, idfs_, title_, body_, c.lengths[raw].title, c.lengths[raw].body);
}

}  // namespace sift::storage::segment
