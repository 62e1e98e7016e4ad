#ifndef SIFT_SERVICES_STORAGE_SEGMENT_BUILDER_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/storage/segment/live_docs.h"
#include "services/storage/segment/segment.h"
#include "services/storage/segment/values.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage::segment {

// One document of a new segment, already checked: terms non-empty and free
// of NUL bytes, keywords normalised.
struct SegmentDocument {
  const v1::AnalyzedDocument* analyzed = nullptr;
  std::string source;             // normalised; empty when none
  std::vector<std::string> tags;  // normalised, distinct, non-empty
};

// The values of a segment of `docs`, doc i getting doc number i.
// INTERNAL only on a broken invariant.
absl::StatusOr<SegmentValues> BuildSegment(
    absl::Span<const SegmentDocument> docs);

// Writes the values of one segment holding the live documents of `sources`
// (as their LiveDocs say), in order: the postings to `postings_out`, the
// rest (columns, meta, positions) to `out`, each in key order. The two
// streams go out side by side as terms are merged, so a merge holds
// neither in memory: a segment's postings sort after its positions, and a
// single stream would have to keep the postings until the positions were
// done (over a gigabyte for a merge into five million documents). A term's
// positions go out chunk by chunk as they fill (kPositionBlocksPerChunk).
// (*doc_maps)[s][d] is the new number of document d of source s, or
// kNoMoreDocs when it was dropped. DATA_LOSS when a source is corrupt; the
// sinks' own errors are passed on.
absl::Status MergeSegments(absl::Span<const SegmentSnapshot> sources,
                           std::vector<std::vector<uint32_t>>* doc_maps,
                           ValueSink* out, ValueSink* postings_out);

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_BUILDER_H_
