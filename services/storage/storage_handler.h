#ifndef SIFT_SERVICES_STORAGE_STORAGE_HANDLER_H_
#define SIFT_SERVICES_STORAGE_STORAGE_HANDLER_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/storage/index.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage {

// Limits on what one request may ask of a shard. Beyond them a request is
// INVALID_ARGUMENT; callers split their work instead.
inline constexpr int kMaxWriteOps = 10'000;
inline constexpr size_t kMaxIdBytes = 512;
inline constexpr size_t kMaxTermBytes = 256;
// Source and tag values (in documents, filters and SOURCE/TAG terms),
// before normalisation. Well above ingest's default per-document limit, so
// that ingest, which rejects one document rather than a whole shard batch,
// is the one that bites.
inline constexpr size_t kMaxKeywordBytes = 4'096;
// Depth of a query plan: a lone term is 1, a boolean of terms 2.
inline constexpr int kMaxPlanDepth = 64;
inline constexpr int kMaxPlanNodes = 1'024;
inline constexpr uint32_t kMaxSearchLimit = 100'000;
// Most hits a search with `explain` may return: every one costs a second
// pass and a tree in the response. A coordinator's page of up to 100
// explained hits plus the one past it that says whether a next page exists.
inline constexpr uint32_t kMaxExplainLimit = 101;
inline constexpr int kMaxFetchIds = 10'000;
// Terms of a StatsRequest, and of the GlobalStats a search carries.
inline constexpr int kMaxStatsTerms = 10'000;
// Facets one search may count.
inline constexpr int kMaxFacets = 8;

// Each returns OK or INVALID_ARGUMENT whose message names the offending
// field by its path in the request (e.g. "ops[3].upsert.title.terms[7]")
// and says what is wrong with it.
absl::Status ValidateWriteRequest(const v1::WriteRequest& request);
absl::Status ValidateStatsRequest(const v1::StatsRequest& request);
absl::Status ValidateSearchRequest(const v1::ShardSearchRequest& request);
absl::Status ValidateFetchRequest(const v1::FetchRequest& request);

// The storage service's logic without gRPC: validates each request, then
// hands it to the index. Errors: INVALID_ARGUMENT from validation (nothing
// is applied), otherwise whatever the index returns. Thread-safe as the
// index is; blocks for as long as the index does (a write waits for its
// fsync), so call it off gRPC threads.
class StorageHandler {
 public:
  // `index` is not owned and must outlive the handler.
  explicit StorageHandler(Index* index) : index_(index) {}

  absl::StatusOr<v1::WriteResponse> Write(const v1::WriteRequest& request);
  absl::StatusOr<v1::StatsResponse> Stats(const v1::StatsRequest& request);
  absl::StatusOr<v1::ShardSearchResponse> Search(
      const v1::ShardSearchRequest& request);
  absl::StatusOr<v1::FetchResponse> Fetch(const v1::FetchRequest& request);

 private:
  Index* index_;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_STORAGE_HANDLER_H_
