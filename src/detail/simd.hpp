#pragma once
// Fixed-width double vectors (GCC/Clang vector extensions) for the collision kernel: the width
// is the widest the build targets (AVX-512: 8, AVX: 4, else 2), so one source serves every
// x86-64 level and the compiler picks the instructions.
#include <cstring>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace qbopt::detail {

#if defined(__AVX512F__)
inline constexpr int kLanes = 8;
#elif defined(__AVX__)
inline constexpr int kLanes = 4;
#else
inline constexpr int kLanes = 2;
#endif

// Doubles per 64-byte cache line (every x86-64 core): State columns and the coefficient
// tables start their aligned rows on a line (State::leading_dimension).
inline constexpr int kLineDoubles = 64 / sizeof(double);

typedef double Vec __attribute__((vector_size(kLanes * sizeof(double))));

inline Vec load(const double* p) {  // unaligned
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(double* p, Vec v) { std::memcpy(p, &v, sizeof v); }
inline Vec broadcast(double x) { return Vec{} + x; }

// Vectors shifted by one row: row_before(p, x) = (p[kLanes-1], x[0], .., x[kLanes-2]), the rows
// i-1 .. i+kLanes-2 from the vectors at rows i-kLanes and i; row_after(x, nx) = (x[1], ..,
// x[kLanes-1], nx[0]), the rows i+1 .. i+kLanes from the vectors at i and i+kLanes.
// kCheapShift: the kernels take rows i-1, i+1 from these shifts rather than from loads that
// straddle two cache lines: one instruction with AVX-512 (valignq), two with AVX2 (across
// the 128-bit halves); with SSE2 the kernels load.
typedef long long Index __attribute__((vector_size(kLanes * sizeof(long long))));
#if defined(__AVX512F__)
inline constexpr bool kCheapShift = true;
inline constexpr Index kBefore = {7, 8, 9, 10, 11, 12, 13, 14}, kAfter = {1, 2, 3, 4, 5, 6, 7, 8};
#elif defined(__AVX__)
// Two instructions with 4-double vectors, yet faster than the loads straddling two lines
// (AVX2 build on Zen 5: 7.9 -> 6.9 us per collision at N = 150, 55.8 -> 47.2 at N = 400).
inline constexpr bool kCheapShift = true;
inline constexpr Index kBefore = {3, 4, 5, 6}, kAfter = {1, 2, 3, 4};
#else
inline constexpr bool kCheapShift = false;
inline constexpr Index kBefore = {1, 2}, kAfter = {1, 2};
#endif
#if defined(__AVX512F__)
// valignq: one uop with three operands, no index vector to keep in a register (a generic
// two-source shuffle becomes vpermt2pd, which overwrites an operand and needs its index).
inline Vec row_before(Vec p, Vec x) {
  return (Vec)_mm512_alignr_epi64((__m512i)x, (__m512i)p, 7);
}
inline Vec row_after(Vec x, Vec nx) {
  return (Vec)_mm512_alignr_epi64((__m512i)nx, (__m512i)x, 1);
}
#elif defined(__clang__)
inline Vec row_before(Vec p, Vec x) {
  if constexpr (kLanes == 8) return __builtin_shufflevector(p, x, 7, 8, 9, 10, 11, 12, 13, 14);
  else if constexpr (kLanes == 4) return __builtin_shufflevector(p, x, 3, 4, 5, 6);
  else return __builtin_shufflevector(p, x, 1, 2);
}
inline Vec row_after(Vec x, Vec nx) {
  if constexpr (kLanes == 8) return __builtin_shufflevector(x, nx, 1, 2, 3, 4, 5, 6, 7, 8);
  else if constexpr (kLanes == 4) return __builtin_shufflevector(x, nx, 1, 2, 3, 4);
  else return __builtin_shufflevector(x, nx, 1, 2);
}
#else
inline Vec row_before(Vec p, Vec x) { return __builtin_shuffle(p, x, kBefore); }
inline Vec row_after(Vec x, Vec nx) { return __builtin_shuffle(x, nx, kAfter); }
#endif

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
