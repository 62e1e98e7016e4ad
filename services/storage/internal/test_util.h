#ifndef SIFT_SERVICES_STORAGE_INTERNAL_TEST_UTIL_H_
#define SIFT_SERVICES_STORAGE_INTERNAL_TEST_UTIL_H_

// Test-only helpers: temporary directories and compact builders for write
// requests and query plans.

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/storage/analyzed_field.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage::testing {

// A fresh directory under the system temp folder, removed with everything
// in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sift-storage-XXXXXX")
            .string();
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A document whose title and body are already "analyzed": their terms are
// the space-separated words, in order.
// Members carry default initialisers so that designated initialisers may
// leave any of them out.
struct DocSpec {
  std::string id = {};
  std::string title = {};
  std::string body = {};
  std::string source = {};
  std::vector<std::string> tags = {};
  std::optional<int64_t> published_seconds = {};
  int32_t published_nanos = 0;  // with published_seconds
};

inline std::vector<std::string> Words(const std::string& text) {
  return absl::StrSplit(text, ' ', absl::SkipEmpty());
}

inline v1::WriteOp Upsert(const DocSpec& spec) {
  v1::WriteOp op;
  v1::AnalyzedDocument* doc = op.mutable_upsert();
  v1::Document* d = doc->mutable_document();
  d->set_id(spec.id);
  d->set_title(spec.title);
  d->set_body(spec.body);
  d->set_source(spec.source);
  for (const std::string& tag : spec.tags) d->add_tags(tag);
  if (spec.published_seconds) {
    d->mutable_published_at()->set_seconds(*spec.published_seconds);
    d->mutable_published_at()->set_nanos(spec.published_nanos);
  }
  EncodeTerms(Words(spec.title), doc->mutable_title());
  EncodeTerms(Words(spec.body), doc->mutable_body());
  return op;
}

// Appends `term` at the field's next position, whatever it holds (for
// tests of validation).
inline void AppendRawTerm(v1::AnalyzedField* field, std::string term) {
  field->add_term_ids(static_cast<uint32_t>(field->vocabulary_size()));
  field->add_vocabulary(std::move(term));
}

inline v1::WriteOp Delete(const std::string& id) {
  v1::WriteOp op;
  op.set_delete_id(id);
  return op;
}

inline v1::WriteRequest WriteOf(std::vector<v1::WriteOp> ops) {
  v1::WriteRequest request;
  for (v1::WriteOp& op : ops) *request.add_ops() = std::move(op);
  return request;
}

inline v1::QueryNode Term(const std::string& term,
                          v1::Field field = v1::FIELD_UNSPECIFIED) {
  v1::QueryNode node;
  node.mutable_term()->set_term(term);
  node.mutable_term()->set_field(field);
  return node;
}

inline v1::QueryNode Phrase(const std::string& words, uint32_t slop = 0,
                            v1::Field field = v1::FIELD_UNSPECIFIED) {
  v1::QueryNode node;
  for (const std::string& w : Words(words)) node.mutable_phrase()->add_terms(w);
  node.mutable_phrase()->set_slop(slop);
  node.mutable_phrase()->set_field(field);
  return node;
}

inline v1::QueryNode Prefix(const std::string& prefix,
                            v1::Field field = v1::FIELD_UNSPECIFIED) {
  v1::QueryNode node;
  node.mutable_prefix()->set_prefix(prefix);
  node.mutable_prefix()->set_field(field);
  return node;
}

inline v1::QueryNode Fuzzy(const std::string& term, uint32_t max_edits,
                           v1::Field field = v1::FIELD_UNSPECIFIED) {
  v1::QueryNode node;
  node.mutable_fuzzy()->set_term(term);
  node.mutable_fuzzy()->set_max_edits(max_edits);
  node.mutable_fuzzy()->set_field(field);
  return node;
}

inline v1::QueryNode MatchAll() {
  v1::QueryNode node;
  node.mutable_match_all();
  return node;
}

// Documents dated in [from, to), in seconds since the epoch plus nanos;
// nullopt leaves that end open.
inline v1::QueryNode DateRange(std::optional<int64_t> from,
                               std::optional<int64_t> to,
                               int32_t from_nanos = 0, int32_t to_nanos = 0) {
  v1::QueryNode node;
  v1::DateRangeQuery* range = node.mutable_date_range();
  if (from) {
    range->mutable_from()->set_seconds(*from);
    range->mutable_from()->set_nanos(from_nanos);
  }
  if (to) {
    range->mutable_to()->set_seconds(*to);
    range->mutable_to()->set_nanos(to_nanos);
  }
  return node;
}

inline v1::QueryNode Bool(std::vector<v1::QueryNode> must,
                          std::vector<v1::QueryNode> should = {},
                          std::vector<v1::QueryNode> must_not = {}) {
  v1::QueryNode node;
  v1::BooleanQuery* b = node.mutable_boolean();
  for (auto& n : must) *b->add_must() = std::move(n);
  for (auto& n : should) *b->add_should() = std::move(n);
  for (auto& n : must_not) *b->add_must_not() = std::move(n);
  return node;
}

inline v1::ShardSearchRequest SearchFor(v1::QueryNode query,
                                        uint32_t limit = 100) {
  v1::ShardSearchRequest request;
  *request.mutable_query() = std::move(query);
  request.set_limit(limit);
  return request;
}

inline std::vector<std::string> HitIds(
    const v1::ShardSearchResponse& response) {
  std::vector<std::string> ids;
  for (const v1::ShardHit& hit : response.hits()) ids.push_back(hit.id());
  return ids;
}

}  // namespace sift::storage::testing

#endif  // SIFT_SERVICES_STORAGE_INTERNAL_TEST_UTIL_H_
