#ifndef SIFT_SERVICES_STORAGE_INTERNAL_DOC_ITERATOR_H_
#define SIFT_SERVICES_STORAGE_INTERNAL_DOC_ITERATOR_H_

// Document-at-a-time query execution over RocksDB iterators: one iterator
// per plan node, all moving forward through internal document numbers.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "rocksdb/db.h"
#include "services/storage/internal/key_format.h"
#include "services/storage/scoring.h"

namespace sift::storage::internal {

// What every iterator of one query reads from: the database at one
// snapshot. Iterators stop (at kNoMoreDocs) on a read error and record the
// first one here, so a query checks `status` once at the end. Not
// thread-safe; one per query.
struct ReadContext {
  rocksdb::DB* db = nullptr;
  rocksdb::ColumnFamilyHandle* postings = nullptr;
  rocksdb::ColumnFamilyHandle* positions = nullptr;
  rocksdb::ColumnFamilyHandle* fields = nullptr;
  // Carries the snapshot.
  rocksdb::ReadOptions read_options;
  absl::Status status;

  void Fail(absl::Status s) {
    if (status.ok()) status = std::move(s);
  }
};

// The matches of one plan node in increasing docnum order. Starts before the
// first match (doc() == 0, never a docnum); ends at kNoMoreDocs.
class DocIterator {
 public:
  virtual ~DocIterator() = default;

  uint32_t doc() const { return doc_; }

  // Moves to the first match >= target (target >= kFirstDocnum); stays put
  // when already there. Never moves backwards.
  virtual void SeekTo(uint32_t target) = 0;

  // The score of the current match. Call only while doc() is a match; may
  // move sub-iterators that are not required to match (should clauses).
  virtual double Score() = 0;

 protected:
  uint32_t doc_ = 0;
};

// The postings of one term in one field. For FieldTag::kText the matches
// are the documents whose term frequency is non-zero in `fields`, scored
// with BM25F; for kSource / kTag (keyword postings) every posting matches
// and scores `idf`.
class PostingIterator final : public DocIterator {
 public:
  // `context` and `bm25` must outlive the iterator.
  PostingIterator(ReadContext* context, FieldTag tag, std::string term,
                  TextFields fields, const Bm25f* bm25, double idf);

  void SeekTo(uint32_t target) override;
  double Score() override;

  const std::string& term() const { return term_; }
  // The current full-text posting (FieldTag::kText only).
  const TextPosting& posting() const { return posting_; }

 private:
  // Moves forward from the RocksDB iterator's position to the first
  // accepted posting.
  void Settle();

  ReadContext* context_;
  FieldTag tag_;
  std::string term_;
  TextFields fields_;
  const Bm25f* bm25_;
  double idf_;
  std::string prefix_;
  std::string upper_bound_;
  rocksdb::Slice upper_bound_slice_;
  std::string seek_key_;
  std::unique_ptr<rocksdb::Iterator> it_;
  TextPosting posting_;
};

// Documents where the terms occur in order within `slop` extra positions
// (see CountPhraseOccurrences), in the title or body as `fields` says; a
// phrase never spans two fields. Scored as one term whose frequency is the
// number of occurrences and whose idf is `idf` (the sum of the terms' idfs).
class PhraseIterator final : public DocIterator {
 public:
  PhraseIterator(ReadContext* context, const std::vector<std::string>& terms,
                 TextFields fields, uint32_t slop, const Bm25f* bm25,
                 double idf);

  void SeekTo(uint32_t target) override;
  double Score() override;

 private:
  // Occurrences in one field of the current candidate; 0 on a read error.
  uint32_t CountIn(FieldTag field, uint32_t docnum);

  ReadContext* context_;
  TextFields fields_;
  uint32_t slop_;
  const Bm25f* bm25_;
  double idf_;
  std::vector<PostingIterator*> terms_;  // owned by all_terms_
  std::unique_ptr<DocIterator> all_terms_;
  uint32_t title_count_ = 0;
  uint32_t body_count_ = 0;
  std::vector<std::vector<uint32_t>> positions_;
};

// Documents matched by every child; scores the sum of the children's scores
// in order.
class ConjunctionIterator final : public DocIterator {
 public:
  explicit ConjunctionIterator(
      std::vector<std::unique_ptr<DocIterator>> children);

  void SeekTo(uint32_t target) override;
  double Score() override;

 private:
  std::vector<std::unique_ptr<DocIterator>> children_;
};

// Documents matched by any child; scores the sum of the matching children's
// scores in order.
class DisjunctionIterator final : public DocIterator {
 public:
  explicit DisjunctionIterator(
      std::vector<std::unique_ptr<DocIterator>> children);

  void SeekTo(uint32_t target) override;
  double Score() override;

 private:
  std::vector<std::unique_ptr<DocIterator>> children_;
};

// BooleanQuery: every `must` child matches, no `must_not` child does, and
// without `must` children at least one `should` child matches (so with
// neither nothing matches). Scores the matching must then should children's
// scores, summed in order.
class BooleanIterator final : public DocIterator {
 public:
  BooleanIterator(std::vector<std::unique_ptr<DocIterator>> must,
                  std::vector<std::unique_ptr<DocIterator>> should,
                  std::vector<std::unique_ptr<DocIterator>> must_not);

  void SeekTo(uint32_t target) override;
  double Score() override;

 private:
  // The conjunction of `must`, or the disjunction of `should` without must.
  std::unique_ptr<DocIterator> required_;
  // Scored when they match; empty when required_ is their disjunction.
  std::vector<std::unique_ptr<DocIterator>> optional_;
  std::vector<std::unique_ptr<DocIterator>> excluded_;
};

// Every live document, score 0.
class MatchAllIterator final : public DocIterator {
 public:
  explicit MatchAllIterator(ReadContext* context);

  void SeekTo(uint32_t target) override;
  double Score() override { return 0.0; }

 private:
  ReadContext* context_;
  std::string upper_bound_;
  rocksdb::Slice upper_bound_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Matches nothing.
class EmptyIterator final : public DocIterator {
 public:
  EmptyIterator() { doc_ = kNoMoreDocs; }
  void SeekTo(uint32_t) override {}
  double Score() override { return 0.0; }
};

// How often a phrase occurs in one field, given each phrase term's sorted
// positions there (positions[i] for the i-th phrase term). An occurrence is
// a start position p0 of the first term from which the following terms can
// be found in order, each at the smallest position after the previous one,
// with the last one at most (n - 1) + slop positions after p0: slop counts
// the words that may stand between the terms, so slop 0 means consecutive
// positions. Occurrences may overlap (each start counts once).
uint32_t CountPhraseOccurrences(
    const std::vector<std::vector<uint32_t>>& positions, uint32_t slop);

}  // namespace sift::storage::internal

#endif  // SIFT_SERVICES_STORAGE_INTERNAL_DOC_ITERATOR_H_
