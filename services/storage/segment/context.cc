#include "services/storage/segment/context.h"

#include <utility>

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

}  // namespace sift::storage::segment
