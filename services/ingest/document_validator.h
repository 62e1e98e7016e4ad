#ifndef SIFT_SERVICES_INGEST_DOCUMENT_VALIDATOR_H_
#define SIFT_SERVICES_INGEST_DOCUMENT_VALIDATOR_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "sift/v1/document.pb.h"

namespace sift::ingest {

// What ingest accepts. Every field is a flag of sift-ingest with the same
// name (docs/ingest.md); the defaults are the documented ones.
struct IngestLimits {
  // Documents in one Index call, one IndexStream message, or ids in one
  // Delete call.
  size_t max_batch_documents = 1000;
  // Serialized size of the documents of one Index call or stream message.
  size_t max_batch_bytes = size_t{64} << 20;
  size_t max_id_bytes = 512;
  size_t max_title_bytes = size_t{64} << 10;
  // Serialized size of one document, body included.
  size_t max_document_bytes = size_t{8} << 20;
  size_t max_source_bytes = size_t{1} << 10;
  size_t max_tags = 1000;
  size_t max_tag_bytes = size_t{1} << 10;
  size_t max_url_bytes = size_t{8} << 10;
  // BCP 47 tags are short; this only stops abuse of a stored field.
  size_t max_language_bytes = 64;
  size_t max_attributes = 1000;
};

// Checks a document id: present, at most max_id_bytes, well-formed UTF-8,
// no control characters (C0, DEL, C1). INVALID_ARGUMENT with a message
// starting "id: ", e.g. "id: too long (600 bytes, limit 512)".
absl::Status ValidateId(absl::string_view id, const IngestLimits& limits);

// Checks a whole document against `limits`: the id as above; serialized size;
// title, source, url, language and tag sizes; the number of tags and
// attributes; tags not empty (nor only white space); every string
// well-formed UTF-8; published_at, when set, from 1000-01-01 (inclusive) to
// 3000-01-01 (exclusive) with nanos in [0, 999999999].
//
// INVALID_ARGUMENT naming the document, the field and the reason:
//   document "doc-7": title: too long (70000 bytes, limit 65536)
//   document "doc-7": tags[2]: not valid UTF-8 at byte 4 (overlong encoding)
// Only the first problem found is reported. Thread-safe.
absl::Status ValidateDocument(const v1::Document& document,
                              const IngestLimits& limits);

// `document "ID": `, the prefix of every message about the document with this
// (valid) id.
std::string DocumentLabel(absl::string_view id);

}  // namespace sift::ingest

#endif  // SIFT_SERVICES_INGEST_DOCUMENT_VALIDATOR_H_
