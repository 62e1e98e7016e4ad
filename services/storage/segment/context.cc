#include "services/storage/segment/context.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace sift::storage::segment {

absl::StatusOr<std::optional<absl::string_view>> SegmentContext::Load(
    const std::string& key) {
  auto it = loaded_.find(key);
  if (it != loaded_.end()) return it->second;
  auto holder = std::make_unique<ValueHolder>();
  SIFT_ASSIGN_OR_RETURN(bool found, segment().Get(key, holder.get()));
  std::optional<absl::string_view> value;
  if (found) {
    value = holder->value;
    holders_.push_back(std::move(holder));
  }
  loaded_.emplace(key, value);
  return value;
}

absl::Status SegmentContext::OpenPositions(absl::string_view term,
                                           PositionsReader* reader) {
  std::string key = PositionsKey(TermField::kText, term);
  SIFT_ASSIGN_OR_RETURN(std::optional<absl::string_view> chunk0, Load(key));
  if (!chunk0) {
    return absl::DataLossError(absl::StrCat("segment ", segment().id(),
                                            " lacks the positions of a term"));
  }
  auto holder = std::make_shared<ValueHolder>();
  const Segment* segment = snapshot_.segment;
  return reader->Init(
      *chunk0,
      [holder, segment, key = std::move(key)](
          uint32_t chunk) -> absl::StatusOr<absl::string_view> {
        SIFT_ASSIGN_OR_RETURN(
            bool found,
            segment->Get(key + PositionsChunkSuffix(chunk), holder.get()));
        if (!found) return absl::NotFoundError("no such positions chunk");
        return holder->value;
      });
}

}  // namespace sift::storage::segment
