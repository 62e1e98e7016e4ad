#ifndef SIFT_SERVICES_STORAGE_INTERNAL_TEST_UTIL_H_
#define SIFT_SERVICES_STORAGE_INTERNAL_TEST_UTIL_H_

// Test-only helpers: temporary directories and compact builders for write
// requests and query plans.

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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

// A random collection over a Zipf-like vocabulary w0..w299, in batches:
// titles of 2 to 7 words, bodies of 10 to 209, one of five sources, up to
// two of four tags, and dates 1000 + i (every tenth document undated).
inline std::vector<std::vector<v1::WriteOp>> RandomBatches(int docs, int batch,
                                                           uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> vocab;
  for (int i = 0; i < 300; ++i) vocab.push_back(absl::StrCat("w", i));
  auto word = [&]() {
    // Cubing a uniform draw favours small indexes: a few common words,
    // many rare ones.
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return vocab[static_cast<size_t>(u * u * u * vocab.size())];
  };
  auto text = [&](int words) {
    std::string s;
    for (int i = 0; i < words; ++i) absl::StrAppend(&s, i ? " " : "", word());
    return s;
  };
  std::vector<std::vector<v1::WriteOp>> batches;
  for (int i = 0; i < docs; ++i) {
    if (i % batch == 0) batches.emplace_back();
    DocSpec doc{.id = absl::StrCat("d", i),
                .title = text(2 + static_cast<int>(rng() % 6)),
                .body = text(10 + static_cast<int>(rng() % 200)),
                .source = absl::StrCat("src", rng() % 5)};
    for (uint32_t t = rng() % 3; t > 0; --t) {
      doc.tags.push_back(absl::StrCat("tag", rng() % 4));
    }
    if (i % 10 != 9) doc.published_seconds = 1000 + static_cast<int64_t>(i);
    batches.back().push_back(Upsert(doc));
  }
  return batches;
}

// Disjunctions of 1 to 4 terms among the 60 most common words, the
// free-text queries block-max WAND runs.
inline std::vector<v1::QueryNode> RandomQueries(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<v1::QueryNode> queries;
  for (int q = 0; q < n; ++q) {
    std::vector<v1::QueryNode> should;
    const int terms = 1 + static_cast<int>(rng() % 4);
    for (int t = 0; t < terms; ++t) {
      should.push_back(Term(absl::StrCat("w", rng() % 60)));
    }
    queries.push_back(should.size() == 1 ? should[0]
                                         : Bool({}, std::move(should)));
  }
  return queries;
}

// Conjunctions of 2 to 4 terms among the `range` most common words, every
// third with a term it must not hold: the block-max conjunction's queries.
inline std::vector<v1::QueryNode> RandomConjunctions(int n, uint32_t range,
                                                     uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<v1::QueryNode> queries;
  for (int q = 0; q < n; ++q) {
    std::vector<v1::QueryNode> must, must_not;
    const int terms = 2 + static_cast<int>(rng() % 3);
    for (int t = 0; t < terms; ++t) {
      must.push_back(Term(absl::StrCat("w", rng() % range)));
    }
    if (q % 3 == 2) must_not.push_back(Term(absl::StrCat("w", rng() % 60)));
    queries.push_back(Bool(std::move(must), {}, std::move(must_not)));
  }
  return queries;
}

// Queries of every kind of clause over RandomBatches: terms scoped and
// not, phrases with slop, prefixes, fuzzy words, keywords and date ranges,
// as must, should and must_not.
inline std::vector<v1::QueryNode> RandomMixedQueries(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto word = [&rng](int range) {
    return absl::StrCat("w", rng() % static_cast<uint32_t>(range));
  };
  auto clause = [&]() -> v1::QueryNode {
    switch (rng() % 10) {
      case 0:
      case 1:
        return Term(word(60));
      case 2:
        return Term(word(30), rng() % 2 ? v1::FIELD_TITLE : v1::FIELD_BODY);
      case 3:
        return Phrase(absl::StrCat(word(8), " ", word(8)), rng() % 3);
      case 4:
        return Prefix(absl::StrCat("w", 1 + rng() % 9, rng() % 10));
      case 5:
        return Fuzzy(word(100), 1 + rng() % 2);
      case 6:
        return Term(absl::StrCat("src", rng() % 5), v1::FIELD_SOURCE);
      case 7: {
        const int64_t from = 1000 + static_cast<int64_t>(rng() % 3000);
        return DateRange(from, from + 1000);
      }
      case 8:
        return Term(absl::StrCat("tag", rng() % 4), v1::FIELD_TAG);
      default:
        return Bool({}, {Term(word(20)), Phrase(word(20))});
    }
  };
  std::vector<v1::QueryNode> queries;
  for (int q = 0; q < n; ++q) {
    std::vector<v1::QueryNode> must, should, must_not;
    for (uint32_t i = rng() % 2; i > 0; --i) must.push_back(clause());
    for (uint32_t i = 1 + rng() % 3; i > 0; --i) should.push_back(clause());
    for (uint32_t i = rng() % 3 == 0 ? 1 : 0; i > 0; --i) {
      must_not.push_back(clause());
    }
    queries.push_back(
        Bool(std::move(must), std::move(should), std::move(must_not)));
  }
  return queries;
}

using SearchFunction = std::function<absl::StatusOr<v1::ShardSearchResponse>(
    const v1::ShardSearchRequest&)>;

// Pages through `request` `limit` hits at a time, each page resuming
// after the last hit of the previous one as a coordinator does; checks
// that every page counts every match.
inline std::vector<v1::ShardHit> PageAfter(const SearchFunction& search,
                                           v1::ShardSearchRequest request,
                                           uint32_t limit) {
  std::vector<v1::ShardHit> out;
  request.set_limit(limit);
  std::optional<uint64_t> total;
  for (int pages = 0; pages < 1000; ++pages) {
    absl::StatusOr<v1::ShardSearchResponse> page = search(request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    if (!page->total_hits_is_lower_bound()) {
      if (total) {
        EXPECT_EQ(page->total_hits(), *total);
      }
      total = page->total_hits();
    }
    for (const v1::ShardHit& hit : page->hits()) out.push_back(hit);
    if (page->hits_size() < static_cast<int>(limit)) break;
    const v1::ShardHit& last = page->hits(page->hits_size() - 1);
    v1::SearchAfter* after = request.mutable_search_after();
    after->Clear();
    after->set_id(last.id());
    if (request.sort() == v1::SORT_ORDER_PUBLISHED_DESC ||
        request.sort() == v1::SORT_ORDER_PUBLISHED_ASC) {
      if (last.has_published_at()) {
        *after->mutable_published_at() = last.published_at();
      } else {
        after->set_undated(true);
      }
    } else {
      after->set_score(last.score());
    }
  }
  return out;
}

}  // namespace sift::storage::testing

#endif  // SIFT_SERVICES_STORAGE_INTERNAL_TEST_UTIL_H_
