// Lazily allocated PE SRAM: a page table per PE over a shared pool of 1 KiB pages.
//
// Reading a page never written returns zeros without allocating; the first write allocates
// the page from a chunked pool (an atomic bump counter, a mutex only when a new 64 MiB chunk
// is needed), so a PE that touches 40 bytes costs one page, and idle PEs cost only their
// page-table entries. Every access is bounds-checked by the caller against the arch's SRAM.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace wafer::sim {

class Sram {
 public:
  static constexpr int kPageShift = 10;
  static constexpr uint32_t kPageBytes = 1u << kPageShift;

  Sram(uint32_t pes, uint32_t bytes_per_pe);
  uint32_t bytes_per_pe() const { return bytes_per_pe_; }

  uint32_t read(uint32_t pe, uint32_t addr, int bytes) const {
    const uint8_t* page = page_for_read(pe, addr >> kPageShift);
    const uint8_t* at = page + (addr & (kPageBytes - 1));
    if (bytes == 4) {
      uint32_t v;
      std::memcpy(&v, at, 4);
      return v;
    }
    uint16_t v;
    std::memcpy(&v, at, 2);
    return v;
  }
  void write(uint32_t pe, uint32_t addr, int bytes, uint32_t value) {
    uint8_t* at = page_for_write(pe, addr >> kPageShift) + (addr & (kPageBytes - 1));
    if (bytes == 4) {
      std::memcpy(at, &value, 4);
    } else {
      const uint16_t half = uint16_t(value);
      std::memcpy(at, &half, 2);
    }
  }
  uint64_t pages_allocated() const { return next_page_.load() - 1; }

 private:
  static constexpr uint32_t kChunkPages = 1u << 16;
  static constexpr uint32_t kMaxChunks = 1u << 16;

  const uint8_t* page_for_read(uint32_t pe, uint32_t page) const {
    uint32_t id = table_[size_t(pe) * pages_per_pe_ + page];
    return id ? page_ptr(id) : zero_page_;
  }
  uint8_t* page_for_write(uint32_t pe, uint32_t page) {
    uint32_t& id = table_[size_t(pe) * pages_per_pe_ + page];
    if (!id) id = allocate_page();
    return page_ptr(id);
  }
  uint8_t* page_ptr(uint32_t id) const {
    return chunks_[id >> 16].get() + size_t(id & (kChunkPages - 1)) * kPageBytes;
  }
  uint32_t allocate_page();

  uint32_t bytes_per_pe_;
  uint32_t pages_per_pe_;
  std::vector<uint32_t> table_;
  std::unique_ptr<std::unique_ptr<uint8_t[]>[]> chunks_;
  std::atomic<uint32_t> next_page_{1};
  std::mutex chunk_mutex_;
  static const uint8_t zero_page_[kPageBytes];
};

}  // namespace wafer::sim
