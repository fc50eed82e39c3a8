#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <qbopt/zeroed_buffer.hpp>

namespace qbopt {

namespace {
constexpr std::size_t kAlign = 64;            // a cache line: aligned vectors start on one
constexpr std::size_t kHuge = std::size_t(2) << 20;  // an x86-64 transparent huge page
#ifdef MADV_POPULATE_WRITE
constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kPopulateWrite = 23;  // Linux 5.14; older kernels refuse it and fault on touch
#endif

std::size_t round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }

// `bytes` of zeros, 64-byte aligned: from the heap when small, else a populated mapping
// (2 MiB aligned, in huge pages, when it spans one). Returns the owner; *data its start.
std::shared_ptr<void> allocate_zeroed(std::size_t bytes, double** data) {
  if (bytes < ZeroedBuffer::kMapBytes) {
    void* p = std::aligned_alloc(kAlign, round_up(bytes, kAlign));
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, bytes);
    *data = static_cast<double*>(p);
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
  const bool huge = bytes >= kHuge;
  const std::size_t length = bytes + (huge ? kHuge : 0);  // room to align the start
  void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  char* start = static_cast<char*>(p);
  if (huge) {
    start = reinterpret_cast<char*>(round_up(reinterpret_cast<std::uintptr_t>(p), kHuge));
    (void)madvise(start, round_up(bytes, kHuge), MADV_HUGEPAGE);  // best effort
  }
  (void)madvise(start, bytes, kPopulateWrite);  // best effort: else the pages fault on touch
  *data = reinterpret_cast<double*>(start);
  return std::shared_ptr<void>(p, [length](void* q) { munmap(q, length); });
}
}  // namespace

ZeroedBuffer::ZeroedBuffer(std::size_t count) : size_(count) {
  if (count > 0) memory_ = allocate_zeroed(count * sizeof(double), &data_);
}

std::vector<ZeroedBuffer> ZeroedBuffer::many(std::size_t count, std::size_t how_many) {
  std::vector<ZeroedBuffer> out(how_many);
  if (count == 0 || how_many == 0) return out;
  const std::size_t stride = round_up(count * sizeof(double), kAlign);
  double* base = nullptr;
  std::shared_ptr<void> memory = allocate_zeroed(stride * how_many, &base);
  for (std::size_t i = 0; i < how_many; ++i) {
    out[i].memory_ = memory;
    out[i].data_ = reinterpret_cast<double*>(reinterpret_cast<char*>(base) + i * stride);
    out[i].size_ = count;
  }
  return out;
}

ZeroedBuffer::ZeroedBuffer(const ZeroedBuffer& other) : ZeroedBuffer(other.size_) {
  if (size_) std::memcpy(data_, other.data_, size_ * sizeof(double));
}

ZeroedBuffer& ZeroedBuffer::operator=(const ZeroedBuffer& other) {
  if (this == &other) return *this;
  if (size_ == other.size_) {
    if (size_) std::memcpy(data_, other.data_, size_ * sizeof(double));
    return *this;
  }
  return *this = ZeroedBuffer(other);
}

void ZeroedBuffer::set_zero() {
  if (size_) std::memset(data_, 0, size_ * sizeof(double));
}

}  // namespace qbopt
