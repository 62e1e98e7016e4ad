#include "services/storage/index_format.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/codec/big_endian.h"
#include "common/codec/varint.h"
#include "services/storage/analyzed_field.h"

namespace sift::storage {

using codec::GetBigEndian32;
using codec::GetBigEndian64;
using codec::PutBigEndian32;
using codec::PutBigEndian64;

std::string Location::Encode() const {
  std::string out;
  PutBigEndian32(&out, segment);
  PutBigEndian32(&out, doc);
  return out;
}

std::optional<Location> Location::Decode(absl::string_view value) {
  if (value.size() != 8) return std::nullopt;
  return Location{GetBigEndian32(value.data()),
                  GetBigEndian32(value.data() + 4)};
}

std::string PendingKey(uint32_t segment_id) {
  std::string key;
  PutBigEndian32(&key, segment_id);
  return key;
}

std::string PendingValuesKey(uint32_t segment_id) {
  std::string key = PendingKey(segment_id);
  key.push_back('V');
  return key;
}

std::string PendingLoggedKey(uint32_t segment_id) {
  std::string key = PendingKey(segment_id);
  key.push_back('L');
  return key;
}

std::optional<PendingEntryKey> DecodePendingKey(absl::string_view key) {
  if (key.size() == 4) {
    return PendingEntryKey{GetBigEndian32(key.data()), PendingForm::kFields};
  }
  if (key.size() != 5) return std::nullopt;
  const uint32_t id = GetBigEndian32(key.data());
  if (key[4] == 'V') return PendingEntryKey{id, PendingForm::kValues};
  if (key[4] == 'L') return PendingEntryKey{id, PendingForm::kLogged};
  return std::nullopt;
}

std::string EncodeLogEntry(absl::Span<const segment::SegmentDocument> docs) {
  std::string out;
  std::string field;
  codec::PutVarint32(&out, static_cast<uint32_t>(docs.size()));
  for (const segment::SegmentDocument& doc : docs) {
    const std::string& id = doc.analyzed->document().id();
    codec::PutVarint32(&out, static_cast<uint32_t>(id.size()));
    out.append(id);
    for (const v1::AnalyzedField* f :
         {&doc.analyzed->title(), &doc.analyzed->body()}) {
      field.clear();
      f->SerializeToString(&field);
      codec::PutVarint32(&out, static_cast<uint32_t>(field.size()));
      out.append(field);
    }
  }
  return out;
}

absl::StatusOr<std::vector<v1::AnalyzedDocument>> DecodeLogEntry(
    absl::string_view in) {
  uint32_t count = 0;
  if (!codec::GetVarint32(&in, &count)) {
    return absl::DataLossError("corrupt log entry");
  }
  std::vector<v1::AnalyzedDocument> docs;
  auto get = [&in](absl::string_view* out) {
    uint32_t length = 0;
    if (!codec::GetVarint32(&in, &length) || length > in.size()) return false;
    *out = in.substr(0, length);
    in.remove_prefix(length);
    return true;
  };
  for (uint32_t i = 0; i < count; ++i) {
    absl::string_view id, title, body;
    v1::AnalyzedDocument& doc = docs.emplace_back();
    if (!get(&id) || !get(&title) || !get(&body) ||
        !doc.mutable_title()->ParseFromArray(title.data(),
                                             static_cast<int>(title.size())) ||
        !doc.mutable_body()->ParseFromArray(body.data(),
                                            static_cast<int>(body.size()))) {
      return absl::DataLossError("corrupt log entry");
    }
    // The builder indexes vocabularies by these ids unchecked.
    if (!CheckTermIds(doc.title(), "title").ok() ||
        !CheckTermIds(doc.body(), "body").ok()) {
      return absl::DataLossError("corrupt log entry");
    }
    doc.mutable_document()->set_id(std::string(id));
  }
  return docs;
}

std::string EncodeSegmentList(absl::Span<const uint32_t> ids) {
  std::string out;
  codec::PutVarint32(&out, static_cast<uint32_t>(ids.size()));
  for (uint32_t id : ids) codec::PutVarint32(&out, id);
  return out;
}

absl::StatusOr<std::vector<uint32_t>> DecodeSegmentList(absl::string_view in) {
  uint32_t n = 0;
  if (!codec::GetVarint32(&in, &n)) {
    return absl::DataLossError("corrupt segment list");
  }
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t id = 0;
    if (!codec::GetVarint32(&in, &id)) {
      return absl::DataLossError("corrupt segment list");
    }
    ids.push_back(id);
  }
  return ids;
}

std::string EncodeSegmentId(uint32_t id) {
  std::string out;
  codec::PutVarint32(&out, id);
  return out;
}

absl::StatusOr<uint32_t> DecodeSegmentId(absl::string_view in) {
  uint32_t id = 0;
  if (!codec::GetVarint32(&in, &id)) {
    return absl::DataLossError("corrupt next segment id");
  }
  return id;
}

std::string EncodeOpId(const OpId& id) {
  std::string out;
  PutBigEndian64(&out, id.term);
  PutBigEndian64(&out, id.seq);
  return out;
}

absl::StatusOr<OpId> DecodeOpId(absl::string_view in) {
  if (in.size() != 16) return absl::DataLossError("corrupt last operation");
  return OpId{GetBigEndian64(in.data()), GetBigEndian64(in.data() + 8)};
}

namespace {
constexpr absl::string_view kDictionaryPrefix = "dictionary/";
}  // namespace

std::string DictionaryKey(uint32_t id) {
  std::string key(kDictionaryPrefix);
  PutBigEndian32(&key, id);
  return key;
}

std::optional<uint32_t> DecodeDictionaryKey(absl::string_view key) {
  if (key.size() != kDictionaryPrefix.size() + 4 ||
      !absl::StartsWith(key, kDictionaryPrefix)) {
    return std::nullopt;
  }
  return GetBigEndian32(key.data() + kDictionaryPrefix.size());
}

std::string OpLogKey(uint64_t seq) {
  std::string key;
  PutBigEndian64(&key, seq);
  return key;
}

std::optional<uint64_t> DecodeOpLogKey(absl::string_view key) {
  if (key.size() != 8) return std::nullopt;
  return GetBigEndian64(key.data());
}

std::string EncodeOpLogValue(uint64_t term, absl::string_view entry) {
  std::string out;
  out.reserve(8 + entry.size());
  PutBigEndian64(&out, term);
  out.append(entry.data(), entry.size());
  return out;
}

absl::StatusOr<uint64_t> DecodeOpLogTerm(absl::string_view value) {
  if (value.size() < 8) return absl::DataLossError("corrupt op log entry");
  return GetBigEndian64(value.data());
}

absl::StatusOr<v1::LoggedWrite> DecodeOpLogValue(uint64_t seq,
                                                 absl::string_view value) {
  v1::LoggedWrite out;
  absl::StatusOr<uint64_t> term = DecodeOpLogTerm(value);
  if (!term.ok()) return term.status();
  out.set_term(*term);
  out.set_seq(seq);
  value.remove_prefix(8);
  out.set_entry(std::string(value));
  return out;
}

}  // namespace sift::storage
