#ifndef SIFT_COMMON_SYNC_HANDOFF_H_
#define SIFT_COMMON_SYNC_HANDOFF_H_

// Orderings that gRPC guarantees but ThreadSanitizer cannot see.
//
// gRPC from the distribution (Debian's libgrpc) is not built with
// ThreadSanitizer, so TSan sees none of the synchronisation inside it: a
// server's setup before the calls it serves, a reactor's StartRead before
// the OnReadDone that follows. Work that gRPC hands from one thread to
// another, and that then goes on to an Executor thread, is reported as racing
// with what came before the handoff. HappensBefore(tag) on the side that
// hands over and HappensAfter(tag) on the side that gRPC calls back draw that
// edge for TSan. Both compile to nothing unless the build is instrumented
// with ThreadSanitizer (SIFT_SANITIZE=thread). Only state an ordering that
// gRPC documents; a wrong one hides real races.

#include "absl/base/config.h"

#ifdef ABSL_HAVE_THREAD_SANITIZER
#include <sanitizer/tsan_interface.h>
#endif

namespace sift {

// Everything this thread did so far happens before whatever follows a later
// HappensAfter(tag) on any thread.
inline void HappensBefore(const void* tag) {
#ifdef ABSL_HAVE_THREAD_SANITIZER
  __tsan_release(const_cast<void*>(tag));
#else
  static_cast<void>(tag);
#endif
}

// What this thread does from now on happens after everything that came
// before every earlier HappensBefore(tag).
inline void HappensAfter(const void* tag) {
#ifdef ABSL_HAVE_THREAD_SANITIZER
  __tsan_acquire(const_cast<void*>(tag));
#else
  static_cast<void>(tag);
#endif
}

}  // namespace sift

#endif  // SIFT_COMMON_SYNC_HANDOFF_H_
