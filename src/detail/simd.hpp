#pragma once
// Fixed-width double vectors (GCC/Clang vector extensions) for the collision kernel: the width
// is the widest the build targets (AVX-512: 8, AVX: 4, else 2), so one source serves every
// x86-64 level and the compiler picks the instructions.
#include <cstring>

namespace qbopt::detail {

#if defined(__AVX512F__)
inline constexpr int kLanes = 8;
#elif defined(__AVX__)
inline constexpr int kLanes = 4;
#else
inline constexpr int kLanes = 2;
#endif

typedef double Vec __attribute__((vector_size(kLanes * sizeof(double))));

inline Vec load(const double* p) {  // unaligned
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(double* p, Vec v) { std::memcpy(p, &v, sizeof v); }
inline Vec broadcast(double x) { return Vec{} + x; }

// Keeps a loaded value in a register: without it GCC folds every use of a load into the
// arithmetic instruction as a memory operand and loads the same (cache-line crossing) vector
// once per use, which made the collision load-bound (measured 27% slower at N = 150, AVX-512).
inline Vec pin(Vec v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+v"(v));
#endif
  return v;
}

}  // namespace qbopt::detail
