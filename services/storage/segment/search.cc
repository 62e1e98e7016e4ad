#include "services/storage/segment/search.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/analysis/term_match.h"
#include "common/status/status_macros.h"
#include "services/storage/segment/postings.h"

namespace sift::storage::segment {
namespace {

void SetBit(std::vector<uint64_t>* bits, uint32_t raw) {
  (*bits)[raw >> 6] |= uint64_t{1} << (raw & 63);
}

// What the iterators of one segment share. Iterators stop at the end on a
// read error and record the first one here.
class SegmentContext {
 public:
  SegmentContext(const Segment* segment, const Bm25f* bm25)
      : segment_(segment), bm25_(bm25) {}

  const Segment& segment() const { return *segment_; }
  const Bm25f& bm25() const { return *bm25_; }
  const Columns& columns() const { return segment_->columns(); }

  // The value of `key`, alive as long as this context; nullopt if absent.
  absl::StatusOr<std::optional<absl::string_view>> Load(
      const std::string& key) {
    auto holder = std::make_unique<ValueHolder>();
    SIFT_ASSIGN_OR_RETURN(bool found, segment_->Get(key, holder.get()));
    if (!found) return std::nullopt;
    const absl::string_view value = holder->value;
    holders_.push_back(std::move(holder));
    return value;
  }

  void Fail(const absl::Status& status) {
    if (status_.ok() && !status.ok()) status_ = status;
  }
  const absl::Status& status() const { return status_; }

 private:
  const Segment* segment_;
  const Bm25f* bm25_;
  std::vector<std::unique_ptr<ValueHolder>> holders_;
  absl::Status status_;
};

// "in title and body", "in the title", "in the body".
absl::string_view FieldsText(TextFields fields) {
  switch (fields) {
    case TextFields::kTitle:
      return "in the title";
    case TextFields::kBody:
      return "in the body";
    case TextFields::kTitleAndBody:
      break;
  }
  return "in title and body";
}

// How a query names a term of `node`'s field: `"word"` for text,
// `source:"value"` and `tag:"value"` for keywords.
std::string QuotedTerm(const PlanNode& node, absl::string_view term) {
  const absl::string_view field =
      node.keyword_field == TermField::kSource ? "source:"
      : node.keyword_field == TermField::kTag  ? "tag:"
                                               : "";
  return absl::StrCat(field, "\"", term, "\"");
}

std::string FormatPublished(const std::pair<int64_t, int32_t>& published) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ",
                          absl::FromUnixSeconds(published.first) +
                              absl::Nanoseconds(published.second),
                          absl::UTCTimeZone());
}

v1::Explanation MakeExplanation(double value, std::string description) {
  v1::Explanation out;
  out.set_value(value);
  out.set_description(std::move(description));
  return out;
}

// Iterator doc numbers are segment doc numbers plus one, so that 0 means
// "before the first document" and SeekTo(d) with d >= 1 has one meaning.
class Iter {
 public:
  virtual ~Iter() = default;
  uint32_t doc() const { return doc_; }
  // Moves to the first match >= target; stays when already there.
  virtual void SeekTo(uint32_t target) = 0;
  // Score of the current match.
  virtual double Score() = 0;
  // How Score() comes about at the current match, as a tree whose value is
  // Score()'s, computed by the same code in the same order.
  virtual v1::Explanation Explain() = 0;
  // Roughly how many documents it matches, to order conjunctions.
  virtual uint64_t cost() const = 0;

 protected:
  uint32_t doc_ = 0;
};

uint32_t FromRaw(uint32_t raw) { return raw == kNoMoreDocs ? raw : raw + 1; }

class EmptyIter final : public Iter {
 public:
  EmptyIter() { doc_ = kNoMoreDocs; }
  void SeekTo(uint32_t) override {}
  double Score() override { return 0.0; }
  v1::Explanation Explain() override {
    return MakeExplanation(0.0, "matches nothing in this segment");
  }
  uint64_t cost() const override { return 0; }
};

class TermIter final : public Iter {
 public:
  // `node`, the plan node scored, names the term in explanations; null for
  // the iterators of filters, which are never explained.
  TermIter(SegmentContext* context, absl::string_view value, bool keyword,
           TextFields fields, double idf, const PlanNode* node = nullptr)
      : context_(context),
        keyword_(keyword),
        fields_(fields),
        idf_(idf),
        node_(node) {
    context_->Fail(cursor_.Init(value));
    if (!cursor_.status().ok()) doc_ = kNoMoreDocs;
  }

  void SeekTo(uint32_t target) override {
    if (doc_ >= target) return;
    cursor_.SeekTo(target - 1);
    while (cursor_.doc() != kNoMoreDocs && !Accepted()) cursor_.Next();
    if (!cursor_.status().ok()) context_->Fail(cursor_.status());
    doc_ = FromRaw(cursor_.doc());
  }

  double Score() override {
    if (keyword_) return idf_;
    const uint32_t raw = doc_ - 1;
    const Columns& c = context_->columns();
    const Bm25f& bm25 = context_->bm25();
    return bm25.Score(
        idf_, bm25.WeightedTf(fields_, cursor_.tf_title(), cursor_.tf_body(),
                              c.title_lengths[raw], c.body_lengths[raw]));
  }

  v1::Explanation Explain() override {
    if (node_ == nullptr) return MakeExplanation(Score(), "filter");
    const Bm25f& bm25 = context_->bm25();
    const std::string name = QuotedTerm(*node_, node_->term);
    if (keyword_) {
      v1::Explanation out = MakeExplanation(
          idf_, absl::StrCat("keyword ", name,
                             ", a match scores the value's idf, from:"));
      *out.add_details() = bm25.ExplainIdf(name, node_->doc_freq);
      return out;
    }
    const uint32_t raw = doc_ - 1;
    const Columns& c = context_->columns();
    return bm25.ExplainScore(
        absl::StrCat("term ", name, " ", FieldsText(fields_)),
        bm25.ExplainIdf(name, node_->doc_freq), "term", fields_,
        cursor_.tf_title(), cursor_.tf_body(), c.title_lengths[raw],
        c.body_lengths[raw]);
  }

  uint64_t cost() const override { return cursor_.header().df; }

 private:
  bool Accepted() {
    if (keyword_) return true;
    switch (fields_) {
      case TextFields::kTitle:
        return cursor_.tf_title() > 0;
      case TextFields::kBody:
        return cursor_.tf_body() > 0;
      case TextFields::kTitleAndBody:
        break;
    }
    return true;
  }

  SegmentContext* context_;
  bool keyword_;
  TextFields fields_;
  double idf_;
  const PlanNode* node_;
  PostingCursor cursor_;
};

class PhraseIter final : public Iter {
 public:
  // `postings[i]` / `positions[i]` are the values of the i-th phrase term.
  PhraseIter(SegmentContext* context,
             const std::vector<absl::string_view>& postings,
             const std::vector<absl::string_view>& positions,
             const PlanNode* node)
      : context_(context),
        node_(node),
        fields_(node->fields),
        slop_(node->slop),
        idf_(node->idf),
        cursors_(postings.size()),
        readers_(postings.size()),
        title_(postings.size()),
        body_(postings.size()) {
    for (size_t i = 0; i < postings.size(); ++i) {
      context_->Fail(cursors_[i].Init(postings[i]));
      context_->Fail(readers_[i].Init(positions[i]));
      order_.push_back(i);
    }
    if (!context_->status().ok()) doc_ = kNoMoreDocs;
    std::sort(order_.begin(), order_.end(), [this](size_t a, size_t b) {
      return cursors_[a].header().df < cursors_[b].header().df;
    });
  }

  void SeekTo(uint32_t target) override {
    if (doc_ >= target) return;
    uint32_t candidate = target - 1;  // raw
    while (true) {
      // Leapfrog over the terms, rarest first.
      size_t agreed = 0;
      for (size_t k = 0; agreed < order_.size(); k = (k + 1) % order_.size()) {
        PostingCursor& cursor = cursors_[order_[k]];
        cursor.SeekTo(candidate);
        const uint32_t d = cursor.doc();
        if (d == kNoMoreDocs) {
          for (const PostingCursor& c : cursors_) context_->Fail(c.status());
          doc_ = kNoMoreDocs;
          return;
        }
        if (d != candidate) {
          candidate = d;
          agreed = 1;
        } else {
          ++agreed;
        }
      }
      if (CountOccurrences()) {
        doc_ = candidate + 1;
        return;
      }
      ++candidate;
    }
  }

  double Score() override {
    const uint32_t raw = doc_ - 1;
    const Columns& c = context_->columns();
    const Bm25f& bm25 = context_->bm25();
    return bm25.Score(
        idf_, bm25.WeightedTf(fields_, title_count_, body_count_,
                              c.title_lengths[raw], c.body_lengths[raw]));
  }

  v1::Explanation Explain() override {
    const uint32_t raw = doc_ - 1;
    const Columns& c = context_->columns();
    const Bm25f& bm25 = context_->bm25();
    // The plan summed the terms' idfs in this order into idf_.
    v1::Explanation idf =
        MakeExplanation(idf_, "idf of the phrase, sum of its terms' idfs:");
    for (size_t i = 0; i < node_->terms.size(); ++i) {
      // A phrase's node leaves keyword_field unset: its terms are text.
      *idf.add_details() = bm25.ExplainIdf(
          absl::StrCat("\"", node_->terms[i], "\""), node_->doc_freqs[i]);
    }
    return bm25.ExplainScore(
        absl::StrCat("phrase \"", absl::StrJoin(node_->terms, " "), "\" ",
                     FieldsText(fields_), " with slop ", slop_),
        std::move(idf), "phrase", fields_, title_count_, body_count_,
        c.title_lengths[raw], c.body_lengths[raw]);
  }

  uint64_t cost() const override {
    uint64_t cost = std::numeric_limits<uint64_t>::max();
    for (const PostingCursor& c : cursors_) {
      cost = std::min<uint64_t>(cost, c.header().df);
    }
    return cost;
  }

 private:
  // Counts the occurrences in the current candidate; true when any.
  bool CountOccurrences() {
    for (size_t i = 0; i < cursors_.size(); ++i) {
      PostingCursor& cursor = cursors_[i];
      absl::Status status =
          readers_[i].Read(cursor.block_index(), cursor.index_in_block(),
                           cursor.block_tf_title(), cursor.block_tf_body(),
                           &title_[i], &body_[i]);
      if (!status.ok()) {
        context_->Fail(status);
        return false;
      }
    }
    title_count_ = fields_ == TextFields::kBody
                       ? 0
                       : CountPhraseOccurrences(title_, slop_);
    body_count_ = fields_ == TextFields::kTitle
                      ? 0
                      : CountPhraseOccurrences(body_, slop_);
    return title_count_ + body_count_ > 0;
  }

  SegmentContext* context_;
  const PlanNode* node_;
  TextFields fields_;
  uint32_t slop_;
  double idf_;
  std::vector<PostingCursor> cursors_;
  std::vector<PositionsReader> readers_;
  std::vector<size_t> order_;
  std::vector<std::vector<uint32_t>> title_;
  std::vector<std::vector<uint32_t>> body_;
  uint32_t title_count_ = 0;
  uint32_t body_count_ = 0;
};

// Every child matches; scores the children's sum in plan order.
class ConjunctionIter final : public Iter {
 public:
  explicit ConjunctionIter(std::vector<std::unique_ptr<Iter>> children)
      : children_(std::move(children)) {
    if (children_.empty()) doc_ = kNoMoreDocs;
    for (const auto& child : children_) by_cost_.push_back(child.get());
    std::stable_sort(by_cost_.begin(), by_cost_.end(),
                     [](Iter* a, Iter* b) { return a->cost() < b->cost(); });
  }

  void SeekTo(uint32_t target) override {
    if (doc_ >= target) return;
    uint32_t candidate = target;
    size_t agreed = 0;
    for (size_t i = 0;; i = (i + 1) % by_cost_.size()) {
      by_cost_[i]->SeekTo(candidate);
      const uint32_t d = by_cost_[i]->doc();
      if (d == kNoMoreDocs) {
        doc_ = kNoMoreDocs;
        return;
      }
      if (d != candidate) {
        candidate = d;
        agreed = 0;
      }
      if (++agreed == by_cost_.size()) {
        doc_ = candidate;
        return;
      }
    }
  }

  double Score() override {
    double score = 0.0;
    for (const auto& child : children_) score += child->Score();
    return score;
  }

  v1::Explanation Explain() override {
    v1::Explanation out =
        MakeExplanation(0.0, "sum of the clauses, which all match:");
    double score = 0.0;
    for (const auto& child : children_) {
      v1::Explanation* detail = out.add_details();
      *detail = child->Explain();
      score += detail->value();
    }
    out.set_value(score);
    return out;
  }

  uint64_t cost() const override {
    return by_cost_.empty() ? 0 : by_cost_.front()->cost();
  }

 private:
  std::vector<std::unique_ptr<Iter>> children_;
  std::vector<Iter*> by_cost_;
};

// Any child matches; scores the matching children's sum in plan order.
class DisjunctionIter final : public Iter {
 public:
  explicit DisjunctionIter(std::vector<std::unique_ptr<Iter>> children)
      : children_(std::move(children)) {
    if (children_.empty()) doc_ = kNoMoreDocs;
  }

  void SeekTo(uint32_t target) override {
    if (doc_ >= target) return;
    uint32_t best = kNoMoreDocs;
    for (const auto& child : children_) {
      child->SeekTo(target);
      best = std::min(best, child->doc());
    }
    doc_ = best;
  }

  double Score() override {
    double score = 0.0;
    for (const auto& child : children_) {
      if (child->doc() == doc_) score += child->Score();
    }
    return score;
  }

  v1::Explanation Explain() override {
    v1::Explanation out = MakeExplanation(0.0, "sum of the matching clauses:");
    double score = 0.0;
    for (const auto& child : children_) {
      if (child->doc() != doc_) continue;
      v1::Explanation* detail = out.add_details();
      *detail = child->Explain();
      score += detail->value();
    }
    out.set_value(score);
    return out;
  }

  uint64_t cost() const override {
    uint64_t cost = 0;
    for (const auto& child : children_) cost += child->cost();
    return cost;
  }

 private:
  std::vector<std::unique_ptr<Iter>> children_;
};

// Every must child, no must_not child, and without must children at least
// one should child; scores must then matching should children, in order.
class BooleanIter final : public Iter {
 public:
  BooleanIter(std::vector<std::unique_ptr<Iter>> must,
              std::vector<std::unique_ptr<Iter>> should,
              std::vector<std::unique_ptr<Iter>> must_not)
      : excluded_(std::move(must_not)) {
    if (!must.empty()) {
      required_ = std::make_unique<ConjunctionIter>(std::move(must));
      optional_ = std::move(should);
    } else {
      required_ = std::make_unique<DisjunctionIter>(std::move(should));
    }
  }

  void SeekTo(uint32_t target) override {
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

  double Score() override {
    double score = required_->Score();
    for (const auto& opt : optional_) {
      opt->SeekTo(doc_);
      if (opt->doc() == doc_) score += opt->Score();
    }
    return score;
  }

  // The required clauses' sum continued by the matching optional ones: one
  // flat list, added up in Score()'s order.
  v1::Explanation Explain() override {
    v1::Explanation out = required_->Explain();
    out.set_description("sum of the matching clauses:");
    double score = out.value();
    for (const auto& opt : optional_) {
      opt->SeekTo(doc_);
      if (opt->doc() != doc_) continue;
      v1::Explanation* detail = out.add_details();
      *detail = opt->Explain();
      score += detail->value();
    }
    out.set_value(score);
    return out;
  }

  uint64_t cost() const override { return required_->cost(); }

 private:
  std::unique_ptr<Iter> required_;
  std::vector<std::unique_ptr<Iter>> optional_;
  std::vector<std::unique_ptr<Iter>> excluded_;
};

class MatchAllIter final : public Iter {
 public:
  explicit MatchAllIter(uint32_t doc_count) : doc_count_(doc_count) {
    if (doc_count == 0) doc_ = kNoMoreDocs;
  }
  void SeekTo(uint32_t target) override {
    if (doc_ >= target) return;
    doc_ = target <= doc_count_ ? target : kNoMoreDocs;
  }
  double Score() override { return 0.0; }
  v1::Explanation Explain() override {
    return MakeExplanation(0.0, "every document matches, scoring 0");
  }
  uint64_t cost() const override { return doc_count_; }

 private:
  uint32_t doc_count_;
};

// The documents dated in [from, to), read from the published column as the
// iterator moves: a range is cheap to check per document and usually meets
// a rarer clause in a conjunction, which seeks it only to that clause's
// candidates. Scores 0.
class DateRangeIter final : public Iter {
 public:
  DateRangeIter(const Columns* columns, uint32_t doc_count,
                const PlanNode& node)
      : columns_(columns),
        doc_count_(doc_count),
        from_(node.from),
        to_(node.to) {
    if (doc_count == 0) doc_ = kNoMoreDocs;
  }

  void SeekTo(uint32_t target) override {
    if (doc_ >= target) return;
    for (uint32_t raw = target - 1; raw < doc_count_; ++raw) {
      if (InRange(columns_->published(raw))) {
        doc_ = raw + 1;
        return;
      }
    }
    doc_ = kNoMoreDocs;
  }
  double Score() override { return 0.0; }
  v1::Explanation Explain() override {
    return MakeExplanation(
        0.0,
        absl::StrCat("published_at in [", from_ ? FormatPublished(*from_) : "*",
                     ", ", to_ ? FormatPublished(*to_) : "*",
                     "), a restriction that scores 0"));
  }
  uint64_t cost() const override { return doc_count_; }

 private:
  bool InRange(const Published& published) const {
    if (!published) return false;
    if (from_ && *published < *from_) return false;
    return !to_ || *published < *to_;
  }

  const Columns* columns_;
  uint32_t doc_count_;
  std::optional<std::pair<int64_t, int32_t>> from_;
  std::optional<std::pair<int64_t, int32_t>> to_;
};

// The documents of a set, each scoring the same constant: a prefix query,
// whose expansions are gathered into a bitset when the iterator is built.
// `description` says what the set is, for explanations.
class DocSetIter final : public Iter {
 public:
  DocSetIter(std::vector<uint64_t> bits, uint64_t count, double score,
             std::string description)
      : bits_(std::move(bits)),
        count_(count),
        score_(score),
        description_(std::move(description)) {
    if (count_ == 0) doc_ = kNoMoreDocs;
  }
  void SeekTo(uint32_t target) override {
    if (doc_ >= target) return;
    // Raw doc numbers are iterator doc numbers minus one.
    size_t raw = target - 1;
    size_t word = raw >> 6;
    if (word >= bits_.size()) {
      doc_ = kNoMoreDocs;
      return;
    }
    uint64_t bits = bits_[word] & (~uint64_t{0} << (raw & 63));
    while (bits == 0) {
      if (++word == bits_.size()) {
        doc_ = kNoMoreDocs;
        return;
      }
      bits = bits_[word];
    }
    doc_ = static_cast<uint32_t>((word << 6) + std::countr_zero(bits)) + 1;
  }
  double Score() override { return score_; }
  v1::Explanation Explain() override {
    return MakeExplanation(score_, description_);
  }
  uint64_t cost() const override { return count_; }

 private:
  std::vector<uint64_t> bits_;
  uint64_t count_;
  double score_;
  std::string description_;
};

// Every document with a term of `node.keyword_field` that starts with
// `start` and that `accept` takes, in the fields `node.fields` asks for
// (for text); `what` names the query in errors, `description` in
// explanations.
absl::StatusOr<std::unique_ptr<Iter>> BuildTermSetIter(
    SegmentContext* context, const PlanNode& node, absl::string_view start,
    const std::function<bool(absl::string_view)>& accept,
    absl::string_view what, std::string description) {
  const Segment& segment = context->segment();
  const std::string first = absl::StrCat(
      std::string(1, static_cast<char>(node.keyword_field)), start);
  std::vector<uint64_t> bits((segment.doc_count() + 63) / 64, 0);
  uint64_t count = 0;
  size_t terms = 0;
  std::unique_ptr<Segment::PostingsIterator> it =
      segment.NewPostingsIterator(kPostingsTag, first);
  for (; it->Valid(); it->Next()) {
    const absl::string_view key = it->key().substr(1);  // field + term
    if (key.substr(0, first.size()) != first) break;
    if (!accept(key.substr(1))) continue;
    if (++terms > kMaxPrefixTerms) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " matches more than ", kMaxPrefixTerms,
                       " terms; make it longer"));
    }
    PostingCursor cursor;
    SIFT_RETURN_IF_ERROR(cursor.Init(it->value()));
    for (cursor.Next(); cursor.doc() != kNoMoreDocs; cursor.Next()) {
      const uint32_t raw = cursor.doc();
      if (raw >= segment.doc_count()) {
        return absl::DataLossError(absl::StrCat(
            "segment ", segment.id(), " has a posting past its last doc"));
      }
      if (node.keyword_field == TermField::kText &&
          ((node.fields == TextFields::kTitle && cursor.tf_title() == 0) ||
           (node.fields == TextFields::kBody && cursor.tf_body() == 0))) {
        continue;
      }
      uint64_t& word = bits[raw >> 6];
      const uint64_t bit = uint64_t{1} << (raw & 63);
      if ((word & bit) == 0) ++count;
      word |= bit;
    }
    SIFT_RETURN_IF_ERROR(cursor.status());
  }
  SIFT_RETURN_IF_ERROR(it->status());
  return std::make_unique<DocSetIter>(std::move(bits), count, node.idf,
                                      std::move(description));
}

TermField TextOrKeyword(const PlanNode& node) {
  return node.kind == PlanNode::Kind::kKeyword ? node.keyword_field
                                               : TermField::kText;
}

absl::StatusOr<std::unique_ptr<Iter>> BuildIter(SegmentContext* context,
                                                const PlanNode& node) {
  switch (node.kind) {
    case PlanNode::Kind::kTerm:
    case PlanNode::Kind::kKeyword: {
      SIFT_ASSIGN_OR_RETURN(
          std::optional<absl::string_view> value,
          context->Load(PostingsKey(TextOrKeyword(node), node.term)));
      if (!value) return std::make_unique<EmptyIter>();
      return std::make_unique<TermIter>(context, *value,
                                        node.kind == PlanNode::Kind::kKeyword,
                                        node.fields, node.idf, &node);
    }
    case PlanNode::Kind::kPhrase: {
      std::vector<absl::string_view> postings, positions;
      for (const std::string& term : node.terms) {
        SIFT_ASSIGN_OR_RETURN(
            std::optional<absl::string_view> p,
            context->Load(PostingsKey(TermField::kText, term)));
        if (!p) return std::make_unique<EmptyIter>();
        SIFT_ASSIGN_OR_RETURN(
            std::optional<absl::string_view> q,
            context->Load(PositionsKey(TermField::kText, term)));
        if (!q) {
          return absl::DataLossError(absl::StrCat(
              "segment ", context->segment().id(), " lacks positions"));
        }
        postings.push_back(*p);
        positions.push_back(*q);
      }
      return std::make_unique<PhraseIter>(context, postings, positions, &node);
    }
    case PlanNode::Kind::kBoolean: {
      std::vector<std::unique_ptr<Iter>> must, should, must_not;
      for (const PlanNode& child : node.must) {
        SIFT_ASSIGN_OR_RETURN(must.emplace_back(), BuildIter(context, child));
      }
      for (const PlanNode& child : node.should) {
        SIFT_ASSIGN_OR_RETURN(should.emplace_back(), BuildIter(context, child));
      }
      for (const PlanNode& child : node.must_not) {
        SIFT_ASSIGN_OR_RETURN(must_not.emplace_back(),
                              BuildIter(context, child));
      }
      return std::make_unique<BooleanIter>(std::move(must), std::move(should),
                                           std::move(must_not));
    }
    case PlanNode::Kind::kMatchAll:
      return std::make_unique<MatchAllIter>(context->segment().doc_count());
    case PlanNode::Kind::kDateRange:
      return std::make_unique<DateRangeIter>(
          &context->columns(), context->segment().doc_count(), node);
    case PlanNode::Kind::kPrefix:
      return BuildTermSetIter(
          context, node, node.term,
          [&node](absl::string_view term) {
            return analysis::PrefixMatches(node.term, term);
          },
          absl::StrCat("the prefix '", node.term, "*'"),
          absl::StrCat("prefix ",
                       QuotedTerm(node, absl::StrCat(node.term, "*")),
                       node.keyword_field == TermField::kText
                           ? absl::StrCat(" ", FieldsText(node.fields))
                           : "",
                       ", a set of terms whose every match scores a constant ",
                       node.idf));
    case PlanNode::Kind::kFuzzy:
      // Like most engines, only terms that share the first character: that
      // cuts the scan of the dictionary to a sliver, and a typo in the
      // first letter is the rarest kind.
      return BuildTermSetIter(
          context, node, analysis::FirstCharacter(node.term),
          [&node](absl::string_view term) {
            return analysis::FuzzyMatches(node.term, node.slop, term);
          },
          absl::StrCat("the fuzzy word '", node.term, "~", node.slop, "'"),
          absl::StrCat("fuzzy ", QuotedTerm(node, node.term), " ",
                       FieldsText(node.fields), ", the terms within ",
                       node.slop, node.slop == 1 ? " edit" : " edits",
                       " of it sharing its first character, whose every "
                       "match scores a constant ",
                       node.idf));
  }
  return absl::InternalError("unknown plan node");
}

// The filters over one segment, asked about increasing raw doc numbers.
class SegmentFilter {
 public:
  // False when no document of the segment can pass.
  absl::StatusOr<bool> Init(SegmentContext* context, const FilterSpec& spec) {
    context_ = context;
    spec_ = &spec;
    for (const std::string& source : spec.sources) {
      SIFT_ASSIGN_OR_RETURN(
          std::optional<absl::string_view> value,
          context->Load(PostingsKey(TermField::kSource, source)));
      if (value) {
        sources_.push_back(std::make_unique<TermIter>(
            context, *value, true, TextFields::kTitleAndBody, 0.0));
      }
    }
    if (!spec.sources.empty() && sources_.empty()) return false;
    for (const std::string& tag : spec.tags) {
      SIFT_ASSIGN_OR_RETURN(std::optional<absl::string_view> value,
                            context->Load(PostingsKey(TermField::kTag, tag)));
      if (!value) return false;
      tags_.push_back(std::make_unique<TermIter>(
          context, *value, true, TextFields::kTitleAndBody, 0.0));
    }
    dates_ = spec.from.has_value() || spec.to.has_value();
    return true;
  }

  bool Accept(uint32_t raw) {
    const uint32_t doc = raw + 1;
    if (!sources_.empty()) {
      bool any = false;
      for (auto& source : sources_) {
        source->SeekTo(doc);
        if (source->doc() == doc) {
          any = true;
          break;
        }
      }
      if (!any) return false;
    }
    for (auto& tag : tags_) {
      tag->SeekTo(doc);
      if (tag->doc() != doc) return false;
    }
    if (dates_) {
      const Published published = context_->columns().published(raw);
      if (!published) return false;
      if (spec_->from && *published < *spec_->from) return false;
      if (spec_->to && !(*published < *spec_->to)) return false;
    }
    return true;
  }

 private:
  SegmentContext* context_ = nullptr;
  const FilterSpec* spec_ = nullptr;
  std::vector<std::unique_ptr<TermIter>> sources_;
  std::vector<std::unique_ptr<TermIter>> tags_;
  bool dates_ = false;
};

// The best `limit` hits over every segment.
class TopK {
 public:
  struct Entry {
    double score;
    absl::string_view id;
    Published published;
    // Where the hit lives, for the proximity and explain passes.
    const Segment* segment = nullptr;
    uint32_t raw = 0;
    // Whether the proximity pass added the bonus to `score`.
    bool proximity = false;
  };

  // With `after`, only entries strictly after it in the order are kept.
  TopK(uint32_t limit, v1::SortOrder sort, const SearchAfter* after)
      : limit_(limit), sort_(sort) {
    if (after != nullptr) {
      after_ = Entry{after->score, after->id, after->published};
    }
  }

  bool Better(const Entry& a, const Entry& b) const {
    if (sort_ == v1::SORT_ORDER_PUBLISHED_DESC ||
        sort_ == v1::SORT_ORDER_PUBLISHED_ASC) {
      if (a.published.has_value() != b.published.has_value()) {
        return a.published.has_value();
      }
      if (a.published && *a.published != *b.published) {
        return sort_ == v1::SORT_ORDER_PUBLISHED_DESC
                   ? *a.published > *b.published
                   : *a.published < *b.published;
      }
      return a.id < b.id;
    }
    if (a.score != b.score) return a.score > b.score;
    return a.id < b.id;
  }

  // Keeps `entry` if it is after the cursor and among the best `limit`.
  // Excluding what precedes the cursor here, where every path offers its
  // hits, keeps WAND exact: its threshold is the worst kept score, and
  // every kept entry is after the cursor, so a document it skips could
  // enter neither way.
  void Offer(const Entry& entry) {
    if (limit_ == 0) return;
    if (after_ && !Better(*after_, entry)) return;
    auto worse_on_top = [this](const Entry& a, const Entry& b) {
      return Better(a, b);
    };
    if (heap_.size() < limit_) {
      heap_.push_back(entry);
      std::push_heap(heap_.begin(), heap_.end(), worse_on_top);
    } else if (Better(entry, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), worse_on_top);
      heap_.back() = entry;
      std::push_heap(heap_.begin(), heap_.end(), worse_on_top);
    }
  }

  // False when a hit scoring `score` cannot enter, whatever its id and
  // date: in relevance order, once full, below the worst kept score. Lets
  // callers skip reading the id and date of most matches.
  bool MayTake(double score) const {
    if (limit_ == 0) return false;
    if (sort_ == v1::SORT_ORDER_PUBLISHED_DESC ||
        sort_ == v1::SORT_ORDER_PUBLISHED_ASC) {
      return true;
    }
    return heap_.size() < limit_ || score >= heap_.front().score;
  }

  bool full() const { return limit_ > 0 && heap_.size() >= limit_; }
  // The score a hit must reach (ties by id may still enter).
  double min_score() const { return heap_.front().score; }

  std::vector<Entry> Sorted() const {
    std::vector<Entry> out = heap_;
    std::sort(out.begin(), out.end(),
              [this](const Entry& a, const Entry& b) { return Better(a, b); });
    return out;
  }

 private:
  uint32_t limit_;
  v1::SortOrder sort_;
  std::optional<Entry> after_;
  std::vector<Entry> heap_;
};

struct Totals {
  uint64_t count = 0;
  bool lower_bound = false;
};

// A top-level disjunction of default-field terms, run with block-max WAND.
class Wand {
 public:
  struct Term {
    PostingCursor cursor;
    double idf = 0.0;
    double max_score = 0.0;
    size_t order = 0;  // plan position
    uint32_t block_index = kNoMoreDocs;
    double block_max = 0.0;
  };

  // Whether `root` has the shape Wand runs.
  static bool Applies(const PlanNode& root) {
    if (root.kind == PlanNode::Kind::kTerm) {
      return root.fields == TextFields::kTitleAndBody;
    }
    if (root.kind != PlanNode::Kind::kBoolean || !root.must.empty() ||
        root.should.empty()) {
      return false;
    }
    for (const PlanNode& child : root.should) {
      if (child.kind != PlanNode::Kind::kTerm ||
          child.fields != TextFields::kTitleAndBody) {
        return false;
      }
    }
    return true;
  }

  // With kCollect, every match is also set in `matched` (raw doc numbers)
  // and nothing is pruned; without it the loop is the plain top-k search.
  template <bool kCollect>
  static absl::Status Run(SegmentContext* context, const PlanNode& root,
                          SegmentFilter* filter, const SearchSpec& spec,
                          TopK* top, Totals* totals,
                          std::vector<uint64_t>* matched) {
    const Bm25f& bm25 = context->bm25();
    const Columns& columns = context->columns();
    const Segment& segment = context->segment();
    std::vector<const PlanNode*> plan_terms;
    std::vector<const PlanNode*> excluded_nodes;
    if (root.kind == PlanNode::Kind::kTerm) {
      plan_terms.push_back(&root);
    } else {
      for (const PlanNode& child : root.should) plan_terms.push_back(&child);
      for (const PlanNode& child : root.must_not) {
        excluded_nodes.push_back(&child);
      }
    }
    std::vector<std::unique_ptr<Iter>> excluded;
    for (const PlanNode* node : excluded_nodes) {
      SIFT_ASSIGN_OR_RETURN(excluded.emplace_back(), BuildIter(context, *node));
    }
    std::vector<std::unique_ptr<Term>> owned;
    for (size_t i = 0; i < plan_terms.size(); ++i) {
      SIFT_ASSIGN_OR_RETURN(
          std::optional<absl::string_view> value,
          context->Load(PostingsKey(TermField::kText, plan_terms[i]->term)));
      if (!value) continue;
      auto term = std::make_unique<Term>();
      SIFT_RETURN_IF_ERROR(term->cursor.Init(*value));
      term->idf = plan_terms[i]->idf;
      term->order = i;
      term->max_score =
          Bound(bm25, term->idf, term->cursor.header().max_impact);
      term->cursor.Next();
      owned.push_back(std::move(term));
    }
    // By plan order, for scoring; `live` is re-sorted by doc.
    std::vector<Term*> by_order, live;
    for (auto& term : owned) {
      by_order.push_back(term.get());
      if (term->cursor.doc() != kNoMoreDocs) live.push_back(term.get());
    }

    auto evaluate = [&](uint32_t doc) {
      if (segment.IsDeleted(doc) || !filter->Accept(doc)) return;
      for (auto& ex : excluded) {
        ex->SeekTo(doc + 1);
        if (ex->doc() == doc + 1) return;
      }
      ++totals->count;
      if constexpr (kCollect) SetBit(matched, doc);
      double score = 0.0;
      for (Term* term : by_order) {
        if (term->cursor.doc() != doc) continue;
        score += bm25.Score(
            term->idf,
            bm25.WeightedTf(TextFields::kTitleAndBody, term->cursor.tf_title(),
                            term->cursor.tf_body(), columns.title_lengths[doc],
                            columns.body_lengths[doc]));
      }
      if (top->MayTake(score)) {
        top->Offer(
            {score, columns.id(doc), columns.published(doc), &segment, doc});
      }
    };

    while (!live.empty()) {
      std::sort(live.begin(), live.end(), [](Term* a, Term* b) {
        return a->cursor.doc() < b->cursor.doc();
      });
      const bool pruning = !kCollect && top->full() &&
                           totals->count >= spec.exact_total_hits_up_to;
      // Scores are summed in another order here than in `evaluate`; the
      // margin keeps rounding from pruning a document that ties.
      const double threshold = pruning
                                   ? top->min_score() * (1.0 - 1e-9) - 1e-12
                                   : -std::numeric_limits<double>::infinity();
      double bound = 0.0;
      size_t pivot = live.size();
      for (size_t i = 0; i < live.size(); ++i) {
        bound += live[i]->max_score;
        if (bound >= threshold) {
          pivot = i;
          break;
        }
      }
      if (pivot == live.size()) {
        totals->lower_bound = true;
        break;
      }
      const uint32_t pivot_doc = live[pivot]->cursor.doc();
      while (pivot + 1 < live.size() &&
             live[pivot + 1]->cursor.doc() == pivot_doc) {
        ++pivot;
      }
      if (pruning) {
        double block_bound = 0.0;
        uint32_t next = kNoMoreDocs;
        for (size_t i = 0; i <= pivot; ++i) {
          Term* term = live[i];
          term->cursor.ShallowSeek(pivot_doc);
          next = std::min(next, term->cursor.shallow_last_doc());
          block_bound += BlockMax(bm25, term);
        }
        if (block_bound < threshold) {
          totals->lower_bound = true;
          if (next != kNoMoreDocs) ++next;
          if (pivot + 1 < live.size()) {
            next = std::min(next, live[pivot + 1]->cursor.doc());
          }
          for (size_t i = 0; i <= pivot; ++i) live[i]->cursor.SeekTo(next);
          RemoveExhausted(&live, context);
          continue;
        }
      }
      if (live[0]->cursor.doc() == pivot_doc) {
        evaluate(pivot_doc);
        for (size_t i = 0; i <= pivot; ++i) live[i]->cursor.Next();
      } else {
        for (size_t i = 0; i < pivot; ++i) live[i]->cursor.SeekTo(pivot_doc);
      }
      RemoveExhausted(&live, context);
    }
    for (auto& term : owned) SIFT_RETURN_IF_ERROR(term->cursor.status());
    return absl::OkStatus();
  }

 private:
  static double Bound(const Bm25f& bm25, double idf, const Impact& impact) {
    return bm25.Score(
        idf, bm25.WeightedTf(TextFields::kTitleAndBody, impact.max_tf_title,
                             impact.max_tf_body, impact.min_title_length,
                             impact.min_body_length));
  }

  static double BlockMax(const Bm25f& bm25, Term* term) {
    const uint32_t last = term->cursor.shallow_last_doc();
    if (last == kNoMoreDocs) return 0.0;
    // Cache per block: the skip entry's index changes with its last doc.
    if (term->block_index != last) {
      term->block_index = last;
      term->block_max = Bound(bm25, term->idf, term->cursor.shallow_impact());
    }
    return term->block_max;
  }

  static void RemoveExhausted(std::vector<Term*>* live,
                              SegmentContext* context) {
    live->erase(std::remove_if(live->begin(), live->end(),
                               [context](Term* t) {
                                 if (t->cursor.doc() != kNoMoreDocs) {
                                   return false;
                                 }
                                 context->Fail(t->cursor.status());
                                 return true;
                               }),
                live->end());
  }
};

// Every match of `root` into `top` and `totals`; with kCollect also into
// `matched`.
template <bool kCollect>
void RunIterators(const Segment& segment, Iter* root, SegmentFilter* filter,
                  const SearchSpec& spec, TopK* top, Totals* totals,
                  std::vector<uint64_t>* matched) {
  const Columns& columns = segment.columns();
  for (root->SeekTo(1); root->doc() != kNoMoreDocs;
       root->SeekTo(root->doc() + 1)) {
    const uint32_t raw = root->doc() - 1;
    if (segment.IsDeleted(raw) || !filter->Accept(raw)) continue;
    ++totals->count;
    if constexpr (kCollect) SetBit(matched, raw);
    if (spec.limit == 0) continue;
    const double score = root->Score();
    if (!top->MayTake(score)) continue;
    top->Offer({score, columns.id(raw), columns.published(raw), &segment, raw});
  }
}

// Searches one segment into `top` and `totals`. When `matched` is not null
// (facets were asked for), every live match that passes the filters is also
// set in it, and nothing is pruned; the search without facets runs the
// exact same loops as before facets existed.
absl::Status SearchSegment(const Segment& segment, const SearchSpec& spec,
                           TopK* top, Totals* totals,
                           std::vector<uint64_t>* matched) {
  SegmentContext context(&segment, spec.bm25);
  SegmentFilter filter;
  SIFT_ASSIGN_OR_RETURN(bool possible, filter.Init(&context, spec.filters));
  if (!possible) return absl::OkStatus();
  const bool relevance = spec.sort == v1::SORT_ORDER_RELEVANCE ||
                         spec.sort == v1::SORT_ORDER_UNSPECIFIED;
  if (relevance && spec.limit > 0 && Wand::Applies(*spec.root)) {
    if (matched != nullptr) {
      SIFT_RETURN_IF_ERROR(Wand::Run<true>(&context, *spec.root, &filter, spec,
                                           top, totals, matched));
    } else {
      SIFT_RETURN_IF_ERROR(Wand::Run<false>(&context, *spec.root, &filter, spec,
                                            top, totals, nullptr));
    }
    return context.status();
  }
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<Iter> root,
                        BuildIter(&context, *spec.root));
  if (matched != nullptr) {
    RunIterators<true>(segment, root.get(), &filter, spec, top, totals,
                       matched);
  } else {
    RunIterators<false>(segment, root.get(), &filter, spec, top, totals,
                        nullptr);
  }
  return context.status();
}

// The distinct full-text terms of the plan's positive clauses that match in
// title or body, with their idf: the terms whose closeness the proximity
// bonus rewards. Scoped, excluded, fuzzy and prefix clauses do not take part.
void CollectProximityTerms(const PlanNode& node,
                           std::vector<const PlanNode*>* terms) {
  switch (node.kind) {
    case PlanNode::Kind::kTerm:
      if (node.fields == TextFields::kTitleAndBody &&
          std::none_of(
              terms->begin(), terms->end(),
              [&node](const PlanNode* t) { return t->term == node.term; })) {
        terms->push_back(&node);
      }
      return;
    case PlanNode::Kind::kBoolean:
      for (const PlanNode& child : node.must) {
        CollectProximityTerms(child, terms);
      }
      for (const PlanNode& child : node.should) {
        CollectProximityTerms(child, terms);
      }
      return;
    default:
      return;
  }
}

// The positions of the proximity terms in documents of one segment, asked
// about increasing raw doc numbers: what the proximity bonus is computed
// from, both when it is added and when it is explained.
class ProximityPositions {
 public:
  absl::Status Init(SegmentContext* context,
                    const std::vector<const PlanNode*>& terms) {
    const size_t n = terms.size();
    cursors_.resize(n);
    readers_.resize(n);
    present_.assign(n, false);
    title_.assign(n, {});
    body_.assign(n, {});
    for (const PlanNode* term : terms) {
      idfs_.push_back(term->idf);
      names_.push_back(term->term);
    }
    for (size_t i = 0; i < n; ++i) {
      SIFT_ASSIGN_OR_RETURN(
          std::optional<absl::string_view> postings,
          context->Load(PostingsKey(TermField::kText, terms[i]->term)));
      if (!postings) continue;
      SIFT_ASSIGN_OR_RETURN(
          std::optional<absl::string_view> positions,
          context->Load(PositionsKey(TermField::kText, terms[i]->term)));
      if (!positions) {
        return absl::DataLossError(absl::StrCat("segment ",
                                                context->segment().id(),
                                                ": no positions for a term "
                                                "with postings"));
      }
      SIFT_RETURN_IF_ERROR(cursors_[i].Init(*postings));
      SIFT_RETURN_IF_ERROR(readers_[i].Init(*positions));
      present_[i] = true;
    }
    return absl::OkStatus();
  }

  // Reads every term's positions in `raw` into title() and body() (empty
  // for a term that does not occur there); returns how many terms occur.
  absl::StatusOr<size_t> Read(uint32_t raw) {
    size_t matched = 0;
    for (size_t i = 0; i < cursors_.size(); ++i) {
      title_[i].clear();
      body_[i].clear();
      if (!present_[i]) continue;
      PostingCursor& cursor = cursors_[i];
      cursor.SeekTo(raw);
      SIFT_RETURN_IF_ERROR(cursor.status());
      if (cursor.doc() != raw) continue;
      SIFT_RETURN_IF_ERROR(
          readers_[i].Read(cursor.block_index(), cursor.index_in_block(),
                           cursor.block_tf_title(), cursor.block_tf_body(),
                           &title_[i], &body_[i]));
      ++matched;
    }
    return matched;
  }

  const std::vector<double>& idfs() const { return idfs_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<std::vector<uint32_t>>& title() const { return title_; }
  const std::vector<std::vector<uint32_t>>& body() const { return body_; }

 private:
  std::vector<PostingCursor> cursors_;
  std::vector<PositionsReader> readers_;
  std::vector<bool> present_;
  std::vector<double> idfs_;
  std::vector<std::string> names_;
  std::vector<std::vector<uint32_t>> title_;
  std::vector<std::vector<uint32_t>> body_;
};

// Adds the proximity bonus to `entries` (hits of `segment`, in increasing
// doc order) where at least two of the terms occur, and marks them.
absl::Status AddProximity(const Segment& segment,
                          const std::vector<const PlanNode*>& terms,
                          const Bm25f& bm25,
                          const std::vector<TopK::Entry*>& entries) {
  SegmentContext context(&segment, &bm25);
  ProximityPositions positions;
  SIFT_RETURN_IF_ERROR(positions.Init(&context, terms));
  const Columns& columns = segment.columns();
  for (TopK::Entry* entry : entries) {
    SIFT_ASSIGN_OR_RETURN(size_t matched, positions.Read(entry->raw));
    if (matched < 2) continue;
    entry->score += bm25.Proximity(
        positions.idfs(), positions.title(), positions.body(),
        columns.title_lengths[entry->raw], columns.body_lengths[entry->raw]);
    entry->proximity = true;
  }
  return absl::OkStatus();
}

// Explains the scores of `hits` (of `segment`, in increasing doc order)
// into the explanations they point to: the plan's iterators, built again
// for the segment, are moved to each hit and say how they scored it; a hit
// that got the proximity bonus gets its explanation too, from the same
// positions. Hits are never looked for: each is a match of the plan.
absl::Status ExplainSegmentHits(
    const Segment& segment, const SearchSpec& spec,
    const std::vector<const PlanNode*>& proximity_terms,
    const std::vector<std::pair<const TopK::Entry*, v1::Explanation*>>& hits) {
  SegmentContext context(&segment, spec.bm25);
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<Iter> root,
                        BuildIter(&context, *spec.root));
  ProximityPositions positions;
  if (std::any_of(hits.begin(), hits.end(),
                  [](const auto& hit) { return hit.first->proximity; })) {
    SIFT_RETURN_IF_ERROR(positions.Init(&context, proximity_terms));
  }
  const Columns& columns = segment.columns();
  for (const auto& [entry, out] : hits) {
    root->SeekTo(entry->raw + 1);
    SIFT_RETURN_IF_ERROR(context.status());
    if (root->doc() != entry->raw + 1) {
      return absl::InternalError(absl::StrCat("explaining hit \"", entry->id,
                                              "\" of segment ", segment.id(),
                                              ": the query does not match it"));
    }
    v1::Explanation query = root->Explain();
    if (!entry->proximity) {
      *out = std::move(query);
      continue;
    }
    SIFT_RETURN_IF_ERROR(positions.Read(entry->raw).status());
    v1::Explanation bonus = spec.bm25->ExplainProximity(
        positions.names(), positions.idfs(), positions.title(),
        positions.body(), columns.title_lengths[entry->raw],
        columns.body_lengths[entry->raw]);
    // The order of AddProximity: the query's score, then the bonus.
    out->set_value(query.value() + bonus.value());
    out->set_description(
        "sum of the query's score and the term proximity bonus:");
    *out->add_details() = std::move(query);
    *out->add_details() = std::move(bonus);
  }
  return context.status();
}

// The explanations of `entries`, aligned with them: a pass over each
// segment that holds any, in increasing doc order.
absl::StatusOr<std::vector<v1::Explanation>> ExplainHits(
    const std::vector<TopK::Entry>& entries, const SearchSpec& spec,
    const std::vector<const PlanNode*>& proximity_terms) {
  std::vector<v1::Explanation> explanations(entries.size());
  std::vector<std::pair<const TopK::Entry*, v1::Explanation*>> hits;
  for (size_t i = 0; i < entries.size(); ++i) {
    hits.emplace_back(&entries[i], &explanations[i]);
  }
  std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
    return a.first->segment != b.first->segment
               ? a.first->segment < b.first->segment
               : a.first->raw < b.first->raw;
  });
  for (size_t i = 0; i < hits.size();) {
    size_t end = i;
    while (end < hits.size() &&
           hits[end].first->segment == hits[i].first->segment) {
      ++end;
    }
    const std::vector<std::pair<const TopK::Entry*, v1::Explanation*>>
        of_segment(hits.begin() + i, hits.begin() + end);
    SIFT_RETURN_IF_ERROR(ExplainSegmentHits(*hits[i].first->segment, spec,
                                            proximity_terms, of_segment));
    i = end;
  }
  return explanations;
}

// Adds to `counts` how many of the `matched` documents of `segment` carry
// each value of the keyword `field`, and those that carry none. Walks the
// field's whole dictionary and postings: the cost is the size of the
// keyword postings, whatever the number of matches.
absl::Status CountKeywordFacet(const Segment& segment, TermField field,
                               const std::vector<uint64_t>& matched,
                               FacetCounts* counts) {
  // Matches not yet seen with a value: left over, they are the missing.
  std::vector<uint64_t> unseen = matched;
  const std::string first(1, static_cast<char>(field));
  std::unique_ptr<Segment::PostingsIterator> it =
      segment.NewPostingsIterator(kPostingsTag, first);
  for (; it->Valid(); it->Next()) {
    const absl::string_view key = it->key().substr(1);  // field + value
    if (key.empty() || key[0] != first[0]) break;
    PostingCursor cursor;
    SIFT_RETURN_IF_ERROR(cursor.Init(it->value()));
    uint64_t count = 0;
    for (cursor.Next(); cursor.doc() != kNoMoreDocs; cursor.Next()) {
      const uint32_t raw = cursor.doc();
      if (raw >= segment.doc_count()) {
        return absl::DataLossError(absl::StrCat(
            "segment ", segment.id(), " has a posting past its last doc"));
      }
      const uint64_t bit = uint64_t{1} << (raw & 63);
      if ((matched[raw >> 6] & bit) != 0) {
        ++count;
        unseen[raw >> 6] &= ~bit;
      }
    }
    SIFT_RETURN_IF_ERROR(cursor.status());
    if (count > 0) counts->values[key.substr(1)] += count;
  }
  SIFT_RETURN_IF_ERROR(it->status());
  for (uint64_t word : unseen) counts->missing += std::popcount(word);
  return absl::OkStatus();
}

// Adds the `matched` documents of `segment` to the histogram in `counts`.
void CountDateFacet(const Segment& segment, FacetSpec::Unit unit,
                    const std::vector<uint64_t>& matched, FacetCounts* counts) {
  const Columns& columns = segment.columns();
  // Neighbouring documents are often from the same day: remember the last
  // day's bucket rather than redo the calendar arithmetic.
  int64_t last_day = std::numeric_limits<int64_t>::min();
  uint64_t* last_bucket = nullptr;
  for (size_t w = 0; w < matched.size(); ++w) {
    for (uint64_t bits = matched[w]; bits != 0; bits &= bits - 1) {
      const auto raw = static_cast<uint32_t>((w << 6) + std::countr_zero(bits));
      const Published published = columns.published(raw);
      if (!published) {
        ++counts->missing;
        continue;
      }
      const int64_t seconds = published->first;
      const int64_t day = seconds / 86400 - (seconds % 86400 < 0 ? 1 : 0);
      if (day != last_day) {
        last_day = day;
        last_bucket = &counts->buckets[BucketStart(seconds, unit)];
      }
      ++*last_bucket;
    }
  }
}

absl::Status CountFacets(const Segment& segment,
                         const std::vector<FacetSpec>& facets,
                         const std::vector<uint64_t>& matched,
                         std::vector<FacetCounts>* counts) {
  for (size_t i = 0; i < facets.size(); ++i) {
    switch (facets[i].kind) {
      case FacetSpec::Kind::kSource:
        SIFT_RETURN_IF_ERROR(CountKeywordFacet(segment, TermField::kSource,
                                               matched, &(*counts)[i]));
        break;
      case FacetSpec::Kind::kTags:
        SIFT_RETURN_IF_ERROR(CountKeywordFacet(segment, TermField::kTag,
                                               matched, &(*counts)[i]));
        break;
      case FacetSpec::Kind::kPublished:
        CountDateFacet(segment, facets[i].unit, matched, &(*counts)[i]);
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SearchResult> Search(
    absl::Span<const std::shared_ptr<Segment>> segments,
    const SearchSpec& spec) {
  std::vector<const Segment*> order;
  for (const auto& segment : segments) order.push_back(segment.get());
  // Big segments first: their hits raise the bar for the small ones.
  std::stable_sort(order.begin(), order.end(),
                   [](const Segment* a, const Segment* b) {
                     return a->live_count() > b->live_count();
                   });
  // Term proximity reorders the best `window` hits by BM25F. Every hit
  // outside them scores at most the window's last, and the bonus only adds,
  // so the order stays consistent at any depth; the window is the same for
  // every page because it depends on neither `limit` nor the cursor.
  std::vector<const PlanNode*> proximity_terms;
  const Bm25fParams& params = spec.bm25->params();
  const bool relevance = spec.sort == v1::SORT_ORDER_RELEVANCE ||
                         spec.sort == v1::SORT_ORDER_UNSPECIFIED;
  if (relevance && spec.limit > 0 && params.proximity_weight > 0) {
    CollectProximityTerms(*spec.root, &proximity_terms);
  }
  const bool proximity = proximity_terms.size() >= 2;
  const uint32_t window =
      proximity ? std::min(params.proximity_window, kMaxProximityWindow) : 0;
  const SearchAfter* after = spec.after ? &*spec.after : nullptr;

  SearchResult result;
  // Runs the search over every segment. With `facets`, also counts the
  // facets: each segment's matches as a bitset (a bit per document, never
  // more), counted once the segment's search is done. Facets are counted in
  // exactly one pass, the one that counts the totals.
  std::vector<uint64_t> matched;
  auto run = [&](TopK* top, Totals* totals,
                 std::vector<FacetCounts>* facets) -> absl::Status {
    for (const Segment* segment : order) {
      if (segment->live_count() == 0) continue;
      if (facets == nullptr || spec.facets.empty()) {
        SIFT_RETURN_IF_ERROR(
            SearchSegment(*segment, spec, top, totals, nullptr));
        continue;
      }
      matched.assign((segment->doc_count() + 63) / 64, 0);
      SIFT_RETURN_IF_ERROR(
          SearchSegment(*segment, spec, top, totals, &matched));
      SIFT_RETURN_IF_ERROR(CountFacets(*segment, spec.facets, matched, facets));
    }
    return absl::OkStatus();
  };
  // Adds the bonus to the first `count` of `entries`, then re-sorts them.
  auto add_proximity = [&](std::vector<TopK::Entry>* entries, size_t count,
                           const TopK& order_of) -> absl::Status {
    std::vector<TopK::Entry*> rerank;
    for (size_t i = 0; i < entries->size() && i < count; ++i) {
      rerank.push_back(&(*entries)[i]);
    }
    std::sort(rerank.begin(), rerank.end(),
              [](const TopK::Entry* a, const TopK::Entry* b) {
                return a->segment != b->segment ? a->segment < b->segment
                                                : a->raw < b->raw;
              });
    for (size_t i = 0; i < rerank.size();) {
      size_t end = i;
      while (end < rerank.size() &&
             rerank[end]->segment == rerank[i]->segment) {
        ++end;
      }
      SIFT_RETURN_IF_ERROR(AddProximity(
          *rerank[i]->segment, proximity_terms, *spec.bm25,
          std::vector<TopK::Entry*>(rerank.begin() + i, rerank.begin() + end)));
      i = end;
    }
    std::sort(entries->begin(), entries->end(),
              [&order_of](const TopK::Entry& a, const TopK::Entry& b) {
                return order_of.Better(a, b);
              });
    return absl::OkStatus();
  };

  Totals totals;
  result.facets.resize(spec.facets.size());
  std::vector<TopK::Entry> sorted;
  if (!proximity) {
    TopK top(spec.limit, spec.sort, after);
    SIFT_RETURN_IF_ERROR(run(&top, &totals, &result.facets));
    sorted = top.Sorted();
  } else if (after == nullptr) {
    TopK top(std::max(spec.limit, window), spec.sort, nullptr);
    SIFT_RETURN_IF_ERROR(run(&top, &totals, &result.facets));
    sorted = top.Sorted();
    SIFT_RETURN_IF_ERROR(add_proximity(&sorted, window, top));
  } else {
    // The cursor holds a final score, which only the hits outside the
    // window share with BM25F. So: the window first, without the cursor;
    // then the hits after the cursor by BM25F, less the window's, plus the
    // window's hits that come after the cursor with their bonus.
    TopK first(window, spec.sort, nullptr);
    Totals ignored;
    SIFT_RETURN_IF_ERROR(run(&first, &ignored, nullptr));
    std::vector<TopK::Entry> windowed = first.Sorted();
    SIFT_RETURN_IF_ERROR(add_proximity(&windowed, window, first));
    TopK top(spec.limit + window, spec.sort, after);
    SIFT_RETURN_IF_ERROR(run(&top, &totals, &result.facets));
    auto in_window = [&windowed](const TopK::Entry& e) {
      return std::any_of(windowed.begin(), windowed.end(),
                         [&e](const TopK::Entry& w) {
                           return w.segment == e.segment && w.raw == e.raw;
                         });
    };
    for (const TopK::Entry& entry : top.Sorted()) {
      if (!in_window(entry)) sorted.push_back(entry);
    }
    const TopK::Entry cursor{after->score, after->id, after->published};
    for (const TopK::Entry& entry : windowed) {
      if (top.Better(cursor, entry)) sorted.push_back(entry);
    }
    std::sort(sorted.begin(), sorted.end(),
              [&top](const TopK::Entry& a, const TopK::Entry& b) {
                return top.Better(a, b);
              });
  }
  if (sorted.size() > spec.limit) sorted.resize(spec.limit);
  result.total_hits = totals.count;
  result.total_hits_is_lower_bound = totals.lower_bound;
  // Only now, with the page final: explaining costs a pass per hit, and
  // only the hits returned need one.
  std::vector<v1::Explanation> explanations;
  if (spec.explain) {
    SIFT_ASSIGN_OR_RETURN(explanations,
                          ExplainHits(sorted, spec, proximity_terms));
  }
  for (size_t i = 0; i < sorted.size(); ++i) {
    const TopK::Entry& entry = sorted[i];
    SearchHit& hit = result.hits.emplace_back();
    hit.score = entry.score;
    hit.id = std::string(entry.id);
    hit.published = entry.published;
    if (spec.explain) hit.explanation = std::move(explanations[i]);
  }
  return result;
}

int64_t BucketStart(int64_t seconds, FacetSpec::Unit unit) {
  constexpr int64_t kDaySeconds = 86400;
  const int64_t days =
      seconds / kDaySeconds - (seconds % kDaySeconds < 0 ? 1 : 0);
  if (unit == FacetSpec::Unit::kDay) return days * kDaySeconds;
  const absl::CivilDay epoch(1970, 1, 1);
  const absl::CivilDay day = epoch + days;
  const absl::CivilDay first = unit == FacetSpec::Unit::kMonth
                                   ? absl::CivilDay(absl::CivilMonth(day))
                                   : absl::CivilDay(absl::CivilYear(day));
  return (first - epoch) * kDaySeconds;
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
      if (next == list.end()) return count;
      previous = *next;
      found = uint64_t{previous} - start <= max_span;
    }
    if (found) ++count;
  }
  return count;
}

}  // namespace sift::storage::segment
