#include "services/storage/internal/key_format.h"

namespace sift::storage::internal {
namespace {

constexpr uint8_t kHasPublishedAt = 0x01;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

void PutStrings(std::string* dst, const std::vector<std::string>& strings) {
  PutVarint64(dst, strings.size());
  for (const std::string& s : strings) PutLengthPrefixed(dst, s);
}

bool GetStrings(absl::string_view* input, std::vector<std::string>* strings) {
  uint64_t n = 0;
  // Every string takes at least its one-byte length, which bounds a corrupt
  // count before anything is allocated.
  if (!GetVarint64(input, &n) || n > input->size()) return false;
  strings->clear();
  strings->reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    absl::string_view s;
    if (!GetLengthPrefixed(input, &s)) return false;
    strings->emplace_back(s);
  }
  return true;
}

}  // namespace

void PutVarint64(std::string* dst, uint64_t value) {
  while (value >= 0x80) {
    dst->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  dst->push_back(static_cast<char>(value));
}

bool GetVarint64(absl::string_view* input, uint64_t* value) {
  uint64_t result = 0;
  for (size_t i = 0; i < input->size() && i < 10; ++i) {
    const uint64_t byte = static_cast<uint8_t>((*input)[i]);
    result |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      input->remove_prefix(i + 1);
      *value = result;
      return true;
    }
  }
  return false;
}

bool GetVarint32(absl::string_view* input, uint32_t* value) {
  uint64_t v = 0;
  if (!GetVarint64(input, &v) || v > 0xffffffffu) return false;
  *value = static_cast<uint32_t>(v);
  return true;
}

void PutLengthPrefixed(std::string* dst, absl::string_view bytes) {
  PutVarint64(dst, bytes.size());
  dst->append(bytes.data(), bytes.size());
}

bool GetLengthPrefixed(absl::string_view* input, absl::string_view* bytes) {
  uint64_t n = 0;
  if (!GetVarint64(input, &n) || n > input->size()) return false;
  *bytes = input->substr(0, n);
  input->remove_prefix(n);
  return true;
}

void PutBigEndian32(std::string* dst, uint32_t value) {
  dst->push_back(static_cast<char>(value >> 24));
  dst->push_back(static_cast<char>(value >> 16));
  dst->push_back(static_cast<char>(value >> 8));
  dst->push_back(static_cast<char>(value));
}

uint32_t DecodeBigEndian32(absl::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string DocKey(uint32_t docnum) {
  std::string key;
  PutBigEndian32(&key, docnum);
  return key;
}

std::string TermPrefix(FieldTag tag, absl::string_view term) {
  std::string key;
  key.reserve(term.size() + 6);
  key.push_back(static_cast<char>(tag));
  key.append(term.data(), term.size());
  key.push_back('\0');
  return key;
}

std::string PostingKey(FieldTag tag, absl::string_view term, uint32_t docnum) {
  std::string key = TermPrefix(tag, term);
  PutBigEndian32(&key, docnum);
  return key;
}

uint32_t DocnumOfPostingKey(absl::string_view key) {
  return DecodeBigEndian32(key.substr(key.size() - 4));
}

std::string DocValuesKey(uint32_t docnum) {
  std::string key(1, kDocValuesKind);
  PutBigEndian32(&key, docnum);
  return key;
}

std::string DocTermsKey(uint32_t docnum) {
  std::string key(1, kDocTermsKind);
  PutBigEndian32(&key, docnum);
  return key;
}

std::string DocFreqKey(FieldTag tag, absl::string_view term) {
  std::string key(1, static_cast<char>(tag));
  key.append(term.data(), term.size());
  return key;
}

std::string EncodeTextPosting(const TextPosting& posting) {
  std::string value;
  PutVarint64(&value, posting.tf_title);
  PutVarint64(&value, posting.tf_body);
  PutVarint64(&value, posting.title_length);
  PutVarint64(&value, posting.body_length);
  return value;
}

bool DecodeTextPosting(absl::string_view value, TextPosting* posting) {
  return GetVarint32(&value, &posting->tf_title) &&
         GetVarint32(&value, &posting->tf_body) &&
         GetVarint32(&value, &posting->title_length) &&
         GetVarint32(&value, &posting->body_length) && value.empty();
}

std::string EncodePositions(const std::vector<uint32_t>& positions) {
  std::string value;
  uint32_t previous = 0;
  for (uint32_t p : positions) {
    PutVarint64(&value, p - previous);
    previous = p;
  }
  return value;
}

bool DecodePositions(absl::string_view value,
                     std::vector<uint32_t>* positions) {
  positions->clear();
  uint64_t position = 0;
  while (!value.empty()) {
    uint64_t delta = 0;
    if (!GetVarint64(&value, &delta)) return false;
    position += delta;
    if (position > 0xffffffffu) return false;
    positions->push_back(static_cast<uint32_t>(position));
  }
  return true;
}

std::string EncodeDocValues(const DocValues& values) {
  std::string value;
  value.push_back(static_cast<char>(values.published_at ? kHasPublishedAt : 0));
  if (values.published_at) {
    PutVarint64(&value, ZigZag(values.published_at->first));
    PutVarint64(&value, static_cast<uint32_t>(values.published_at->second));
  }
  PutVarint64(&value, values.title_length);
  PutVarint64(&value, values.body_length);
  PutLengthPrefixed(&value, values.id);
  PutLengthPrefixed(&value, values.source);
  PutStrings(&value, values.tags);
  return value;
}

bool DecodeDocValues(absl::string_view value, DocValues* values) {
  if (value.empty()) return false;
  const uint8_t flags = static_cast<uint8_t>(value[0]);
  value.remove_prefix(1);
  values->published_at.reset();
  if (flags & kHasPublishedAt) {
    uint64_t seconds = 0;
    uint32_t nanos = 0;
    if (!GetVarint64(&value, &seconds) || !GetVarint32(&value, &nanos)) {
      return false;
    }
    values->published_at.emplace(UnZigZag(seconds),
                                 static_cast<int32_t>(nanos));
  }
  absl::string_view id;
  absl::string_view source;
  if (!GetVarint32(&value, &values->title_length) ||
      !GetVarint32(&value, &values->body_length) ||
      !GetLengthPrefixed(&value, &id) || !GetLengthPrefixed(&value, &source) ||
      !GetStrings(&value, &values->tags) || !value.empty()) {
    return false;
  }
  values->id = std::string(id);
  values->source = std::string(source);
  return true;
}

std::string EncodeDocTerms(const DocTerms& terms) {
  std::string value;
  PutStrings(&value, terms.title);
  PutStrings(&value, terms.body);
  return value;
}

bool DecodeDocTerms(absl::string_view value, DocTerms* terms) {
  return GetStrings(&value, &terms->title) &&
         GetStrings(&value, &terms->body) && value.empty();
}

std::string EncodeCounters(const Counters& counters) {
  std::string value;
  PutVarint64(&value, counters.next_docnum);
  PutVarint64(&value, counters.doc_count);
  PutVarint64(&value, counters.total_title_terms);
  PutVarint64(&value, counters.total_body_terms);
  return value;
}

bool DecodeCounters(absl::string_view value, Counters* counters) {
  return GetVarint64(&value, &counters->next_docnum) &&
         GetVarint64(&value, &counters->doc_count) &&
         GetVarint64(&value, &counters->total_title_terms) &&
         GetVarint64(&value, &counters->total_body_terms) && value.empty();
}

}  // namespace sift::storage::internal
