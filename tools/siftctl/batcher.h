#ifndef SIFT_TOOLS_SIFTCTL_BATCHER_H_
#define SIFT_TOOLS_SIFTCTL_BATCHER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sift/v1/ingest.pb.h"
#include "tools/siftctl/input_files.h"

namespace sift::siftctl {

// Documents to send in one IndexRequest, with where each came from.
struct Batch {
  v1::IndexRequest request;
  // Aligned with request.documents().
  std::vector<std::string> origins;
  std::vector<uint64_t> sequences;
  // Serialized size of `request`.
  size_t bytes = 0;

  size_t size() const { return origins.size(); }
};

// Groups documents, in order, into batches of at most `max_documents`
// documents and `max_bytes` serialized bytes. A document larger than
// `max_bytes` on its own travels alone. Not thread-safe.
class Batcher {
 public:
  Batcher(size_t max_documents, size_t max_bytes);

  // Adds `document`. When it does not fit in the batch being filled, that
  // batch is closed and returned, and `document` starts the next one.
  std::optional<Batch> Add(SourceDocument document);

  // Closes and returns the batch being filled, if it holds anything.
  std::optional<Batch> Finish();

  // Bytes `input` adds to an IndexRequest: its field tag and length prefix
  // plus its own encoding.
  static size_t EncodedSize(const v1::DocumentInput& input);

 private:
  size_t max_documents_;
  size_t max_bytes_;
  Batch current_;
};

}  // namespace sift::siftctl

#endif  // SIFT_TOOLS_SIFTCTL_BATCHER_H_
