#ifndef SIFT_SERVICES_INGEST_TIMESTAMP_PARSER_H_
#define SIFT_SERVICES_INGEST_TIMESTAMP_PARSER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/timestamp.pb.h"

// Reading and writing the timestamps of Document.published_at. Pure
// functions; thread-safe.
namespace sift::ingest {

// Parses a calendar date "2021-02-22" (midnight UTC) or an RFC 3339
// timestamp such as "2021-02-22T10:30:00Z" or
// "2021-02-22t10:30:00.123+01:00" (a space may replace the "T"; up to 9
// fractional digits). Years have exactly four digits. INVALID_ARGUMENT, with
// a message that quotes the text and says what is wrong, for anything else,
// including dates that do not exist (2021-02-30) and leap seconds.
absl::StatusOr<google::protobuf::Timestamp> ParseTimestamp(
    absl::string_view text);

// Midnight UTC at the start of `day`.
google::protobuf::Timestamp TimestampFromDay(absl::CivilDay day);

// RFC 3339 in UTC, "2021-02-22T10:30:00Z", with a fraction only when nanos
// is non-zero. Years are written with at least four digits. For messages.
std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp);

}  // namespace sift::ingest

#endif  // SIFT_SERVICES_INGEST_TIMESTAMP_PARSER_H_
