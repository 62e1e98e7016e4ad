#include "services/storage/scoring.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace sift::storage {

Bm25fParams Bm25fParams::FromProto(const v1::ScoringParams& params) {
  Bm25fParams p;
  if (params.k1() != 0) p.k1 = params.k1();
  if (params.b() != 0) p.b = params.b();
  p.title_b = params.has_title_b() ? params.title_b() : p.b;
  p.body_b = params.has_body_b() ? params.body_b() : p.b;
  if (params.title_weight() != 0) p.title_weight = params.title_weight();
  if (params.body_weight() != 0) p.body_weight = params.body_weight();
  if (params.has_proximity_weight()) {
    p.proximity_weight = params.proximity_weight();
  }
  if (params.proximity_window() != 0) {
    p.proximity_window = params.proximity_window();
  }
  return p;
}

Bm25f::Bm25f(const Bm25fParams& params, uint64_t doc_count,
             uint64_t total_title_terms, uint64_t total_body_terms)
    : params_(params),
      doc_count_(static_cast<double>(doc_count)),
      avg_title_length_(doc_count == 0
                            ? 0.0
                            : static_cast<double>(total_title_terms) /
                                  static_cast<double>(doc_count)),
      avg_body_length_(doc_count == 0 ? 0.0
                                      : static_cast<double>(total_body_terms) /
                                            static_cast<double>(doc_count)) {}

double Bm25f::Idf(uint64_t doc_freq) const {
  const double df = static_cast<double>(doc_freq);
  return std::log(1.0 + (doc_count_ - df + 0.5) / (df + 0.5));
}

double Bm25f::Normaliser(double b, uint32_t length, double average) {
  if (average == 0.0) return 1.0;
  return 1.0 - b + b * static_cast<double>(length) / average;
}

double Bm25f::WeightedTf(TextFields fields, uint32_t tf_title, uint32_t tf_body,
                         uint32_t title_length, uint32_t body_length) const {
  double tf = 0.0;
  if (fields != TextFields::kBody) {
    tf += params_.title_weight * static_cast<double>(tf_title) /
          Normaliser(params_.title_b, title_length, avg_title_length_);
  }
  if (fields != TextFields::kTitle) {
    tf += params_.body_weight * static_cast<double>(tf_body) /
          Normaliser(params_.body_b, body_length, avg_body_length_);
  }
  return tf;
}

double Bm25f::Score(double idf, double weighted_tf) const {
  if (weighted_tf == 0.0) return 0.0;
  return idf * weighted_tf * (params_.k1 + 1.0) / (params_.k1 + weighted_tf);
}

double Bm25f::FieldProximity(
    absl::Span<const double> idfs,
    const std::vector<std::vector<uint32_t>>& positions,
    double normaliser) const {
  // Every occurrence of a query term, by position: near pairs are then
  // neighbours in this list.
  std::vector<std::pair<uint32_t, uint32_t>> occurrences;
  for (size_t term = 0; term < positions.size(); ++term) {
    for (uint32_t position : positions[term]) {
      occurrences.emplace_back(position, static_cast<uint32_t>(term));
    }
  }
  if (occurrences.size() < 2) return 0.0;
  std::sort(occurrences.begin(), occurrences.end());
  std::vector<double> frequency(positions.size(), 0.0);
  for (size_t i = 0; i < occurrences.size(); ++i) {
    for (size_t j = i + 1; j < occurrences.size(); ++j) {
      const uint32_t distance = occurrences[j].first - occurrences[i].first;
      if (distance > kProximityDistance) break;
      if (distance == 0 || occurrences[j].second == occurrences[i].second) {
        continue;
      }
      const double weight = 1.0 / (static_cast<double>(distance) * distance);
      frequency[occurrences[i].second] += weight;
      frequency[occurrences[j].second] += weight;
    }
  }
  const double k1 = params_.k1;
  const double saturation = k1 * normaliser;
  double sum = 0.0;
  for (size_t term = 0; term < frequency.size(); ++term) {
    if (frequency[term] == 0.0) continue;
    sum += std::min(1.0, idfs[term]) * frequency[term] * (k1 + 1.0) /
           (saturation + frequency[term]);
  }
  return sum;
}

double Bm25f::Proximity(absl::Span<const double> idfs,
                        const std::vector<std::vector<uint32_t>>& title,
                        const std::vector<std::vector<uint32_t>>& body,
                        uint32_t title_length, uint32_t body_length) const {
  if (params_.proximity_weight == 0.0) return 0.0;
  const double in_title = FieldProximity(
      idfs, title,
      Normaliser(params_.title_b, title_length, avg_title_length_));
  const double in_body = FieldProximity(
      idfs, body, Normaliser(params_.body_b, body_length, avg_body_length_));
  return params_.proximity_weight *
         (params_.title_weight * in_title + params_.body_weight * in_body);
}

}  // namespace sift::storage
