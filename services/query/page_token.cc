#include "services/query/page_token.h"

#include <bit>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/codec/varint.h"
#include "common/routing/shard_router.h"

namespace sift::query {
namespace {

// Version 1 tokens carried an offset; a server reading one now says that it
// comes from an incompatible version rather than misreading it.
constexpr char kTokenVersion = 2;
constexpr size_t kChecksumBytes = 4;
// Longest id (document.proto) and most statistics a token may carry, so
// that a forged length cannot make the decoder allocate much.
constexpr uint64_t kMaxIdBytes = 512;
constexpr uint64_t kMaxStatsTerms = 10000;

enum KeyKind : char { kScore = 0, kDated = 1, kUndated = 2 };

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

// Reads `bytes` fixed bytes from the front of `in`.
bool TakeFixed(absl::string_view* in, int bytes, uint64_t* value) {
  if (in->size() < static_cast<size_t>(bytes)) return false;
  *value = GetFixed(*in, bytes);
  in->remove_prefix(bytes);
  return true;
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
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

absl::Status Truncated() {
  return Malformed("damaged (it ends too early or runs on)");
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

bool SameCursor(const PageCursor& a, const PageCursor& b) {
  return a.fingerprint == b.fingerprint &&
         std::bit_cast<uint64_t>(a.after.score()) ==
             std::bit_cast<uint64_t>(b.after.score()) &&
         a.after.has_published_at() == b.after.has_published_at() &&
         a.after.published_at().seconds() == b.after.published_at().seconds() &&
         a.after.published_at().nanos() == b.after.published_at().nanos() &&
         a.after.undated() == b.after.undated() &&
         a.after.id() == b.after.id() && a.stats == b.stats;
}

std::string EncodePageToken(const PageCursor& cursor) {
  std::string raw;
  raw.push_back(kTokenVersion);
  PutFixed(cursor.fingerprint, 8, &raw);
  const v1::SearchAfter& after = cursor.after;
  if (after.undated()) {
    raw.push_back(kUndated);
  } else if (after.has_published_at()) {
    raw.push_back(kDated);
    codec::PutVarint64(&raw, ZigZag(after.published_at().seconds()));
    codec::PutVarint32(&raw,
                       static_cast<uint32_t>(after.published_at().nanos()));
  } else {
    raw.push_back(kScore);
    // The exact bits: the next page must resume at this very score, and a
    // decimal rendering could round it.
    PutFixed(std::bit_cast<uint64_t>(after.score()), 8, &raw);
  }
  codec::PutVarint64(&raw, after.id().size());
  raw.append(after.id());
  raw.push_back(cursor.stats.has_value() ? 1 : 0);
  if (cursor.stats) {
    const FrozenStats& stats = *cursor.stats;
    codec::PutVarint64(&raw, stats.doc_count);
    codec::PutVarint64(&raw, stats.total_title_terms);
    codec::PutVarint64(&raw, stats.total_body_terms);
    codec::PutVarint64(&raw, stats.doc_freqs.size());
    for (uint64_t df : stats.doc_freqs) codec::PutVarint64(&raw, df);
  }
  PutFixed(Checksum(raw), kChecksumBytes, &raw);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token) {
  std::string raw;
  if (token.empty() || !absl::WebSafeBase64Unescape(token, &raw) ||
      raw.size() < 1 + kChecksumBytes) {
    return Malformed("not a page token (it does not decode)");
  }
  // Base64 leaves spare bits in the last character when the length is not
  // a multiple of 3; only the canonical spelling is accepted, so that no
  // character can change unnoticed.
  if (absl::WebSafeBase64Escape(raw) != token) {
    return Malformed("not a page token (it does not decode)");
  }
  // The checksum first: it has covered everything before it since the
  // first version, so a token of another version passes it and is then
  // named as such, while random text fails it.
  absl::string_view in(raw);
  const absl::string_view checked = in.substr(0, in.size() - kChecksumBytes);
  if (Checksum(checked) !=
      GetFixed(in.substr(checked.size()), kChecksumBytes)) {
    return Malformed(
        "not a page token, or a damaged one (its checksum does not match)");
  }
  if (raw[0] != kTokenVersion) {
    return Malformed("made by an incompatible version of the service");
  }
  in = checked.substr(1);

  PageCursor cursor;
  if (!TakeFixed(&in, 8, &cursor.fingerprint) || in.empty()) {
    return Truncated();
  }
  const char kind = in[0];
  in.remove_prefix(1);
  v1::SearchAfter& after = cursor.after;
  switch (kind) {
    case kScore: {
      uint64_t bits = 0;
      if (!TakeFixed(&in, 8, &bits)) return Truncated();
      after.set_score(std::bit_cast<double>(bits));
      break;
    }
    case kDated: {
      uint64_t seconds = 0;
      uint32_t nanos = 0;
      if (!codec::GetVarint64(&in, &seconds) ||
          !codec::GetVarint32(&in, &nanos)) {
        return Truncated();
      }
      after.mutable_published_at()->set_seconds(UnZigZag(seconds));
      after.mutable_published_at()->set_nanos(static_cast<int32_t>(nanos));
      break;
    }
    case kUndated:
      after.set_undated(true);
      break;
    default:
      return Malformed("damaged (unknown kind of sort key)");
  }
  uint64_t id_bytes = 0;
  if (!codec::GetVarint64(&in, &id_bytes) || id_bytes > kMaxIdBytes ||
      in.size() < id_bytes) {
    return Truncated();
  }
  after.set_id(std::string(in.substr(0, id_bytes)));
  in.remove_prefix(id_bytes);
  if (in.empty() || (in[0] != 0 && in[0] != 1)) return Truncated();
  const bool has_stats = in[0] == 1;
  in.remove_prefix(1);
  if (has_stats) {
    FrozenStats& stats = cursor.stats.emplace();
    uint64_t terms = 0;
    if (!codec::GetVarint64(&in, &stats.doc_count) ||
        !codec::GetVarint64(&in, &stats.total_title_terms) ||
        !codec::GetVarint64(&in, &stats.total_body_terms) ||
        !codec::GetVarint64(&in, &terms) || terms > kMaxStatsTerms ||
        terms > in.size()) {
      return Truncated();
    }
    stats.doc_freqs.resize(terms);
    for (uint64_t& df : stats.doc_freqs) {
      if (!codec::GetVarint64(&in, &df)) return Truncated();
    }
  }
  if (!in.empty()) return Truncated();
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
