#ifndef SIFT_COMMON_CODEC_BIG_ENDIAN_H_
#define SIFT_COMMON_CODEC_BIG_ENDIAN_H_

#include <cstdint>
#include <string>

namespace sift::codec {

// Fixed-width big-endian integers, for keys: numbers encoded this way sort
// bytewise in numeric order, so RocksDB keeps a segment's or a document's
// keys in the order they are read.

inline void PutBigEndian32(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

// Reads four bytes at `p`.
inline uint32_t GetBigEndian32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) |
         (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

inline void PutBigEndian64(std::string* out, uint64_t value) {
  PutBigEndian32(out, static_cast<uint32_t>(value >> 32));
  PutBigEndian32(out, static_cast<uint32_t>(value));
}

// Reads eight bytes at `p`.
inline uint64_t GetBigEndian64(const char* p) {
  return (uint64_t{GetBigEndian32(p)} << 32) | GetBigEndian32(p + 4);
}

}  // namespace sift::codec

#endif  // SIFT_COMMON_CODEC_BIG_ENDIAN_H_
