#include "services/storage/segment/builder.h"

#include <algorithm>
#include <memory>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/storage/segment/postings.h"

namespace sift::storage::segment {
namespace {

bool IsDeleted(const std::vector<uint64_t>& bits, uint32_t doc) {
  return (bits[doc >> 6] >> (doc & 63)) & 1;
}

Published PublishedOf(const v1::Document& document) {
  if (!document.has_published_at()) return std::nullopt;
  return std::make_pair(document.published_at().seconds(),
                        document.published_at().nanos());
}

// The postings of one full-text term while a segment is built.
struct TextPostings {
  std::vector<uint32_t> docs;
  std::vector<uint32_t> tf_title;
  std::vector<uint32_t> tf_body;
  std::vector<uint32_t> positions;  // per posting: title's, then body's
};

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> BuildSegment(
    absl::Span<const SegmentDocument> docs) {
  // Keys point into the documents' terms, which outlive the build.
  absl::flat_hash_map<absl::string_view, TextPostings> text;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> sources;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> tags;
  std::map<std::string, std::string> values;
  ColumnsWriter columns;
  SegmentMeta meta;
  meta.doc_count = static_cast<uint32_t>(docs.size());

  for (uint32_t doc = 0; doc < docs.size(); ++doc) {
    const v1::AnalyzedDocument& analyzed = *docs[doc].analyzed;
    const uint32_t title_length =
        static_cast<uint32_t>(analyzed.title().terms_size());
    const uint32_t body_length =
        static_cast<uint32_t>(analyzed.body().terms_size());
    meta.total_title_terms += title_length;
    meta.total_body_terms += body_length;
    columns.Add(analyzed.document().id(), title_length, body_length,
                PublishedOf(analyzed.document()));

    // Title first, then body: each posting's positions end up together,
    // the title's before the body's, as the format wants.
    for (int field = 0; field < 2; ++field) {
      const v1::AnalyzedField& terms =
          field == 0 ? analyzed.title() : analyzed.body();
      for (int i = 0; i < terms.terms_size(); ++i) {
        TextPostings& postings = text[terms.terms(i)];
        if (postings.docs.empty() || postings.docs.back() != doc) {
          postings.docs.push_back(doc);
          postings.tf_title.push_back(0);
          postings.tf_body.push_back(0);
        }
        ++(field == 0 ? postings.tf_title : postings.tf_body).back();
        postings.positions.push_back(static_cast<uint32_t>(i));
      }
    }
    if (!docs[doc].source.empty()) sources[docs[doc].source].push_back(doc);
    for (const std::string& tag : docs[doc].tags) tags[tag].push_back(doc);
  }

  // Values are produced in key order ("C..." < "M" < "P..." < "T...";
  // within "T", text 'b' < tag 'g' < source 's'), so that each insertion
  // goes at the end of the map without searching it.
  columns.Finish(&values);
  values.emplace_hint(values.end(), kMetaKey, meta.Encode());

  std::vector<std::pair<absl::string_view, TextPostings*>> sorted;
  sorted.reserve(text.size());
  for (auto& [term, postings] : text) sorted.emplace_back(term, &postings);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> postings_values(sorted.size());
  PostingsWriter writer(PostingsKind::kText);
  for (size_t t = 0; t < sorted.size(); ++t) {
    const TextPostings& postings = *sorted[t].second;
    size_t position = 0;
    for (size_t i = 0; i < postings.docs.size(); ++i) {
      const uint32_t doc = postings.docs[i];
      const uint32_t tf_title = postings.tf_title[i];
      const uint32_t tf_body = postings.tf_body[i];
      const uint32_t* p = postings.positions.data() + position;
      writer.Add(
          doc, tf_title, tf_body,
          static_cast<uint32_t>(docs[doc].analyzed->title().terms_size()),
          static_cast<uint32_t>(docs[doc].analyzed->body().terms_size()),
          absl::MakeConstSpan(p, tf_title),
          absl::MakeConstSpan(p + tf_title, tf_body));
      position += tf_title + tf_body;
    }
    std::string positions_value;
    SIFT_RETURN_IF_ERROR(writer.Finish(&postings_values[t], &positions_value));
    values.emplace_hint(values.end(),
                        PositionsKey(TermField::kText, sorted[t].first),
                        std::move(positions_value));
  }
  for (size_t t = 0; t < sorted.size(); ++t) {
    values.emplace_hint(values.end(),
                        PostingsKey(TermField::kText, sorted[t].first),
                        std::move(postings_values[t]));
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
    PostingsWriter keyword_writer(PostingsKind::kKeyword);
    for (const std::string* value : keys) {
      for (uint32_t doc : keyword_postings->at(*value)) {
        keyword_writer.Add(doc, 0, 0, 0, 0, {}, {});
      }
      std::string postings_value, unused;
      SIFT_RETURN_IF_ERROR(keyword_writer.Finish(&postings_value, &unused));
      values.emplace_hint(values.end(), PostingsKey(field, *value),
                          std::move(postings_value));
    }
  }
  return values;
}

absl::StatusOr<std::map<std::string, std::string>> MergeSegments(
    absl::Span<const MergeSource> sources,
    std::vector<std::vector<uint32_t>>* doc_maps) {
  std::map<std::string, std::string> values;
  ColumnsWriter columns;
  SegmentMeta meta;
  doc_maps->assign(sources.size(), {});
  for (size_t s = 0; s < sources.size(); ++s) {
    const Segment& segment = *sources[s].segment;
    const Columns& c = segment.columns();
    std::vector<uint32_t>& map = (*doc_maps)[s];
    map.assign(segment.doc_count(), kNoMoreDocs);
    for (uint32_t doc = 0; doc < segment.doc_count(); ++doc) {
      if (IsDeleted(sources[s].deleted, doc)) continue;
      map[doc] = meta.doc_count++;
      meta.total_title_terms += c.title_lengths[doc];
      meta.total_body_terms += c.body_lengths[doc];
      columns.Add(c.id(doc), c.title_lengths[doc], c.body_lengths[doc],
                  c.published(doc));
    }
  }

  std::vector<std::unique_ptr<Segment::PostingsIterator>> its;
  for (const MergeSource& source : sources) {
    its.push_back(source.segment->NewPostingsIterator());
  }
  std::string postings_value, positions_value;
  PostingsWriter text_writer(PostingsKind::kText);
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
    for (size_t s : holders) {
      const Segment& segment = *sources[s].segment;
      const Columns& c = segment.columns();
      const std::vector<uint32_t>& map = (*doc_maps)[s];
      PostingCursor cursor;
      SIFT_RETURN_IF_ERROR(cursor.Init(its[s]->value()));
      ValueHolder positions_holder;
      PositionsReader positions;
      if (is_text) {
        std::string positions_key = key;
        positions_key[0] = kPositionsTag;
        SIFT_ASSIGN_OR_RETURN(bool found,
                              segment.Get(positions_key, &positions_holder));
        if (!found) {
          return absl::DataLossError(
              absl::StrCat("segment ", segment.id(), " lacks positions"));
        }
        SIFT_RETURN_IF_ERROR(positions.Init(positions_holder.value));
      }
      for (cursor.Next(); cursor.doc() != kNoMoreDocs; cursor.Next()) {
        const uint32_t doc = cursor.doc();
        if (doc >= map.size()) {
          return absl::DataLossError(absl::StrCat(
              "segment ", segment.id(), " has a posting past its last doc"));
        }
        if (map[doc] == kNoMoreDocs) continue;
        if (is_text) {
          absl::string_view encoded;
          SIFT_RETURN_IF_ERROR(positions.ReadRaw(
              cursor.block_index(), cursor.index_in_block(),
              cursor.block_tf_title(), cursor.block_tf_body(), &encoded));
          writer.AddEncoded(map[doc], cursor.tf_title(), cursor.tf_body(),
                            c.title_lengths[doc], c.body_lengths[doc], encoded);
        } else {
          writer.Add(map[doc], 0, 0, 0, 0, {}, {});
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
    SIFT_RETURN_IF_ERROR(writer.Finish(&postings_value, &positions_value));
    values[key] = postings_value;
    if (is_text) {
      key[0] = kPositionsTag;
      values[key] = positions_value;
    }
  }
  for (auto& it : its) SIFT_RETURN_IF_ERROR(it->status());
  columns.Finish(&values);
  values[kMetaKey] = meta.Encode();
  return values;
}

}  // namespace sift::storage::segment
