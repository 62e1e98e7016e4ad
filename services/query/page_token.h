#ifndef SIFT_SERVICES_QUERY_PAGE_TOKEN_H_
#define SIFT_SERVICES_QUERY_PAGE_TOKEN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sift/v1/query.pb.h"
#include "sift/v1/storage.pb.h"

namespace sift::query {

// The collection statistics of a search's first page, frozen for the pages
// after it: scores computed with them stay equal to the first page's, so
// that a relevance cursor still points where it did when documents are
// added in between. The terms are not kept: they are the plan's
// stats_terms, re-derived from the query that the fingerprint pins.
struct FrozenStats {
  uint64_t doc_count = 0;
  uint64_t total_title_terms = 0;
  uint64_t total_body_terms = 0;
  // Aligned with the plan's stats_terms.
  std::vector<uint64_t> doc_freqs;

  friend bool operator==(const FrozenStats&, const FrozenStats&) = default;
};

// Where a next_page_token resumes: after the sort key of the last hit of
// the previous page, with the statistics of the first.
struct PageCursor {
  // SearchFingerprint of the search the token belongs to.
  uint64_t fingerprint = 0;
  // The last hit returned: for relevance its score (all 64 bits) and id;
  // for the date orders its published_at, or undated, and id.
  v1::SearchAfter after;
  // Absent for a search that needs no statistics (match-all).
  std::optional<FrozenStats> stats;
};

// Whether `a` and `b` hold the same position, bit for bit.
bool SameCursor(const PageCursor& a, const PageCursor& b);

// The opaque, URL-safe token for `cursor`: unpadded web-safe base64 of
//   version byte (2) | fingerprint (8 bytes)
//   | key kind (1 byte: 0 score, 1 dated, 2 undated)
//   | score (8 bytes, the IEEE 754 bits) or seconds (zigzag varint) and
//     nanos (varint), or nothing
//   | id length (varint) | id
//   | stats flag (1 byte) [| doc_count | total_title_terms
//     | total_body_terms | n | n doc_freqs, each a varint]
//   | checksum (4 bytes, over everything before it).
// A two-word relevance query with ids of a few bytes makes about 40 bytes,
// some 55 characters; each further query term adds one to four bytes. The
// checksum catches damaged or hand-edited tokens; it is not a signature,
// and needs none: a token grants nothing that a search does not.
std::string EncodePageToken(const PageCursor& cursor);

// The cursor in `token`. INVALID_ARGUMENT, with a message starting
// "page_token: ", when it does not decode, comes from another version, or
// fails its checksum.
absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token);

// A stable hash of what must not change between the pages of one search:
// the query, the filters, the sort, the default operator and the page size
// (each as the server reads it: unspecified sort and operator are their
// defaults, page size 0 is `page_size`).
uint64_t SearchFingerprint(const v1::SearchRequest& request,
                           uint32_t page_size);

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_PAGE_TOKEN_H_
