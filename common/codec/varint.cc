#include "common/codec/varint.h"

namespace sift::codec {

char* EncodeVarint32(char* dst, uint32_t value) {
  auto* p = reinterpret_cast<unsigned char*>(dst);
  while (value >= 0x80) {
    *p++ = static_cast<unsigned char>(value | 0x80);
    value >>= 7;
  }
  *p++ = static_cast<unsigned char>(value);
  return reinterpret_cast<char*>(p);
}

char* EncodeVarint64(char* dst, uint64_t value) {
  auto* p = reinterpret_cast<unsigned char*>(dst);
  while (value >= 0x80) {
    *p++ = static_cast<unsigned char>(value | 0x80);
    value >>= 7;
  }
  *p++ = static_cast<unsigned char>(value);
  return reinterpret_cast<char*>(p);
}

void PutVarint32(std::string* dst, uint32_t value) {
  char buf[kMaxVarint32Bytes];
  char* end = EncodeVarint32(buf, value);
  dst->append(buf, static_cast<size_t>(end - buf));
}

void PutVarint64(std::string* dst, uint64_t value) {
  char buf[kMaxVarint64Bytes];
  char* end = EncodeVarint64(buf, value);
  dst->append(buf, static_cast<size_t>(end - buf));
}

size_t VarintLength(uint64_t value) {
  size_t len = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++len;
  }
  return len;
}

const char* GetVarint32PtrSlow(const char* p, const char* limit,
                               uint32_t* value) {
  uint32_t result = 0;
  for (size_t i = 0; i < kMaxVarint32Bytes && p < limit; ++i) {
    const auto byte = static_cast<unsigned char>(*p++);
    if (i == kMaxVarint32Bytes - 1) {
      // The fifth byte holds bits 28..31 only; anything more would overflow,
      // and a continuation bit would make the varint longer than allowed.
      if (byte > 0x0f) return nullptr;
      *value = result | (static_cast<uint32_t>(byte) << 28);
      return p;
    }
    result |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      *value = result;
      return p;
    }
  }
  return nullptr;  // Truncated.
}

const char* GetVarint64Ptr(const char* p, const char* limit, uint64_t* value) {
  uint64_t result = 0;
  for (size_t i = 0; i < kMaxVarint64Bytes && p < limit; ++i) {
    const auto byte = static_cast<unsigned char>(*p++);
    if (i == kMaxVarint64Bytes - 1) {
      // The tenth byte holds bit 63 only.
      if (byte > 0x01) return nullptr;
      *value = result | (static_cast<uint64_t>(byte) << 63);
      return p;
    }
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      *value = result;
      return p;
    }
  }
  return nullptr;  // Truncated.
}

bool GetVarint64(absl::string_view* input, uint64_t* value) {
  const char* p = input->data();
  const char* limit = p + input->size();
  const char* q = GetVarint64Ptr(p, limit, value);
  if (q == nullptr) return false;
  input->remove_prefix(static_cast<size_t>(q - p));
  return true;
}

}  // namespace sift::codec
