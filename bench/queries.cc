#include "bench/queries.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sift::bench {

absl::string_view QueryClassName(QueryClass query_class) {
  switch (query_class) {
    case QueryClass::kOr:
      return "or";
    case QueryClass::kAnd:
      return "and";
    case QueryClass::kPhrase:
      return "phrase";
  }
  return "unknown";
}

absl::StatusOr<std::vector<BenchQuery>> ReadQueries(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::vector<BenchQuery> queries;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", line_number, ": expected `qid<TAB>text`, found no tab"));
    }
    BenchQuery query;
    query.qid = line.substr(0, tab);
    query.text = line.substr(tab + 1);
    if (query.qid.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": empty qid"));
    }
    for (char c : query.qid) {
      if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ":", line_number, ": qid \"", query.qid,
            "\" holds white space, which a TREC run file cannot carry"));
      }
    }
    queries.push_back(std::move(query));
  }
  if (in.bad()) {
    return absl::UnavailableError(absl::StrCat(path, ": read error"));
  }
  return queries;
}

absl::Status WriteQueries(const std::string& path,
                          const std::vector<BenchQuery>& queries) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const BenchQuery& query : queries) {
    out << query.qid << '\t' << query.text << '\n';
  }
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat(path, ": cannot write"));
  return absl::OkStatus();
}

const std::vector<BenchQuery>& ClassifiedQueries::of(
    QueryClass query_class) const {
  switch (query_class) {
    case QueryClass::kOr:
      return or_queries;
    case QueryClass::kAnd:
      return and_queries;
    case QueryClass::kPhrase:
      break;
  }
  return phrase_queries;
}

ClassifiedQueries ClassifyQueries(const std::vector<BenchQuery>& queries,
                                  const analysis::Analyzer& analyzer) {
  ClassifiedQueries classes;
  for (const BenchQuery& query : queries) {
    if (query.text.find('"') != std::string::npos) {
      classes.phrase_queries.push_back(query);
      continue;
    }
    classes.or_queries.push_back(query);
    size_t terms = 0;
    absl::StatusOr<std::vector<std::string>> analyzed =
        analyzer.Terms(query.text);
    if (analyzed.ok()) {
      terms = analyzed->size();
    } else {
      terms = std::vector<absl::string_view>(
                  absl::StrSplit(query.text, ' ', absl::SkipWhitespace()))
                  .size();
    }
    if (terms >= 2) classes.and_queries.push_back(query);
  }
  return classes;
}

absl::Status WriteClassifiedQueries(const std::string& dir,
                                    const ClassifiedQueries& classes) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot make ", dir, ": ", error.message()));
  }
  for (QueryClass query_class : kAllQueryClasses) {
    const absl::Status written = WriteQueries(
        absl::StrCat(dir, "/", QueryClassName(query_class), ".tsv"),
        classes.of(query_class));
    if (!written.ok()) return written;
  }
  return absl::OkStatus();
}

}  // namespace sift::bench
