#include "services/storage/snapshot_manifest.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "services/storage/durable_file.h"
#include "services/storage/snapshot_paths.h"

namespace sift::storage {

absl::StatusOr<v1::SnapshotInfo> ReadSnapshotManifest(const std::string& root,
                                                      const std::string& name) {
  SIFT_RETURN_IF_ERROR(CheckSnapshotName(name));
  const std::string path = SnapshotManifest(root, name);
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("no snapshot \"", name, "\" in ",
                                            root, " (no ", path, ")"));
  }
  std::stringstream text;
  text << in.rdbuf();
  v1::SnapshotInfo info;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(text.str(), &info, options)
           .ok()) {
    return absl::DataLossError(absl::StrCat(path, " does not parse"));
  }
  return info;
}

absl::Status WriteSnapshotManifest(const std::string& root,
                                   const v1::SnapshotInfo& info) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  static_cast<void>(
      google::protobuf::util::MessageToJsonString(info, &json, options));
  return WriteFileDurably(SnapshotFolder(root, info.name()),
                          SnapshotManifest(root, info.name()), json);
}

}  // namespace sift::storage
