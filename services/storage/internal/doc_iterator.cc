#include "services/storage/internal/doc_iterator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/storage/internal/rocksdb_status.h"

namespace sift::storage::internal {
namespace {

bool Accepts(TextFields fields, const TextPosting& p) {
  switch (fields) {
    case TextFields::kTitleAndBody:
      return p.tf_title > 0 || p.tf_body > 0;
    case TextFields::kTitle:
      return p.tf_title > 0;
    case TextFields::kBody:
      return p.tf_body > 0;
  }
  return false;
}

}  // namespace

PostingIterator::PostingIterator(ReadContext* context, FieldTag tag,
                                 std::string term, TextFields fields,
                                 const Bm25f* bm25, double idf)
    : context_(context),
      tag_(tag),
      term_(std::move(term)),
      fields_(fields),
      bm25_(bm25),
      idf_(idf),
      prefix_(TermPrefix(tag, term_)) {
  // The prefix ends with 0x00, so bumping that byte to 0x01 gives the first
  // key after every key of this term.
  upper_bound_ = prefix_;
  upper_bound_.back() = '\x01';
  upper_bound_slice_ = rocksdb::Slice(upper_bound_);
  rocksdb::ReadOptions options = context_->read_options;
  options.iterate_upper_bound = &upper_bound_slice_;
  it_.reset(context_->db->NewIterator(options, context_->postings));
}

void PostingIterator::SeekTo(uint32_t target) {
  if (doc_ >= target) return;
  if (doc_ != 0 && target == doc_ + 1) {
    it_->Next();
  } else {
    seek_key_ = prefix_;
    PutBigEndian32(&seek_key_, target);
    it_->Seek(seek_key_);
  }
  Settle();
}

void PostingIterator::Settle() {
  for (; it_->Valid(); it_->Next()) {
    const rocksdb::Slice key = it_->key();
    if (key.size() != prefix_.size() + 4) {
      context_->Fail(absl::DataLossError(
          absl::StrCat("malformed posting key for term \"", term_, "\"")));
      break;
    }
    const uint32_t docnum =
        DocnumOfPostingKey(absl::string_view(key.data(), key.size()));
    if (tag_ != FieldTag::kText) {
      doc_ = docnum;
      return;
    }
    const rocksdb::Slice value = it_->value();
    if (!DecodeTextPosting(absl::string_view(value.data(), value.size()),
                           &posting_)) {
      context_->Fail(absl::DataLossError(absl::StrCat(
          "malformed posting of term \"", term_, "\" in document ", docnum)));
      break;
    }
    if (Accepts(fields_, posting_)) {
      doc_ = docnum;
      return;
    }
  }
  if (!it_->status().ok()) {
    context_->Fail(FromRocksDbStatus(it_->status(), "reading postings"));
  }
  doc_ = kNoMoreDocs;
}

double PostingIterator::Score() {
  if (tag_ != FieldTag::kText) return idf_;
  return bm25_->Score(
      idf_, bm25_->WeightedTf(fields_, posting_.tf_title, posting_.tf_body,
                              posting_.title_length, posting_.body_length));
}

PhraseIterator::PhraseIterator(ReadContext* context,
                               const std::vector<std::string>& terms,
                               TextFields fields, uint32_t slop,
                               const Bm25f* bm25, double idf)
    : context_(context), fields_(fields), slop_(slop), bm25_(bm25), idf_(idf) {
  std::vector<std::unique_ptr<DocIterator>> children;
  for (const std::string& term : terms) {
    auto it = std::make_unique<PostingIterator>(context, FieldTag::kText, term,
                                                fields, bm25, 0.0);
    terms_.push_back(it.get());
    children.push_back(std::move(it));
  }
  all_terms_ = std::make_unique<ConjunctionIterator>(std::move(children));
  positions_.resize(terms_.size());
}

void PhraseIterator::SeekTo(uint32_t target) {
  if (doc_ >= target) return;
  while (true) {
    all_terms_->SeekTo(target);
    const uint32_t docnum = all_terms_->doc();
    if (docnum == kNoMoreDocs || !context_->status.ok()) {
      doc_ = kNoMoreDocs;
      return;
    }
    bool all_in_title = fields_ != TextFields::kBody;
    bool all_in_body = fields_ != TextFields::kTitle;
    for (const PostingIterator* t : terms_) {
      all_in_title = all_in_title && t->posting().tf_title > 0;
      all_in_body = all_in_body && t->posting().tf_body > 0;
    }
    title_count_ = all_in_title ? CountIn(FieldTag::kTitle, docnum) : 0;
    body_count_ = all_in_body ? CountIn(FieldTag::kBody, docnum) : 0;
    if (!context_->status.ok()) {
      doc_ = kNoMoreDocs;
      return;
    }
    if (title_count_ > 0 || body_count_ > 0) {
      doc_ = docnum;
      return;
    }
    target = docnum + 1;
  }
}

uint32_t PhraseIterator::CountIn(FieldTag field, uint32_t docnum) {
  rocksdb::PinnableSlice value;
  for (size_t i = 0; i < terms_.size(); ++i) {
    value.Reset();
    rocksdb::Status s =
        context_->db->Get(context_->read_options, context_->positions,
                          PostingKey(field, terms_[i]->term(), docnum), &value);
    if (!s.ok()) {
      context_->Fail(FromRocksDbStatus(
          s, absl::StrCat("reading positions of \"", terms_[i]->term(),
                          "\" in document ", docnum)));
      return 0;
    }
    if (!DecodePositions(absl::string_view(value.data(), value.size()),
                         &positions_[i])) {
      context_->Fail(absl::DataLossError(
          absl::StrCat("malformed positions of \"", terms_[i]->term(),
                       "\" in document ", docnum)));
      return 0;
    }
  }
  return CountPhraseOccurrences(positions_, slop_);
}

double PhraseIterator::Score() {
  const TextPosting& p = terms_.front()->posting();
  return bm25_->Score(idf_,
                      bm25_->WeightedTf(fields_, title_count_, body_count_,
                                        p.title_length, p.body_length));
}

ConjunctionIterator::ConjunctionIterator(
    std::vector<std::unique_ptr<DocIterator>> children)
    : children_(std::move(children)) {
  if (children_.empty()) doc_ = kNoMoreDocs;
}

void ConjunctionIterator::SeekTo(uint32_t target) {
  if (doc_ >= target) return;
  // Leapfrog: each child in turn jumps to the candidate; a child landing
  // beyond it makes its document the new candidate.
  uint32_t candidate = target;
  size_t agreed = 0;
  for (size_t i = 0;; i = (i + 1) % children_.size()) {
    children_[i]->SeekTo(candidate);
    const uint32_t d = children_[i]->doc();
    if (d == kNoMoreDocs) {
      doc_ = kNoMoreDocs;
      return;
    }
    if (d != candidate) {
      candidate = d;
      agreed = 0;
    }
    if (++agreed == children_.size()) {
      doc_ = candidate;
      return;
    }
  }
}

double ConjunctionIterator::Score() {
  double score = 0.0;
  for (const auto& child : children_) score += child->Score();
  return score;
}

DisjunctionIterator::DisjunctionIterator(
    std::vector<std::unique_ptr<DocIterator>> children)
    : children_(std::move(children)) {
  if (children_.empty()) doc_ = kNoMoreDocs;
}

void DisjunctionIterator::SeekTo(uint32_t target) {
  if (doc_ >= target) return;
  uint32_t best = kNoMoreDocs;
  for (const auto& child : children_) {
    child->SeekTo(target);
    best = std::min(best, child->doc());
  }
  doc_ = best;
}

double DisjunctionIterator::Score() {
  double score = 0.0;
  for (const auto& child : children_) {
    if (child->doc() == doc_) score += child->Score();
  }
  return score;
}

BooleanIterator::BooleanIterator(
    std::vector<std::unique_ptr<DocIterator>> must,
    std::vector<std::unique_ptr<DocIterator>> should,
    std::vector<std::unique_ptr<DocIterator>> must_not)
    : excluded_(std::move(must_not)) {
  if (!must.empty()) {
    required_ = std::make_unique<ConjunctionIterator>(std::move(must));
    optional_ = std::move(should);
  } else {
    // Also covers "no must and no should": an empty disjunction matches
    // nothing.
    required_ = std::make_unique<DisjunctionIterator>(std::move(should));
  }
}

void BooleanIterator::SeekTo(uint32_t target) {
  if (doc_ >= target) return;
  while (true) {
    required_->SeekTo(target);
    const uint32_t d = required_->doc();
    if (d == kNoMoreDocs) {
      doc_ = kNoMoreDocs;
      return;
    }
    bool excluded = false;
    for (const auto& ex : excluded_) {
      ex->SeekTo(d);
      if (ex->doc() == d) {
        excluded = true;
        break;
      }
    }
    if (!excluded) {
      doc_ = d;
      return;
    }
    target = d + 1;
  }
}

double BooleanIterator::Score() {
  double score = required_->Score();
  for (const auto& opt : optional_) {
    opt->SeekTo(doc_);
    if (opt->doc() == doc_) score += opt->Score();
  }
  return score;
}

MatchAllIterator::MatchAllIterator(ReadContext* context) : context_(context) {
  upper_bound_ = std::string(1, kDocValuesKind + 1);
  upper_bound_slice_ = rocksdb::Slice(upper_bound_);
  rocksdb::ReadOptions options = context_->read_options;
  options.iterate_upper_bound = &upper_bound_slice_;
  it_.reset(context_->db->NewIterator(options, context_->fields));
}

void MatchAllIterator::SeekTo(uint32_t target) {
  if (doc_ >= target) return;
  if (doc_ != 0 && target == doc_ + 1) {
    it_->Next();
  } else {
    it_->Seek(DocValuesKey(target));
  }
  if (it_->Valid()) {
    const rocksdb::Slice key = it_->key();
    if (key.size() == 5) {
      doc_ = DecodeBigEndian32(absl::string_view(key.data() + 1, 4));
      return;
    }
    context_->Fail(absl::DataLossError("malformed key in the fields family"));
  } else if (!it_->status().ok()) {
    context_->Fail(FromRocksDbStatus(it_->status(), "listing documents"));
  }
  doc_ = kNoMoreDocs;
}

uint32_t CountPhraseOccurrences(
    const std::vector<std::vector<uint32_t>>& positions, uint32_t slop) {
  if (positions.empty()) return 0;
  const uint64_t max_span = positions.size() - 1 + uint64_t{slop};
  uint32_t count = 0;
  for (uint32_t start : positions.front()) {
    uint32_t previous = start;
    bool found = true;
    for (size_t i = 1; i < positions.size() && found; ++i) {
      const std::vector<uint32_t>& list = positions[i];
      auto next = std::upper_bound(list.begin(), list.end(), previous);
      if (next == list.end()) {
        // A later start cannot find this term either.
        return count;
      }
      previous = *next;
      // The span only grows with further terms.
      found = uint64_t{previous} - start <= max_span;
    }
    if (found) ++count;
  }
  return count;
}

}  // namespace sift::storage::internal
