#include "services/storage/segment/facets.h"

#include <bit>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status/status_macros.h"
#include "services/storage/segment/postings.h"

namespace sift::storage::segment {
namespace {

// Adds to `counts` how many of the `matched` documents of `segment` carry
// each value of the keyword `field`, and those that carry none. Walks the
// field's whole dictionary and postings: the cost is the size of the
// keyword postings, whatever the number of matches.
absl::Status CountKeywordFacet(const Segment& segment, TermField field,
                               const std::vector<uint64_t>& matched,
                               FacetCounts* counts) {
  // Matches not yet seen with a value: left over, they are the missing.
  std::vector<uint64_t> unseen = matched;
  const std::string first(1, static_cast<char>(field));
  std::unique_ptr<Segment::PostingsIterator> it =
      segment.NewPostingsIterator(kPostingsTag, first);
  for (; it->Valid(); it->Next()) {
    const absl::string_view key = it->key().substr(1);  // field + value
    if (key.empty() || key[0] != first[0]) break;
    PostingCursor cursor;
    SIFT_RETURN_IF_ERROR(cursor.Init(it->value()));
    uint64_t count = 0;
    for (cursor.Next(); cursor.doc() != kNoMoreDocs; cursor.Next()) {
      const uint32_t raw = cursor.doc();
      if (raw >= segment.doc_count()) {
        return absl::DataLossError(absl::StrCat(
            "segment ", segment.id(), " has a posting past its last doc"));
      }
      const uint64_t bit = uint64_t{1} << (raw & 63);
      if ((matched[raw >> 6] & bit) != 0) {
        ++count;
        unseen[raw >> 6] &= ~bit;
      }
    }
    SIFT_RETURN_IF_ERROR(cursor.status());
    if (count > 0) counts->values[key.substr(1)] += count;
  }
  SIFT_RETURN_IF_ERROR(it->status());
  for (uint64_t word : unseen) counts->missing += std::popcount(word);
  return absl::OkStatus();
}

// Adds the `matched` documents of `segment` to the histogram in `counts`.
void CountDateFacet(const Segment& segment, FacetSpec::Unit unit,
                    const std::vector<uint64_t>& matched, FacetCounts* counts) {
  const Columns& columns = segment.columns();
  // Neighbouring documents are often from the same day: remember the last
  // day's bucket rather than redo the calendar arithmetic.
  int64_t last_day = std::numeric_limits<int64_t>::min();
  uint64_t* last_bucket = nullptr;
  for (size_t w = 0; w < matched.size(); ++w) {
    for (uint64_t bits = matched[w]; bits != 0; bits &= bits - 1) {
      const auto raw = static_cast<uint32_t>((w << 6) + std::countr_zero(bits));
      const Published published = columns.published(raw);
      if (!published) {
        ++counts->missing;
        continue;
      }
      const int64_t seconds = published->first;
      const int64_t day = seconds / 86400 - (seconds % 86400 < 0 ? 1 : 0);
      if (day != last_day) {
        last_day = day;
        last_bucket = &counts->buckets[BucketStart(seconds, unit)];
      }
      ++*last_bucket;
    }
  }
}

}  // namespace

absl::Status CountFacets(const Segment& segment,
                         const std::vector<FacetSpec>& facets,
                         const std::vector<uint64_t>& matched,
                         std::vector<FacetCounts>* counts) {
  for (size_t i = 0; i < facets.size(); ++i) {
    switch (facets[i].kind) {
      case FacetSpec::Kind::kSource:
        SIFT_RETURN_IF_ERROR(CountKeywordFacet(segment, TermField::kSource,
                                               matched, &(*counts)[i]));
        break;
      case FacetSpec::Kind::kTags:
        SIFT_RETURN_IF_ERROR(CountKeywordFacet(segment, TermField::kTag,
                                               matched, &(*counts)[i]));
        break;
      case FacetSpec::Kind::kPublished:
        CountDateFacet(segment, facets[i].unit, matched, &(*counts)[i]);
        break;
    }
  }
  return absl::OkStatus();
}

int64_t BucketStart(int64_t seconds, FacetSpec::Unit unit) {
  constexpr int64_t kDaySeconds = 86400;
  const int64_t days =
      seconds / kDaySeconds - (seconds % kDaySeconds < 0 ? 1 : 0);
  if (unit == FacetSpec::Unit::kDay) return days * kDaySeconds;
  const absl::CivilDay epoch(1970, 1, 1);
  const absl::CivilDay day = epoch + days;
  const absl::CivilDay first = unit == FacetSpec::Unit::kMonth
                                   ? absl::CivilDay(absl::CivilMonth(day))
                                   : absl::CivilDay(absl::CivilYear(day));
  return (first - epoch) * kDaySeconds;
}

}  // namespace sift::storage::segment
