#include "services/storage/segment/live_docs.h"

namespace sift::storage::segment {

std::shared_ptr<const LiveDocs> LiveDocs::AllLive(uint32_t doc_count) {
  return std::shared_ptr<const LiveDocs>(new LiveDocs(doc_count));
}

std::shared_ptr<const LiveDocs> LiveDocs::WithDeletedDocs(
    uint32_t doc_count, absl::Span<const uint32_t> deleted) {
  std::shared_ptr<LiveDocs> out(new LiveDocs(doc_count));
  for (uint32_t doc : deleted) out->Delete(doc);
  return out;
}

std::shared_ptr<const LiveDocs> LiveDocs::PlusDeleted(
    absl::Span<const uint32_t> docs) const {
  auto out = std::make_shared<LiveDocs>(*this);
  for (uint32_t doc : docs) out->Delete(doc);
  return out;
}

void LiveDocs::Delete(uint32_t doc) {
  if (doc >= doc_count_) return;
  uint64_t& word = bits_[doc >> 6];
  const uint64_t bit = uint64_t{1} << (doc & 63);
  if ((word & bit) != 0) return;
  word |= bit;
  ++deleted_count_;
}

}  // namespace sift::storage::segment
