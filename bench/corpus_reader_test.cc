#include "bench/corpus_reader.h"

#include <stdlib.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::bench {
namespace {

using ::sift::testing::StatusIs;
using ::testing::ElementsAre;

class CorpusReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "corpus-reader-XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WritePlain(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::string WriteGzip(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    gzFile file = gzopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr);
    EXPECT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())),
              static_cast<int>(text.size()));
    gzclose(file);
    return path;
  }

  static std::vector<std::string> ReadAll(CorpusReader& reader) {
    std::vector<std::string> lines;
    std::string line;
    while (true) {
      absl::StatusOr<bool> more = reader.Next(&line);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      lines.push_back(line);
    }
    return lines;
  }

  std::string dir_;
};

TEST_F(CorpusReaderTest, ReadsLinesSkippingBlankOnesAndCountsEveryByte) {
  const std::string text =
      "{\"id\":\"a\"}\r\n\n   \n{\"id\":\"b\"}\n{\"id\":\"c\"}";
  const std::string path = WritePlain("docs.jsonl", text);
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<CorpusReader> reader,
                            CorpusReader::Open(path));
  EXPECT_THAT(ReadAll(*reader), ElementsAre("{\"id\":\"a\"}", "{\"id\":\"b\"}",
                                            "{\"id\":\"c\"}"));
  EXPECT_EQ(reader->bytes_read(), text.size());
  EXPECT_EQ(reader->line_number(), 5);
}

TEST_F(CorpusReaderTest, ReadsGzipAndCountsUncompressedBytes) {
  std::string text;
  for (int i = 0; i < 5000; ++i) {
    text += "{\"id\":\"doc-" + std::to_string(i) + "\",\"body\":\"" +
            std::string(300, 'x') + "\"}\n";
  }
  const std::string path = WriteGzip("docs.jsonl.gz", text);
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<CorpusReader> reader,
                            CorpusReader::Open(path));
  const std::vector<std::string> lines = ReadAll(*reader);
  ASSERT_EQ(lines.size(), 5000u);
  EXPECT_EQ(lines[4999].substr(0, 16), "{\"id\":\"doc-4999\"");
  EXPECT_EQ(reader->bytes_read(), text.size());
}

TEST_F(CorpusReaderTest, ReportsATruncatedGzipStreamAsDataLoss) {
  std::string text;
  for (int i = 0; i < 20000; ++i) {
    text += "{\"id\":\"" + std::to_string(i * 7919) + "\"}\n";
  }
  const std::string path = WriteGzip("docs.jsonl.gz", text);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<CorpusReader> reader,
                            CorpusReader::Open(path));
  std::string line;
  absl::StatusOr<bool> more = true;
  while (more.ok() && *more) more = reader->Next(&line);
  EXPECT_THAT(more.status(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(CorpusReaderTest, MissingFileIsNotFound) {
  EXPECT_THAT(CorpusReader::Open(dir_ + "/missing.jsonl").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace sift::bench
