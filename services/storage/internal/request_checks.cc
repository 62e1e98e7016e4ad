#include "services/storage/internal/request_checks.h"

#include "absl/strings/str_cat.h"
#include "services/storage/shard_limits.h"

namespace sift::storage::internal {
namespace {

// Timestamps outside 0001-01-01 .. 9999-12-31 are not valid
// google.protobuf.Timestamp values.
constexpr int64_t kMinTimestampSeconds = -62'135'596'800;
constexpr int64_t kMaxTimestampSeconds = 253'402'300'799;

}  // namespace

absl::Status Invalid(absl::string_view path, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", reason));
}

absl::Status CheckId(absl::string_view id, absl::string_view path) {
  if (id.empty() || id.size() > kMaxIdBytes) {
    return Invalid(path, absl::StrCat("an id must be 1 to ", kMaxIdBytes,
                                      " bytes, got ", id.size()));
  }
  return absl::OkStatus();
}

absl::Status CheckTerm(absl::string_view term, absl::string_view path) {
  if (term.empty()) return Invalid(path, "a term must not be empty");
  if (term.size() > kMaxTermBytes) {
    return Invalid(path, absl::StrCat("a term must be at most ", kMaxTermBytes,
                                      " bytes, got ", term.size()));
  }
  if (term.find('\0') != absl::string_view::npos) {
    return Invalid(path, "a term must not contain a NUL byte");
  }
  return absl::OkStatus();
}

absl::Status CheckKeyword(absl::string_view value, absl::string_view path) {
  if (value.size() > kMaxKeywordBytes) {
    return Invalid(
        path, absl::StrCat("a keyword value must be at most ", kMaxKeywordBytes,
                           " bytes, got ", value.size()));
  }
  return absl::OkStatus();
}

absl::Status CheckTermIn(v1::Field field, absl::string_view term,
                         absl::string_view path) {
  if (field == v1::FIELD_SOURCE || field == v1::FIELD_TAG) {
    if (term.empty()) return Invalid(path, "a keyword value must not be empty");
    return CheckKeyword(term, path);
  }
  return CheckTerm(term, path);
}

absl::Status CheckTimestamp(const google::protobuf::Timestamp& t,
                            absl::string_view path) {
  if (t.seconds() < kMinTimestampSeconds ||
      t.seconds() > kMaxTimestampSeconds) {
    return Invalid(path, absl::StrCat("seconds must lie between years 1 and "
                                      "9999, got ",
                                      t.seconds()));
  }
  if (t.nanos() < 0 || t.nanos() > 999'999'999) {
    return Invalid(
        path, absl::StrCat("nanos must be 0 to 999999999, got ", t.nanos()));
  }
  return absl::OkStatus();
}

absl::Status CheckField(v1::Field field, absl::string_view path) {
  if (!v1::Field_IsValid(field)) {
    return Invalid(path,
                   absl::StrCat("unknown field ", static_cast<int>(field)));
  }
  return absl::OkStatus();
}

}  // namespace sift::storage::internal
