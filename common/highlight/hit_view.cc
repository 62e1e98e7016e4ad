#include "common/highlight/hit_view.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/analysis/utf8.h"
#include "common/highlight/snippet.h"
#include "common/status/status_macros.h"

namespace sift::highlight {
namespace {

absl::Status CheckTag(const std::string& tag, const std::string& path) {
  if (tag.size() > kMaxTagBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", tag.size(), " bytes is over the limit of ", kMaxTagBytes));
  }
  absl::Status utf8 = analysis::ValidateUtf8(tag);
  if (!utf8.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", utf8.message()));
  }
  return absl::OkStatus();
}

// The first bytes of every term a snippet for `highlights` can match:
// terms, phrase terms, prefixes and fuzzy terms all fix a match's first
// character.
std::string FirstBytes(const Highlights& highlights) {
  std::string bytes;
  auto add = [&bytes](const std::string& s) {
    if (!s.empty() && bytes.find(s[0]) == std::string::npos) bytes += s[0];
  };
  for (const std::string& term : highlights.terms) add(term);
  for (const std::vector<std::string>& phrase : highlights.phrases) {
    for (const std::string& term : phrase) add(term);
  }
  for (const std::string& prefix : highlights.prefixes) add(prefix);
  for (const FuzzyHighlight& fuzzy : highlights.fuzzy) add(fuzzy.term);
  return bytes;
}

// The tokens of `text` as a snippet for `highlights` needs them: words that
// cannot match are not stemmed (Analyzer::AnalyzeStartingWith), most of a
// body's words for a short query.
std::vector<analysis::Token> TokensOf(const std::string& text,
                                      const Highlights& highlights,
                                      const analysis::Analyzer& analyzer) {
  absl::StatusOr<std::vector<analysis::Token>> tokens =
      analyzer.AnalyzeStartingWith(text, FirstBytes(highlights));
  // Stored text was analyzed when it was written; should that ever fail,
  // the snippet is the text unmarked rather than no hit.
  return tokens.ok() ? *std::move(tokens) : std::vector<analysis::Token>();
}

}  // namespace

v1::HitViewRequest ToProto(const HitViewOptions& options) {
  v1::HitViewRequest proto;
  proto.set_highlight(options.highlight);
  if (!options.highlight) return proto;
  *proto.mutable_title() = ToProto(options.title);
  *proto.mutable_body() = ToProto(options.body);
  proto.set_fragment_bytes(
      static_cast<uint32_t>(options.snippet.fragment_bytes));
  proto.set_pre_tag(options.snippet.pre_tag);
  proto.set_post_tag(options.snippet.post_tag);
  proto.set_html_escape(options.snippet.html_escape);
  return proto;
}

absl::StatusOr<HitViewOptions> FromProto(const v1::HitViewRequest& proto,
                                         const std::string& path) {
  HitViewOptions options;
  options.highlight = proto.highlight();
  if (!options.highlight) return options;
  SIFT_ASSIGN_OR_RETURN(options.title,
                        FromProto(proto.title(), path + ".title"));
  SIFT_ASSIGN_OR_RETURN(options.body, FromProto(proto.body(), path + ".body"));
  if (proto.fragment_bytes() < kMinFragmentBytes ||
      proto.fragment_bytes() > kMaxFragmentBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ".fragment_bytes: ", proto.fragment_bytes(), " is outside ",
        kMinFragmentBytes, " to ", kMaxFragmentBytes));
  }
  SIFT_RETURN_IF_ERROR(CheckTag(proto.pre_tag(), path + ".pre_tag"));
  SIFT_RETURN_IF_ERROR(CheckTag(proto.post_tag(), path + ".post_tag"));
  options.snippet.fragment_bytes = proto.fragment_bytes();
  options.snippet.pre_tag = proto.pre_tag();
  options.snippet.post_tag = proto.post_tag();
  options.snippet.html_escape = proto.html_escape();
  return options;
}

v1::HitView MakeHitView(const v1::Document& doc, const HitViewOptions& options,
                        const analysis::Analyzer& analyzer) {
  v1::HitView view;
  view.set_id(doc.id());
  view.set_found(true);
  view.set_title(doc.title());
  view.set_source(doc.source());
  if (doc.has_published_at()) {
    *view.mutable_published_at() = doc.published_at();
  }
  *view.mutable_tags() = doc.tags();
  view.set_url(doc.url());
  if (!options.highlight) return view;
  if (!doc.title().empty()) {
    *view.mutable_title_snippet() = MakeWholeSnippet(
        doc.title(), TokensOf(doc.title(), options.title, analyzer),
        options.title, options.snippet);
  }
  if (!doc.body().empty()) {
    *view.mutable_snippet() = MakeFragmentSnippet(
        doc.body(), TokensOf(doc.body(), options.body, analyzer), options.body,
        options.snippet);
  }
  return view;
}

v1::HitView MakeHitView(const v1::FetchResult& result,
                        const HitViewOptions& options,
                        const analysis::Analyzer& analyzer) {
  v1::HitView view;
  if (result.found()) view = MakeHitView(result.document(), options, analyzer);
  view.set_id(result.id());
  return view;
}

}  // namespace sift::highlight
