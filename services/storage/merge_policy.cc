#include "services/storage/merge_policy.h"

#include <algorithm>
#include <map>

namespace sift::storage {
namespace {

// Settling merges a segment with the smaller ones once they hold at least
// 1/kSettleRatio of its documents.
constexpr uint64_t kSettleRatio = 4;

}  // namespace

bool FlushDue(absl::Span<const SegmentStats> segments,
              const IndexOptions& options) {
  size_t docs = 0, bytes = 0, count = 0;
  for (const SegmentStats& s : segments) {
    if (!s.in_memory) continue;
    docs += s.doc_count;
    bytes += s.memory_bytes;
    ++count;
  }
  return count > 0 &&
         (docs >= options.flush_documents || bytes >= options.flush_bytes ||
          count >= options.max_memory_segments);
}

std::vector<uint32_t> PickFlush(absl::Span<const SegmentStats> segments,
                                const IndexOptions& options, bool all) {
  std::vector<uint32_t> picked;
  if (!all && !FlushDue(segments, options)) return picked;
  for (const SegmentStats& s : segments) {
    if (s.in_memory) picked.push_back(s.id);
  }
  std::sort(picked.begin(), picked.end());
  return picked;
}

std::vector<uint32_t> PickMerge(absl::Span<const SegmentStats> segments,
                                const IndexOptions& options) {
  std::vector<const SegmentStats*> stored;
  for (const SegmentStats& s : segments) {
    if (!s.in_memory) stored.push_back(&s);
  }
  std::vector<uint32_t> picked;
  const size_t factor = std::max<size_t>(2, options.merge_factor);
  std::map<int, std::vector<const SegmentStats*>> tiers;
  for (const SegmentStats* s : stored) {
    if (s->live_count > options.max_merge_documents) {
      const uint32_t deleted = s->doc_count - s->live_count;
      if (uint64_t{deleted} * 3 > s->doc_count) return {s->id};
      continue;
    }
    int tier = 0;
    for (uint64_t n = s->live_count; n >= factor; n /= factor) ++tier;
    tiers[tier].push_back(s);
  }
  for (auto& [tier, group] : tiers) {
    if (group.size() < factor) continue;
    std::stable_sort(group.begin(), group.end(),
                     [](const auto* a, const auto* b) {
                       return a->live_count < b->live_count;
                     });
    for (size_t i = 0; i < factor; ++i) picked.push_back(group[i]->id);
    return picked;
  }
  return picked;
}

std::vector<uint32_t> PickSettle(absl::Span<const SegmentStats> segments,
                                 const IndexOptions& options) {
  std::vector<const SegmentStats*> memory, mergeable;
  uint64_t memory_docs = 0;
  for (const SegmentStats& s : segments) {
    if (s.in_memory) {
      memory.push_back(&s);
      memory_docs += s.live_count;
    } else if (s.live_count <= options.max_merge_documents) {
      mergeable.push_back(&s);
    }
  }
  auto ids_of = [](std::vector<const SegmentStats*> picked) {
    std::sort(picked.begin(), picked.end(),
              [](const auto* a, const auto* b) { return a->id < b->id; });
    std::vector<uint32_t> ids;
    for (const SegmentStats* s : picked) ids.push_back(s->id);
    return ids;
  };
  if (!memory.empty()) {
    // A flushed segment smaller than what is flushed costs less to merge
    // now than in a merge of its own later.
    for (const SegmentStats* s : mergeable) {
      if (s->live_count < memory_docs) memory.push_back(s);
    }
    return ids_of(std::move(memory));
  }
  // Largest first; `rest[i]` is what the segments after i hold together.
  std::stable_sort(mergeable.begin(), mergeable.end(),
                   [](const auto* a, const auto* b) {
                     return a->live_count > b->live_count;
                   });
  const size_t n = mergeable.size();
  std::vector<uint64_t> rest(n + 1, 0);
  for (size_t i = n; i-- > 0;) rest[i] = rest[i + 1] + mergeable[i]->live_count;
  for (size_t i = 0; i + 1 < n; ++i) {
    if (rest[i + 1] * kSettleRatio < mergeable[i]->live_count) continue;
    if (rest[i] > options.max_merge_documents) continue;
    return ids_of({mergeable.begin() + i, mergeable.end()});
  }
  return {};
}

std::vector<uint32_t> PickForceMerge(absl::Span<const SegmentStats> segments,
                                     size_t max_segments) {
  max_segments = std::max<size_t>(1, max_segments);
  std::vector<const SegmentStats*> all;
  size_t memory = 0;
  for (const SegmentStats& s : segments) {
    all.push_back(&s);
    if (s.in_memory) ++memory;
  }
  std::vector<const SegmentStats*> inputs;
  if (all.size() > max_segments) {
    // Every memory segment, then the smallest flushed ones: memory
    // segments merge with the flushed ones in the same pass, so a bulk load
    // is written out once more, not twice.
    std::stable_sort(all.begin(), all.end(), [](const auto* a, const auto* b) {
      if (a->in_memory != b->in_memory) return a->in_memory;
      return a->live_count < b->live_count;
    });
    inputs.assign(
        all.begin(),
        all.begin() + std::max(all.size() - max_segments + 1, memory));
  } else {
    // Few enough segments: flush memory ones and rewrite those with
    // deletions, one at a time, so that nothing deleted is left (and
    // document frequencies are exact).
    for (const SegmentStats* s : all) {
      if (s->in_memory || s->live_count < s->doc_count) {
        inputs.push_back(s);
        break;
      }
    }
  }
  std::sort(inputs.begin(), inputs.end(),
            [](const auto* a, const auto* b) { return a->id < b->id; });
  std::vector<uint32_t> ids;
  for (const SegmentStats* s : inputs) ids.push_back(s->id);
  return ids;
}

}  // namespace sift::storage
