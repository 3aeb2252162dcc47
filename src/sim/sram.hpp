// PE SRAM, allocated lazily by the operating system.
//
// One anonymous mapping reserves sram_bytes for every PE (MAP_NORESERVE, no huge pages). The
// kernel backs a 4 KiB page with memory only when it is first written; pages never written
// read as zeros and cost nothing. Addresses are interleaved in 1 KiB blocks: block b of PE p
// lives at (b * pes + p) KiB, so PEs that touch only their first kilobyte (a program's code
// plus a few values, as in a full-fabric allreduce) share 4 KiB pages four to one: the full
// 893,064-PE fabric reserves 43 GB of address space and uses about 1 KiB per touched block.
// Elements are 2 or 4 bytes and aligned, so none straddles a block. Callers bounds-check
// addresses against the symbol or the arch's SRAM size.
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

  [[gnu::always_inline]] uint8_t* at(uint32_t pe, uint32_t addr) const {
    return base_ + ((size_t(addr >> kBlockShift) * pes_ + pe) << kBlockShift) + (addr & (kBlock - 1));
  }
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
  static constexpr uint32_t kBlockShift = 10;
  static constexpr uint32_t kBlock = 1u << kBlockShift;
  uint32_t bytes_per_pe_;
  size_t pes_;
  size_t mapped_ = 0;
  uint8_t* base_ = nullptr;
};

}  // namespace wafer::sim
