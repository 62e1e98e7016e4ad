#include "services/ingest/timestamp_parser.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace sift::ingest {
namespace {

// Quotes `text` for an error message, shortened so that a huge value does
// not make a huge message.
std::string Quote(absl::string_view text) {
  constexpr size_t kMaxQuoted = 40;
  if (text.size() <= kMaxQuoted) return absl::StrCat("\"", text, "\"");
  return absl::StrCat("\"", text.substr(0, kMaxQuoted), "...\"");
}

absl::Status Invalid(absl::string_view text, absl::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrCat("expected a date (YYYY-MM-DD) or an RFC 3339 timestamp "
                   "(2021-02-22T10:30:00Z), got ",
                   Quote(text), ": ", reason));
}

// Reads exactly `n` digits at `*pos`.
bool ReadDigits(absl::string_view s, size_t* pos, int n, int* value) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *value = v;
  return true;
}

bool ReadChar(absl::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

absl::StatusOr<google::protobuf::Timestamp> ParseTimestamp(
    absl::string_view text) {
  size_t pos = 0;
  int year, month, day;
  if (!ReadDigits(text, &pos, 4, &year) || !ReadChar(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &month) || !ReadChar(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &day)) {
    return Invalid(text, "it does not start with YYYY-MM-DD");
  }
  if (month < 1 || month > 12) {
    return Invalid(text, absl::StrCat("month ", month, " does not exist"));
  }
  const absl::CivilDay civil_day(year, month, day);
  if (day < 1 || civil_day.day() != day) {
    return Invalid(text, absl::StrFormat("day %d does not exist in %04d-%02d",
                                         day, year, month));
  }
  if (pos == text.size()) return TimestampFromDay(civil_day);

  const char sep = text[pos++];
  if (sep != 'T' && sep != 't' && sep != ' ') {
    return Invalid(text, "expected \"T\" and a time after the date");
  }
  int hour, minute, second;
  if (!ReadDigits(text, &pos, 2, &hour) || !ReadChar(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &minute) || !ReadChar(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &second)) {
    return Invalid(text, "the time is not HH:MM:SS");
  }
  if (hour > 23 || minute > 59 || second > 59) {
    return Invalid(text, "the time of day is out of range");
  }
  int32_t nanos = 0;
  if (ReadChar(text, &pos, '.')) {
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) return Invalid(text, "more than 9 fractional digits");
      nanos = nanos * 10 + (text[pos++] - '0');
    }
    if (digits == 0) return Invalid(text, "no digits after the \".\"");
    for (; digits < 9; ++digits) nanos *= 10;
  }
  int offset_seconds = 0;
  if (ReadChar(text, &pos, 'Z') || ReadChar(text, &pos, 'z')) {
    // UTC.
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos++] == '-' ? -1 : 1;
    int offset_hours, offset_minutes;
    if (!ReadDigits(text, &pos, 2, &offset_hours) ||
        !ReadChar(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &offset_minutes) || offset_hours > 23 ||
        offset_minutes > 59) {
      return Invalid(text, "the UTC offset is not +HH:MM or -HH:MM");
    }
    offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
  } else {
    return Invalid(text, "the time has no UTC offset (add \"Z\" or +HH:MM)");
  }
  if (pos != text.size()) {
    return Invalid(text, "unexpected characters after the timestamp");
  }
  const absl::Time local =
      absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                      absl::UTCTimeZone());
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(absl::ToUnixSeconds(local) - offset_seconds);
  timestamp.set_nanos(nanos);
  return timestamp;
}

google::protobuf::Timestamp TimestampFromDay(absl::CivilDay day) {
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(
      absl::ToUnixSeconds(absl::FromCivil(day, absl::UTCTimeZone())));
  return timestamp;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp) {
  const absl::CivilSecond cs = absl::ToCivilSecond(
      absl::FromUnixSeconds(timestamp.seconds()), absl::UTCTimeZone());
  std::string out =
      absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", cs.year(), cs.month(),
                      cs.day(), cs.hour(), cs.minute(), cs.second());
  if (timestamp.nanos() != 0) {
    absl::StrAppendFormat(&out, ".%09d", timestamp.nanos());
  }
  out += 'Z';
  return out;
}

}  // namespace sift::ingest
