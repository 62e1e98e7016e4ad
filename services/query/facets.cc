#include "services/query/facets.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace sift::query {
namespace {

constexpr int64_t kDaySeconds = 86400;

absl::Status Invalid(absl::string_view path, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", reason));
}

const char* IntervalName(v1::DateInterval interval) {
  switch (interval) {
    case v1::DATE_INTERVAL_DAY:
      return "DAY";
    case v1::DATE_INTERVAL_YEAR:
      return "YEAR";
    default:
      return "MONTH";
  }
}

// The label of the bucket that starts at `start_seconds` (a midnight UTC).
std::string BucketLabel(int64_t start_seconds, v1::DateInterval interval) {
  const int64_t days =
      start_seconds / kDaySeconds - (start_seconds % kDaySeconds < 0 ? 1 : 0);
  const absl::CivilDay day = absl::CivilDay(1970, 1, 1) + days;
  switch (interval) {
    case v1::DATE_INTERVAL_DAY:
      return absl::FormatCivilTime(day);
    case v1::DATE_INTERVAL_YEAR:
      return absl::FormatCivilTime(absl::CivilYear(day));
    default:
      return absl::FormatCivilTime(absl::CivilMonth(day));
  }
}

absl::StatusOr<v1::FacetResult> MergeKeywords(
    const v1::FacetRequest& request,
    absl::Span<const v1::ShardFacetCounts* const> shards) {
  v1::FacetResult result;
  result.set_field(request.field());
  absl::flat_hash_map<std::string, uint64_t> sums;
  uint64_t total = 0;
  for (const v1::ShardFacetCounts* shard : shards) {
    for (const v1::ShardFacetCount& count : shard->counts()) {
      sums[count.value()] += count.count();
    }
    total += shard->total_count();
    result.set_missing_count(result.missing_count() + shard->missing_count());
    if (shard->truncated()) result.set_incomplete(true);
  }
  std::vector<std::pair<std::string, uint64_t>> values(sums.begin(),
                                                       sums.end());
  const size_t size = std::min<size_t>(
      values.size(), request.size() == 0 ? kDefaultFacetSize : request.size());
  std::partial_sort(values.begin(), values.begin() + size, values.end(),
                    [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second
                                                  : a.first < b.first;
                    });
  uint64_t returned = 0;
  for (size_t i = 0; i < size; ++i) {
    v1::FacetBucket* bucket = result.add_buckets();
    bucket->set_value(std::move(values[i].first));
    bucket->set_count(values[i].second);
    returned += values[i].second;
  }
  // A shard's total counts the values it left out past its cap too, so the
  // difference is every count not returned.
  result.set_other_count(total > returned ? total - returned : 0);
  return result;
}

absl::StatusOr<v1::FacetResult> MergeDates(
    const v1::FacetRequest& request,
    absl::Span<const v1::ShardFacetCounts* const> shards,
    absl::string_view path) {
  v1::FacetResult result;
  result.set_field(request.field());
  result.set_interval(request.interval());
  std::map<int64_t, uint64_t> buckets;
  bool truncated = false;
  for (const v1::ShardFacetCounts* shard : shards) {
    for (const v1::ShardFacetCount& count : shard->counts()) {
      buckets[count.start_seconds()] += count.count();
    }
    result.set_missing_count(result.missing_count() + shard->missing_count());
    truncated |= shard->truncated();
  }
  if (truncated || buckets.size() > kMaxDateBuckets) {
    return Invalid(
        path, absl::StrCat("the published_at histogram has ",
                           truncated ? "more than " : "", buckets.size(),
                           " non-empty ", IntervalName(request.interval()),
                           " buckets, over the limit of ", kMaxDateBuckets,
                           "; ask for a coarser interval or narrow the dates "
                           "with filters"));
  }
  for (const auto& [start, count] : buckets) {
    v1::FacetBucket* bucket = result.add_buckets();
    bucket->set_value(BucketLabel(start, request.interval()));
    bucket->set_count(count);
    bucket->mutable_start()->set_seconds(start);
  }
  return result;
}

}  // namespace

absl::StatusOr<std::vector<v1::FacetRequest>> ValidateFacets(
    const google::protobuf::RepeatedPtrField<v1::FacetRequest>& facets) {
  std::vector<v1::FacetRequest> out;
  // (field, interval) of each facet so far -> its index, to refuse repeats.
  absl::flat_hash_map<std::pair<int, int>, int> seen;
  for (int i = 0; i < facets.size(); ++i) {
    v1::FacetRequest facet = facets.Get(i);
    const std::string path = absl::StrCat("facets[", i, "]");
    if (facet.field() == v1::FACET_FIELD_UNSPECIFIED) {
      return Invalid(path + ".field",
                     "required; use FACET_FIELD_SOURCE, FACET_FIELD_TAGS or "
                     "FACET_FIELD_PUBLISHED_AT");
    }
    if (!v1::FacetField_IsValid(facet.field())) {
      return Invalid(path + ".field",
                     absl::StrCat("unknown value ", facet.field(),
                                  "; use FACET_FIELD_SOURCE, FACET_FIELD_TAGS "
                                  "or FACET_FIELD_PUBLISHED_AT"));
    }
    if (!v1::DateInterval_IsValid(facet.interval())) {
      return Invalid(path + ".interval",
                     absl::StrCat("unknown value ", facet.interval(),
                                  "; use DATE_INTERVAL_DAY, "
                                  "DATE_INTERVAL_MONTH or DATE_INTERVAL_YEAR"));
    }
    if (facet.field() == v1::FACET_FIELD_PUBLISHED_AT) {
      if (facet.size() != 0) {
        return Invalid(path + ".size",
                       "only source and tags facets take a size; a "
                       "published_at histogram returns every non-empty "
                       "bucket");
      }
      if (facet.interval() == v1::DATE_INTERVAL_UNSPECIFIED) {
        facet.set_interval(v1::DATE_INTERVAL_MONTH);
      }
    } else {
      if (facet.interval() != v1::DATE_INTERVAL_UNSPECIFIED) {
        return Invalid(path + ".interval",
                       "only a published_at facet takes an interval");
      }
      if (facet.size() > kMaxFacetSize) {
        return Invalid(path + ".size",
                       absl::StrCat(facet.size(), " is over the limit of ",
                                    kMaxFacetSize));
      }
      if (facet.size() == 0) facet.set_size(kDefaultFacetSize);
    }
    const auto [it, inserted] =
        seen.try_emplace(std::make_pair(facet.field(), facet.interval()), i);
    if (!inserted) {
      return Invalid(path, absl::StrCat("the same facet as facets[", it->second,
                                        "]; ask for each once"));
    }
    out.push_back(std::move(facet));
  }
  return out;
}

bool FacetAnswers(const v1::FacetRequest& request,
                  const v1::ShardFacetCounts& counts) {
  if (counts.field() != request.field()) return false;
  return request.field() != v1::FACET_FIELD_PUBLISHED_AT ||
         counts.interval() == request.interval();
}

absl::StatusOr<v1::FacetResult> MergeFacet(
    const v1::FacetRequest& request,
    absl::Span<const v1::ShardFacetCounts* const> shards,
    absl::string_view path) {
  if (request.field() == v1::FACET_FIELD_PUBLISHED_AT) {
    return MergeDates(request, shards, path);
  }
  return MergeKeywords(request, shards);
}

}  // namespace sift::query
