#include "services/storage/storage_handler.h"

#include <cmath>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/storage/analyzed_field.h"
#include "services/storage/segment/search.h"

namespace sift::storage {
namespace {

// Timestamps outside 0001-01-01 .. 9999-12-31 are not valid
// google.protobuf.Timestamp values.
constexpr int64_t kMinTimestampSeconds = -62'135'596'800;
constexpr int64_t kMaxTimestampSeconds = 253'402'300'799;

absl::Status Invalid(absl::string_view path, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", reason));
}

absl::Status ValidateId(absl::string_view id, absl::string_view path) {
  if (id.empty() || id.size() > kMaxIdBytes) {
    return Invalid(path, absl::StrCat("an id must be 1 to ", kMaxIdBytes,
                                      " bytes, got ", id.size()));
  }
  return absl::OkStatus();
}

absl::Status ValidateTerm(absl::string_view term, absl::string_view path) {
  if (term.empty()) return Invalid(path, "a term must not be empty");
  if (term.size() > kMaxTermBytes) {
    return Invalid(path, absl::StrCat("a term must be at most ", kMaxTermBytes,
                                      " bytes, got ", term.size()));
  }
  if (term.find('\0') != absl::string_view::npos) {
    return Invalid(path, "a term must not contain a NUL byte");
  }
  return absl::OkStatus();
}

absl::Status ValidateKeyword(absl::string_view value, absl::string_view path) {
  if (value.size() > kMaxKeywordBytes) {
    return Invalid(
        path, absl::StrCat("a keyword value must be at most ", kMaxKeywordBytes,
                           " bytes, got ", value.size()));
  }
  return absl::OkStatus();
}

// A term of a query or statistics request: keyword fields take whole
// keyword values, full-text fields analyzed terms.
absl::Status ValidateTermIn(v1::Field field, absl::string_view term,
                            absl::string_view path) {
  if (field == v1::FIELD_SOURCE || field == v1::FIELD_TAG) {
    if (term.empty()) return Invalid(path, "a keyword value must not be empty");
    return ValidateKeyword(term, path);
  }
  return ValidateTerm(term, path);
}

absl::Status ValidateTimestamp(const google::protobuf::Timestamp& t,
                               absl::string_view path) {
  if (t.seconds() < kMinTimestampSeconds ||
      t.seconds() > kMaxTimestampSeconds) {
    return Invalid(path, absl::StrCat("seconds must lie between years 1 and "
                                      "9999, got ",
                                      t.seconds()));
  }
  if (t.nanos() < 0 || t.nanos() > 999'999'999) {
    return Invalid(
        path, absl::StrCat("nanos must be 0 to 999999999, got ", t.nanos()));
  }
  return absl::OkStatus();
}

absl::Status ValidateField(v1::Field field, absl::string_view path) {
  if (!v1::Field_IsValid(field)) {
    return Invalid(path,
                   absl::StrCat("unknown field ", static_cast<int>(field)));
  }
  return absl::OkStatus();
}

absl::Status ValidateAnalyzedField(const v1::AnalyzedField& field,
                                   absl::string_view path) {
  for (int i = 0; i < field.vocabulary_size(); ++i) {
    const std::string& term = field.vocabulary(i);
    // The path is only spelled out for a term that fails.
    if (term.empty() || term.size() > kMaxTermBytes ||
        term.find('\0') != std::string::npos) {
      return ValidateTerm(term, absl::StrCat(path, ".vocabulary[", i, "]"));
    }
  }
  return CheckTermIds(field, path);
}

absl::Status ValidateUpsert(const v1::AnalyzedDocument& upsert,
                            const std::string& path) {
  const v1::Document& doc = upsert.document();
  SIFT_RETURN_IF_ERROR(ValidateId(doc.id(), path + ".document.id"));
  if (doc.has_published_at()) {
    SIFT_RETURN_IF_ERROR(
        ValidateTimestamp(doc.published_at(), path + ".document.published_at"));
  }
  SIFT_RETURN_IF_ERROR(
      ValidateKeyword(doc.source(), path + ".document.source"));
  for (int i = 0; i < doc.tags_size(); ++i) {
    SIFT_RETURN_IF_ERROR(ValidateKeyword(
        doc.tags(i), absl::StrCat(path, ".document.tags[", i, "]")));
  }
  SIFT_RETURN_IF_ERROR(ValidateAnalyzedField(upsert.title(), path + ".title"));
  SIFT_RETURN_IF_ERROR(ValidateAnalyzedField(upsert.body(), path + ".body"));
  return absl::OkStatus();
}

// Ends that are valid timestamps and, when both are set, a non-empty
// [from, to): the planner never sends an empty range, so one is a bug
// worth reporting rather than a query that quietly finds nothing.
absl::Status ValidateDateRange(const v1::DateRangeQuery& range,
                               const std::string& path) {
  if (range.has_from()) {
    SIFT_RETURN_IF_ERROR(ValidateTimestamp(range.from(), path + ".from"));
  }
  if (range.has_to()) {
    SIFT_RETURN_IF_ERROR(ValidateTimestamp(range.to(), path + ".to"));
  }
  if (range.has_from() && range.has_to() &&
      std::make_pair(range.from().seconds(), range.from().nanos()) >=
          std::make_pair(range.to().seconds(), range.to().nanos())) {
    return Invalid(
        path,
        absl::StrCat("from (", range.from().seconds(), "s ",
                     range.from().nanos(), "ns) must be before to (",
                     range.to().seconds(), "s ", range.to().nanos(), "ns)"));
  }
  return absl::OkStatus();
}

// Walks a plan, counting its nodes against kMaxPlanNodes.
absl::Status ValidateNode(const v1::QueryNode& node, const std::string& path,
                          int depth, int& nodes) {
  if (depth > kMaxPlanDepth) {
    return Invalid(path, absl::StrCat("the query plan is nested more than ",
                                      kMaxPlanDepth, " levels deep"));
  }
  if (++nodes > kMaxPlanNodes) {
    return Invalid(path, absl::StrCat("the query plan has more than ",
                                      kMaxPlanNodes, " nodes"));
  }
  switch (node.node_case()) {
    case v1::QueryNode::kTerm: {
      const v1::TermQuery& term = node.term();
      SIFT_RETURN_IF_ERROR(ValidateField(term.field(), path + ".term.field"));
      return ValidateTermIn(term.field(), term.term(), path + ".term.term");
    }
    case v1::QueryNode::kPhrase: {
      const v1::PhraseQuery& phrase = node.phrase();
      SIFT_RETURN_IF_ERROR(
          ValidateField(phrase.field(), path + ".phrase.field"));
      if (phrase.field() == v1::FIELD_SOURCE ||
          phrase.field() == v1::FIELD_TAG) {
        return Invalid(path + ".phrase.field",
                       "a phrase needs a full-text field (unspecified, title "
                       "or body); match keyword values with a term query");
      }
      if (phrase.terms().empty()) {
        return Invalid(path + ".phrase.terms",
                       "a phrase needs at least one term");
      }
      for (int i = 0; i < phrase.terms_size(); ++i) {
        SIFT_RETURN_IF_ERROR(ValidateTerm(
            phrase.terms(i), absl::StrCat(path, ".phrase.terms[", i, "]")));
      }
      return absl::OkStatus();
    }
    case v1::QueryNode::kBoolean: {
      const v1::BooleanQuery& boolean = node.boolean();
      for (int i = 0; i < boolean.must_size(); ++i) {
        SIFT_RETURN_IF_ERROR(ValidateNode(
            boolean.must(i), absl::StrCat(path, ".boolean.must[", i, "]"),
            depth + 1, nodes));
      }
      for (int i = 0; i < boolean.should_size(); ++i) {
        SIFT_RETURN_IF_ERROR(ValidateNode(
            boolean.should(i), absl::StrCat(path, ".boolean.should[", i, "]"),
            depth + 1, nodes));
      }
      for (int i = 0; i < boolean.must_not_size(); ++i) {
        SIFT_RETURN_IF_ERROR(
            ValidateNode(boolean.must_not(i),
                         absl::StrCat(path, ".boolean.must_not[", i, "]"),
                         depth + 1, nodes));
      }
      return absl::OkStatus();
    }
    case v1::QueryNode::kPrefix: {
      const v1::PrefixQuery& prefix = node.prefix();
      SIFT_RETURN_IF_ERROR(
          ValidateField(prefix.field(), path + ".prefix.field"));
      return ValidateTermIn(prefix.field(), prefix.prefix(),
                            path + ".prefix.prefix");
    }
    case v1::QueryNode::kFuzzy: {
      const v1::FuzzyQuery& fuzzy = node.fuzzy();
      SIFT_RETURN_IF_ERROR(ValidateField(fuzzy.field(), path + ".fuzzy.field"));
      if (fuzzy.field() == v1::FIELD_SOURCE || fuzzy.field() == v1::FIELD_TAG) {
        return Invalid(path + ".fuzzy.field",
                       "fuzzy matching needs a full-text field (unspecified, "
                       "title or body)");
      }
      if (fuzzy.max_edits() < 1 || fuzzy.max_edits() > 2) {
        return Invalid(path + ".fuzzy.max_edits",
                       absl::StrCat("must be 1 or 2, got ", fuzzy.max_edits()));
      }
      return ValidateTerm(fuzzy.term(), path + ".fuzzy.term");
    }
    case v1::QueryNode::kDateRange:
      return ValidateDateRange(node.date_range(), path + ".date_range");
    case v1::QueryNode::kMatchAll:
      return absl::OkStatus();
    case v1::QueryNode::NODE_NOT_SET:
      break;
  }
  return Invalid(path, "the query node has no query set");
}

absl::Status ValidateTermRef(const v1::TermRef& ref, const std::string& path) {
  SIFT_RETURN_IF_ERROR(ValidateField(ref.field(), path + ".field"));
  return ValidateTermIn(ref.field(), ref.term(), path + ".term");
}

absl::Status ValidateScoring(const v1::ScoringParams& scoring) {
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
  if (scoring.proximity_window() > segment::kMaxProximityWindow) {
    return Invalid(
        "scoring.proximity_window",
        absl::StrCat("must be at most ", segment::kMaxProximityWindow, ", got ",
                     scoring.proximity_window()));
  }
  return absl::OkStatus();
}

// A cursor must name a position in the request's order: a NaN score would
// compare false both ways and let every hit through, and a date order needs
// to know whether the cursor is dated.
absl::Status ValidateSearchAfter(const v1::SearchAfter& after,
                                 v1::SortOrder sort) {
  SIFT_RETURN_IF_ERROR(ValidateId(after.id(), "search_after.id"));
  if (after.has_published_at() && after.undated()) {
    return Invalid("search_after",
                   "published_at and undated exclude each other");
  }
  if (sort == v1::SORT_ORDER_PUBLISHED_DESC ||
      sort == v1::SORT_ORDER_PUBLISHED_ASC) {
    if (after.has_published_at()) {
      return ValidateTimestamp(after.published_at(),
                               "search_after.published_at");
    }
    if (!after.undated()) {
      return Invalid("search_after",
                     "a date order needs published_at or undated set");
    }
    return absl::OkStatus();
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
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateWriteRequest(const v1::WriteRequest& request) {
  if (request.ops_size() > kMaxWriteOps) {
    return Invalid(
        "ops", absl::StrCat("at most ", kMaxWriteOps,
                            " operations per write, got ", request.ops_size()));
  }
  for (int i = 0; i < request.ops_size(); ++i) {
    const v1::WriteOp& op = request.ops(i);
    const std::string path = absl::StrCat("ops[", i, "]");
    switch (op.op_case()) {
      case v1::WriteOp::kUpsert:
        SIFT_RETURN_IF_ERROR(ValidateUpsert(op.upsert(), path + ".upsert"));
        break;
      case v1::WriteOp::kDeleteId:
        SIFT_RETURN_IF_ERROR(ValidateId(op.delete_id(), path + ".delete_id"));
        break;
      case v1::WriteOp::OP_NOT_SET:
        return Invalid(path, "the operation has neither upsert nor delete_id");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateStatsRequest(const v1::StatsRequest& request) {
  if (request.terms_size() > kMaxStatsTerms) {
    return Invalid("terms", absl::StrCat("at most ", kMaxStatsTerms,
                                         " terms per request, got ",
                                         request.terms_size()));
  }
  for (int i = 0; i < request.terms_size(); ++i) {
    SIFT_RETURN_IF_ERROR(
        ValidateTermRef(request.terms(i), absl::StrCat("terms[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status ValidateSearchRequest(const v1::ShardSearchRequest& request) {
  if (!request.has_query()) return Invalid("query", "a query plan is required");
  int nodes = 0;
  SIFT_RETURN_IF_ERROR(ValidateNode(request.query(), "query", 1, nodes));

  const v1::Filters& filters = request.filters();
  if (filters.has_published_from()) {
    SIFT_RETURN_IF_ERROR(
        ValidateTimestamp(filters.published_from(), "filters.published_from"));
  }
  if (filters.has_published_to()) {
    SIFT_RETURN_IF_ERROR(
        ValidateTimestamp(filters.published_to(), "filters.published_to"));
  }
  for (int i = 0; i < filters.sources_size(); ++i) {
    const std::string path = absl::StrCat("filters.sources[", i, "]");
    if (filters.sources(i).empty()) return Invalid(path, "must not be empty");
    SIFT_RETURN_IF_ERROR(ValidateKeyword(filters.sources(i), path));
  }
  for (int i = 0; i < filters.tags_size(); ++i) {
    const std::string path = absl::StrCat("filters.tags[", i, "]");
    if (filters.tags(i).empty()) return Invalid(path, "must not be empty");
    SIFT_RETURN_IF_ERROR(ValidateKeyword(filters.tags(i), path));
  }

  if (request.limit() > kMaxSearchLimit) {
    return Invalid("limit", absl::StrCat("at most ", kMaxSearchLimit, ", got ",
                                         request.limit()));
  }
  if (request.explain() && request.limit() > kMaxExplainLimit) {
    return Invalid("limit",
                   absl::StrCat("at most ", kMaxExplainLimit,
                                " with explain, got ", request.limit()));
  }
  if (!v1::SortOrder_IsValid(request.sort())) {
    return Invalid("sort", absl::StrCat("unknown sort order ",
                                        static_cast<int>(request.sort())));
  }

  if (request.has_search_after()) {
    SIFT_RETURN_IF_ERROR(
        ValidateSearchAfter(request.search_after(), request.sort()));
  }

  if (request.facets_size() > kMaxFacets) {
    return Invalid("facets",
                   absl::StrCat("at most ", kMaxFacets, " facets, got ",
                                request.facets_size()));
  }
  for (int i = 0; i < request.facets_size(); ++i) {
    const v1::FacetRequest& facet = request.facets(i);
    const std::string path = absl::StrCat("facets[", i, "]");
    if (facet.field() == v1::FACET_FIELD_UNSPECIFIED ||
        !v1::FacetField_IsValid(facet.field())) {
      return Invalid(path + ".field",
                     absl::StrCat("unknown facet field ", facet.field()));
    }
    if (!v1::DateInterval_IsValid(facet.interval())) {
      return Invalid(path + ".interval",
                     absl::StrCat("unknown date interval ", facet.interval()));
    }
    if (facet.field() != v1::FACET_FIELD_PUBLISHED_AT &&
        facet.interval() != v1::DATE_INTERVAL_UNSPECIFIED) {
      return Invalid(path + ".interval",
                     "only a published_at facet takes an interval");
    }
  }

  const v1::GlobalStats& stats = request.stats();
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
  for (int i = 0; i < stats.terms_size(); ++i) {
    SIFT_RETURN_IF_ERROR(
        ValidateTermRef(stats.terms(i), absl::StrCat("stats.terms[", i, "]")));
  }
  return ValidateScoring(request.scoring());
}

absl::Status ValidateFetchRequest(const v1::FetchRequest& request) {
  if (request.ids_size() > kMaxFetchIds) {
    return Invalid(
        "ids", absl::StrCat("at most ", kMaxFetchIds, " ids per request, got ",
                            request.ids_size()));
  }
  for (int i = 0; i < request.ids_size(); ++i) {
    SIFT_RETURN_IF_ERROR(
        ValidateId(request.ids(i), absl::StrCat("ids[", i, "]")));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::WriteResponse> StorageHandler::Write(
    const v1::WriteRequest& request) {
  SIFT_RETURN_IF_ERROR(ValidateWriteRequest(request));
  return index_->Apply(request);
}

absl::StatusOr<v1::StatsResponse> StorageHandler::Stats(
    const v1::StatsRequest& request) {
  SIFT_RETURN_IF_ERROR(ValidateStatsRequest(request));
  return index_->Stats(request);
}

absl::StatusOr<v1::ShardSearchResponse> StorageHandler::Search(
    const v1::ShardSearchRequest& request) {
  SIFT_RETURN_IF_ERROR(ValidateSearchRequest(request));
  return index_->Search(request);
}

absl::StatusOr<v1::FetchResponse> StorageHandler::Fetch(
    const v1::FetchRequest& request) {
  SIFT_RETURN_IF_ERROR(ValidateFetchRequest(request));
  return index_->Fetch(request);
}

}  // namespace sift::storage
