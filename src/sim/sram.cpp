// Page pool of the lazily allocated SRAM; see sram.hpp.
#include "sram.hpp"

#include "wafer/support/error.hpp"

namespace wafer::sim {

const uint8_t Sram::zero_page_[Sram::kPageBytes] = {};

Sram::Sram(uint32_t pes, uint32_t bytes_per_pe)
    : bytes_per_pe_(bytes_per_pe),
      pages_per_pe_((bytes_per_pe + kPageBytes - 1) >> kPageShift),
      table_(size_t(pes) * pages_per_pe_, 0),
      chunks_(new std::unique_ptr<uint8_t[]>[kMaxChunks]) {}

uint32_t Sram::allocate_page() {
  uint32_t id = next_page_.fetch_add(1, std::memory_order_relaxed);
  const uint32_t chunk = id >> 16;
  WAFER_CHECK(chunk < kMaxChunks);
  std::lock_guard<std::mutex> lock(chunk_mutex_);
  if (!chunks_[chunk]) {
    chunks_[chunk].reset(new uint8_t[size_t(kChunkPages) * kPageBytes]());
  }
  return id;
}

}  // namespace wafer::sim
