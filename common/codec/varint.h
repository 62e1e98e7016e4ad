#ifndef SIFT_COMMON_CODEC_VARINT_H_
#define SIFT_COMMON_CODEC_VARINT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace sift::codec {

// LEB128 variable-length integers: seven bits per byte, least significant
// group first, high bit set on every byte but the last. Values below 128 take
// one byte; a uint32 takes at most 5 bytes, a uint64 at most 10.
//
// Decoders accept redundant zero groups (0x80 0x00 reads as 0) as long as the
// encoding stays within the maximum length, like protobuf; they reject input
// that ends inside a varint, that runs longer than the maximum length, or
// whose last byte carries bits above the type's width. They never read past
// the end of their input. All functions are thread-compatible (no state).

inline constexpr size_t kMaxVarint32Bytes = 5;
inline constexpr size_t kMaxVarint64Bytes = 10;

// Appends the encoding of `value` to `*dst`.
void PutVarint32(std::string* dst, uint32_t value);
void PutVarint64(std::string* dst, uint64_t value);

// Writes the encoding of `value` at `dst`, which must have room for
// kMaxVarint32Bytes (kMaxVarint64Bytes), and returns the byte after it.
char* EncodeVarint32(char* dst, uint32_t value);
char* EncodeVarint64(char* dst, uint64_t value);

// Number of bytes the encoding of `value` takes.
size_t VarintLength(uint64_t value);

// Decodes one varint from [p, limit) into `*value` and returns the byte after
// it, or nullptr (leaving `*value` unspecified) when the input is truncated
// or malformed as described above.
inline const char* GetVarint32Ptr(const char* p, const char* limit,
                                  uint32_t* value);
const char* GetVarint64Ptr(const char* p, const char* limit, uint64_t* value);

// Decodes one varint from the front of `*input` and removes it from there.
// Returns false, leaving `*input` unchanged, when the input is truncated or
// malformed.
inline bool GetVarint32(absl::string_view* input, uint32_t* value);
bool GetVarint64(absl::string_view* input, uint64_t* value);

// Implementation details.

// GetVarint32Ptr for values of two bytes or more.
const char* GetVarint32PtrSlow(const char* p, const char* limit,
                               uint32_t* value);

inline const char* GetVarint32Ptr(const char* p, const char* limit,
                                  uint32_t* value) {
  // Inline for the common one-byte case: posting data is mostly small values.
  if (p < limit) {
    const auto byte = static_cast<unsigned char>(*p);
    if (byte < 0x80) {
      *value = byte;
      return p + 1;
    }
  }
  return GetVarint32PtrSlow(p, limit, value);
}

// Inline too: positions and skip entries read one small varint at a time.
inline bool GetVarint32(absl::string_view* input, uint32_t* value) {
  const char* p = input->data();
  const char* q = GetVarint32Ptr(p, p + input->size(), value);
  if (q == nullptr) return false;
  input->remove_prefix(static_cast<size_t>(q - p));
  return true;
}

}  // namespace sift::codec

#endif  // SIFT_COMMON_CODEC_VARINT_H_
