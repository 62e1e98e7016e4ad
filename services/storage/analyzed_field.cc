#include "services/storage/analyzed_field.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace sift::storage {

void EncodeTerms(std::vector<std::string> terms, v1::AnalyzedField* out) {
  out->Clear();
  out->mutable_term_ids()->Reserve(static_cast<int>(terms.size()));
  // Keys point into `terms`, which are moved into the vocabulary only once
  // the map is gone (a move may change where a short string's bytes are).
  // The map is kept per thread for its capacity: ingest encodes two fields
  // per document, and growing a fresh table each time cost more than the
  // lookups.
  thread_local absl::flat_hash_map<absl::string_view, uint32_t> ids;
  thread_local std::vector<size_t> first_of_id;
  first_of_id.clear();
  for (size_t i = 0; i < terms.size(); ++i) {
    auto [it, inserted] =
        ids.try_emplace(terms[i], static_cast<uint32_t>(first_of_id.size()));
    if (inserted) first_of_id.push_back(i);
    out->add_term_ids(it->second);
  }
  // Not clear(), which frees a large table; the keys must not outlive
  // `terms` either way.
  ids.erase(ids.begin(), ids.end());
  out->mutable_vocabulary()->Reserve(static_cast<int>(first_of_id.size()));
  for (size_t i : first_of_id) out->add_vocabulary(std::move(terms[i]));
}

std::vector<std::string> DecodeTerms(const v1::AnalyzedField& field) {
  std::vector<std::string> terms;
  terms.reserve(field.term_ids_size());
  for (uint32_t id : field.term_ids()) terms.push_back(field.vocabulary(id));
  return terms;
}

absl::Status CheckTermIds(const v1::AnalyzedField& field,
                          absl::string_view path) {
  const auto size = static_cast<uint32_t>(field.vocabulary_size());
  for (int i = 0; i < field.term_ids_size(); ++i) {
    if (field.term_ids(i) >= size) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".term_ids[", i, "]: term id ", field.term_ids(i),
                       " is past the vocabulary of ", size, " terms"));
    }
  }
  return absl::OkStatus();
}

}  // namespace sift::storage
