#include "tools/siftctl/query_text.h"

#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sift::siftctl {
namespace {

constexpr absl::string_view kOperatorChars = "\\+-!():^[]\"{}~*?|&/";

bool IsWordChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

bool IsOperatorWord(absl::string_view word) {
  return word == "AND" || word == "OR" || word == "NOT" || word == "TO";
}

}  // namespace

std::string EscapeQueryText(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (IsWordChar(c)) {
      size_t end = i;
      while (end < text.size() && IsWordChar(text[end])) ++end;
      absl::string_view word = text.substr(i, end - i);
      // A word glued to other letters (UTF-8 bytes) is not an operator.
      const bool standalone =
          (i == 0 || static_cast<unsigned char>(text[i - 1]) < 0x80) &&
          (end == text.size() || static_cast<unsigned char>(text[end]) < 0x80);
      if (standalone && IsOperatorWord(word)) {
        out.append(absl::AsciiStrToLower(word));
      } else {
        out.append(word.data(), word.size());
      }
      i = end;
      continue;
    }
    if (kOperatorChars.find(c) != absl::string_view::npos) out.push_back('\\');
    out.push_back(c);
    ++i;
  }
  return out;
}

absl::StatusOr<std::vector<BatchQuery>> ParseQueries(
    absl::string_view content, absl::string_view file_name) {
  std::vector<BatchQuery> queries;
  int64_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_number;
    absl::ConsumeSuffix(&line, "\r");
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ":", line_number,
                       ": expected qid<TAB>query text, found no tab"));
    }
    absl::string_view qid = absl::StripAsciiWhitespace(line.substr(0, tab));
    if (qid.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ":", line_number, ": the qid is empty"));
    }
    if (absl::StrContains(qid, ' ')) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ":", line_number, ": the qid \"", qid,
                       "\" holds a space; TREC run lines cannot carry it"));
    }
    queries.push_back(
        {std::string(qid),
         std::string(absl::StripAsciiWhitespace(line.substr(tab + 1))),
         line_number});
  }
  return queries;
}

absl::StatusOr<std::vector<BatchQuery>> ReadQueriesFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open queries file \"", path, "\""));
  }
  std::string content((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  return ParseQueries(content, path);
}

}  // namespace sift::siftctl
