#pragma once
// Zero-filled storage of doubles, 64-byte aligned, whose memory is mapped in one step.
#include <cstddef>
#include <memory>
#include <vector>

namespace qbopt {

// Large buffers live in fresh anonymous mappings (zero already) that the kernel populates in
// one call (MADV_POPULATE_WRITE), in transparent huge pages from 2 MiB on (MADV_HUGEPAGE),
// instead of one page fault per 4 KiB on first touch. On a 2-vCPU VM, writing 34 MiB for the
// first time took 110 ms page by page and 3.3 ms populated in huge pages; a 4 KiB fault cost
// about a collision at N = 150. many() maps several buffers at once, so that states of a few
// hundred KiB (checkpoints) share huge pages. Small buffers come from the heap. Copies are deep.
class ZeroedBuffer {
 public:
  ZeroedBuffer() = default;
  explicit ZeroedBuffer(std::size_t count);
  // `how_many` buffers of `count` doubles in one mapping (freed with the last of them).
  static std::vector<ZeroedBuffer> many(std::size_t count, std::size_t how_many);

  ZeroedBuffer(const ZeroedBuffer& other);
  ZeroedBuffer(ZeroedBuffer&& other) noexcept = default;
  ZeroedBuffer& operator=(const ZeroedBuffer& other);
  ZeroedBuffer& operator=(ZeroedBuffer&& other) noexcept = default;
  ~ZeroedBuffer() = default;

  double* data() { return data_; }
  const double* data() const { return data_; }
  std::size_t size() const { return size_; }
  void set_zero();

  // Buffers from this many bytes on are mapped (below, the heap is cheaper than a system call).
  static constexpr std::size_t kMapBytes = std::size_t(64) << 10;

 private:
  std::shared_ptr<void> memory_;  // the heap block or mapping data_ lies in
  double* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace qbopt
