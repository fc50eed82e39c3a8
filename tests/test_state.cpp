// State storage (include/qbopt/zeroed_buffer.hpp): zero-filled, 64-byte aligned buffers from the
// heap, from one mapping each, or as slices of one mapping (State::zeros(N, count), the
// gradient's checkpoints); the collision must not notice where its states live.
#include <gtest/gtest.h>

#include <cstdint>
#include <qbopt/qbopt.hpp>
#include <qbopt/zeroed_buffer.hpp>
#include <random>
#include <vector>

#include "dense_reference.hpp"

using namespace qbopt;

namespace {

bool aligned64(const double* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; }

bool all_zero(const ZeroedBuffer& b) {
  for (std::size_t i = 0; i < b.size(); ++i)
    if (b.data()[i] != 0.0) return false;
  return true;
}

// Sizes on each path: the heap (below kMapBytes), one mapping in small pages, one spanning
// huge pages (>= 2 MiB), and odd counts that are not multiples of a cache line.
const std::size_t kCounts[] = {1, 13, 1000, ZeroedBuffer::kMapBytes / 8 + 3, (3u << 20) / 8 + 5};

}  // namespace

TEST(ZeroedBuffer, ZeroAndAlignedOnEveryPath) {
  for (std::size_t count : kCounts) {
    ZeroedBuffer b(count);
    ASSERT_EQ(b.size(), count);
    EXPECT_TRUE(aligned64(b.data())) << count;
    EXPECT_TRUE(all_zero(b)) << count;
  }
}

// Slices of one mapping: aligned, disjoint (each keeps the pattern written into it), and alive
// as long as any of them (the vector that made them gone, one slice kept by move).
TEST(ZeroedBuffer, ManySlicesAreDisjointAndOutliveTheirSiblings) {
  for (std::size_t count : kCounts) {
    ZeroedBuffer kept;
    {
      std::vector<ZeroedBuffer> v = ZeroedBuffer::many(count, 5);
      ASSERT_EQ(v.size(), 5u);
      for (std::size_t k = 0; k < v.size(); ++k) {
        ASSERT_EQ(v[k].size(), count);
        EXPECT_TRUE(aligned64(v[k].data())) << count;
        EXPECT_TRUE(all_zero(v[k])) << count;
        for (std::size_t i = 0; i < count; ++i) v[k].data()[i] = static_cast<double>(k + 1);
      }
      for (std::size_t k = 0; k < v.size(); ++k)
        for (std::size_t i = 0; i < count; ++i)
          ASSERT_EQ(v[k].data()[i], static_cast<double>(k + 1)) << "slice " << k << " overlapped";
      kept = std::move(v[2]);
    }
    for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(kept.data()[i], 3.0);
  }
}

TEST(ZeroedBuffer, CopiesAreDeep) {
  for (std::size_t count : kCounts) {
    std::vector<ZeroedBuffer> v = ZeroedBuffer::many(count, 2);
    v[0].data()[count - 1] = 7.0;
    ZeroedBuffer copy = v[0];
    EXPECT_NE(copy.data(), v[0].data());
    EXPECT_EQ(copy.data()[count - 1], 7.0);
    copy.data()[count - 1] = 8.0;
    EXPECT_EQ(v[0].data()[count - 1], 7.0);
    v[1] = copy;  // same size: copied into v[1]'s own storage
    EXPECT_EQ(v[1].data()[count - 1], 8.0);
    EXPECT_EQ(v[0].data()[count - 1], 7.0);
    copy.set_zero();
    EXPECT_TRUE(all_zero(copy));
  }
}

// A collision into a state of a batch equals one into a state of its own, bit for bit, on the
// heap path (N = 20) and the mapped one (N = 150), and the batch's states are zero matrices.
TEST(StateStorage, BatchStatesBehaveAsSingleOnes) {
  std::mt19937 rng(3);
  for (int N : {20, 150}) {
    const Micromaser model(0.8, N);
    const State in = State::from_matrix(qbopt_test::random_density(N, N, N, rng));
    std::vector<State> batch = State::zeros(N, 3);
    ASSERT_EQ(batch.size(), 3u);
    for (const State& s : batch) {
      EXPECT_EQ(s.dim(), N);
      EXPECT_EQ(s.matrix().cwiseAbs().maxCoeff(), 0.0);
    }
    State single = State::zeros(N);
    model.apply({0.4, 0.3}, in, single);
    model.apply({0.4, 0.3}, in, batch[1]);
    EXPECT_EQ((batch[1].matrix() - single.matrix()).cwiseAbs().maxCoeff(), 0.0) << N;
    EXPECT_EQ(batch[0].matrix().cwiseAbs().maxCoeff(), 0.0) << "a neighbour was written";
    EXPECT_EQ(batch[2].matrix().cwiseAbs().maxCoeff(), 0.0) << "a neighbour was written";
  }
}
