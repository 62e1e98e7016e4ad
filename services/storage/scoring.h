#ifndef SIFT_SERVICES_STORAGE_SCORING_H_
#define SIFT_SERVICES_STORAGE_SCORING_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage {

// BM25F parameters with the defaults that a zero ScoringParams field means.
struct Bm25fParams {
  double k1 = 1.2;
  double b = 0.75;
  // Per-field length normalisation; FromProto fills them from `b` unless
  // the request sets them.
  double title_b = 0.75;
  double body_b = 0.75;
  double title_weight = 2.0;
  double body_weight = 1.0;
  // Weight of the term proximity bonus; 0 turns it off.
  double proximity_weight = 0.25;

  static Bm25fParams FromProto(const v1::ScoringParams& params);
};

// Farthest apart two query terms may be for a proximity bonus: within a
// clause, words beyond it rarely bear on each other.
inline constexpr uint32_t kProximityDistance = 5;

// The most one occurrence of a term can add to its proximity frequency
// when `n` occurrences of other query terms are in its field: each of them
// holds a position of its own, so at best they are its nearest neighbours,
// two at each distance d from 1 to kProximityDistance, each adding 1/d^2.
// From n = 2 * kProximityDistance on, the most of all.
inline double MaxPairWeight(uint32_t n) {
  static constexpr auto kWeights = [] {
    std::array<double, 2 * kProximityDistance + 1> weights{};
    double sum = 0.0;
    for (uint32_t i = 1; i < weights.size(); ++i) {
      const uint32_t d = (i + 1) / 2;
      sum += 1.0 / (static_cast<double>(d) * d);
      weights[i] = sum;
    }
    return weights;
  }();
  return kWeights[n < kWeights.size() ? n : kWeights.size() - 1];
}

// Which full-text fields a term or phrase counts in.
enum class TextFields { kTitleAndBody, kTitle, kBody };

// BM25F over title and body with collection statistics fixed at
// construction. Every input comes from the request's GlobalStats, and the
// arithmetic is done in one fixed order in double precision, so a document
// gets bit-for-bit the same score however the collection is sharded.
// Immutable and thread-safe.
class Bm25f {
 public:
  Bm25f(const Bm25fParams& params, uint64_t doc_count,
        uint64_t total_title_terms, uint64_t total_body_terms);

  // ln(1 + (N - df + 0.5) / (df + 0.5)), with df at most N: document
  // frequencies count deleted documents until a merge drops them while N
  // counts live ones, and a df above N made a common word's idf negative,
  // so that matching it lowered a score.
  double Idf(uint64_t doc_freq) const;

  // A document's length normalisers, 1 - b + b * length / average per
  // field: the same for every query term, so a search that scores several
  // terms in one document computes them once.
  struct LengthNorms {
    double title = 1.0;
    double body = 1.0;
  };
  LengthNorms Norms(uint32_t title_length, uint32_t body_length) const {
    return {title_norm_(title_length), body_norm_(body_length)};
  }

  // The weighted, length-normalised term frequency tf~ of the fields in
  // `fields`; the other field's frequency is ignored.
  double WeightedTf(TextFields fields, uint32_t tf_title, uint32_t tf_body,
                    uint32_t title_length, uint32_t body_length) const {
    return WeightedTf(fields, tf_title, tf_body,
                      Norms(title_length, body_length));
  }
  // The same from the document's Norms: bit for bit the same number.
  double WeightedTf(TextFields fields, uint32_t tf_title, uint32_t tf_body,
                    const LengthNorms& norms) const {
    double tf = 0.0;
    if (fields != TextFields::kBody) {
      tf += FieldTf(params_.title_weight, tf_title, norms.title);
    }
    if (fields != TextFields::kTitle) {
      tf += FieldTf(params_.body_weight, tf_body, norms.body);
    }
    return tf;
  }

  // idf * tf~ * (k1 + 1) / (k1 + tf~); 0 when tf~ is 0.
  double Score(double idf, double weighted_tf) const {
    if (weighted_tf == 0.0) return 0.0;
    return idf * weighted_tf * (params_.k1 + 1.0) / (params_.k1 + weighted_tf);
  }

  // The term proximity bonus of one document (BM25TP, Rasolofo and Savoy,
  // ECIR 2003): every two occurrences of different query terms at most
  // kProximityDistance positions apart add 1/d^2 to both terms' proximity
  // frequency in that field; each term then contributes
  //   min(1, idf) * pf * (k1 + 1) / (K + pf),  K = k1 * (1 - b + b * len/avg)
  // per field, weighted like BM25F, and the sum is scaled by
  // proximity_weight. `title[i]` / `body[i]` are the sorted positions of the
  // term whose idf is `idfs[i]`.
  double Proximity(absl::Span<const double> idfs,
                   const std::vector<std::vector<uint32_t>>& title,
                   const std::vector<std::vector<uint32_t>>& body,
                   uint32_t title_length, uint32_t body_length) const;

  // At least the share of Proximity() that the term with `idf` adds in a
  // document whose fields have these lengths, where the term occurs
  // `tf_title` / `tf_body` times and the other query terms `others_title` /
  // `others_body` times in all, without reading a position: each
  // occurrence has at most one neighbour per position, so a term's
  // proximity frequency in a field is at most the smaller of its
  // occurrences times MaxPairWeight(the others') and the others' times
  // MaxPairWeight(its own), and the share grows with that frequency. Pass
  // kAnyOccurrences when the other terms'
  // occurrences are unknown. Summed over the terms, a bound of the bonus
  // that lets a search skip reading positions for documents that cannot
  // enter its top hits; rounding may put the true bonus a few units in the
  // last place above it.
  double ProximityBound(double idf, uint32_t tf_title, uint32_t tf_body,
                        uint32_t others_title, uint32_t others_body,
                        uint32_t title_length, uint32_t body_length) const {
    return ProximityBound(idf, tf_title, tf_body, others_title, others_body,
                          Norms(title_length, body_length));
  }
  double ProximityBound(double idf, uint32_t tf_title, uint32_t tf_body,
                        uint32_t others_title, uint32_t others_body,
                        const LengthNorms& norms) const;
  static constexpr uint32_t kAnyOccurrences = 0xFFFFFFFFu;

  // Explanations (v1::Explanation trees) of the numbers above. Each is
  // computed by the very code that computes the number, so its value equals
  // that number bit for bit.

  // Idf(doc_freq), with N and df as details. `term` names the term in the
  // description.
  v1::Explanation ExplainIdf(absl::string_view term, uint64_t doc_freq) const;

  // Score(idf.value(), WeightedTf(fields, ...)): `idf` (explained by the
  // caller), tf~ with each counted field's weight, tf, length, average
  // length and b, and k1. `what` describes what is scored (a term or a
  // phrase); `counted` says what tf counts ("term", "phrase").
  v1::Explanation ExplainScore(std::string what, v1::Explanation idf,
                               absl::string_view counted, TextFields fields,
                               uint32_t tf_title, uint32_t tf_body,
                               uint32_t title_length,
                               uint32_t body_length) const;

  // Proximity(idfs, title, body, ...) by field and term; `terms[i]` names
  // the term of idfs[i].
  v1::Explanation ExplainProximity(
      absl::Span<const std::string> terms, absl::Span<const double> idfs,
      const std::vector<std::vector<uint32_t>>& title,
      const std::vector<std::vector<uint32_t>>& body, uint32_t title_length,
      uint32_t body_length) const;

  const Bm25fParams& params() const { return params_; }

 private:
  // ProximityBound's share of one field.
  double FieldProximityBound(double idf, uint32_t occurrences, uint32_t others,
                             double normaliser) const;
  // The parts of one field's proximity sum, for explanations.
  struct FieldProximityParts {
    double saturation = 0.0;  // K = k1 * normaliser
    double sum = 0.0;         // what FieldProximity returns
    // Per query term: pf and min(1, idf) * pf * (k1 + 1) / (K + pf).
    std::vector<double> frequency;
    std::vector<double> contribution;
  };

  // A field's length normaliser, 1 - b + b * length / average, or 1 when
  // the average is 0, computed as (1 - b) + (b / average) * length with the
  // quotient taken once: it runs for every candidate document, and a
  // division costs several times a multiplication. Inline, as Score.
  struct FieldNorm {
    FieldNorm(double b, double average)
        : base(average == 0.0 ? 1.0 : 1.0 - b),
          slope(average == 0.0 ? 0.0 : b / average) {}
    double operator()(uint32_t length) const {
      return base + slope * static_cast<double>(length);
    }
    double base;
    double slope;
  };
  // weight * tf / normaliser: one field's share of tf~. A field without
  // the term adds nothing, whatever its length: with b = 1 an empty field's
  // normaliser is 0, and 0 / 0 would make the score NaN.
  static double FieldTf(double weight, uint32_t tf, double normaliser) {
    if (tf == 0) return 0.0;
    return weight * static_cast<double>(tf) / normaliser;
  }
  // The proximity sum of one field, before its weight; fills `parts` when
  // not null.
  double FieldProximity(absl::Span<const double> idfs,
                        const std::vector<std::vector<uint32_t>>& positions,
                        double normaliser, FieldProximityParts* parts) const;
  // Proximity, and its parts per field when `title_parts` and `body_parts`
  // are not null.
  double ProximityOf(absl::Span<const double> idfs,
                     const std::vector<std::vector<uint32_t>>& title,
                     const std::vector<std::vector<uint32_t>>& body,
                     uint32_t title_length, uint32_t body_length,
                     FieldProximityParts* title_parts,
                     FieldProximityParts* body_parts) const;

  Bm25fParams params_;
  double doc_count_;
  double avg_title_length_;
  double avg_body_length_;
  FieldNorm title_norm_;
  FieldNorm body_norm_;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_SCORING_H_
