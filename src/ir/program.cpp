// Opcode table, port names and symbol layout of the program IR; see program.hpp.
#include "wafer/ir/program.hpp"

#include <cstring>

namespace wafer::ir {

namespace {

// Indexed by Opcode. Signatures are documented in program.hpp.
constexpr OpInfo kOps[] = {
    {"nop", "", false},
    {"movi", "ri", false},
    {"mov", "rs", false},
    {"add", "rss", false},
    {"sub", "rss", false},
    {"mul", "rss", false},
    {"div", "rss", false},
    {"rem", "rss", false},
    {"and", "rss", false},
    {"or", "rss", false},
    {"xor", "rss", false},
    {"shl", "rss", false},
    {"shr", "rss", false},
    {"fadd", "rss", false},
    {"fsub", "rss", false},
    {"fmul", "rss", false},
    {"fdiv", "rss", false},
    {"fmax", "rss", false},
    {"itof", "rs", false},
    {"ftoi", "rs", false},
    {"ld", "rys", false},
    {"st", "yss", false},
    {"beq", "ssl", false},
    {"bne", "ssl", false},
    {"blt", "ssl", false},
    {"bge", "ssl", false},
    {"jmp", "l", false},
    {"activate", "t", false},
    {"block", "t", false},
    {"unblock", "t", false},
    {"ret", "", false},
    {"send", "cs", false},
    {"sendc", "cs", false},
    {"mdsd", "dyssi", false},
    {"fdsd", "dcsT", false},
    {"vmov", "dv", true},
    {"vadd", "dvv", true},
    {"vsub", "dvv", true},
    {"vmul", "dvv", true},
    {"vfma", "dvvv", true},
    {"vmax", "dvv", true},
    {"vneg", "dv", true},
    {"vabs", "dv", true},
    {"vcvt", "dv", true},
    {"vmin", "dvv", true},
    {"vdiv", "dvv", true},
    {"vclamp", "dvvv", true},
    {"vscale", "dvv", true},
    {"vlogb", "dv", true},
    {"vsel", "dvvv", true},
};
static_assert(sizeof(kOps) / sizeof(kOps[0]) == size_t(Opcode::count_));

}  // namespace

const OpInfo& op_info(Opcode op) { return kOps[size_t(op)]; }

std::optional<Opcode> parse_opcode(std::string_view name) {
  for (size_t i = 0; i < size_t(Opcode::count_); ++i) {
    if (name == kOps[i].name) return Opcode(i);
  }
  return std::nullopt;
}

std::string_view dir_name(Dir d) {
  static constexpr const char* kNames[] = {"N", "E", "S", "W", "R"};
  return kNames[unsigned(d)];
}

std::optional<Dir> parse_dir(std::string_view name) {
  if (name == "N" || name == "north") return Dir::north;
  if (name == "E" || name == "east") return Dir::east;
  if (name == "S" || name == "south") return Dir::south;
  if (name == "W" || name == "west") return Dir::west;
  if (name == "R" || name == "ramp") return Dir::ramp;
  return std::nullopt;
}

std::string port_mask_name(PortMask m) {
  std::string s = "{";
  for (unsigned d = 0; d < 5; ++d) {
    if (m & (1u << d)) {
      if (s.size() > 1) s += ",";
      s += dir_name(Dir(d));
    }
  }
  return s + "}";
}

int Code::find_symbol(std::string_view n) const {
  for (size_t i = 0; i < symbols.size(); ++i) {
    if (symbols[i].name == n) return int(i);
  }
  return -1;
}

const Task* Code::find_task(std::string_view n) const {
  for (const Task& t : tasks) {
    if (t.name == n) return &t;
  }
  return nullptr;
}

const Task* Code::task_by_id(int id) const {
  for (const Task& t : tasks) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

std::vector<double> expand_host_data(const HostData& data, size_t n) {
  if (data.kind == HostData::Kind::values) return data.values;
  std::vector<double> out(n);
  uint64_t state = data.seed;
  for (size_t i = 0; i < n; ++i) {
    switch (data.kind) {
      case HostData::Kind::fill: out[i] = data.a; break;
      case HostData::Kind::iota: out[i] = data.a + data.b * double(i); break;
      default: {
        state += 0x9e3779b97f4a7c15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        out[i] = data.a + (data.b - data.a) * double(z >> 11) * 0x1.0p-53;
      }
    }
  }
  return out;
}

Layout layout_code(const Code& code) {
  Layout layout;
  uint64_t at = uint64_t(code.instrs.size()) * kBytesPerInstr;
  for (const Symbol& s : code.symbols) {
    at = (at + 3) & ~uint64_t(3);
    layout.offset.push_back(uint32_t(at));
    at += uint64_t(s.count) * dtype_bytes(s.type);
  }
  layout.bytes = at > UINT32_MAX ? UINT32_MAX : uint32_t(at);
  return layout;
}

}  // namespace wafer::ir
