#ifndef SIFT_SERVICES_INGEST_JSON_DOCUMENT_H_
#define SIFT_SERVICES_INGEST_JSON_DOCUMENT_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "sift/v1/document.pb.h"

namespace sift::ingest {

// Parses one JSON object (RFC 8259, strict: no comments, no trailing commas,
// white space around it allowed) into `*document`, which is cleared first.
// Two shapes are accepted, and may be mixed:
//   - the corpus format: {"id", "title", "body", "date": "YYYY-MM-DD",
//     "source", "tags": [...]};
//   - the JSON form of sift.v1.Document: "published_at" (or "publishedAt")
//     as RFC 3339 or YYYY-MM-DD, "url", "language", and "attributes" as an
//     object of strings.
// A key set to null counts as absent. Keys not listed above are skipped
// (their values must still be well-formed JSON). The parser does not check
// UTF-8; DocumentValidator does.
//
// Errors are INVALID_ARGUMENT with a message starting "json: " that gives a
// byte offset into `json`, e.g. `json: expected string for "title" at byte
// 27` or `json: invalid at byte 12: expected ':' after an object key`. On
// error `*document` keeps the fields read before the error, so that a caller
// can still name the document by its id when "id" came first.
//
// Thread-safe; about as fast as the input can be copied (see
// docs/ingest.md for figures).
absl::Status ParseJsonDocument(absl::string_view json, v1::Document* document);

}  // namespace sift::ingest

#endif  // SIFT_SERVICES_INGEST_JSON_DOCUMENT_H_
