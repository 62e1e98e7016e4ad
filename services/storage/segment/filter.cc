#include "services/storage/segment/filter.h"

#include "common/status/status_macros.h"

namespace sift::storage::segment {

absl::StatusOr<bool> SegmentFilter::Init(SegmentContext* context,
                                         const FilterSpec& spec) {
  context_ = context;
  spec_ = &spec;
  check_deleted_ = context->live_docs().deleted_count() > 0;
  for (const std::string& source : spec.sources) {
    SIFT_ASSIGN_OR_RETURN(
        std::unique_ptr<Iter> iter,
        BuildKeywordIter(context, TermField::kSource, source));
    if (iter != nullptr) sources_.push_back(std::move(iter));
  }
  if (!spec.sources.empty() && sources_.empty()) return false;
  for (const std::string& tag : spec.tags) {
    SIFT_ASSIGN_OR_RETURN(std::unique_ptr<Iter> iter,
                          BuildKeywordIter(context, TermField::kTag, tag));
    if (iter == nullptr) return false;
    tags_.push_back(std::move(iter));
  }
  dates_ = spec.from.has_value() || spec.to.has_value();
  filtering_ = !sources_.empty() || !tags_.empty() || dates_;
  return true;
}

bool SegmentFilter::PassesFilters(uint32_t raw) {
  const uint32_t doc = raw + 1;
  if (!sources_.empty()) {
    bool any = false;
    for (auto& source : sources_) {
      source->SeekTo(doc);
      if (source->doc() == doc) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  for (auto& tag : tags_) {
    tag->SeekTo(doc);
    if (tag->doc() != doc) return false;
  }
  if (dates_) {
    const Published published = context_->columns().published(raw);
    if (!published) return false;
    if (spec_->from && *published < *spec_->from) return false;
    if (spec_->to && !(*published < *spec_->to)) return false;
  }
  return true;
}

}  // namespace sift::storage::segment
