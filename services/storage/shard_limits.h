#ifndef SIFT_SERVICES_STORAGE_SHARD_LIMITS_H_
#define SIFT_SERVICES_STORAGE_SHARD_LIMITS_H_

// Limits on what one request may ask of a storage shard: the one set that
// the handler checks every request against (docs/storage-format.md lists
// them). Beyond them a request is INVALID_ARGUMENT; callers split their work
// instead.

#include <cstddef>
#include <cstdint>

namespace sift::storage {

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

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_SHARD_LIMITS_H_
