#include "services/storage/segment/values.h"

#include <algorithm>

#include "common/codec/varint.h"

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

void SegmentValues::SerializeTo(std::string* out) const {
  codec::PutVarint64(out, entries_.size());
  for (const Entry& e : entries_) {
    codec::PutVarint32(out, e.key_size);
    codec::PutVarint32(out, e.value_size);
  }
  // Entries are appended in order and never rewritten, so data_ holds
  // exactly their keys and values, in order.
  out->append(data_);
}

absl::StatusOr<SegmentValues> SegmentValues::Parse(absl::string_view in) {
  const auto corrupt = [] {
    return absl::DataLossError("corrupt segment values");
  };
  uint64_t count = 0;
  if (!codec::GetVarint64(&in, &count) || count > in.size() / 2) {
    return corrupt();
  }
  SegmentValues out;
  out.entries_.reserve(count);
  uint64_t offset = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t key_size = 0, value_size = 0;
    if (!codec::GetVarint32(&in, &key_size) ||
        !codec::GetVarint32(&in, &value_size)) {
      return corrupt();
    }
    out.entries_.push_back(Entry{offset, key_size, value_size});
    offset += uint64_t{key_size} + value_size;
  }
  if (offset != in.size()) return corrupt();
  out.data_.assign(in.data(), in.size());
  if (!out.Sorted()) return corrupt();
  return out;
}

bool SegmentValues::Sorted() const {
  for (size_t i = 1; i < entries_.size(); ++i) {
    if (!(key(i - 1) < key(i))) return false;
  }
  return true;
}

}  // namespace sift::storage::segment
