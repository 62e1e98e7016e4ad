#include "services/query/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/routing/shard_router.h"

namespace sift::query {
namespace {

constexpr char kTokenVersion = 1;
// Version, offset, fingerprint, checksum: a multiple of 3 bytes, so that
// every base64 character carries data and none can change unnoticed.
constexpr size_t kTokenBytes = 1 + 8 + 8 + 4;

void PutFixed(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) {
    out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

uint64_t GetFixed(absl::string_view in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[i]))
             << (8 * i);
  }
  return value;
}

uint32_t Checksum(absl::string_view bytes) {
  return static_cast<uint32_t>(StableHash64(bytes));
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("page_token: ", why,
                   "; pass the next_page_token of the previous response "
                   "unchanged, or leave it empty for the first page"));
}

// Appends `s` with its length, so that no two field lists collide.
void AppendField(absl::string_view s, std::string* out) {
  absl::StrAppend(out, s.size(), ":", s, ";");
}

void AppendTime(bool present, const google::protobuf::Timestamp& t,
                std::string* out) {
  if (present) {
    absl::StrAppend(out, t.seconds(), ".", t.nanos(), ";");
  } else {
    out->append("-;");
  }
}

}  // namespace

std::string EncodePageToken(const PageCursor& cursor) {
  std::string raw;
  raw.push_back(kTokenVersion);
  PutFixed(cursor.offset, 8, &raw);
  PutFixed(cursor.fingerprint, 8, &raw);
  PutFixed(Checksum(raw), 4, &raw);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() != kTokenBytes) {
    return Malformed("not a page token (it does not decode)");
  }
  if (raw[0] != kTokenVersion) {
    return Malformed("made by an incompatible version of the service");
  }
  const absl::string_view bytes(raw);
  if (Checksum(bytes.substr(0, kTokenBytes - 4)) !=
      GetFixed(bytes.substr(kTokenBytes - 4), 4)) {
    return Malformed("damaged (its checksum does not match)");
  }
  PageCursor cursor;
  cursor.offset = GetFixed(bytes.substr(1), 8);
  cursor.fingerprint = GetFixed(bytes.substr(9), 8);
  return cursor;
}

uint64_t SearchFingerprint(const v1::SearchRequest& request,
                           uint32_t page_size) {
  std::string key;
  AppendField(request.query(), &key);
  const v1::Filters& filters = request.filters();
  AppendTime(filters.has_published_from(), filters.published_from(), &key);
  AppendTime(filters.has_published_to(), filters.published_to(), &key);
  absl::StrAppend(&key, filters.sources_size(), ";");
  for (const std::string& s : filters.sources()) AppendField(s, &key);
  absl::StrAppend(&key, filters.tags_size(), ";");
  for (const std::string& t : filters.tags()) AppendField(t, &key);
  const int sort = request.sort() == v1::SORT_ORDER_UNSPECIFIED
                       ? v1::SORT_ORDER_RELEVANCE
                       : request.sort();
  const int op = request.default_operator() == v1::DEFAULT_OPERATOR_UNSPECIFIED
                     ? v1::DEFAULT_OPERATOR_OR
                     : request.default_operator();
  absl::StrAppend(&key, sort, ";", op, ";", page_size);
  return StableHash64(key);
}

}  // namespace sift::query
