#include "services/storage/segment/iterators.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/analysis/term_match.h"
#include "common/status/status_macros.h"
#include "services/storage/segment/explain.h"
#include "services/storage/segment/postings.h"
#include "services/storage/segment/term_scorer.h"

namespace sift::storage::segment {
namespace {

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
  double MaxScore() const override { return 0.0; }
};

class TermIter final : public Iter {
 public:
  // `node`, the plan node scored, names the term in explanations; null for
  // the iterators of filters, which are never explained.
  TermIter(SegmentContext* context, absl::string_view value, bool keyword,
           TextFields fields, double idf, const PlanNode* node = nullptr)
      : context_(context),
        keyword_(keyword),
        scorer_(&context->bm25(), &context->columns(), idf, fields),
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
    if (keyword_) return scorer_.idf();
    return scorer_.Score(doc_ - 1, cursor_.tf_title(), cursor_.tf_body());
  }

  v1::Explanation Explain() override {
    if (node_ == nullptr) return MakeExplanation(Score(), "filter");
    const Bm25f& bm25 = context_->bm25();
    const std::string name = QuotedTerm(*node_, node_->term);
    if (keyword_) {
      v1::Explanation out = MakeExplanation(
          scorer_.idf(), absl::StrCat("keyword ", name,
                                      ", a match scores the value's idf, "
                                      "from:"));
      *out.add_details() = bm25.ExplainIdf(name, node_->doc_freq);
      return out;
    }
    const uint32_t raw = doc_ - 1;
    const Columns& c = context_->columns();
    return bm25.ExplainScore(
        absl::StrCat("term ", name, " ", FieldsText(scorer_.fields())),
        bm25.ExplainIdf(name, node_->doc_freq), "term", scorer_.fields(),
        cursor_.tf_title(), cursor_.tf_body(), c.lengths[raw].title,
        c.lengths[raw].body);
  }

  uint64_t cost() const override { return cursor_.header().df; }

  double MaxScore() const override {
    if (keyword_) return scorer_.idf();
    return scorer_.Bound(cursor_.header().impacts);
  }

  void CollectTermCursors(
      std::vector<std::pair<const PlanNode*, PostingCursor*>>* out) override {
    if (!keyword_ && node_ != nullptr) out->emplace_back(node_, &cursor_);
  }

 private:
  bool Accepted() {
    if (keyword_) return true;
    switch (scorer_.fields()) {
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
  TermScorer scorer_;
  const PlanNode* node_;
  PostingCursor cursor_;
};

class PhraseIter final : public Iter {
 public:
  // `postings[i]` is the postings value of the i-th phrase term.
  PhraseIter(SegmentContext* context,
             const std::vector<absl::string_view>& postings,
             const PlanNode* node)
      : context_(context),
        node_(node),
        fields_(node->fields),
        slop_(node->slop),
        idf_(node->idf),
        scorer_(&context->bm25(), &context->columns(), node->idf, node->fields),
        // Each occurrence of an exact phrase holds a position of its own of
        // every term, so its count in a field is at most each term's
        // frequency there; a sloppy one's occurrences may share positions
        // of later terms, and only the first term's frequency bounds them.
        bounding_(node->slop == 0 ? postings.size() : 1),
        cursors_(postings.size()),
        readers_(postings.size()),
        title_(postings.size()),
        body_(postings.size()) {
    for (size_t i = 0; i < postings.size(); ++i) {
      context_->Fail(cursors_[i].Init(postings[i]));
      context_->Fail(context_->OpenPositions(node->terms[i], &readers_[i]));
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
      if (min_competitive_ > 0.0 && !SkipWeakBlocks(&candidate)) {
        doc_ = kNoMoreDocs;
        return;
      }
      // Leapfrog over the terms, rarest first.
      size_t agreed = 0;
      for (size_t k = 0; agreed < order_.size();
           k = k + 1 == order_.size() ? 0 : k + 1) {
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
      if (min_competitive_ > 0.0 && Bound(candidate) < min_competitive_) {
        // Its positions are not read: it cannot score enough if it
        // matches.
        pruned_ = true;
        ++candidate;
        continue;
      }
      if (CountOccurrences()) {
        doc_ = candidate + 1;
        return;
      }
      ++candidate;
    }
  }

  void SetMinCompetitiveScore(double score) override {
    min_competitive_ = std::max(min_competitive_, score);
  }

  double Score() override {
    return scorer_.Score(doc_ - 1, title_count_, body_count_);
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
        c.lengths[raw].title, c.lengths[raw].body);
  }

  uint64_t cost() const override {
    uint64_t cost = std::numeric_limits<uint64_t>::max();
    for (const PostingCursor& c : cursors_) {
      cost = std::min<uint64_t>(cost, c.header().df);
    }
    return cost;
  }

  // As Bound: the phrase's count in a field is at most each bounding
  // term's frequency there.
  double MaxScore() const override {
    double bound = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < bounding_; ++i) {
      bound = std::min(bound, scorer_.Bound(cursors_[i].header().impacts));
    }
    return bound;
  }

 private:
  // At least the score of candidate `raw`, where every cursor is, if it
  // holds the phrase: its count in a field is at most the bounding terms'
  // frequencies there, and BM25F grows with frequency.
  double Bound(uint32_t raw) {
    uint32_t title = std::numeric_limits<uint32_t>::max();
    uint32_t body = std::numeric_limits<uint32_t>::max();
    for (size_t i = 0; i < bounding_; ++i) {
      title = std::min(title, cursors_[i].tf_title());
      body = std::min(body, cursors_[i].tf_body());
    }
    return scorer_.Score(raw, title, body);
  }

  // Moves `*candidate` past the runs of documents that lie in blocks of
  // the bounding terms whose impacts bound the phrase's score under
  // min_competitive_, reading no doc numbers there; false when that
  // reaches the end of the postings.
  bool SkipWeakBlocks(uint32_t* candidate) {
    while (true) {
      if (!window_valid_ || *candidate > window_end_) {
        uint32_t end = kNoMoreDocs;
        double bound = 0.0;
        for (size_t i = 0; i < bounding_; ++i) {
          PostingCursor& cursor = cursors_[i];
          if (!cursor.ShallowSeek(std::max(cursor.doc(), *candidate))) {
            // Past its last block (or failed): the leapfrog ends the
            // iterator and reports the cursor's status.
            return true;
          }
          end = std::min(end, cursor.shallow_last_doc());
          const double term_bound = scorer_.Bound(cursor.shallow_impacts());
          bound = i == 0 ? term_bound : std::min(bound, term_bound);
        }
        window_end_ = std::max(end, *candidate);
        window_bound_ = bound;
        window_valid_ = true;
      }
      if (window_bound_ >= min_competitive_) return true;
      pruned_ = true;
      if (window_end_ == kNoMoreDocs) return false;
      *candidate = window_end_ + 1;
    }
  }

  // Counts the occurrences in the current candidate; true when any.
  bool CountOccurrences() {
    // An occurrence lies in one field, so every term must be in it: the
    // frequencies, already at hand, rule most candidates of common words
    // in or out before any position is read.
    bool in_title = fields_ != TextFields::kBody;
    bool in_body = fields_ != TextFields::kTitle;
    for (PostingCursor& cursor : cursors_) {
      in_title = in_title && cursor.tf_title() > 0;
      in_body = in_body && cursor.tf_body() > 0;
    }
    if (!in_title && !in_body) return false;
    // An exact phrase of three or more terms is first checked on its two
    // rarest: without their positions at the right distance in a field, it
    // has no occurrence there, and the commoner terms' positions (a stop
    // word's, in `two-for-one`) are never read.
    const bool rarest_first = slop_ == 0 && cursors_.size() >= 3;
    if (rarest_first) {
      const size_t a = order_[0], b = order_[1];
      if (!ReadPositions(a) || !ReadPositions(b)) return false;
      const int64_t distance =
          static_cast<int64_t>(b) - static_cast<int64_t>(a);
      in_title = in_title && HoldsPair(title_[a], title_[b], distance);
      in_body = in_body && HoldsPair(body_[a], body_[b], distance);
      if (!in_title && !in_body) return false;
    }
    for (size_t k = rarest_first ? 2 : 0; k < order_.size(); ++k) {
      if (!ReadPositions(order_[k])) return false;
    }
    title_count_ = in_title ? CountPhraseOccurrences(title_, slop_) : 0;
    body_count_ = in_body ? CountPhraseOccurrences(body_, slop_) : 0;
    return title_count_ + body_count_ > 0;
  }

  // Reads term i's positions in the candidate; false (recorded in the
  // context) on a read error.
  bool ReadPositions(size_t i) {
    PostingCursor& cursor = cursors_[i];
    absl::Status status = readers_[i].Read(
        cursor.block_index(), cursor.index_in_block(), cursor.block_tf_title(),
        cursor.block_tf_body(), &title_[i], &body_[i]);
    if (status.ok()) return true;
    context_->Fail(std::move(status));
    return false;
  }

  // Whether some position x of `from` has x + distance in `to` (both
  // sorted).
  static bool HoldsPair(const std::vector<uint32_t>& from,
                        const std::vector<uint32_t>& to, int64_t distance) {
    auto it = to.begin();
    for (uint32_t x : from) {
      const int64_t want = int64_t{x} + distance;
      while (it != to.end() && int64_t{*it} < want) ++it;
      if (it == to.end()) return false;
      if (int64_t{*it} == want) return true;
    }
    return false;
  }

  SegmentContext* context_;
  const PlanNode* node_;
  TextFields fields_;
  uint32_t slop_;
  double idf_;
  TermScorer scorer_;
  // cursors_[0 .. bounding_) bound the phrase's count in a document.
  size_t bounding_;
  std::vector<PostingCursor> cursors_;
  std::vector<PositionsReader> readers_;
  std::vector<size_t> order_;
  std::vector<std::vector<uint32_t>> title_;
  std::vector<std::vector<uint32_t>> body_;
  uint32_t title_count_ = 0;
  uint32_t body_count_ = 0;
  // 0 until the search sets it: every match wanted.
  double min_competitive_ = 0.0;
  // The documents up to window_end_ lie in the bounding terms' blocks
  // whose bound is window_bound_.
  bool window_valid_ = false;
  uint32_t window_end_ = 0;
  double window_bound_ = 0.0;
};

// The sum of the children's MaxScore: a bound of any sum of their scores.
double SumOfMaxScores(const std::vector<std::unique_ptr<Iter>>& children) {
  double sum = 0.0;
  for (const auto& child : children) sum += child->MaxScore();
  return sum;
}

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
    for (size_t i = 0;; i = i + 1 == by_cost_.size() ? 0 : i + 1) {
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

  double MaxScore() const override { return SumOfMaxScores(children_); }

  void CollectTermCursors(
      std::vector<std::pair<const PlanNode*, PostingCursor*>>* out) override {
    for (const auto& child : children_) child->CollectTermCursors(out);
  }

 private:
  std::vector<std::unique_ptr<Iter>> children_;
  std::vector<Iter*> by_cost_;
};

// Any child matches; scores the matching children's sum in plan order.
// Once a search tells it a minimum competitive score, it runs MaxScore
// (Turtle and Flood 1995) over its children's segment-wide bounds, as
// wand.h does over plain terms with block bounds: the weakest children,
// whose bounds together stay under the minimum, cannot bring a document in
// on their own, so candidates come from the others only, and a weak child
// is moved to a candidate only while the candidate's score so far could
// still reach the minimum. That serves every disjunction WAND does not run:
// a phrase or a hyphenated word beside free words, scoped terms, keywords,
// prefixes.
class DisjunctionIter final : public Iter {
 public:
  explicit DisjunctionIter(std::vector<std::unique_ptr<Iter>> children)
      : children_(std::move(children)),
        scores_(children_.size(), 0.0),
        scored_(children_.size(), false) {
    if (children_.empty()) doc_ = kNoMoreDocs;
    for (size_t i = 0; i < children_.size(); ++i) {
      by_bound_.push_back({children_[i]->MaxScore(), i});
    }
    std::stable_sort(
        by_bound_.begin(), by_bound_.end(),
        [](const Bounded& a, const Bounded& b) { return a.bound < b.bound; });
  }

  void SeekTo(uint32_t target) override {
    if (doc_ >= target) return;
    std::fill(scored_.begin(), scored_.end(), false);
    if (weak_ == 0) {
      uint32_t best = kNoMoreDocs;
      for (const auto& child : children_) {
        child->SeekTo(target);
        best = std::min(best, child->doc());
      }
      doc_ = best;
      return;
    }
    while (true) {
      uint32_t candidate = kNoMoreDocs;
      for (size_t i = weak_; i < by_bound_.size(); ++i) {
        Iter& child = *children_[by_bound_[i].child];
        child.SeekTo(target);
        candidate = std::min(candidate, child.doc());
      }
      if (candidate == kNoMoreDocs) {
        doc_ = kNoMoreDocs;
        return;
      }
      if (Competitive(candidate)) {
        doc_ = candidate;
        return;
      }
      std::fill(scored_.begin(), scored_.end(), false);
      target = candidate + 1;
    }
  }

  double Score() override {
    double score = 0.0;
    for (size_t i = 0; i < children_.size(); ++i) {
      if (children_[i]->doc() != doc_) continue;
      score += scored_[i] ? scores_[i] : children_[i]->Score();
    }
    return score;
  }

  void SetMinCompetitiveScore(double score) override {
    if (score <= min_competitive_) return;
    min_competitive_ = score;
    // The weak children: the longest run of the weakest whose bounds sum
    // under the minimum. It only grows as the minimum rises.
    double sum = weak_ == 0 ? 0.0 : weak_sums_.back();
    while (weak_ + 1 < by_bound_.size() &&
           sum + by_bound_[weak_].bound < min_competitive_) {
      sum += by_bound_[weak_].bound;
      weak_sums_.push_back(sum);
      ++weak_;
    }
    if (weak_ > 0) pruned_ = true;  // documents of weak children alone
    // A single strong child must reach the minimum less what the weak
    // ones could add.
    if (weak_ + 1 == by_bound_.size()) {
      children_[by_bound_.back().child]->SetMinCompetitiveScore(
          min_competitive_ - sum);
    }
  }

  bool pruned() const override {
    if (pruned_) return true;
    for (const auto& child : children_) {
      if (child->pruned()) return true;
    }
    return false;
  }

  double MaxScore() const override { return SumOfMaxScores(children_); }

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

  void CollectTermCursors(
      std::vector<std::pair<const PlanNode*, PostingCursor*>>* out) override {
    for (const auto& child : children_) child->CollectTermCursors(out);
  }

 private:
  struct Bounded {
    double bound;
    size_t child;
  };

  // Scores the strong children on `candidate`, then the weak ones,
  // strongest first, each only while the sum so far plus the bounds of the
  // weak children left could reach the minimum; false (the candidate passed
  // over) as soon as it cannot. Scores are kept for Score(), which adds them
  // in plan order.
  bool Competitive(uint32_t candidate) {
    double reached = 0.0;
    for (size_t i = weak_; i < by_bound_.size(); ++i) {
      const size_t c = by_bound_[i].child;
      if (children_[c]->doc() != candidate) continue;
      scores_[c] = children_[c]->Score();
      scored_[c] = true;
      reached += scores_[c];
    }
    for (size_t i = weak_; i-- > 0;) {
      if (reached + weak_sums_[i] < min_competitive_) return false;
      const size_t c = by_bound_[i].child;
      Iter& child = *children_[c];
      child.SeekTo(candidate);
      if (child.doc() != candidate) continue;
      scores_[c] = child.Score();
      scored_[c] = true;
      reached += scores_[c];
    }
    return true;
  }

  std::vector<std::unique_ptr<Iter>> children_;
  // The children by bound, weakest first; by_bound_[0 .. weak_) are weak,
  // and weak_sums_[i] is the sum of the bounds of by_bound_[0 .. i].
  std::vector<Bounded> by_bound_;
  size_t weak_ = 0;
  std::vector<double> weak_sums_;
  double min_competitive_ = 0.0;
  // Children's scores on the current document, by plan order.
  std::vector<double> scores_;
  std::vector<bool> scored_;
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

  double MaxScore() const override {
    return required_->MaxScore() + SumOfMaxScores(optional_);
  }

  // Exclusions change no score: without optional clauses, the minimum is
  // the required clause's.
  void SetMinCompetitiveScore(double score) override {
    if (optional_.empty()) required_->SetMinCompetitiveScore(score);
  }
  bool pruned() const override { return pruned_ || required_->pruned(); }

  // Excluded clauses earn no bonus.
  void CollectTermCursors(
      std::vector<std::pair<const PlanNode*, PostingCursor*>>* out) override {
    required_->CollectTermCursors(out);
    for (const auto& opt : optional_) opt->CollectTermCursors(out);
  }

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
  double MaxScore() const override { return 0.0; }

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
  double MaxScore() const override { return 0.0; }

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
  double MaxScore() const override { return score_; }

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

}  // namespace

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
      std::vector<absl::string_view> postings;
      for (const std::string& term : node.terms) {
        SIFT_ASSIGN_OR_RETURN(
            std::optional<absl::string_view> p,
            context->Load(PostingsKey(TermField::kText, term)));
        if (!p) return std::make_unique<EmptyIter>();
        postings.push_back(*p);
      }
      return std::make_unique<PhraseIter>(context, postings, &node);
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

absl::StatusOr<std::unique_ptr<Iter>> BuildKeywordIter(
    SegmentContext* context, TermField field, const std::string& value) {
  SIFT_ASSIGN_OR_RETURN(std::optional<absl::string_view> postings,
                        context->Load(PostingsKey(field, value)));
  if (!postings) return nullptr;
  return std::make_unique<TermIter>(context, *postings, /*keyword=*/true,
                                    TextFields::kTitleAndBody, 0.0);
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
