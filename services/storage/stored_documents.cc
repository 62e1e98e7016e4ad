#include "services/storage/stored_documents.h"

#include <zdict.h>
#include <zstd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/codec/varint.h"
#include "common/server/server_runner.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace sift::storage {
namespace {

// The first byte of a value in each form. A serialized document (the
// first versions' values) starts with a field tag, whose field number is
// never 0, so its first byte is never 0 or 1.
// [0][frame of the whole serialized document]
constexpr char kCompressedTag = 0;
// [1][varint size of the head frame][head frame][body frame]: the head holds
// every field but the body, the body frame the body field. Showing a hit
// without highlights (title, source, date, tags, url) decompresses and
// parses only the head: ten Reuters documents in 65 against 130 us with
// cold caches (bench/stored_documents_bench.cc), for 1.8% more bytes in a
// 200,000-document news shard.
constexpr char kBodyApartTag = 1;
// Document.body's field number.
constexpr int kBodyField = 3;
// About as fast as LZ4 on documents with a dictionary, and within 2-3% of
// the bytes of higher levels (bench/README.md).
constexpr int kLevel = 3;
// No sample longer than this: one huge document must not crowd out the
// others.
constexpr size_t kMaxSampleBytes = 64 << 10;
// Stored documents are never larger than a write can be.
constexpr unsigned long long kMaxDocumentBytes = kMaxGrpcMessageBytes;

// Contexts are costly to make (their workspaces); each thread keeps one.
ZSTD_CCtx* CompressContext() {
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> context(
      ZSTD_createCCtx(), ZSTD_freeCCtx);
  return context.get();
}

ZSTD_DCtx* DecompressContext() {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context(
      ZSTD_createDCtx(), ZSTD_freeDCtx);
  return context.get();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const DocumentDictionary>>
DocumentDictionary::FromBytes(std::string bytes) {
  const unsigned id = ZDICT_getDictID(bytes.data(), bytes.size());
  if (id == 0) {
    return absl::InvalidArgumentError("not a ZSTD dictionary");
  }
  std::shared_ptr<DocumentDictionary> dictionary(new DocumentDictionary());
  dictionary->id_ = id;
  dictionary->bytes_ = std::move(bytes);
  dictionary->compress_ = ZSTD_createCDict(dictionary->bytes_.data(),
                                           dictionary->bytes_.size(), kLevel);
  dictionary->decompress_ =
      ZSTD_createDDict(dictionary->bytes_.data(), dictionary->bytes_.size());
  if (dictionary->compress_ == nullptr || dictionary->decompress_ == nullptr) {
    return absl::InvalidArgumentError("a ZSTD dictionary ZSTD cannot load");
  }
  return std::shared_ptr<const DocumentDictionary>(std::move(dictionary));
}

absl::StatusOr<std::shared_ptr<const DocumentDictionary>>
DocumentDictionary::Train(const std::string& samples,
                          const std::vector<size_t>& sizes, size_t max_bytes) {
  std::string bytes(max_bytes, '\0');
  const size_t made =
      ZDICT_trainFromBuffer(bytes.data(), bytes.size(), samples.data(),
                            sizes.data(), static_cast<unsigned>(sizes.size()));
  if (ZDICT_isError(made)) {
    return absl::FailedPreconditionError(
        absl::StrCat("training a document dictionary on ", sizes.size(),
                     " documents: ", ZDICT_getErrorName(made)));
  }
  bytes.resize(made);
  return FromBytes(std::move(bytes));
}

DocumentDictionary::~DocumentDictionary() {
  ZSTD_freeCDict(compress_);
  ZSTD_freeDDict(decompress_);
}

StoredDocuments::StoredDocuments(size_t sample_bytes, size_t dictionary_bytes,
                                 bool body_apart)
    : dictionary_bytes_(dictionary_bytes),
      body_apart_(body_apart),
      sample_bytes_(sample_bytes) {}

std::string StoredDocuments::Encode(
    absl::string_view serialized,
    std::shared_ptr<const DocumentDictionary>* unsaved) {
  std::shared_ptr<const DocumentDictionary> dictionary;
  bool saved = false;
  bool train = false;
  {
    MutexLock lock(&mu_);
    if (current_ == nullptr && !training_ && sample_bytes_ > 0) {
      const size_t n = std::min(serialized.size(), kMaxSampleBytes);
      samples_.append(serialized.data(), n);
      sample_sizes_.push_back(n);
      train = samples_.size() >= sample_bytes_;
      training_ = train;
    }
    dictionary = current_;
    saved = current_saved_;
  }
  if (train) {
    // Training takes a few hundred milliseconds, once: this write waits for
    // it, the others go on without a dictionary meanwhile.
    Train();
    MutexLock lock(&mu_);
    dictionary = current_;
    saved = current_saved_;
  }
  ZSTD_CCtx* context = CompressContext();
  // Appends `in` compressed to `out`; false on failure.
  auto compress = [&](absl::string_view in, std::string* out) {
    const size_t at = out->size();
    out->resize(at + ZSTD_compressBound(in.size()));
    const size_t n =
        dictionary != nullptr
            ? ZSTD_compress_usingCDict(context, out->data() + at,
                                       out->size() - at, in.data(), in.size(),
                                       dictionary->compress_)
            : ZSTD_compressCCtx(context, out->data() + at, out->size() - at,
                                in.data(), in.size(), kLevel);
    if (ZSTD_isError(n)) return false;
    out->resize(at + n);
    return true;
  };
  std::string out;
  bool compressed = false;
  std::string head, body;
  if (body_apart_ && SplitBody(serialized, &head, &body) && !body.empty()) {
    std::string head_frame;
    out.push_back(kBodyApartTag);
    compressed = compress(head, &head_frame);
    if (compressed) {
      codec::PutVarint32(&out, static_cast<uint32_t>(head_frame.size()));
      out.append(head_frame);
      compressed = compress(body, &out);
    }
  } else {
    out.push_back(kCompressedTag);
    compressed = compress(serialized, &out);
  }
  if (!compressed) {
    // Only a bug or no memory gets here; the document is kept as it is,
    // which any version reads.
    *unsaved = nullptr;
    return std::string(serialized);
  }
  *unsaved = saved ? nullptr : dictionary;
  return out;
}

bool StoredDocuments::SplitBody(absl::string_view serialized, std::string* head,
                                std::string* body) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(serialized.data()),
      static_cast<int>(serialized.size()));
  head->clear();
  body->clear();
  while (true) {
    const int start = in.CurrentPosition();
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    if (!WireFormatLite::SkipField(&in, tag)) return false;
    // The parser lets a later occurrence of a field replace an earlier
    // one, and only the body's occurrences move, in their order: the
    // head followed by the body parses to the same document.
    std::string* to =
        WireFormatLite::GetTagFieldNumber(tag) == kBodyField ? body : head;
    to->append(serialized.data() + start,
               static_cast<size_t>(in.CurrentPosition() - start));
  }
  return in.CurrentPosition() == static_cast<int>(serialized.size());
}

void StoredDocuments::Train() {
  std::string samples;
  std::vector<size_t> sizes;
  {
    MutexLock lock(&mu_);
    samples.swap(samples_);
    sizes.swap(sample_sizes_);
  }
  absl::StatusOr<std::shared_ptr<const DocumentDictionary>> trained =
      DocumentDictionary::Train(samples, sizes, dictionary_bytes_);
  MutexLock lock(&mu_);
  training_ = false;
  if (!trained.ok()) {
    // Too little to learn from yet: sample twice as much and try again.
    sample_bytes_ *= 2;
    return;
  }
  if (current_ != nullptr) return;  // one came with a write meanwhile
  dictionaries_[(*trained)->id()] = *trained;
  current_ = *std::move(trained);
  current_saved_ = false;
}

absl::Status StoredDocuments::Decode(absl::string_view stored,
                                     v1::Document* document,
                                     StoredParts parts) const {
  const auto corrupt = [](absl::string_view why) {
    return absl::DataLossError(
        absl::StrCat("a stored document is corrupt: ", why));
  };
  if (stored.empty() ||
      (stored.front() != kCompressedTag && stored.front() != kBodyApartTag)) {
    if (!document->ParseFromArray(stored.data(),
                                  static_cast<int>(stored.size()))) {
      return corrupt("not a document");
    }
    return absl::OkStatus();
  }
  // The frames to decompress, back to back into one buffer.
  absl::string_view frames[2];
  size_t count = 1;
  if (stored.front() == kCompressedTag) {
    frames[0] = stored.substr(1);
  } else {
    stored.remove_prefix(1);
    uint32_t head_size = 0;
    if (!codec::GetVarint32(&stored, &head_size) || head_size > stored.size()) {
      return corrupt("truncated head");
    }
    frames[0] = stored.substr(0, head_size);
    frames[1] = stored.substr(head_size);
    if (parts == StoredParts::kWhole) count = 2;
  }
  thread_local std::string buffer;
  buffer.clear();
  ZSTD_DCtx* context = DecompressContext();
  // Both frames of a document name the same dictionary: looked up once.
  std::shared_ptr<const DocumentDictionary> dictionary;
  for (size_t f = 0; f < count; ++f) {
    const absl::string_view frame = frames[f];
    const unsigned long long size =
        ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
        buffer.size() + size > kMaxDocumentBytes) {
      return corrupt("not a ZSTD frame of a known size");
    }
    const unsigned id = ZSTD_getDictID_fromFrame(frame.data(), frame.size());
    if (id == 0) {
      dictionary = nullptr;
    } else if (dictionary == nullptr || dictionary->id() != id) {
      ReaderMutexLock lock(&mu_);
      auto it = dictionaries_.find(id);
      if (it == dictionaries_.end()) {
        return corrupt(absl::StrCat("it needs dictionary ", id,
                                    ", which this shard does not have"));
      }
      dictionary = it->second;
    }
    const size_t at = buffer.size();
    buffer.resize(at + size);
    const size_t n =
        dictionary != nullptr
            ? ZSTD_decompress_usingDDict(context, buffer.data() + at, size,
                                         frame.data(), frame.size(),
                                         dictionary->decompress_)
            : ZSTD_decompressDCtx(context, buffer.data() + at, size,
                                  frame.data(), frame.size());
    if (ZSTD_isError(n) || n != size) {
      return corrupt(ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame");
    }
  }
  const bool parsed =
      document->ParseFromArray(buffer.data(), static_cast<int>(buffer.size()));
  // Every thread that reads keeps its buffer; not one of a rare huge
  // document's size.
  if (buffer.capacity() > (size_t{1} << 20)) std::string().swap(buffer);
  if (!parsed) return corrupt("not a document");
  return absl::OkStatus();
}

void StoredDocuments::Add(std::shared_ptr<const DocumentDictionary> dictionary,
                          bool saved) {
  MutexLock lock(&mu_);
  const uint32_t id = dictionary->id();
  dictionaries_.emplace(id, dictionary);
  if (current_ == nullptr || current_->id() != id) {
    current_ = std::move(dictionary);
    current_saved_ = saved;
  } else if (saved) {
    current_saved_ = true;
  }
  samples_.clear();
  sample_sizes_.clear();
}

void StoredDocuments::MarkSaved(uint32_t id) {
  MutexLock lock(&mu_);
  if (current_ != nullptr && current_->id() == id) current_saved_ = true;
}

std::shared_ptr<const DocumentDictionary> StoredDocuments::Current() const {
  ReaderMutexLock lock(&mu_);
  return current_;
}

}  // namespace sift::storage
