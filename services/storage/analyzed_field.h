#ifndef SIFT_SERVICES_STORAGE_ANALYZED_FIELD_H_
#define SIFT_SERVICES_STORAGE_ANALYZED_FIELD_H_

// The dictionary coding of v1::AnalyzedField, which ingest writes and the
// shard reads: the distinct terms once (`vocabulary`) and per position the
// index of its term (`term_ids`). Documents repeat most of their words, so
// this is about half the bytes of a list of strings on the wire and in the
// shard's log, and a fraction of the allocations to parse.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage {

// Replaces `out` with the coding of `terms` (term i at position i), the
// vocabulary in order of first occurrence.
void EncodeTerms(std::vector<std::string> terms, v1::AnalyzedField* out);

// The terms of `field` in position order. `field` must be valid (see
// CheckTermIds).
std::vector<std::string> DecodeTerms(const v1::AnalyzedField& field);

// The field's length in terms: its number of positions.
inline uint32_t FieldLength(const v1::AnalyzedField& field) {
  return static_cast<uint32_t>(field.term_ids_size());
}

// INVALID_ARGUMENT, naming `path`, when a term id does not index the
// vocabulary. The terms themselves are the caller's to check.
absl::Status CheckTermIds(const v1::AnalyzedField& field,
                          absl::string_view path);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_ANALYZED_FIELD_H_
