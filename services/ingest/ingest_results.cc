#include "services/ingest/ingest_results.h"

#include <utility>

namespace sift::ingest {

v1::IndexResponse AssembleIndexResponse(
    const std::vector<DocumentOutcome>& outcomes, uint64_t first_position) {
  v1::IndexResponse response;
  response.mutable_results()->Reserve(static_cast<int>(outcomes.size()));
  uint32_t accepted = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    v1::DocumentResult* result = response.add_results();
    result->set_id(outcomes[i].id);
    result->set_position(first_position + i);
    result->set_code(static_cast<int32_t>(outcomes[i].status.code()));
    if (outcomes[i].status.ok()) {
      ++accepted;
    } else {
      result->set_message(std::string(outcomes[i].status.message()));
    }
  }
  response.set_accepted(accepted);
  response.set_rejected(static_cast<uint32_t>(outcomes.size()) - accepted);
  return response;
}

void StreamTally::Add(v1::IndexResponse response) {
  response_.set_accepted(response_.accepted() + response.accepted());
  for (v1::DocumentResult& result : *response.mutable_results()) {
    if (result.code() != 0) AddRejection(std::move(result));
  }
}

void StreamTally::RejectMessage(const v1::IndexRequest& message,
                                uint64_t first_position,
                                const absl::Status& status) {
  for (int i = 0; i < message.documents_size(); ++i) {
    const v1::DocumentInput& input = message.documents(i);
    v1::DocumentResult result;
    if (input.has_document()) result.set_id(input.document().id());
    if (input.has_article()) result.set_id(input.article().id());
    result.set_code(static_cast<int32_t>(status.code()));
    result.set_message(std::string(status.message()));
    result.set_position(first_position + i);
    AddRejection(std::move(result));
  }
}

void StreamTally::AddRejection(v1::DocumentResult result) {
  response_.set_rejected(response_.rejected() + 1);
  if (static_cast<size_t>(response_.rejections_size()) < max_rejections_) {
    *response_.add_rejections() = std::move(result);
  }
}

}  // namespace sift::ingest
