#ifndef SIFT_SERVICES_STORAGE_STORED_DOCUMENTS_H_
#define SIFT_SERVICES_STORAGE_STORED_DOCUMENTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/sync/mutex.h"
#include "sift/v1/document.pb.h"

// ZSTD's types, declared as zstd.h does.
struct ZSTD_CDict_s;
struct ZSTD_DDict_s;

namespace sift::storage {

// A ZSTD dictionary for stored documents, trained on a shard's first
// documents. Its id is the one ZSTD derives from its content and writes into
// every frame compressed with it, so that a stored document names the
// dictionary it needs, and the same dictionary has the same id on every copy
// of the shard. Immutable; thread-safe.
class DocumentDictionary {
 public:
  // INVALID_ARGUMENT when `bytes` is not a ZSTD dictionary.
  static absl::StatusOr<std::shared_ptr<const DocumentDictionary>> FromBytes(
      std::string bytes);
  // A dictionary trained on `samples` (whole serialized documents, back to
  // back, of the given sizes), at most `max_bytes` long; an error when ZSTD
  // cannot make one of them (too few or too small samples).
  static absl::StatusOr<std::shared_ptr<const DocumentDictionary>> Train(
      const std::string& samples, const std::vector<size_t>& sizes,
      size_t max_bytes);

  ~DocumentDictionary();
  DocumentDictionary(const DocumentDictionary&) = delete;
  DocumentDictionary& operator=(const DocumentDictionary&) = delete;

  uint32_t id() const { return id_; }
  const std::string& bytes() const { return bytes_; }

 private:
  friend class StoredDocuments;
  DocumentDictionary() = default;

  uint32_t id_ = 0;
  std::string bytes_;
  ::ZSTD_CDict_s* compress_ = nullptr;
  ::ZSTD_DDict_s* decompress_ = nullptr;
};

// What a reader needs of a stored document: all of it, or every field but
// the body (enough to show a hit without highlights).
enum class StoredParts { kWhole, kWithoutBody };

// The stored form of documents (the docs family's values): each document
// serialized and compressed on its own with ZSTD, with the shard's
// dictionary once it has one, so that reading a hit decompresses that
// document and no other, and the copies of a shard store what the primary
// compressed as it is. The body is compressed apart from the other fields,
// so that a reader that does not need it decompresses only those. The primary
// samples the first documents it writes and trains the dictionary once it has
// `sample_bytes` of them; until a write carrying a dictionary is committed,
// every write compressed with it carries it too (see Encode), so that no stored
// document ever names a dictionary its index lacks. Values written by earlier
// versions, the serialized document as it is, are still read. Thread-safe.
class StoredDocuments {
 public:
  // `sample_bytes` 0 never trains a dictionary. Without `body_apart`,
  // documents are stored whole, in the form versions before the body was
  // kept apart read (for a primary whose copies are not upgraded yet).
  StoredDocuments(size_t sample_bytes, size_t dictionary_bytes,
                  bool body_apart = true);

  // `document` serialized, in its stored form. Sets `*unsaved` to the
  // dictionary it was compressed with when no committed write holds that
  // dictionary yet (else to null): the write must store it.
  std::string Encode(absl::string_view serialized,
                     std::shared_ptr<const DocumentDictionary>* unsaved);
  // The document of a stored value, without its body for kWithoutBody
  // (which a value stored whole still has); DATA_LOSS when it is corrupt or
  // names a dictionary this index lacks.
  absl::Status Decode(absl::string_view stored, v1::Document* document,
                      StoredParts parts = StoredParts::kWhole) const;

  // Splits a serialized document into its fields but the body, and the body
  // field, each as serialized; false when it is not a well-formed message.
  static bool SplitBody(absl::string_view serialized, std::string* head,
                        std::string* body);

  // A dictionary of this index (read back on open: `saved`) or of a write
  // (not saved until the write commits). The newest added is the one new
  // documents are compressed with.
  void Add(std::shared_ptr<const DocumentDictionary> dictionary, bool saved);
  // A committed write stored dictionary `id`.
  void MarkSaved(uint32_t id);

  // The dictionary new documents are compressed with; null before one is
  // trained.
  std::shared_ptr<const DocumentDictionary> Current() const;

 private:
  // Trains the dictionary from the samples taken so far.
  void Train();

  const size_t dictionary_bytes_;
  const bool body_apart_;
  mutable Mutex mu_;
  absl::flat_hash_map<uint32_t, std::shared_ptr<const DocumentDictionary>>
      dictionaries_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const DocumentDictionary> current_ ABSL_GUARDED_BY(mu_);
  bool current_saved_ ABSL_GUARDED_BY(mu_) = false;
  // Documents sampled for training, until a dictionary exists.
  size_t sample_bytes_ ABSL_GUARDED_BY(mu_);
  std::string samples_ ABSL_GUARDED_BY(mu_);
  std::vector<size_t> sample_sizes_ ABSL_GUARDED_BY(mu_);
  bool training_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_STORED_DOCUMENTS_H_
