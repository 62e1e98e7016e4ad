#include "services/query/hit_merge.h"

#include <algorithm>
#include <utility>

namespace sift::query {
namespace {

// -1, 0 or 1 as a is earlier than, equal to or later than b.
int CompareTimes(const google::protobuf::Timestamp& a,
                 const google::protobuf::Timestamp& b) {
  if (a.seconds() != b.seconds()) return a.seconds() < b.seconds() ? -1 : 1;
  if (a.nanos() != b.nanos()) return a.nanos() < b.nanos() ? -1 : 1;
  return 0;
}

}  // namespace

bool HitBefore(const v1::ShardHit& a, const v1::ShardHit& b,
               v1::SortOrder sort) {
  switch (sort) {
    case v1::SORT_ORDER_PUBLISHED_DESC:
    case v1::SORT_ORDER_PUBLISHED_ASC: {
      const bool a_dated = a.has_published_at();
      const bool b_dated = b.has_published_at();
      if (a_dated != b_dated) return a_dated;
      if (a_dated) {
        const int c = CompareTimes(a.published_at(), b.published_at());
        if (c != 0) return sort == v1::SORT_ORDER_PUBLISHED_ASC ? c < 0 : c > 0;
      }
      break;
    }
    default:
      if (a.score() != b.score()) return a.score() > b.score();
      break;
  }
  return a.id() < b.id();
}

std::vector<ShardHitRef> MergeShardHits(std::vector<ShardHitRef> hits,
                                        v1::SortOrder sort, size_t limit) {
  auto before = [sort](const ShardHitRef& a, const ShardHitRef& b) {
    return HitBefore(a.hit, b.hit, sort);
  };
  if (hits.size() > limit) {
    std::partial_sort(hits.begin(), hits.begin() + limit, hits.end(), before);
    hits.resize(limit);
  } else {
    std::sort(hits.begin(), hits.end(), before);
  }
  return hits;
}

}  // namespace sift::query
