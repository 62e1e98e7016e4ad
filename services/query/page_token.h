#ifndef SIFT_SERVICES_QUERY_PAGE_TOKEN_H_
#define SIFT_SERVICES_QUERY_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sift/v1/query.pb.h"

namespace sift::query {

// Where a next_page_token resumes, and a fingerprint of the search it
// belongs to.
struct PageCursor {
  uint64_t offset = 0;
  uint64_t fingerprint = 0;

  friend bool operator==(const PageCursor&, const PageCursor&) = default;
};

// The opaque, URL-safe token for `cursor`: web-safe base64 of a version
// byte, the offset, the fingerprint and a checksum. The
// checksum catches damaged or hand-edited tokens; it is not a signature,
// and needs none: a token grants nothing that `offset` does not.
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
