#include "services/storage/segment/builder.h"

#include <algorithm>
#include <memory>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/storage/analyzed_field.h"
#include "services/storage/segment/postings.h"

namespace sift::storage::segment {
namespace {

Published PublishedOf(const v1::Document& document) {
  if (!document.has_published_at()) return std::nullopt;
  return std::make_pair(document.published_at().seconds(),
                        document.published_at().nanos());
}

}  // namespace

absl::StatusOr<SegmentValues> BuildSegment(
    absl::Span<const SegmentDocument> docs) {
  // Every token becomes one 64-bit occurrence (doc, field, position),
  // grouped by term with a counting sort: a handful of flat arrays instead
  // of growing lists per term, and the occurrences of each term come out in
  // (doc, field, position) order, the order the postings want.
  // Term keys point into the documents' terms, which outlive the build.
  absl::flat_hash_map<absl::string_view, uint32_t> term_ids;
  std::vector<absl::string_view> terms;
  std::vector<uint32_t> token_terms;  // term id per token, in token order
  absl::flat_hash_map<std::string, std::vector<uint32_t>> sources;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> tags;
  SegmentValues values;
  ColumnsWriter columns;
  SegmentMeta meta;
  meta.doc_count = static_cast<uint32_t>(docs.size());

  size_t token_count = 0;
  for (const SegmentDocument& doc : docs) {
    token_count +=
        FieldLength(doc.analyzed->title()) + FieldLength(doc.analyzed->body());
  }
  token_terms.reserve(token_count);
  term_ids.reserve(token_count / 4);
  // A field's vocabulary is looked up once per document, its positions
  // then only index it.
  std::vector<uint32_t> local_to_global;
  for (uint32_t doc = 0; doc < docs.size(); ++doc) {
    const v1::AnalyzedDocument& analyzed = *docs[doc].analyzed;
    const uint32_t title_length = FieldLength(analyzed.title());
    const uint32_t body_length = FieldLength(analyzed.body());
    meta.total_title_terms += title_length;
    meta.total_body_terms += body_length;
    columns.Add(analyzed.document().id(), title_length, body_length,
                PublishedOf(analyzed.document()));
    for (const v1::AnalyzedField* field :
         {&analyzed.title(), &analyzed.body()}) {
      local_to_global.clear();
      for (const std::string& term : field->vocabulary()) {
        auto [it, inserted] =
            term_ids.try_emplace(term, static_cast<uint32_t>(terms.size()));
        if (inserted) terms.push_back(term);
        local_to_global.push_back(it->second);
      }
      for (uint32_t local : field->term_ids()) {
        token_terms.push_back(local_to_global[local]);
      }
    }
    if (!docs[doc].source.empty()) sources[docs[doc].source].push_back(doc);
    for (const std::string& tag : docs[doc].tags) tags[tag].push_back(doc);
  }

  // starts[t] .. starts[t + 1]: the occurrences of term t.
  std::vector<uint32_t> starts(terms.size() + 1, 0);
  for (uint32_t term : token_terms) ++starts[term + 1];
  for (size_t t = 0; t < terms.size(); ++t) starts[t + 1] += starts[t];
  // Occurrence: doc << 32 | field << 31 | position (field 1 = body).
  constexpr uint64_t kBodyBit = uint64_t{1} << 31;
  std::vector<uint64_t> occurrences(token_terms.size());
  {
    std::vector<uint32_t> next(starts.begin(), starts.end() - 1);
    size_t k = 0;
    for (uint32_t doc = 0; doc < docs.size(); ++doc) {
      const v1::AnalyzedDocument& analyzed = *docs[doc].analyzed;
      const uint64_t title_base = uint64_t{doc} << 32;
      for (uint32_t i = 0; i < FieldLength(analyzed.title()); ++i) {
        occurrences[next[token_terms[k++]]++] = title_base | i;
      }
      const uint64_t body_base = title_base | kBodyBit;
      for (uint32_t i = 0; i < FieldLength(analyzed.body()); ++i) {
        occurrences[next[token_terms[k++]]++] = body_base | i;
      }
    }
  }
  token_terms = {};

  // Values are produced in key order: "C..." < "M" < "P..." < "T...", and
  // within "T", text 'b' < tag 'g' < source 's'. Postings wait in their own
  // buffer while the positions go out.
  SIFT_RETURN_IF_ERROR(columns.Finish(&values));
  values.Append(kMetaKey, meta.Encode());

  std::vector<uint32_t> sorted(terms.size());
  for (uint32_t t = 0; t < sorted.size(); ++t) sorted[t] = t;
  std::sort(sorted.begin(), sorted.end(),
            [&](uint32_t a, uint32_t b) { return terms[a] < terms[b]; });
  SegmentValues postings_values;
  const std::string positions_prefix =
      KeyPrefix(kPositionsTag, TermField::kText);
  const std::string postings_prefix = KeyPrefix(kPostingsTag, TermField::kText);
  PostingsWriter writer(PostingsKind::kText, meta.average_title_length(),
                        meta.average_body_length());
  std::vector<uint32_t> positions;
  std::string postings_value;
  for (size_t s = 0; s < sorted.size(); ++s) {
    const uint32_t t = sorted[s];
    writer.SetPositionsOut(&values, positions_prefix, terms[t]);
    for (uint32_t o = starts[t]; o < starts[t + 1];) {
      const uint32_t doc = static_cast<uint32_t>(occurrences[o] >> 32);
      uint32_t tf_title = 0;
      positions.clear();
      for (; o < starts[t + 1] && (occurrences[o] >> 32) == doc; ++o) {
        const uint64_t occurrence = occurrences[o];
        if ((occurrence & kBodyBit) == 0) ++tf_title;
        positions.push_back(static_cast<uint32_t>(occurrence & (kBodyBit - 1)));
      }
      const auto tf_body = static_cast<uint32_t>(positions.size()) - tf_title;
      const v1::AnalyzedDocument& analyzed = *docs[doc].analyzed;
      writer.Add(doc, tf_title, tf_body, FieldLength(analyzed.title()),
                 FieldLength(analyzed.body()),
                 absl::MakeConstSpan(positions.data(), tf_title),
                 absl::MakeConstSpan(positions.data() + tf_title, tf_body));
    }
    SIFT_RETURN_IF_ERROR(writer.Finish(&postings_value));
    postings_values.Append(postings_prefix, terms[t], postings_value);
  }
  // Tag postings ('g') sort before source postings ('s').
  const std::pair<TermField,
                  absl::flat_hash_map<std::string, std::vector<uint32_t>>*>
      keyword_fields[] = {{TermField::kTag, &tags},
                          {TermField::kSource, &sources}};
  for (const auto& [field, keyword_postings] : keyword_fields) {
    std::vector<const std::string*> keys;
    for (const auto& [value, doc_list] : *keyword_postings) {
      keys.push_back(&value);
    }
    std::sort(
        keys.begin(), keys.end(),
        [](const std::string* a, const std::string* b) { return *a < *b; });
    const std::string prefix = KeyPrefix(kPostingsTag, field);
    PostingsWriter keyword_writer(PostingsKind::kKeyword);
    for (const std::string* value : keys) {
      for (uint32_t doc : keyword_postings->at(*value)) {
        keyword_writer.Add(doc, 0, 0, 0, 0, {}, {});
      }
      SIFT_RETURN_IF_ERROR(keyword_writer.Finish(&postings_value));
      postings_values.Append(prefix, *value, postings_value);
    }
  }
  values.Append(postings_values);
  return values;
}

absl::Status MergeSegments(absl::Span<const SegmentSnapshot> sources,
                           std::vector<std::vector<uint32_t>>* doc_maps,
                           ValueSink* out, ValueSink* postings_out) {
  ColumnsWriter columns;
  SegmentMeta meta;
  doc_maps->assign(sources.size(), {});
  for (size_t s = 0; s < sources.size(); ++s) {
    const Segment& segment = *sources[s].segment;
    const Columns& c = segment.columns();
    std::vector<uint32_t>& map = (*doc_maps)[s];
    map.assign(segment.doc_count(), kNoMoreDocs);
    for (uint32_t doc = 0; doc < segment.doc_count(); ++doc) {
      if (sources[s].live_docs->IsDeleted(doc)) continue;
      map[doc] = meta.doc_count++;
      meta.total_title_terms += c.lengths[doc].title;
      meta.total_body_terms += c.lengths[doc].body;
      columns.Add(c.id(doc), c.lengths[doc].title, c.lengths[doc].body,
                  c.published(doc));
    }
  }

  // Columns and meta first, then each term's positions and postings as
  // the term is merged.
  SIFT_RETURN_IF_ERROR(columns.Finish(out));
  SIFT_RETURN_IF_ERROR(out->Add(kMetaKey, {}, meta.Encode()));

  // Per source: its postings, and its positions in the same term order, read
  // side by side rather than looked up term by term.
  std::vector<std::unique_ptr<Segment::PostingsIterator>> its, position_its;
  // Whether the doc map is a plain shift (no deletions): that saves a
  // cache miss per posting.
  std::vector<uint32_t> shift(sources.size(), 0);
  std::vector<bool> shifted(sources.size(), false);
  for (size_t s = 0; s < sources.size(); ++s) {
    const Segment& segment = *sources[s].segment;
    its.push_back(segment.NewPostingsIterator(kPostingsTag));
    position_its.push_back(segment.NewPostingsIterator(kPositionsTag));
    const std::vector<uint32_t>& map = (*doc_maps)[s];
    shifted[s] = std::find(map.begin(), map.end(), kNoMoreDocs) == map.end();
    if (shifted[s] && !map.empty()) shift[s] = map.front();
  }
  std::string postings_value;
  PostingsWriter text_writer(PostingsKind::kText, meta.average_title_length(),
                             meta.average_body_length());
  PostingsWriter keyword_writer(PostingsKind::kKeyword);
  // Sources by their current key, smallest on top.
  auto later = [&its](size_t a, size_t b) {
    const absl::string_view ka = its[a]->key(), kb = its[b]->key();
    return ka != kb ? ka > kb : a > b;
  };
  std::vector<size_t> heap;
  for (size_t s = 0; s < its.size(); ++s) {
    if (its[s]->Valid()) heap.push_back(s);
  }
  std::make_heap(heap.begin(), heap.end(), later);
  std::vector<size_t> holders;  // sources holding the current key, in order
  std::string key;
  while (!heap.empty()) {
    key.assign(its[heap.front()]->key().data(),
               its[heap.front()]->key().size());
    holders.clear();
    while (!heap.empty() && its[heap.front()]->key() == key) {
      std::pop_heap(heap.begin(), heap.end(), later);
      holders.push_back(heap.back());
      heap.pop_back();
    }
    if (key.size() < 2) return absl::DataLossError("corrupt postings key");
    const bool is_text = key[1] == static_cast<char>(TermField::kText);
    PostingsWriter& writer = is_text ? text_writer : keyword_writer;
    const absl::string_view term = absl::string_view(key).substr(1);
    if (is_text) {
      writer.SetPositionsOut(out, absl::string_view(&kPositionsTag, 1), term);
    }
    for (size_t s : holders) {
      const Segment& segment = *sources[s].segment;
      const std::vector<uint32_t>& map = (*doc_maps)[s];
      const LengthColumn& length = segment.columns().lengths;
      PostingCursor cursor;
      SIFT_RETURN_IF_ERROR(cursor.Init(its[s]->value()));
      PositionsReader positions;
      if (is_text) {
        // Every text term has positions, so the two scans go in step; a
        // positions key without postings would be skipped.
        Segment::PostingsIterator& p = *position_its[s];
        while (p.Valid() && p.key().substr(1) < term) p.Next();
        if (!p.Valid() || p.key().substr(1) != term) {
          SIFT_RETURN_IF_ERROR(p.status());
          return absl::DataLossError(
              absl::StrCat("segment ", segment.id(), " lacks positions"));
        }
        // Later chunks of the term follow its first in key order; a chunk
        // whose postings were all deleted is passed over.
        SIFT_RETURN_IF_ERROR(positions.Init(
            p.value(),
            [&p, term](uint32_t chunk) -> absl::StatusOr<absl::string_view> {
              const std::string wanted =
                  absl::StrCat(term, PositionsChunkSuffix(chunk));
              while (p.Valid() && p.key().substr(1) < wanted) p.Next();
              SIFT_RETURN_IF_ERROR(p.status());
              if (!p.Valid() || p.key().substr(1) != wanted) {
                return absl::NotFoundError("no such positions chunk");
              }
              return p.value();
            }));
      }
      const bool plain = shifted[s];
      const uint32_t base = shift[s];
      for (cursor.Next(); cursor.doc() != kNoMoreDocs; cursor.Next()) {
        const uint32_t doc = cursor.doc();
        if (doc >= map.size()) {
          return absl::DataLossError(absl::StrCat(
              "segment ", segment.id(), " has a posting past its last doc"));
        }
        const uint32_t new_doc = plain ? base + doc : map[doc];
        if (new_doc == kNoMoreDocs) continue;
        if (is_text) {
          absl::string_view encoded;
          SIFT_RETURN_IF_ERROR(positions.ReadRaw(
              cursor.block_index(), cursor.index_in_block(),
              cursor.block_tf_title(), cursor.block_tf_body(), &encoded));
          writer.AddEncoded(new_doc, cursor.tf_title(), cursor.tf_body(),
                            length[doc].title, length[doc].body, encoded);
        } else {
          writer.Add(new_doc, 0, 0, 0, 0, {}, {});
        }
      }
      SIFT_RETURN_IF_ERROR(cursor.status());
      its[s]->Next();
      if (its[s]->Valid()) {
        heap.push_back(s);
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
    if (writer.doc_count() == 0) continue;  // every posting was deleted
    SIFT_RETURN_IF_ERROR(writer.Finish(&postings_value));
    SIFT_RETURN_IF_ERROR(postings_out->Add(key, {}, postings_value));
  }
  for (auto& it : its) SIFT_RETURN_IF_ERROR(it->status());
  for (auto& it : position_its) SIFT_RETURN_IF_ERROR(it->status());
  return absl::OkStatus();
}

}  // namespace sift::storage::segment
