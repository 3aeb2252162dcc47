// PE SRAM, allocated lazily by the operating system.
//
// One anonymous mapping reserves sram_bytes for every PE (MAP_NORESERVE, no huge pages), so
// an access is base + pe * stride + address. The kernel backs a 4 KiB page with memory only
// when it is first written; pages never written read as zeros and cost nothing, so the full
// 893,064-PE fabric reserves 43 GB of address space but uses memory only for touched pages.
// Callers bounds-check addresses against the symbol or the arch's SRAM size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wafer::sim {

class Sram {
 public:
  Sram(uint32_t pes, uint32_t bytes_per_pe);
  ~Sram();
  Sram(const Sram&) = delete;
  Sram& operator=(const Sram&) = delete;

  uint32_t bytes_per_pe() const { return bytes_per_pe_; }
  bool ok() const { return base_ != nullptr; }

  uint8_t* at(uint32_t pe, uint32_t addr) const { return base_ + size_t(pe) * stride_ + addr; }
  uint32_t read(uint32_t pe, uint32_t addr, int bytes) const {
    const uint8_t* p = at(pe, addr);
    if (bytes == 4) {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  void write(uint32_t pe, uint32_t addr, int bytes, uint32_t value) {
    uint8_t* p = at(pe, addr);
    if (bytes == 4) {
      std::memcpy(p, &value, 4);
    } else {
      const uint16_t half = uint16_t(value);
      std::memcpy(p, &half, 2);
    }
  }

 private:
  uint32_t bytes_per_pe_;
  size_t stride_;
  size_t mapped_ = 0;
  uint8_t* base_ = nullptr;
};

}  // namespace wafer::sim
