#include "services/storage/segment/top_k.h"

namespace sift::storage::segment {

std::vector<TopK::Entry> TopK::Sorted() const {
  std::vector<Entry> out = heap_;
  std::sort(out.begin(), out.end(),
            [this](const Entry& a, const Entry& b) { return Better(a, b); });
  return out;
}

}  // namespace sift::storage::segment
