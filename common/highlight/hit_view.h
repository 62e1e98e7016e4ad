#ifndef SIFT_COMMON_HIGHLIGHT_HIT_VIEW_H_
#define SIFT_COMMON_HIGHLIGHT_HIT_VIEW_H_

// What a hit shows of its document (v1::HitView): its display fields and,
// with highlighting, its snippets. Shards make them for the hits they
// return, so that no document body travels with a search; the query
// service makes them from whole documents only for a shard of an earlier
// version.

#include <string>

#include "absl/status/statusor.h"
#include "common/analysis/analyzer.h"
#include "common/highlight/highlights.h"
#include "sift/v1/document.pb.h"
#include "sift/v1/storage.pb.h"

namespace sift::highlight {

// A v1::HitViewRequest, decoded.
struct HitViewOptions {
  bool highlight = false;
  Highlights title;
  Highlights body;
  SnippetOptions snippet;
};

v1::HitViewRequest ToProto(const HitViewOptions& options);
// INVALID_ARGUMENT naming the field under `path` for a fragment length or
// a marker outside the bounds of highlights.h, or too many entries.
absl::StatusOr<HitViewOptions> FromProto(const v1::HitViewRequest& proto,
                                         const std::string& path);

// The view of `doc` (found), its snippets made with `analyzer` when
// options.highlight. Thread-safe.
v1::HitView MakeHitView(const v1::Document& doc, const HitViewOptions& options,
                        const analysis::Analyzer& analyzer);
// The view of a fetched document: as above when it was found, else only
// its id with `found` false (deleted since the search).
v1::HitView MakeHitView(const v1::FetchResult& result,
                        const HitViewOptions& options,
                        const analysis::Analyzer& analyzer);

}  // namespace sift::highlight

#endif  // SIFT_COMMON_HIGHLIGHT_HIT_VIEW_H_
