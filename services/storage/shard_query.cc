#include "services/storage/shard_query.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/analysis/analyzer.h"
#include "common/status/status_macros.h"
#include "services/storage/internal/request_checks.h"
#include "services/storage/shard_limits.h"

namespace sift::storage {
namespace {

using internal::CheckField;
using internal::CheckId;
using internal::CheckKeyword;
using internal::CheckTerm;
using internal::CheckTermIn;
using internal::CheckTimestamp;
using internal::Invalid;
using segment::PlanNode;
using segment::TermField;

bool IsKeywordField(v1::Field field) {
  return field == v1::FIELD_SOURCE || field == v1::FIELD_TAG;
}

TextFields TextFieldsOf(v1::Field field) {
  if (field == v1::FIELD_TITLE) return TextFields::kTitle;
  if (field == v1::FIELD_BODY) return TextFields::kBody;
  return TextFields::kTitleAndBody;
}

// NormalizeKeyword, its error prefixed with `path`.
absl::StatusOr<std::string> NormalizeAt(absl::string_view value,
                                        absl::string_view path) {
  absl::StatusOr<std::string> normalized = NormalizeKeyword(value);
  if (!normalized.ok()) {
    return Invalid(path, normalized.status().message());
  }
  return normalized;
}

std::pair<int64_t, int32_t> FromTimestamp(
    const google::protobuf::Timestamp& t) {
  return {t.seconds(), t.nanos()};
}

// Ends that are valid timestamps and, when both are set, a non-empty
// [from, to): the planner never sends an empty range, so one is a bug
// worth reporting rather than a query that quietly finds nothing.
absl::Status CheckDateRange(const v1::DateRangeQuery& range,
                            const std::string& path) {
  if (range.has_from()) {
    SIFT_RETURN_IF_ERROR(CheckTimestamp(range.from(), path + ".from"));
  }
  if (range.has_to()) {
    SIFT_RETURN_IF_ERROR(CheckTimestamp(range.to(), path + ".to"));
  }
  if (range.has_from() && range.has_to() &&
      FromTimestamp(range.from()) >= FromTimestamp(range.to())) {
    return Invalid(
        path,
        absl::StrCat("from (", range.from().seconds(), "s ",
                     range.from().nanos(), "ns) must be before to (",
                     range.to().seconds(), "s ", range.to().nanos(), "ns)"));
  }
  return absl::OkStatus();
}

// Turns a QueryNode into a PlanNode, counting nodes against kMaxPlanNodes.
class PlanDecoder {
 public:
  absl::Status Decode(const v1::QueryNode& node, const std::string& path,
                      int depth, PlanNode* out) {
    if (depth > kMaxPlanDepth) {
      return Invalid(path, absl::StrCat("the query plan is nested more than ",
                                        kMaxPlanDepth, " levels deep"));
    }
    if (++nodes_ > kMaxPlanNodes) {
      return Invalid(path, absl::StrCat("the query plan has more than ",
                                        kMaxPlanNodes, " nodes"));
    }
    switch (node.node_case()) {
      case v1::QueryNode::kTerm:
        return DecodeTerm(node.term(), path + ".term", out);
      case v1::QueryNode::kPhrase:
        return DecodePhrase(node.phrase(), path + ".phrase", out);
      case v1::QueryNode::kBoolean: {
        out->kind = PlanNode::Kind::kBoolean;
        const v1::BooleanQuery& b = node.boolean();
        const std::string base = path + ".boolean";
        for (int i = 0; i < b.must_size(); ++i) {
          SIFT_RETURN_IF_ERROR(Decode(b.must(i),
                                      absl::StrCat(base, ".must[", i, "]"),
                                      depth + 1, &out->must.emplace_back()));
        }
        for (int i = 0; i < b.should_size(); ++i) {
          SIFT_RETURN_IF_ERROR(Decode(b.should(i),
                                      absl::StrCat(base, ".should[", i, "]"),
                                      depth + 1, &out->should.emplace_back()));
        }
        for (int i = 0; i < b.must_not_size(); ++i) {
          SIFT_RETURN_IF_ERROR(
              Decode(b.must_not(i), absl::StrCat(base, ".must_not[", i, "]"),
                     depth + 1, &out->must_not.emplace_back()));
        }
        return absl::OkStatus();
      }
      case v1::QueryNode::kPrefix:
        return DecodePrefix(node.prefix(), path + ".prefix", out);
      case v1::QueryNode::kFuzzy:
        return DecodeFuzzy(node.fuzzy(), path + ".fuzzy", out);
      case v1::QueryNode::kMatchAll:
        out->kind = PlanNode::Kind::kMatchAll;
        return absl::OkStatus();
      case v1::QueryNode::kDateRange: {
        const v1::DateRangeQuery& range = node.date_range();
        SIFT_RETURN_IF_ERROR(CheckDateRange(range, path + ".date_range"));
        out->kind = PlanNode::Kind::kDateRange;
        if (range.has_from()) out->from = FromTimestamp(range.from());
        if (range.has_to()) out->to = FromTimestamp(range.to());
        return absl::OkStatus();
      }
      case v1::QueryNode::NODE_NOT_SET:
        break;
    }
    return Invalid(path, "the query node has no query set");
  }

 private:
  // The value of a term-like node as the index holds it (keywords
  // normalised, text as given), with `out`'s field set: keyword_field, and
  // for text kText and `fields`. `value_path` names the value in errors.
  absl::StatusOr<std::string> DecodeValue(v1::Field field,
                                          const std::string& value,
                                          const std::string& path,
                                          const std::string& value_path,
                                          PlanNode* out) {
    SIFT_RETURN_IF_ERROR(CheckField(field, path + ".field"));
    SIFT_RETURN_IF_ERROR(CheckTermIn(field, value, value_path));
    if (!IsKeywordField(field)) {
      out->keyword_field = TermField::kText;
      out->fields = TextFieldsOf(field);
      return value;
    }
    out->keyword_field =
        field == v1::FIELD_SOURCE ? TermField::kSource : TermField::kTag;
    SIFT_ASSIGN_OR_RETURN(std::string normalized,
                          NormalizeAt(value, value_path));
    // A value of only spaces normalises to nothing, which nothing holds.
    SIFT_RETURN_IF_ERROR(CheckTerm(normalized, value_path));
    return normalized;
  }

  absl::Status DecodeTerm(const v1::TermQuery& query, const std::string& path,
                          PlanNode* out) {
    SIFT_ASSIGN_OR_RETURN(out->term, DecodeValue(query.field(), query.term(),
                                                 path, path + ".term", out));
    out->kind = IsKeywordField(query.field()) ? PlanNode::Kind::kKeyword
                                              : PlanNode::Kind::kTerm;
    return absl::OkStatus();
  }

  absl::Status DecodePrefix(const v1::PrefixQuery& query,
                            const std::string& path, PlanNode* out) {
    SIFT_ASSIGN_OR_RETURN(out->term, DecodeValue(query.field(), query.prefix(),
                                                 path, path + ".prefix", out));
    out->kind = PlanNode::Kind::kPrefix;
    out->idf = 1.0;  // the constant score of a match
    return absl::OkStatus();
  }

  absl::Status DecodeFuzzy(const v1::FuzzyQuery& query, const std::string& path,
                           PlanNode* out) {
    SIFT_RETURN_IF_ERROR(CheckField(query.field(), path + ".field"));
    if (IsKeywordField(query.field())) {
      return Invalid(path + ".field",
                     "fuzzy matching needs a full-text field (unspecified, "
                     "title or body)");
    }
    if (query.max_edits() < 1 || query.max_edits() > 2) {
      return Invalid(path + ".max_edits",
                     absl::StrCat("must be 1 or 2, got ", query.max_edits()));
    }
    SIFT_ASSIGN_OR_RETURN(out->term, DecodeValue(query.field(), query.term(),
                                                 path, path + ".term", out));
    out->kind = PlanNode::Kind::kFuzzy;
    out->slop = query.max_edits();
    out->idf = 1.0;  // the constant score of a match
    return absl::OkStatus();
  }

  absl::Status DecodePhrase(const v1::PhraseQuery& query,
                            const std::string& path, PlanNode* out) {
    SIFT_RETURN_IF_ERROR(CheckField(query.field(), path + ".field"));
    if (IsKeywordField(query.field())) {
      return Invalid(path + ".field",
                     "a phrase needs a full-text field (unspecified, title "
                     "or body); match keyword values with a term query");
    }
    if (query.terms().empty()) {
      return Invalid(path + ".terms", "a phrase needs at least one term");
    }
    for (int i = 0; i < query.terms_size(); ++i) {
      SIFT_RETURN_IF_ERROR(
          CheckTerm(query.terms(i), absl::StrCat(path, ".terms[", i, "]")));
    }
    out->kind = PlanNode::Kind::kPhrase;
    out->keyword_field = TermField::kText;
    out->fields = TextFieldsOf(query.field());
    out->slop = query.slop();
    out->terms.assign(query.terms().begin(), query.terms().end());
    return absl::OkStatus();
  }

  int nodes_ = 0;
};

absl::StatusOr<segment::FilterSpec> DecodeFilters(const v1::Filters& filters) {
  segment::FilterSpec out;
  if (filters.has_published_from()) {
    SIFT_RETURN_IF_ERROR(
        CheckTimestamp(filters.published_from(), "filters.published_from"));
    out.from = FromTimestamp(filters.published_from());
  }
  if (filters.has_published_to()) {
    SIFT_RETURN_IF_ERROR(
        CheckTimestamp(filters.published_to(), "filters.published_to"));
    out.to = FromTimestamp(filters.published_to());
  }
  const std::tuple<const google::protobuf::RepeatedPtrField<std::string>*,
                   const char*, std::vector<std::string>*>
      lists[] = {{&filters.sources(), "filters.sources", &out.sources},
                 {&filters.tags(), "filters.tags", &out.tags}};
  for (const auto& [values, name, decoded] : lists) {
    for (int i = 0; i < values->size(); ++i) {
      const std::string path = absl::StrCat(name, "[", i, "]");
      const std::string& value = values->Get(i);
      if (value.empty()) return Invalid(path, "must not be empty");
      SIFT_RETURN_IF_ERROR(CheckKeyword(value, path));
      SIFT_ASSIGN_OR_RETURN(decoded->emplace_back(), NormalizeAt(value, path));
    }
  }
  return out;
}

absl::StatusOr<Bm25fParams> DecodeScoring(const v1::ScoringParams& scoring) {
  const std::pair<double, const char*> params[] = {
      {scoring.k1(), "scoring.k1"},
      {scoring.b(), "scoring.b"},
      {scoring.title_weight(), "scoring.title_weight"},
      {scoring.body_weight(), "scoring.body_weight"}};
  for (const auto& [value, path] : params) {
    if (!std::isfinite(value) || value < 0) {
      return Invalid(path, absl::StrCat("must be a finite number >= 0 (0 "
                                        "means the default), got ",
                                        value));
    }
  }
  if (scoring.b() > 1) {
    return Invalid("scoring.b",
                   absl::StrCat("must be at most 1, got ", scoring.b()));
  }
  const std::tuple<bool, double, const char*> field_bs[] = {
      {scoring.has_title_b(), scoring.title_b(), "scoring.title_b"},
      {scoring.has_body_b(), scoring.body_b(), "scoring.body_b"}};
  for (const auto& [set, value, path] : field_bs) {
    if (set && !(value >= 0 && value <= 1)) {
      return Invalid(path,
                     absl::StrCat("must be between 0 and 1, got ", value));
    }
  }
  if (scoring.has_proximity_weight() &&
      !(std::isfinite(scoring.proximity_weight()) &&
        scoring.proximity_weight() >= 0)) {
    return Invalid("scoring.proximity_weight",
                   absl::StrCat("must be a finite number >= 0 (0 turns the "
                                "bonus off), got ",
                                scoring.proximity_weight()));
  }
  return Bm25fParams::FromProto(scoring);
}

// A cursor must name a position in the request's order: a NaN score would
// compare false both ways and let every hit through, and a date order needs
// to know whether the cursor is dated.
absl::StatusOr<segment::SearchAfter> DecodeSearchAfter(
    const v1::SearchAfter& after, v1::SortOrder sort) {
  SIFT_RETURN_IF_ERROR(CheckId(after.id(), "search_after.id"));
  if (after.has_published_at() && after.undated()) {
    return Invalid("search_after",
                   "published_at and undated exclude each other");
  }
  segment::SearchAfter out;
  out.id = after.id();
  if (sort == v1::SORT_ORDER_PUBLISHED_DESC ||
      sort == v1::SORT_ORDER_PUBLISHED_ASC) {
    if (after.has_published_at()) {
      SIFT_RETURN_IF_ERROR(
          CheckTimestamp(after.published_at(), "search_after.published_at"));
      out.published = FromTimestamp(after.published_at());
    } else if (!after.undated()) {
      return Invalid("search_after",
                     "a date order needs published_at or undated set");
    }
    return out;
  }
  if (!std::isfinite(after.score())) {
    return Invalid(
        "search_after.score",
        absl::StrCat("must be a finite number, got ", after.score()));
  }
  if (after.has_published_at() || after.undated()) {
    return Invalid("search_after",
                   "published_at and undated apply only to the date orders");
  }
  out.score = after.score();
  return out;
}

absl::StatusOr<segment::FacetSpec> DecodeFacet(const v1::FacetRequest& facet,
                                               const std::string& path) {
  segment::FacetSpec spec;
  switch (facet.field()) {
    case v1::FACET_FIELD_SOURCE:
      spec.kind = segment::FacetSpec::Kind::kSource;
      break;
    case v1::FACET_FIELD_TAGS:
      spec.kind = segment::FacetSpec::Kind::kTags;
      break;
    case v1::FACET_FIELD_PUBLISHED_AT:
      spec.kind = segment::FacetSpec::Kind::kPublished;
      break;
    default:
      return Invalid(path + ".field",
                     absl::StrCat("unknown facet field ", facet.field()));
  }
  if (facet.field() != v1::FACET_FIELD_PUBLISHED_AT &&
      facet.interval() != v1::DATE_INTERVAL_UNSPECIFIED) {
    if (!v1::DateInterval_IsValid(facet.interval())) {
      return Invalid(path + ".interval",
                     absl::StrCat("unknown date interval ", facet.interval()));
    }
    return Invalid(path + ".interval",
                   "only a published_at facet takes an interval");
  }
  switch (facet.interval()) {
    case v1::DATE_INTERVAL_DAY:
      spec.unit = segment::FacetSpec::Unit::kDay;
      break;
    case v1::DATE_INTERVAL_UNSPECIFIED:
    case v1::DATE_INTERVAL_MONTH:
      spec.unit = segment::FacetSpec::Unit::kMonth;
      break;
    case v1::DATE_INTERVAL_YEAR:
      spec.unit = segment::FacetSpec::Unit::kYear;
      break;
    default:
      return Invalid(path + ".interval",
                     absl::StrCat("unknown date interval ", facet.interval()));
  }
  return spec;
}

absl::StatusOr<TermKey> DecodeTermRef(const v1::TermRef& ref,
                                      const std::string& path) {
  SIFT_RETURN_IF_ERROR(CheckField(ref.field(), path + ".field"));
  SIFT_RETURN_IF_ERROR(CheckTermIn(ref.field(), ref.term(), path + ".term"));
  TermKey key{ref.field(), ref.term()};
  if (IsKeywordField(ref.field())) {
    SIFT_ASSIGN_OR_RETURN(key.term, NormalizeAt(ref.term(), path + ".term"));
  }
  return key;
}

absl::StatusOr<ScoringStats> DecodeStats(const v1::GlobalStats& stats) {
  if (stats.terms_size() != stats.doc_freqs_size()) {
    return Invalid(
        "stats.doc_freqs",
        absl::StrCat("must have one entry per stats.terms entry: ",
                     stats.doc_freqs_size(), " vs ", stats.terms_size()));
  }
  if (stats.terms_size() > kMaxStatsTerms) {
    return Invalid("stats.terms",
                   absl::StrCat("at most ", kMaxStatsTerms, " terms, got ",
                                stats.terms_size()));
  }
  ScoringStats out;
  out.doc_count = stats.doc_count();
  out.total_title_terms = stats.total_title_terms();
  out.total_body_terms = stats.total_body_terms();
  for (int i = 0; i < stats.terms_size(); ++i) {
    SIFT_ASSIGN_OR_RETURN(
        TermKey key,
        DecodeTermRef(stats.terms(i), absl::StrCat("stats.terms[", i, "]")));
    out.doc_freqs.emplace(std::move(key), stats.doc_freqs(i));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> NormalizeKeyword(absl::string_view value) {
  static const analysis::Analyzer* const analyzer = new analysis::Analyzer();
  std::string cleaned(value);
  std::replace(cleaned.begin(), cleaned.end(), '\0', ' ');
  return analyzer->NormalizeKeyword(cleaned);
}

absl::StatusOr<ShardQuery> DecodeShardQuery(
    const v1::ShardSearchRequest& request) {
  if (!request.has_query()) return Invalid("query", "a query plan is required");
  ShardQuery out;
  PlanDecoder plan;
  SIFT_RETURN_IF_ERROR(plan.Decode(request.query(), "query", 1, &out.plan));
  SIFT_ASSIGN_OR_RETURN(out.filters, DecodeFilters(request.filters()));

  if (request.limit() > kMaxSearchLimit) {
    return Invalid("limit", absl::StrCat("at most ", kMaxSearchLimit, ", got ",
                                         request.limit()));
  }
  if (request.explain() && request.limit() > kMaxExplainLimit) {
    return Invalid("limit",
                   absl::StrCat("at most ", kMaxExplainLimit,
                                " with explain, got ", request.limit()));
  }
  out.limit = request.limit();
  out.explain = request.explain();
  if (request.stats_version() != 0 && request.shard_stats()) {
    return Invalid("stats_version",
                   "checks the coordinator's statistics; with shard_stats the "
                   "shard scores with its own");
  }
  out.stats_version = request.stats_version();
  if (!v1::SortOrder_IsValid(request.sort())) {
    return Invalid("sort", absl::StrCat("unknown sort order ",
                                        static_cast<int>(request.sort())));
  }
  out.sort = request.sort();
  if (request.has_search_after()) {
    SIFT_ASSIGN_OR_RETURN(
        out.after, DecodeSearchAfter(request.search_after(), request.sort()));
  }

  if (request.facets_size() > kMaxFacets) {
    return Invalid("facets",
                   absl::StrCat("at most ", kMaxFacets, " facets, got ",
                                request.facets_size()));
  }
  for (int i = 0; i < request.facets_size(); ++i) {
    SIFT_ASSIGN_OR_RETURN(
        out.facets.emplace_back(),
        DecodeFacet(request.facets(i), absl::StrCat("facets[", i, "]")));
  }
  SIFT_ASSIGN_OR_RETURN(out.stats, DecodeStats(request.stats()));
  SIFT_ASSIGN_OR_RETURN(out.scoring, DecodeScoring(request.scoring()));
  return out;
}

absl::StatusOr<std::vector<TermKey>> DecodeStatsRequest(
    const v1::StatsRequest& request) {
  if (request.terms_size() > kMaxStatsTerms) {
    return Invalid("terms", absl::StrCat("at most ", kMaxStatsTerms,
                                         " terms per request, got ",
                                         request.terms_size()));
  }
  std::vector<TermKey> terms;
  terms.reserve(request.terms_size());
  for (int i = 0; i < request.terms_size(); ++i) {
    SIFT_ASSIGN_OR_RETURN(
        terms.emplace_back(),
        DecodeTermRef(request.terms(i), absl::StrCat("terms[", i, "]")));
  }
  return terms;
}

v1::Field DocFreqField(const PlanNode& node) {
  if (node.kind == PlanNode::Kind::kKeyword) {
    return node.keyword_field == TermField::kSource ? v1::FIELD_SOURCE
                                                    : v1::FIELD_TAG;
  }
  switch (node.fields) {
    case TextFields::kTitle:
      return v1::FIELD_TITLE;
    case TextFields::kBody:
      return v1::FIELD_BODY;
    case TextFields::kTitleAndBody:
      break;
  }
  return v1::FIELD_UNSPECIFIED;
}

}  // namespace sift::storage
