#include "services/storage/storage_handler.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/storage/analyzed_field.h"
#include "services/storage/internal/request_checks.h"
#include "services/storage/snapshot_paths.h"

namespace sift::storage {
namespace {

using internal::CheckId;
using internal::CheckKeyword;
using internal::CheckTerm;
using internal::CheckTimestamp;
using internal::Invalid;

absl::Status ValidateAnalyzedField(const v1::AnalyzedField& field,
                                   absl::string_view path) {
  for (int i = 0; i < field.vocabulary_size(); ++i) {
    const std::string& term = field.vocabulary(i);
    // The path is only spelled out for a term that fails.
    if (term.empty() || term.size() > kMaxTermBytes ||
        term.find('\0') != std::string::npos) {
      return CheckTerm(term, absl::StrCat(path, ".vocabulary[", i, "]"));
    }
  }
  return CheckTermIds(field, path);
}

absl::Status ValidateUpsert(const v1::AnalyzedDocument& upsert,
                            const std::string& path) {
  const v1::Document& doc = upsert.document();
  SIFT_RETURN_IF_ERROR(CheckId(doc.id(), path + ".document.id"));
  if (doc.has_published_at()) {
    SIFT_RETURN_IF_ERROR(
        CheckTimestamp(doc.published_at(), path + ".document.published_at"));
  }
  SIFT_RETURN_IF_ERROR(CheckKeyword(doc.source(), path + ".document.source"));
  for (int i = 0; i < doc.tags_size(); ++i) {
    SIFT_RETURN_IF_ERROR(CheckKeyword(
        doc.tags(i), absl::StrCat(path, ".document.tags[", i, "]")));
  }
  SIFT_RETURN_IF_ERROR(ValidateAnalyzedField(upsert.title(), path + ".title"));
  SIFT_RETURN_IF_ERROR(ValidateAnalyzedField(upsert.body(), path + ".body"));
  return absl::OkStatus();
}

// A shard's answer for one facet: every counted value, the most frequent
// first (date buckets in time order), at most kMaxShardFacetValues.
v1::ShardFacetCounts ToShardFacetCounts(const segment::FacetSpec& spec,
                                        segment::FacetCounts counts) {
  v1::ShardFacetCounts out;
  switch (spec.kind) {
    case segment::FacetSpec::Kind::kSource:
      out.set_field(v1::FACET_FIELD_SOURCE);
      break;
    case segment::FacetSpec::Kind::kTags:
      out.set_field(v1::FACET_FIELD_TAGS);
      break;
    case segment::FacetSpec::Kind::kPublished:
      out.set_field(v1::FACET_FIELD_PUBLISHED_AT);
      break;
  }
  out.set_missing_count(counts.missing);
  uint64_t total = 0;
  if (spec.kind == segment::FacetSpec::Kind::kPublished) {
    out.set_interval(spec.unit == segment::FacetSpec::Unit::kDay
                         ? v1::DATE_INTERVAL_DAY
                     : spec.unit == segment::FacetSpec::Unit::kMonth
                         ? v1::DATE_INTERVAL_MONTH
                         : v1::DATE_INTERVAL_YEAR);
    std::vector<std::pair<int64_t, uint64_t>> buckets(counts.buckets.begin(),
                                                      counts.buckets.end());
    std::sort(buckets.begin(), buckets.end());
    for (const auto& [start, count] : buckets) {
      total += count;
      if (static_cast<size_t>(out.counts_size()) >=
          segment::kMaxShardFacetValues) {
        out.set_truncated(true);
        continue;
      }
      v1::ShardFacetCount* bucket = out.add_counts();
      bucket->set_start_seconds(start);
      bucket->set_count(count);
    }
  } else {
    std::vector<std::pair<std::string, uint64_t>> values;
    values.reserve(counts.values.size());
    for (auto& [value, count] : counts.values) {
      total += count;
      values.emplace_back(value, count);
    }
    auto better = [](const std::pair<std::string, uint64_t>& a,
                     const std::pair<std::string, uint64_t>& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    };
    if (values.size() > segment::kMaxShardFacetValues) {
      out.set_truncated(true);
      std::partial_sort(values.begin(),
                        values.begin() + segment::kMaxShardFacetValues,
                        values.end(), better);
      values.resize(segment::kMaxShardFacetValues);
    } else {
      std::sort(values.begin(), values.end(), better);
    }
    for (auto& [value, count] : values) {
      v1::ShardFacetCount* entry = out.add_counts();
      entry->set_value(std::move(value));
      entry->set_count(count);
    }
  }
  out.set_total_count(total);
  return out;
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
        SIFT_RETURN_IF_ERROR(CheckId(op.delete_id(), path + ".delete_id"));
        break;
      case v1::WriteOp::OP_NOT_SET:
        return Invalid(path, "the operation has neither upsert nor delete_id");
    }
  }
  return absl::OkStatus();
}

google::protobuf::RepeatedPtrField<v1::HitView> StorageHandler::ViewsOf(
    const google::protobuf::RepeatedPtrField<v1::FetchResult>& documents,
    const highlight::HitViewOptions& options) const {
  google::protobuf::RepeatedPtrField<v1::HitView> views;
  views.Reserve(documents.size());
  for (const v1::FetchResult& result : documents) {
    *views.Add() = highlight::MakeHitView(result, options, analyzer_);
  }
  return views;
}

namespace {

// What of the stored documents a response needs: a view without highlights
// shows no body; documents returned as they are need all of it.
StoredParts PartsFor(const std::optional<highlight::HitViewOptions>& view) {
  return view && !view->highlight ? StoredParts::kWithoutBody
                                  : StoredParts::kWhole;
}

}  // namespace

absl::Status ValidateFetchRequest(const v1::FetchRequest& request) {
  if (request.ids_size() > kMaxFetchIds) {
    return Invalid(
        "ids", absl::StrCat("at most ", kMaxFetchIds, " ids per request, got ",
                            request.ids_size()));
  }
  for (int i = 0; i < request.ids_size(); ++i) {
    SIFT_RETURN_IF_ERROR(CheckId(request.ids(i), absl::StrCat("ids[", i, "]")));
  }
  return absl::OkStatus();
}

v1::ShardSearchResponse EncodeSearchResponse(const ShardQuery& query,
                                             segment::SearchResult result) {
  v1::ShardSearchResponse response;
  response.set_total_hits(result.total_hits);
  response.set_total_hits_is_lower_bound(result.total_hits_is_lower_bound);
  for (size_t i = 0; i < result.facets.size(); ++i) {
    *response.add_facets() =
        ToShardFacetCounts(query.facets[i], std::move(result.facets[i]));
  }
  for (segment::SearchHit& hit : result.hits) {
    v1::ShardHit* out = response.add_hits();
    out->set_id(std::move(hit.id));
    out->set_score(hit.score);
    if (hit.explanation) {
      *out->mutable_explanation() = *std::move(hit.explanation);
    }
    if (hit.published) {
      out->mutable_published_at()->set_seconds(hit.published->first);
      out->mutable_published_at()->set_nanos(hit.published->second);
    }
  }
  return response;
}

absl::StatusOr<std::shared_ptr<Index>> StorageHandler::CurrentIndex() const {
  std::shared_ptr<Index> index = index_();
  if (index == nullptr) {
    return absl::UnavailableError(
        "this copy is replacing its index with a checkpoint of the primary's; "
        "ask another copy");
  }
  return index;
}

absl::StatusOr<v1::WriteResponse> StorageHandler::Write(
    const v1::WriteRequest& request) {
  SIFT_RETURN_IF_ERROR(ValidateWriteRequest(request));
  return write_(request);
}

absl::StatusOr<v1::StatsResponse> StorageHandler::Stats(
    const v1::StatsRequest& request) {
  SIFT_ASSIGN_OR_RETURN(std::vector<TermKey> terms,
                        DecodeStatsRequest(request));
  SIFT_ASSIGN_OR_RETURN(std::shared_ptr<Index> index, CurrentIndex());
  SIFT_ASSIGN_OR_RETURN(IndexStats stats, index->Stats(terms));
  v1::StatsResponse response;
  response.set_doc_count(stats.doc_count);
  response.set_total_title_terms(stats.total_title_terms);
  response.set_total_body_terms(stats.total_body_terms);
  for (uint64_t df : stats.doc_freqs) response.add_doc_freqs(df);
  response.set_disk_bytes(stats.disk_bytes);
  response.set_stats_version(stats.version);
  if (!stats.background_error.ok()) {
    response.set_background_error(stats.background_error.ToString());
  }
  if (status_) *response.mutable_replication() = status_();
  return response;
}

absl::StatusOr<v1::ShardSearchResponse> StorageHandler::Search(
    const v1::ShardSearchRequest& request) {
  if (request.documents_count() > kMaxFetchIds) {
    return Invalid("documents_count",
                   absl::StrCat("at most ", kMaxFetchIds, ", got ",
                                request.documents_count()));
  }
  std::optional<highlight::HitViewOptions> view;
  if (request.has_view()) {
    SIFT_ASSIGN_OR_RETURN(view, highlight::FromProto(request.view(), "view"));
  }
  SIFT_ASSIGN_OR_RETURN(ShardQuery query, DecodeShardQuery(request));
  SIFT_ASSIGN_OR_RETURN(std::shared_ptr<Index> index, CurrentIndex());
  // The shard's own statistics for the terms the request names.
  auto own_stats = [&]() -> absl::StatusOr<IndexStats> {
    v1::StatsRequest stats_request;
    *stats_request.mutable_terms() = request.stats().terms();
    SIFT_ASSIGN_OR_RETURN(std::vector<TermKey> terms,
                          DecodeStatsRequest(stats_request));
    SIFT_ASSIGN_OR_RETURN(IndexStats stats, index->Stats(terms));
    for (size_t i = 0; i < terms.size(); ++i) {
      query.stats.doc_freqs[terms[i]] = stats.doc_freqs[i];
    }
    query.stats.doc_count = stats.doc_count;
    query.stats.total_title_terms = stats.total_title_terms;
    query.stats.total_body_terms = stats.total_body_terms;
    return stats;
  };
  auto to_proto = [&request](const IndexStats& stats) {
    v1::GlobalStats out;
    out.set_doc_count(stats.doc_count);
    out.set_total_title_terms(stats.total_title_terms);
    out.set_total_body_terms(stats.total_body_terms);
    *out.mutable_terms() = request.stats().terms();
    for (uint64_t df : stats.doc_freqs) out.add_doc_freqs(df);
    return out;
  };
  std::optional<IndexStats> used;
  if (request.shard_stats()) {
    // This shard's statistics are the collection's: the coordinator asked
    // for no statistics round.
    SIFT_ASSIGN_OR_RETURN(used, own_stats());
  }
  absl::StatusOr<segment::SearchResult> result = index->Search(query);
  if (query.stats_version != 0 && absl::IsAborted(result.status())) {
    // The coordinator's statistics are older than the shard's: give it
    // ours, for it to search again with.
    SIFT_ASSIGN_OR_RETURN(IndexStats stats, own_stats());
    v1::ShardSearchResponse stale;
    stale.set_stale_stats(true);
    stale.set_stats_version(stats.version);
    *stale.mutable_stats() = to_proto(stats);
    return stale;
  }
  SIFT_RETURN_IF_ERROR(result.status());
  v1::ShardSearchResponse response =
      EncodeSearchResponse(query, *std::move(result));
  if (used) *response.mutable_stats() = to_proto(*used);
  const uint64_t from = request.documents_from();
  const uint64_t to = std::min<uint64_t>(from + request.documents_count(),
                                         response.hits_size());
  if (from < to) {
    v1::FetchRequest fetch;
    for (uint64_t i = from; i < to; ++i) {
      fetch.add_ids(response.hits(static_cast<int>(i)).id());
    }
    SIFT_ASSIGN_OR_RETURN(v1::FetchResponse documents,
                          index->Fetch(fetch, PartsFor(view)));
    if (view) {
      *response.mutable_views() = ViewsOf(documents.results(), *view);
    } else {
      response.mutable_documents()->Swap(documents.mutable_results());
    }
  }
  return response;
}

absl::StatusOr<v1::FetchResponse> StorageHandler::Fetch(
    const v1::FetchRequest& request) {
  SIFT_RETURN_IF_ERROR(ValidateFetchRequest(request));
  std::optional<highlight::HitViewOptions> view;
  if (request.has_view()) {
    SIFT_ASSIGN_OR_RETURN(view, highlight::FromProto(request.view(), "view"));
  }
  SIFT_ASSIGN_OR_RETURN(std::shared_ptr<Index> index, CurrentIndex());
  SIFT_ASSIGN_OR_RETURN(v1::FetchResponse response,
                        index->Fetch(request, PartsFor(view)));
  if (!view) return response;
  v1::FetchResponse views;
  *views.mutable_views() = ViewsOf(response.results(), *view);
  return views;
}

absl::StatusOr<v1::ShardSnapshotResponse> StorageHandler::Snapshot(
    const v1::ShardSnapshotRequest& request) {
  SIFT_RETURN_IF_ERROR(CheckSnapshotName(request.name()));
  if (snapshot_root_.empty()) {
    return absl::FailedPreconditionError(
        "this storage member has no snapshot folder; start it with "
        "--snapshot_dir");
  }
  const std::string dir =
      ShardSnapshotFolder(snapshot_root_, request.name(), snapshot_shard_);
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat("snapshot \"", request.name(), "\" already has ", dir));
  }
  std::filesystem::create_directories(
      SnapshotFolder(snapshot_root_, request.name()), ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "creating ", SnapshotFolder(snapshot_root_, request.name()), ": ",
        ec.message()));
  }
  SIFT_ASSIGN_OR_RETURN(std::shared_ptr<Index> index, CurrentIndex());
  SIFT_ASSIGN_OR_RETURN(const OpId at, index->Checkpoint(dir));
  v1::ShardSnapshotResponse response;
  response.set_last_seq(at.seq);
  response.set_last_term(at.term);
  response.set_doc_count(index->DocCount());
  return response;
}

}  // namespace sift::storage
