#ifndef SIFT_SERVICES_STORAGE_SEGMENT_VALUES_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_VALUES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sift::storage::segment {

// Receives the values of a segment in strictly increasing key order, each
// key given as a prefix and the rest (a tag and field, then a term).
class ValueSink {
 public:
  virtual ~ValueSink() = default;
  virtual absl::Status Add(absl::string_view key_prefix,
                           absl::string_view key_rest,
                           absl::string_view value) = 0;
};

// The key/value pairs of a segment built in memory, in key order, packed
// into one buffer. A write of a few hundred documents makes tens of
// thousands of values; a tree node and two strings for each made building
// and dropping them about a tenth of the indexing time, and lookups are a
// binary search either way.
class SegmentValues final : public ValueSink {
 public:
  // Appends a pair whose key is `key_prefix` + `key_rest`. Keys must come
  // in strictly increasing order; the builders guarantee it and Sorted()
  // checks it.
  void Append(absl::string_view key_prefix, absl::string_view key_rest,
              absl::string_view value);
  absl::Status Add(absl::string_view key_prefix, absl::string_view key_rest,
                   absl::string_view value) override {
    Append(key_prefix, key_rest, value);
    return absl::OkStatus();
  }
  void Append(absl::string_view key, absl::string_view value) {
    Append(key, {}, value);
  }
  // Appends every pair of `other`, whose keys must all sort after ours.
  void Append(const SegmentValues& other);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  absl::string_view key(size_t i) const {
    const Entry& e = entries_[i];
    return absl::string_view(data_.data() + e.offset, e.key_size);
  }
  absl::string_view value(size_t i) const {
    const Entry& e = entries_[i];
    return absl::string_view(data_.data() + e.offset + e.key_size,
                             e.value_size);
  }
  // The first index whose key is not less than `key`; size() when none.
  size_t LowerBound(absl::string_view key) const;
  // The value under `key`, if any.
  std::optional<absl::string_view> Find(absl::string_view key) const;
  // Whether the keys strictly increase.
  bool Sorted() const;
  // The pairs as one string: varint count, then per pair varint key size
  // and varint value size, then the keys and values in order. A memory
  // segment is logged and shipped to copies in this form, so that
  // restoring it costs a copy rather than building it again.
  void SerializeTo(std::string* out) const;
  // The pairs back from SerializeTo's string; DATA_LOSS when `in` is not
  // one or its keys do not strictly increase.
  static absl::StatusOr<SegmentValues> Parse(absl::string_view in);

  // Bytes held, for flush decisions.
  size_t memory_bytes() const {
    return data_.capacity() + entries_.capacity() * sizeof(Entry);
  }

 private:
  struct Entry {
    uint64_t offset;  // of the key in data_; the value follows it
    uint32_t key_size;
    uint32_t value_size;
  };
  std::string data_;
  std::vector<Entry> entries_;
};

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_VALUES_H_
