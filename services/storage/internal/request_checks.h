#ifndef SIFT_SERVICES_STORAGE_INTERNAL_REQUEST_CHECKS_H_
#define SIFT_SERVICES_STORAGE_INTERNAL_REQUEST_CHECKS_H_

// The checks of single values that the shard's requests share. Each returns
// OK or INVALID_ARGUMENT "<path>: <what is wrong>".

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "sift/v1/document.pb.h"

namespace sift::storage::internal {

absl::Status Invalid(absl::string_view path, absl::string_view reason);

// A document id: 1 to kMaxIdBytes bytes.
absl::Status CheckId(absl::string_view id, absl::string_view path);
// An analyzed term: not empty, at most kMaxTermBytes, no NUL byte.
absl::Status CheckTerm(absl::string_view term, absl::string_view path);
// A keyword value (source, tag): at most kMaxKeywordBytes.
absl::Status CheckKeyword(absl::string_view value, absl::string_view path);
// A term of a query or statistics request: keyword fields take whole,
// non-empty keyword values, full-text fields analyzed terms.
absl::Status CheckTermIn(v1::Field field, absl::string_view term,
                         absl::string_view path);
// A google.protobuf.Timestamp within years 1 to 9999.
absl::Status CheckTimestamp(const google::protobuf::Timestamp& t,
                            absl::string_view path);
// A field the shard knows.
absl::Status CheckField(v1::Field field, absl::string_view path);

}  // namespace sift::storage::internal

#endif  // SIFT_SERVICES_STORAGE_INTERNAL_REQUEST_CHECKS_H_
