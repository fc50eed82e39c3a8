#pragma once
// Scoped flush-to-zero / denormals-are-zero for the collision kernels.
// Populations decay to ~1e-310 far above the occupied levels; arithmetic on such subnormal
// numbers is ~100x slower on x86 and made a collision at N = 1000 five times slower, while
// values below 1e-308 carry no physics. The previous mode is restored on exit.
#if defined(__SSE2__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

namespace qbopt::detail {

class FlushDenormals {
 public:
#if defined(__SSE2__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#else
  FlushDenormals() = default;
#endif
 public:
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
};

}  // namespace qbopt::detail
