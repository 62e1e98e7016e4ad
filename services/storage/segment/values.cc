#include "services/storage/segment/values.h"

#include <algorithm>

namespace sift::storage::segment {

void SegmentValues::Append(absl::string_view key_prefix,
                           absl::string_view key_rest,
                           absl::string_view value) {
  entries_.push_back(Entry{
      data_.size(), static_cast<uint32_t>(key_prefix.size() + key_rest.size()),
      static_cast<uint32_t>(value.size())});
  data_.append(key_prefix.data(), key_prefix.size());
  data_.append(key_rest.data(), key_rest.size());
  data_.append(value.data(), value.size());
}

void SegmentValues::Append(const SegmentValues& other) {
  const uint64_t base = data_.size();
  data_.append(other.data_);
  entries_.reserve(entries_.size() + other.entries_.size());
  for (Entry e : other.entries_) {
    e.offset += base;
    entries_.push_back(e);
  }
}

size_t SegmentValues::LowerBound(absl::string_view key) const {
  size_t low = 0, high = entries_.size();
  while (low < high) {
    const size_t mid = low + (high - low) / 2;
    if (this->key(mid) < key) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low;
}

std::optional<absl::string_view> SegmentValues::Find(
    absl::string_view key) const {
  const size_t i = LowerBound(key);
  if (i == entries_.size() || this->key(i) != key) return std::nullopt;
  return value(i);
}

bool SegmentValues::Sorted() const {
  for (size_t i = 1; i < entries_.size(); ++i) {
    if (!(key(i - 1) < key(i))) return false;
  }
  return true;
}

}  // namespace sift::storage::segment
