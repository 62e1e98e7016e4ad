#ifndef SIFT_SERVICES_INGEST_INGEST_RESULTS_H_
#define SIFT_SERVICES_INGEST_INGEST_RESULTS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "sift/v1/ingest.pb.h"

// How per-document outcomes become the answers of Index and IndexStream.
namespace sift::ingest {

// The fate of one input document.
struct DocumentOutcome {
  // The id, when one could be read (empty otherwise).
  std::string id;
  // OK once its shard acknowledged it; otherwise why not.
  absl::Status status;
};

// One DocumentResult per outcome, in order, numbered from `first_position`,
// with the accepted and rejected counts. Messages are empty for accepted
// documents. Pure function.
v1::IndexResponse AssembleIndexResponse(
    const std::vector<DocumentOutcome>& outcomes, uint64_t first_position);

// Adds up the answers to the messages of one IndexStream. Keeps the first
// `max_rejections` rejections; later ones are only counted, so a client
// sees that the list is cut when `rejected` exceeds its length. Not
// thread-safe: one stream feeds it one message at a time.
class StreamTally {
 public:
  explicit StreamTally(size_t max_rejections)
      : max_rejections_(max_rejections) {}

  // Counts every result of `response` and keeps its rejections.
  void Add(v1::IndexResponse response);
  // Rejects every document of a message that was refused as a whole (too
  // many documents, too many bytes), with `status` as the reason.
  void RejectMessage(const v1::IndexRequest& message, uint64_t first_position,
                     const absl::Status& status);

  // Documents counted so far: the stream position of the next message.
  uint64_t documents() const {
    return response_.accepted() + response_.rejected();
  }
  const v1::IndexStreamResponse& response() const { return response_; }

 private:
  void AddRejection(v1::DocumentResult result);

  size_t max_rejections_;
  v1::IndexStreamResponse response_;
};

}  // namespace sift::ingest

#endif  // SIFT_SERVICES_INGEST_INGEST_RESULTS_H_
