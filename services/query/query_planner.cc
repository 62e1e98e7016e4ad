#include "services/query/query_planner.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/analysis/stop_words.h"
#include "common/status/status_macros.h"

namespace sift::query {
namespace {

v1::Field ToProtoField(QueryField field) {
  switch (field) {
    case QueryField::kAll:
      return v1::FIELD_UNSPECIFIED;
    case QueryField::kTitle:
      return v1::FIELD_TITLE;
    case QueryField::kBody:
      return v1::FIELD_BODY;
    case QueryField::kSource:
      return v1::FIELD_SOURCE;
    case QueryField::kTag:
      return v1::FIELD_TAG;
  }
  return v1::FIELD_UNSPECIFIED;
}

bool IsKeywordField(QueryField field) {
  return field == QueryField::kSource || field == QueryField::kTag;
}

absl::Status QueryError(const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("query: ", status.message()));
}

class Planner {
 public:
  Planner(const analysis::Analyzer& analyzer, const PlanOptions& options)
      : analyzer_(analyzer), options_(options) {}

  // The node for `expr`, or nullopt when it analyzes to nothing. Clauses
  // inside an exclusion are planned but never highlighted.
  absl::StatusOr<std::optional<v1::QueryNode>> Plan(const QueryExpr& expr,
                                                    bool excluded) {
    switch (expr.kind) {
      case QueryExpr::Kind::kMatchAll: {
        v1::QueryNode node;
        node.mutable_match_all();
        return node;
      }
      case QueryExpr::Kind::kTerm:
      case QueryExpr::Kind::kPhrase:
        return IsKeywordField(expr.field) ? PlanKeyword(expr)
                                          : PlanText(expr, !excluded);
      case QueryExpr::Kind::kPrefix:
        return PlanPrefix(expr, excluded);
      case QueryExpr::Kind::kFuzzy:
        return PlanFuzzy(expr, excluded);
      case QueryExpr::Kind::kAnd:
      case QueryExpr::Kind::kOr:
        return PlanBoolean(expr, excluded);
      case QueryExpr::Kind::kDateRange:
        return PlanDateRange(expr);
    }
    return std::nullopt;
  }

  QueryPlan& plan() { return plan_; }

 private:
  absl::StatusOr<std::optional<v1::QueryNode>> PlanKeyword(
      const QueryExpr& expr) {
    absl::StatusOr<std::string> value = analyzer_.NormalizeKeyword(expr.text);
    if (!value.ok()) return QueryError(value.status());
    if (value->empty()) return std::nullopt;
    const v1::Field field = ToProtoField(expr.field);
    AddStatsTerm(field, *value);
    v1::QueryNode node;
    node.mutable_term()->set_field(field);
    node.mutable_term()->set_term(*std::move(value));
    return node;
  }

  // A prefix is case-folded like a keyword (NFKC), not stemmed: `comput*`
  // is meant letter for letter. It needs no statistics (a match scores a
  // constant). Snippets mark the tokens whose terms start with it, the
  // test the shards apply to their dictionaries.
  absl::StatusOr<std::optional<v1::QueryNode>> PlanPrefix(const QueryExpr& expr,
                                                          bool excluded) {
    absl::StatusOr<std::string> value = analyzer_.NormalizeKeyword(expr.text);
    if (!value.ok()) return QueryError(value.status());
    if (value->empty()) return std::nullopt;
    if (!IsKeywordField(expr.field)) {
      // Punctuation before the star (`***`) is dropped like any other.
      absl::StatusOr<std::vector<std::string>> terms =
          analyzer_.Terms(expr.text);
      if (!terms.ok()) return QueryError(terms.status());
      if (terms->empty()) return std::nullopt;
      if (!excluded) AddPrefixHighlight(expr.field, *value);
    }
    v1::QueryNode node;
    node.mutable_prefix()->set_field(ToProtoField(expr.field));
    node.mutable_prefix()->set_prefix(*std::move(value));
    return node;
  }

  // `word~N` analyzes like a word; its term then matches as itself, scored
  // by BM25, or as any term within N edits, scoring a constant 1, so that
  // the exact spelling ranks first. A word of several terms (`e-mail~`) is
  // planned as the plain phrase; keyword fields have no fuzzy matching.
  // Snippets mark every token within the edits (the exact term included,
  // at 0 edits) by the rule the shards match with.
  absl::StatusOr<std::optional<v1::QueryNode>> PlanFuzzy(const QueryExpr& expr,
                                                         bool excluded) {
    if (IsKeywordField(expr.field)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "query: fuzzy matching (", expr.text, "~", expr.max_edits,
          ") is for words of the title and body, not ", FieldName(expr.field),
          ": values"));
    }
    absl::StatusOr<std::vector<std::string>> terms = analyzer_.Terms(expr.text);
    if (!terms.ok()) return QueryError(terms.status());
    if (terms->size() != 1) return PlanText(expr, !excluded);
    SIFT_ASSIGN_OR_RETURN(std::optional<v1::QueryNode> exact,
                          PlanText(expr, /*highlight=*/false));
    if (!excluded) AddFuzzyHighlight(expr.field, (*terms)[0], expr.max_edits);
    v1::QueryNode node;
    v1::BooleanQuery* either = node.mutable_boolean();
    *either->add_should() = *std::move(exact);
    v1::FuzzyQuery* fuzzy = either->add_should()->mutable_fuzzy();
    fuzzy->set_field(ToProtoField(expr.field));
    fuzzy->set_term((*terms)[0]);
    fuzzy->set_max_edits(expr.max_edits);
    return node;
  }

  // `highlight`: whether snippets mark the clause (not when it is excluded).
  absl::StatusOr<std::optional<v1::QueryNode>> PlanText(const QueryExpr& expr,
                                                        bool highlight) {
    absl::StatusOr<std::vector<std::string>> terms = analyzer_.Terms(expr.text);
    if (!terms.ok()) return QueryError(terms.status());
    if (terms->empty()) return std::nullopt;
    const v1::Field field = ToProtoField(expr.field);
    for (const std::string& term : *terms) AddStatsTerm(field, term);
    if (highlight) AddHighlights(expr.field, *terms, expr.slop);
    v1::QueryNode node;
    if (terms->size() == 1) {
      node.mutable_term()->set_field(field);
      node.mutable_term()->set_term((*terms)[0]);
      return node;
    }
    v1::PhraseQuery* phrase = node.mutable_phrase();
    phrase->set_field(field);
    for (std::string& term : *terms) phrase->add_terms(std::move(term));
    phrase->set_slop(expr.slop);
    return node;
  }

  // A range restricts without scoring: it adds no statistics and nothing to
  // highlight. Its ends become the half-open [from, to) the shards check.
  static v1::QueryNode PlanDateRange(const QueryExpr& expr) {
    const HalfOpenRange range = ToHalfOpen(expr);
    v1::QueryNode node;
    v1::DateRangeQuery* out = node.mutable_date_range();
    if (range.from) {
      out->mutable_from()->set_seconds(range.from->seconds);
      out->mutable_from()->set_nanos(range.from->nanos);
    }
    if (range.to) {
      out->mutable_to()->set_seconds(range.to->seconds);
      out->mutable_to()->set_nanos(range.to->nanos);
    }
    return node;
  }

  // A plain word of the title or body that is a stop word, which a group
  // may leave out.
  bool IsDroppableStopWord(const QueryClause& clause) const {
    if (!options_.drop_stop_words || clause.occur != Occur::kDefault ||
        clause.expr.kind != QueryExpr::Kind::kTerm ||
        IsKeywordField(clause.expr.field)) {
      return false;
    }
    absl::StatusOr<std::string> word =
        analyzer_.NormalizeKeyword(clause.expr.text);
    return word.ok() && analysis::IsStopWord(*word);
  }

  // Stop words are left out of a group when something else in it still
  // selects documents; a group of nothing but stop words ("to be or not to
  // be", "the who") keeps them all.
  absl::StatusOr<std::optional<v1::QueryNode>> PlanBoolean(
      const QueryExpr& expr, bool excluded) {
    bool any_positive = false;
    SIFT_ASSIGN_OR_RETURN(
        std::optional<v1::QueryNode> node,
        PlanGroup(expr, excluded, /*drop_stop_words=*/true, &any_positive));
    if (!any_positive && std::any_of(expr.clauses.begin(), expr.clauses.end(),
                                     [this](const QueryClause& clause) {
                                       return IsDroppableStopWord(clause);
                                     })) {
      return PlanGroup(expr, excluded, /*drop_stop_words=*/false,
                       &any_positive);
    }
    return node;
  }

  // `*any_positive`: whether a clause other than an exclusion survived.
  absl::StatusOr<std::optional<v1::QueryNode>> PlanGroup(const QueryExpr& expr,
                                                         bool excluded,
                                                         bool drop_stop_words,
                                                         bool* any_positive) {
    v1::QueryNode node;
    v1::BooleanQuery* boolean = node.mutable_boolean();
    for (const QueryClause& clause : expr.clauses) {
      if (drop_stop_words && IsDroppableStopWord(clause)) continue;
      const bool clause_excluded = clause.occur == Occur::kExcluded;
      SIFT_ASSIGN_OR_RETURN(std::optional<v1::QueryNode> child,
                            Plan(clause.expr, excluded || clause_excluded));
      if (!child.has_value()) continue;
      if (clause_excluded) {
        *boolean->add_must_not() = *std::move(child);
      } else if (clause.occur == Occur::kRequired ||
                 expr.kind == QueryExpr::Kind::kAnd) {
        *boolean->add_must() = *std::move(child);
      } else {
        *boolean->add_should() = *std::move(child);
      }
    }
    *any_positive = !boolean->must().empty() || !boolean->should().empty();
    if (!*any_positive) {
      if (boolean->must_not().empty()) return std::nullopt;
      // Storage reads a group without positive clauses as matching nothing;
      // the language reads `-a` as "everything except a".
      boolean->add_must()->mutable_match_all();
    }
    if (boolean->must_not().empty() &&
        boolean->must_size() + boolean->should_size() == 1) {
      return boolean->must().empty() ? boolean->should(0) : boolean->must(0);
    }
    return node;
  }

  void AddStatsTerm(v1::Field field, const std::string& term) {
    if (!seen_stats_.insert(absl::StrCat(field, ":", term)).second) return;
    v1::TermRef& ref = plan_.stats_terms.emplace_back();
    ref.set_field(field);
    ref.set_term(term);
  }

  void AddPrefixHighlight(QueryField field, const std::string& prefix) {
    ForEachHighlighted(field, [&](Highlights* highlights,
                                  absl::flat_hash_set<std::string>* seen) {
      if (seen->insert(absl::StrCat("x:", prefix)).second) {
        highlights->prefixes.push_back(prefix);
      }
    });
  }

  void AddFuzzyHighlight(QueryField field, const std::string& term,
                         uint32_t max_edits) {
    ForEachHighlighted(field, [&](Highlights* highlights,
                                  absl::flat_hash_set<std::string>* seen) {
      if (seen->insert(absl::StrCat("f", max_edits, ":", term)).second) {
        highlights->fuzzy.push_back({term, max_edits});
      }
    });
  }

  // Calls `add` with the highlights (and their seen-set) of each full-text
  // field that a clause scoped to `field` searches.
  template <typename Fn>
  void ForEachHighlighted(QueryField field, Fn add) {
    if (field == QueryField::kAll || field == QueryField::kTitle) {
      add(&plan_.title_highlights, &seen_title_);
    }
    if (field == QueryField::kAll || field == QueryField::kBody) {
      add(&plan_.body_highlights, &seen_body_);
    }
  }

  void AddHighlights(QueryField field, const std::vector<std::string>& terms,
                     uint32_t slop) {
    ForEachHighlighted(field, [&](Highlights* highlights,
                                  absl::flat_hash_set<std::string>* seen) {
      AddHighlightsTo(terms, slop, highlights, seen);
    });
  }

  // A sloppy phrase can match its words in any arrangement nearby, so its
  // words are marked one by one; an exact phrase is marked as one span.
  static void AddHighlightsTo(const std::vector<std::string>& terms,
                              uint32_t slop, Highlights* highlights,
                              absl::flat_hash_set<std::string>* seen) {
    if (terms.size() == 1 || slop > 0) {
      for (const std::string& term : terms) {
        if (seen->insert(absl::StrCat("t:", term)).second) {
          highlights->terms.push_back(term);
        }
      }
      return;
    }
    if (seen->insert(absl::StrCat("p:", absl::StrJoin(terms, "\x1f"))).second) {
      highlights->phrases.push_back(terms);
    }
  }

  const analysis::Analyzer& analyzer_;
  const PlanOptions options_;
  QueryPlan plan_;
  absl::flat_hash_set<std::string> seen_stats_;
  absl::flat_hash_set<std::string> seen_title_;
  absl::flat_hash_set<std::string> seen_body_;
};

}  // namespace

absl::StatusOr<QueryPlan> PlanQuery(const QueryExpr& expr,
                                    const analysis::Analyzer& analyzer,
                                    const PlanOptions& options) {
  Planner planner(analyzer, options);
  SIFT_ASSIGN_OR_RETURN(std::optional<v1::QueryNode> node,
                        planner.Plan(expr, /*excluded=*/false));
  QueryPlan plan = std::move(planner.plan());
  if (node.has_value()) {
    plan.query = *std::move(node);
  } else {
    // An empty BooleanQuery matches no document.
    plan.query.mutable_boolean();
    plan.matches_nothing = true;
  }
  return plan;
}

absl::StatusOr<QueryPlan> ParseAndPlan(absl::string_view query,
                                       const ParserOptions& options,
                                       const analysis::Analyzer& analyzer,
                                       const PlanOptions& plan_options) {
  SIFT_ASSIGN_OR_RETURN(QueryExpr expr, ParseQuery(query, options));
  return PlanQuery(expr, analyzer, plan_options);
}

}  // namespace sift::query
