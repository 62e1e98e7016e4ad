#ifndef SIFT_SERVICES_STORAGE_OP_LOG_EXTENT_H_
#define SIFT_SERVICES_STORAGE_OP_LOG_EXTENT_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace sift::storage {

// What the op log holds, in memory: each retained write's sequence number
// and size, oldest first, so that trimming needs no scan of RocksDB. Not
// thread-safe; the index guards it.
class OpLogExtent {
 public:
  // Sequence numbers must follow the last one.
  void Add(uint64_t seq, size_t bytes) {
    writes_.emplace_back(seq, bytes);
    bytes_ += bytes;
  }

  // The sequence numbers [first, end) to drop so that at most `max_writes`
  // writes and `max_bytes` bytes remain, or nullopt while the log is within
  // an eighth over both: trimming in steps keeps range deletions rare. Only
  // writes up to `applied` are dropped; the others still wait to be
  // applied.
  std::optional<std::pair<uint64_t, uint64_t>> TrimDue(size_t max_writes,
                                                       size_t max_bytes,
                                                       uint64_t applied) const {
    if (writes_.size() <= max_writes + max_writes / 8 &&
        bytes_ <= max_bytes + max_bytes / 8) {
      return std::nullopt;
    }
    size_t count = writes_.size();
    size_t bytes = bytes_;
    size_t n = 0;
    while (n < writes_.size() && writes_[n].first <= applied &&
           (count > max_writes || bytes > max_bytes)) {
      --count;
      bytes -= writes_[n].second;
      ++n;
    }
    if (n == 0) return std::nullopt;
    const uint64_t end =
        n < writes_.size() ? writes_[n].first : writes_.back().first + 1;
    return std::make_pair(writes_.front().first, end);
  }

  // Forgets the writes before `end`.
  void DropBefore(uint64_t end) {
    while (!writes_.empty() && writes_.front().first < end) {
      bytes_ -= writes_.front().second;
      writes_.pop_front();
    }
  }

  // Forgets the writes after `seq`.
  void DropAfter(uint64_t seq) {
    while (!writes_.empty() && writes_.back().first > seq) {
      bytes_ -= writes_.back().second;
      writes_.pop_back();
    }
  }

  bool empty() const { return writes_.empty(); }
  size_t size() const { return writes_.size(); }
  size_t bytes() const { return bytes_; }
  uint64_t first() const { return writes_.front().first; }
  uint64_t last() const { return writes_.back().first; }

 private:
  std::deque<std::pair<uint64_t, size_t>> writes_;
  size_t bytes_ = 0;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_OP_LOG_EXTENT_H_
