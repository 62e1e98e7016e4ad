#include "services/storage/scoring.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sift::storage {
namespace {

v1::Explanation* AddNode(v1::Explanation* parent, double value,
                         std::string description) {
  v1::Explanation* node = parent->add_details();
  node->set_value(value);
  node->set_description(std::move(description));
  return node;
}

}  // namespace

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
                                            static_cast<double>(doc_count)),
      title_norm_(params_.title_b, avg_title_length_),
      body_norm_(params_.body_b, avg_body_length_) {}

double Bm25f::Idf(uint64_t doc_freq) const {
  const double df = std::min(static_cast<double>(doc_freq), doc_count_);
  return std::log(1.0 + (doc_count_ - df + 0.5) / (df + 0.5));
}

double Bm25f::FieldProximity(
    absl::Span<const double> idfs,
    const std::vector<std::vector<uint32_t>>& positions, double normaliser,
    FieldProximityParts* parts) const {
  const double k1 = params_.k1;
  const double saturation = k1 * normaliser;
  if (parts != nullptr) parts->saturation = saturation;
  // Every occurrence of a query term, by position: near pairs are then
  // neighbours in this list. Kept per thread: a search computes the bonus
  // for many documents, and allocating for each cost more than the sums.
  static thread_local std::vector<std::pair<uint32_t, uint32_t>> occurrences;
  static thread_local std::vector<double> frequency;
  occurrences.clear();
  for (size_t term = 0; term < positions.size(); ++term) {
    for (uint32_t position : positions[term]) {
      occurrences.emplace_back(position, static_cast<uint32_t>(term));
    }
  }
  if (occurrences.size() < 2) return 0.0;
  std::sort(occurrences.begin(), occurrences.end());
  frequency.assign(positions.size(), 0.0);
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
  if (parts != nullptr) {
    parts->frequency = frequency;
    parts->contribution.assign(frequency.size(), 0.0);
  }
  double sum = 0.0;
  for (size_t term = 0; term < frequency.size(); ++term) {
    if (frequency[term] == 0.0) continue;
    const double contribution = std::min(1.0, idfs[term]) * frequency[term] *
                                (k1 + 1.0) / (saturation + frequency[term]);
    if (parts != nullptr) parts->contribution[term] = contribution;
    sum += contribution;
  }
  if (parts != nullptr) parts->sum = sum;
  return sum;
}

double Bm25f::ProximityOf(absl::Span<const double> idfs,
                          const std::vector<std::vector<uint32_t>>& title,
                          const std::vector<std::vector<uint32_t>>& body,
                          uint32_t title_length, uint32_t body_length,
                          FieldProximityParts* title_parts,
                          FieldProximityParts* body_parts) const {
  if (params_.proximity_weight == 0.0) return 0.0;
  const double in_title =
      FieldProximity(idfs, title, title_norm_(title_length), title_parts);
  const double in_body =
      FieldProximity(idfs, body, body_norm_(body_length), body_parts);
  return params_.proximity_weight *
         (params_.title_weight * in_title + params_.body_weight * in_body);
}

double Bm25f::Proximity(absl::Span<const double> idfs,
                        const std::vector<std::vector<uint32_t>>& title,
                        const std::vector<std::vector<uint32_t>>& body,
                        uint32_t title_length, uint32_t body_length) const {
  return ProximityOf(idfs, title, body, title_length, body_length, nullptr,
                     nullptr);
}

double Bm25f::FieldProximityBound(double idf, uint32_t occurrences,
                                  uint32_t others, double normaliser) const {
  if (occurrences == 0 || others == 0) return 0.0;
  const double k1 = params_.k1;
  const double frequency =
      std::min(occurrences * MaxPairWeight(others),
               static_cast<double>(others) * MaxPairWeight(occurrences));
  return std::min(1.0, idf) * frequency * (k1 + 1.0) /
         (k1 * normaliser + frequency);
}

double Bm25f::ProximityBound(double idf, uint32_t tf_title, uint32_t tf_body,
                             uint32_t others_title, uint32_t others_body,
                             const LengthNorms& norms) const {
  if (params_.proximity_weight == 0.0) return 0.0;
  const double in_title =
      FieldProximityBound(idf, tf_title, others_title, norms.title);
  const double in_body =
      FieldProximityBound(idf, tf_body, others_body, norms.body);
  return params_.proximity_weight *
         (params_.title_weight * in_title + params_.body_weight * in_body);
}

v1::Explanation Bm25f::ExplainIdf(absl::string_view term,
                                  uint64_t doc_freq) const {
  v1::Explanation out;
  out.set_value(Idf(doc_freq));
  out.set_description(
      absl::StrCat("idf of ", term, ", ln(1 + (N - df + 0.5) / (df + 0.5))"));
  AddNode(&out, doc_count_, "N, documents in the collection");
  // The df the formula used: deleted documents not yet merged away count
  // until N is reached.
  AddNode(&out, std::min(static_cast<double>(doc_freq), doc_count_),
          "df, documents with the term");
  return out;
}

v1::Explanation Bm25f::ExplainScore(std::string what, v1::Explanation idf,
                                    absl::string_view counted,
                                    TextFields fields, uint32_t tf_title,
                                    uint32_t tf_body, uint32_t title_length,
                                    uint32_t body_length) const {
  const double weighted_tf =
      WeightedTf(fields, tf_title, tf_body, title_length, body_length);
  v1::Explanation out;
  out.set_value(Score(idf.value(), weighted_tf));
  out.set_description(
      absl::StrCat(what, ", idf * tf~ * (k1 + 1) / (k1 + tf~), from:"));
  *out.add_details() = std::move(idf);
  v1::Explanation* tf = AddNode(
      &out, weighted_tf,
      "tf~, the weighted, length-normalised frequency, sum over the fields of "
      "weight * tf / (1 - b + b * length / avg_length):");
  // A field where the term does not occur adds 0 to tf~ and is left out.
  auto field = [&](absl::string_view name, double weight, uint32_t count,
                   double b, const FieldNorm& norm, uint32_t length,
                   double average) {
    if (count == 0) return;
    v1::Explanation* f =
        AddNode(tf, FieldTf(weight, count, norm(length)),
                absl::StrCat(name,
                             ", weight * tf / (1 - b + b * length / "
                             "avg_length), from:"));
    AddNode(f, count,
            absl::StrCat("tf, occurrences of the ", counted, " in the ", name));
    AddNode(f, length, absl::StrCat("length, terms in the ", name));
    AddNode(f, average, absl::StrCat("avg_length, average ", name, " length"));
    AddNode(f, weight, absl::StrCat("weight of the ", name));
    AddNode(f, b, absl::StrCat("b, length normalisation of the ", name));
  };
  if (fields != TextFields::kBody) {
    field("title", params_.title_weight, tf_title, params_.title_b, title_norm_,
          title_length, avg_title_length_);
  }
  if (fields != TextFields::kTitle) {
    field("body", params_.body_weight, tf_body, params_.body_b, body_norm_,
          body_length, avg_body_length_);
  }
  AddNode(&out, params_.k1, "k1, term frequency saturation");
  return out;
}

v1::Explanation Bm25f::ExplainProximity(
    absl::Span<const std::string> terms, absl::Span<const double> idfs,
    const std::vector<std::vector<uint32_t>>& title,
    const std::vector<std::vector<uint32_t>>& body, uint32_t title_length,
    uint32_t body_length) const {
  FieldProximityParts title_parts, body_parts;
  v1::Explanation out;
  out.set_value(ProximityOf(idfs, title, body, title_length, body_length,
                            &title_parts, &body_parts));
  out.set_description(absl::StrCat(
      "term proximity bonus (BM25TP), proximity_weight * (title + body)",
      out.value() == 0.0
          ? absl::StrCat(": no two query terms within ", kProximityDistance,
                         " positions of each other")
          : ", from:"));
  AddNode(&out, params_.proximity_weight, "proximity_weight");
  // A field without near pairs adds 0 and is left out.
  auto field = [&](absl::string_view name, double weight,
                   const FieldProximityParts& parts, double b, uint32_t length,
                   double average) {
    if (parts.sum == 0.0) return;
    v1::Explanation* f = AddNode(
        &out, weight * parts.sum,
        absl::StrCat(name,
                     ", weight * sum over the query terms of min(1, idf) * pf "
                     "* (k1 + 1) / (K + pf), from:"));
    AddNode(f, weight, absl::StrCat("weight of the ", name));
    v1::Explanation* k = AddNode(f, parts.saturation,
                                 "K, k1 * (1 - b + b * length / avg_length)");
    AddNode(k, params_.k1, "k1");
    AddNode(k, b, absl::StrCat("b, length normalisation of the ", name));
    AddNode(k, length, absl::StrCat("length, terms in the ", name));
    AddNode(k, average, absl::StrCat("avg_length, average ", name, " length"));
    for (size_t i = 0; i < parts.contribution.size(); ++i) {
      if (parts.frequency[i] == 0.0) continue;
      v1::Explanation* t = AddNode(
          f, parts.contribution[i],
          absl::StrCat("\"", terms[i],
                       "\", min(1, idf) * pf * (k1 + 1) / (K + pf), from:"));
      AddNode(t, std::min(1.0, idfs[i]), "min(1, idf)");
      AddNode(t, parts.frequency[i],
              absl::StrCat("pf, 1 / d^2 summed over the pairs of an "
                           "occurrence of this term and one of another query "
                           "term at a distance d of at most ",
                           kProximityDistance));
    }
  };
  field("title", params_.title_weight, title_parts, params_.title_b,
        title_length, avg_title_length_);
  field("body", params_.body_weight, body_parts, params_.body_b, body_length,
        avg_body_length_);
  return out;
}

}  // namespace sift::storage
