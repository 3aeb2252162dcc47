// The lazily backed SRAM mapping; see sram.hpp.
#include "sram.hpp"

#include <sys/mman.h>

namespace wafer::sim {

Sram::Sram(uint32_t pes, uint32_t bytes_per_pe)
    : bytes_per_pe_(bytes_per_pe), pes_(pes ? pes : 1) {
  const size_t blocks = (size_t(bytes_per_pe) + kBlock - 1) >> kBlockShift;
  mapped_ = (blocks * pes_) << kBlockShift;
  void* p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) return;
  madvise(p, mapped_, MADV_NOHUGEPAGE);
  base_ = static_cast<uint8_t*>(p);
}

Sram::~Sram() {
  if (base_) munmap(base_, mapped_);
}

}  // namespace wafer::sim
