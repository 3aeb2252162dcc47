// Static checks of a Program against an Arch; see verify.hpp.
//
// The checks run in a fixed order and stop at the first error: the program's size against
// the fabric; each code (names, symbols, tasks, then every instruction's operands against
// its opcode's signature and the arch's register files, task ids and colors); placements
// (inside the program, SRAM from ir::layout_code(), no two on one PE); routes (colors,
// switch positions, nothing sent off the program's edge, no two of one color on one PE);
// the host script (rects, names present on every addressed PE, data sizes, random ranges
// within the symbol's type, stream edges). Overlaps are found by a sweep over y
// that keeps the active x-intervals in an ordered set: a new rectangle can only overlap its
// neighbours there, so the cost is O(n log n) in the number of rectangles whatever their
// area. A host op's PEs that no placement covers are found by sweeping the bands between
// the covering placements' top and bottom edges, O(n log n + area covered).
#include "wafer/ir/verify.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

namespace wafer::ir {

namespace {

constexpr int kSpecials = 5;
constexpr int kDTypes = 5;
constexpr int64_t kMaxStreamValues = int64_t(1) << 24;

std::string pe(int64_t x, int64_t y) { return fmt::format("PE ({},{})", x, y); }

std::string rect_text(const Rect& r) { return fmt::format("({},{}) {}x{}", r.x, r.y, r.w, r.h); }

// "line 12" for text programs, "<kind> 3" for programs built in C++.
std::string where(SourceLoc loc, std::string_view kind, size_t index) {
  return loc.line ? fmt::format("line {}", loc.line) : fmt::format("{} {}", kind, index);
}

// A non-empty rect inside the program.
Status check_rect(const Rect& r, const Program& p) {
  if (r.w < 1 || r.h < 1) return make_error("rect {} is empty", rect_text(r));
  const int64_t x1 = int64_t(r.x) + r.w - 1, y1 = int64_t(r.y) + r.h - 1;
  if (r.x < 0 || r.y < 0 || x1 >= p.width || y1 >= p.height) {
    const bool low = r.x < 0 || r.y < 0;
    return make_error("rect {} covers {}, outside the {} x {} program", rect_text(r),
                      low ? pe(r.x, r.y) : pe(x1, y1), p.width, p.height);
  }
  return Status::ok();
}

std::optional<Rect> intersect(const Rect& a, const Rect& b) {
  const int64_t x0 = std::max<int64_t>(a.x, b.x), y0 = std::max<int64_t>(a.y, b.y);
  const int64_t x1 = std::min(int64_t(a.x) + a.w, int64_t(b.x) + b.w);
  const int64_t y1 = std::min(int64_t(a.y) + a.h, int64_t(b.y) + b.h);
  if (x0 >= x1 || y0 >= y1) return std::nullopt;
  return Rect{int(x0), int(y0), int(x1 - x0), int(y1 - y0)};
}

// Two overlapping rects among `rects` (each non-empty), as indices (lower first).
std::optional<std::pair<size_t, size_t>> find_overlap(const std::vector<Rect>& rects) {
  struct Event {
    int64_t y;
    bool insert;  // removals sort first: a rect ending at y does not meet one starting there
    size_t index;
    bool operator<(const Event& o) const {
      return std::tie(y, insert, index) < std::tie(o.y, o.insert, o.index);
    }
  };
  std::vector<Event> events;
  for (size_t i = 0; i < rects.size(); ++i) {
    events.push_back({rects[i].y, true, i});
    events.push_back({int64_t(rects[i].y) + rects[i].h, false, i});
  }
  std::sort(events.begin(), events.end());
  std::set<std::pair<int64_t, size_t>> active;  // (x, index), pairwise disjoint
  auto ordered = [](size_t a, size_t b) { return std::make_pair(std::min(a, b), std::max(a, b)); };
  for (const Event& e : events) {
    const Rect& r = rects[e.index];
    if (!e.insert) {
      active.erase({r.x, e.index});
      continue;
    }
    auto next = active.lower_bound({r.x, 0});
    if (next != active.end() && next->first < int64_t(r.x) + r.w)
      return ordered(e.index, next->second);
    if (next != active.begin()) {
      const size_t prev = std::prev(next)->second;
      if (int64_t(rects[prev].x) + rects[prev].w > r.x) return ordered(e.index, prev);
    }
    active.insert({r.x, e.index});
  }
  return std::nullopt;
}

// The top-left PE where rects a and b (known to overlap) meet.
std::string meeting_pe(const Rect& a, const Rect& b) {
  return pe(std::max(a.x, b.x), std::max(a.y, b.y));
}

// A PE of `area` that none of `parts` covers; parts lie inside area, do not overlap and
// cover less than all of it.
std::pair<int64_t, int64_t> find_uncovered(const Rect& area, std::vector<Rect> parts) {
  std::sort(parts.begin(), parts.end(), [](const Rect& a, const Rect& b) { return a.y < b.y; });
  std::vector<int64_t> rows = {area.y};
  for (const Rect& r : parts) rows.push_back(int64_t(r.y) + r.h);
  for (const Rect& r : parts) rows.push_back(r.y);
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  std::vector<Rect> active;
  size_t started = 0;
  for (int64_t y : rows) {
    if (y >= int64_t(area.y) + area.h) break;
    while (started < parts.size() && parts[started].y <= y) active.push_back(parts[started++]);
    std::erase_if(active, [y](const Rect& r) { return int64_t(r.y) + r.h <= y; });
    std::sort(active.begin(), active.end(), [](const Rect& a, const Rect& b) { return a.x < b.x; });
    int64_t x = area.x;
    for (const Rect& r : active) {
      if (r.x > x) break;
      x = std::max(x, int64_t(r.x) + r.w);
    }
    if (x < int64_t(area.x) + area.w) return {x, y};
  }
  return {area.x, area.y};
}

// ---------------------------------------------------------------- codes

const char* letter_noun(char letter) {
  switch (letter) {
    case 'r':
      return "a register";
    case 's':
      return "a register, special or immediate";
    case 'd':
      return "a dsd register";
    case 'v':
      return "a dsd register, register, special or immediate";
    case 'l':
      return "a label";
    case 't':
      return "a task";
    case 'c':
      return "a color";
    case 'y':
      return "a symbol";
    case 'T':
      return "a dtype";
    default:
      return "an integer immediate";
  }
}

const char* kind_noun(const Operand& o) {
  switch (o.kind) {
    case Operand::Kind::none:
      return "nothing";
    case Operand::Kind::reg:
      return "a register";
    case Operand::Kind::special:
      return "a special";
    case Operand::Kind::imm:
      return o.imm_is_float ? "a float immediate" : "an immediate";
    case Operand::Kind::dsd:
      return "a dsd register";
    case Operand::Kind::label:
      return "a label";
    case Operand::Kind::task:
      return "a task";
    case Operand::Kind::color:
      return "a color";
    case Operand::Kind::sym:
      return "a symbol";
    case Operand::Kind::dtype:
      return "a dtype";
  }
  return "an invalid operand";
}

bool kind_fits(char letter, const Operand& o, Opcode op) {
  using K = Operand::Kind;
  const bool scalar = o.kind == K::reg || o.kind == K::special || o.kind == K::imm;
  switch (letter) {
    case 'r':
      return o.kind == K::reg;
    case 's':
      return scalar;
    case 'd':
      return o.kind == K::dsd;
    case 'v':
      return scalar || o.kind == K::dsd;
    case 'l':
      return o.kind == K::label;
    case 't':
      return o.kind == K::task;
    case 'c':
      return o.kind == K::color;
    case 'y':
      return o.kind == K::sym;
    case 'T':
      return o.kind == K::dtype;
    default:
      return o.kind == K::imm && (!o.imm_is_float || op == Opcode::movi);
  }
}

Status in_range(std::string_view what, int64_t v, int64_t limit, std::string_view owner,
                std::string_view unit) {
  if (v >= 0 && v < limit) return Status::ok();
  return make_error("{} {} is out of range (the {} has {} {})", what, v, owner, limit, unit);
}

// The value of an operand whose kind is right: in range for the arch and the code.
Status check_value(const Code& code, const Operand& o, const arch::Arch& arch) {
  const int64_t v = o.value;
  const int64_t instrs = int64_t(code.instrs.size()), symbols = int64_t(code.symbols.size());
  switch (o.kind) {
    case Operand::Kind::reg:
      return in_range("register", v, arch.registers, "arch", "registers");
    case Operand::Kind::dsd:
      return in_range("dsd register", v, arch.dsd_registers, "arch", "dsd registers");
    case Operand::Kind::color:
      return in_range("color", v, arch.colors, "arch", "colors");
    case Operand::Kind::label:
      return in_range("label target", v, instrs, "code", "instructions");
    case Operand::Kind::sym:
      return in_range("symbol index", v, symbols, "code", "symbols");
    case Operand::Kind::special:
      return in_range("special", v, kSpecials, "machine", "specials");
    case Operand::Kind::dtype:
      return in_range("dtype", v, kDTypes, "machine", "dtypes");
    case Operand::Kind::task:
      if (code.task_by_id(o.value) == nullptr)
        return make_error("task id {} names no task of the code", v);
      return Status::ok();
    default:
      return Status::ok();
  }
}

Status check_completion(const Code& code, const Instr& in, const arch::Arch& arch) {
  const char* name = op_info(in.op).name;
  if (in.async && !op_info(in.op).is_vector) {
    return make_error("'{}' cannot be async (only vector ops can)", name);
  }
  if (in.async && arch.microthreads <= 0) {
    return make_error("async '{}' needs a microthread but the arch has none", name);
  }
  if (in.on_done == OnDone::none) {
    if (in.done_task != -1) return make_error("completion task {} without 'then'", in.done_task);
    return Status::ok();
  }
  if (unsigned(in.on_done) > unsigned(OnDone::unblock))
    return make_error("invalid completion action");
  if (!in.async) return make_error("'then' on '{}' needs 'async'", name);
  if (code.task_by_id(in.done_task) == nullptr) {
    return make_error("completion task id {} names no task of the code", in.done_task);
  }
  return Status::ok();
}

Status check_instr(const Code& code, const Instr& in, const arch::Arch& arch) {
  if (unsigned(in.op) >= unsigned(Opcode::count_))
    return make_error("invalid opcode {}", unsigned(in.op));
  const std::string_view sig = op_info(in.op).signature;
  const char* name = op_info(in.op).name;
  for (size_t i = 0; i < in.args.size(); ++i) {
    const Operand& o = in.args[i];
    if (i >= sig.size()) {
      if (o.kind != Operand::Kind::none) {
        return make_error("'{}' takes {} operands but operand {} is set", name, sig.size(), i + 1);
      }
      continue;
    }
    if (!kind_fits(sig[i], o, in.op)) {
      return make_error("operand {} of '{}' must be {}, found {}", i + 1, name, letter_noun(sig[i]),
                        kind_noun(o));
    }
    WAFER_TRY(
        check_value(code, o, arch).with_context(fmt::format("operand {} of '{}'", i + 1, name)));
  }
  return check_completion(code, in, arch);
}

Status check_instrs(const Code& code, const arch::Arch& arch) {
  std::vector<std::pair<uint32_t, size_t>> entries;  // (entry, task), to name an owner fast
  for (size_t i = 0; i < code.tasks.size(); ++i) entries.push_back({code.tasks[i].entry, i});
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i < code.instrs.size(); ++i) {
    const Status st = check_instr(code, code.instrs[i], arch);
    if (st) continue;
    auto it =
        std::upper_bound(entries.begin(), entries.end(), std::make_pair(uint32_t(i), SIZE_MAX));
    const Task* task = it == entries.begin() ? nullptr : &code.tasks[std::prev(it)->second];
    const std::string in_task = task ? fmt::format(", task '{}'", task->name) : "";
    return st.with_context(fmt::format("code '{}'{}, {}", code.name, in_task,
                                       where(code.instrs[i].loc, "instruction", i)));
  }
  return Status::ok();
}

Status check_task(const Code& code, const Task& t, const arch::Arch& arch) {
  if (unsigned(t.kind) > unsigned(TaskKind::control)) return make_error("invalid task kind");
  WAFER_TRY(in_range("task id", t.id, arch.task_ids, "arch", "task ids"));
  if (t.kind == TaskKind::data && t.color < 0) return make_error("a data task needs a color");
  if (t.color != -1) WAFER_TRY(in_range("color", t.color, arch.colors, "arch", "colors"));
  if (t.entry >= code.instrs.size()) {
    return make_error("entry {} is past the code's {} instructions (the task has no code)", t.entry,
                      code.instrs.size());
  }
  return Status::ok();
}

Status check_tasks(const Code& code, const arch::Arch& arch) {
  std::set<std::string_view> names;
  std::map<int, size_t> ids;  // task id -> index of its first task
  for (size_t i = 0; i < code.tasks.size(); ++i) {
    const Task& t = code.tasks[i];
    const std::string at = fmt::format("code '{}', task '{}'", code.name, t.name);
    if (!names.insert(t.name).second) return make_error("{}: the name is used twice", at);
    if (auto [it, fresh] = ids.emplace(t.id, i); !fresh) {
      return make_error("{}: task id {} is also used by task '{}'", at, t.id,
                        code.tasks[it->second].name);
    }
    WAFER_TRY(check_task(code, t, arch).with_context(at));
  }
  return Status::ok();
}

Status check_symbols(const Code& code) {
  std::set<std::string_view> names;
  for (const Symbol& s : code.symbols) {
    const std::string at = fmt::format("code '{}', symbol '{}'", code.name, s.name);
    if (!names.insert(s.name).second) return make_error("{}: the name is used twice", at);
    if (unsigned(s.type) >= unsigned(kDTypes)) return make_error("{}: invalid dtype", at);
    if (s.count == 0) return make_error("{}: has no elements", at);
  }
  return Status::ok();
}

Status check_codes(const Program& p, const arch::Arch& arch) {
  if (p.codes.size() > kMaxCodes) {
    return make_error("the program has {} codes; at most {} are supported (PEs that run the same "
                      "instructions can share one code and branch on the specials x and y)",
                      p.codes.size(), kMaxCodes);
  }
  std::set<std::string_view> names;
  for (const Code& code : p.codes) {
    if (!names.insert(code.name).second) return make_error("two codes are named '{}'", code.name);
    WAFER_TRY(check_symbols(code));
    WAFER_TRY(check_tasks(code, arch));
    WAFER_TRY(check_instrs(code, arch));
  }
  return Status::ok();
}

// ---------------------------------------------------------------- placements and routes

std::string pair_text(SourceLoc a, SourceLoc b, std::string_view kind,
                      std::pair<size_t, size_t> indices) {
  return fmt::format("{} and {}", where(a, kind, indices.first), where(b, kind, indices.second));
}

Status check_placements(const Program& p, const arch::Arch& arch) {
  std::vector<Rect> rects;
  for (size_t i = 0; i < p.placements.size(); ++i) {
    const Placement& pl = p.placements[i];
    const std::string at = fmt::format("placement at {}", where(pl.loc, "index", i));
    if (pl.code < 0 || size_t(pl.code) >= p.codes.size()) {
      return make_error("{}: code {} does not exist (the program has {} codes)", at, pl.code,
                        p.codes.size());
    }
    WAFER_TRY(check_rect(pl.rect, p).with_context(at));
    const Code& code = p.codes[size_t(pl.code)];
    const uint32_t bytes = layout_code(code).bytes;
    if (int64_t(bytes) > arch.sram_bytes) {
      const Rect& r = pl.rect;
      return make_error("code '{}' needs {} bytes of SRAM on {}..({},{}) but the arch has {}",
                        code.name, bytes, pe(r.x, r.y), r.x + r.w - 1, r.y + r.h - 1,
                        arch.sram_bytes);
    }
    rects.push_back(pl.rect);
  }
  if (auto both = find_overlap(rects)) {
    const Placement& a = p.placements[both->first];
    const Placement& b = p.placements[both->second];
    return make_error("two placements on {}: {}", meeting_pe(a.rect, b.rect),
                      pair_text(a.loc, b.loc, "placement", *both));
  }
  return Status::ok();
}

// Wavelets sent out of the program's rectangle would leave the fabric: an error, unlike
// receiving from an edge, which is how host streams enter.
Status check_edges(const Rect& r, PortMask tx, const Program& p) {
  const int64_t right = int64_t(r.x) + r.w - 1, bottom = int64_t(r.y) + r.h - 1;
  const std::pair<Dir, std::pair<int64_t, int64_t>> edges[] = {
      {Dir::north, {r.x, r.y == 0 ? 0 : -1}},
      {Dir::east, {right == p.width - 1 ? right : -1, r.y}},
      {Dir::south, {r.x, bottom == p.height - 1 ? bottom : -1}},
      {Dir::west, {r.x == 0 ? 0 : -1, r.y}}};
  for (const auto& [dir, at] : edges) {
    if ((tx & port_bit(dir)) && at.first >= 0 && at.second >= 0) {
      return make_error("{} sends {} off the edge of the {} x {} program", pe(at.first, at.second),
                        dir_name(dir), p.width, p.height);
    }
  }
  return Status::ok();
}

Status check_route(const Route& r, const Program& p, const arch::Arch& arch) {
  WAFER_TRY(in_range("color", r.color, arch.colors, "arch", "colors"));
  WAFER_TRY(check_rect(r.rect, p));
  if (r.positions.empty()) return make_error("the route has no positions");
  if (r.positions.size() > size_t(std::max(arch.switch_positions, 0))) {
    return make_error("{} switch positions but the arch allows {}", r.positions.size(),
                      arch.switch_positions);
  }
  constexpr PortMask kAll = 0x1f;
  for (size_t i = 0; i < r.positions.size(); ++i) {
    const RoutePosition& pos = r.positions[i];
    if ((pos.rx | pos.tx) & ~kAll) return make_error("position {} has invalid port bits", i);
    if (pos.rx == 0) return make_error("position {} receives from no port (rx is empty)", i);
    if (pos.tx == 0) return make_error("position {} sends to no port (tx is empty)", i);
    WAFER_TRY(check_edges(r.rect, pos.tx, p).with_context(fmt::format("position {}", i)));
  }
  return Status::ok();
}

Status check_routes(const Program& p, const arch::Arch& arch) {
  for (size_t i = 0; i < p.routes.size(); ++i) {
    const Route& r = p.routes[i];
    const std::string at =
        fmt::format("route for color {} at {}", r.color, where(r.loc, "index", i));
    WAFER_TRY(check_route(r, p, arch).with_context(at));
  }
  std::vector<size_t> order(p.routes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return p.routes[a].color < p.routes[b].color; });
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin;
    std::vector<Rect> rects;
    while (end < order.size() && p.routes[order[end]].color == p.routes[order[begin]].color) {
      rects.push_back(p.routes[order[end++]].rect);
    }
    if (auto both = find_overlap(rects)) {
      const size_t a = order[begin + both->first], b = order[begin + both->second];
      const Route& ra = p.routes[std::min(a, b)];
      const Route& rb = p.routes[std::max(a, b)];
      return make_error("two routes for color {} on {}: {}", ra.color, meeting_pe(ra.rect, rb.rect),
                        pair_text(ra.loc, rb.loc, "route", {std::min(a, b), std::max(a, b)}));
    }
    begin = end;
  }
  return Status::ok();
}

// ---------------------------------------------------------------- host

// Names the PEs of `op.rect` use: every placed code must have the symbol (h2d, d2h) or
// task (launch), and every PE must have a code. Collects the symbol of each code.
Status check_host_names(const Program& p, const HostOp& op, std::vector<const Symbol*>& symbols) {
  const bool task = op.kind == HostOp::Kind::launch;
  std::vector<char> seen(p.codes.size(), 0);
  std::vector<Rect> covered;
  int64_t area = 0;
  for (const Placement& pl : p.placements) {
    const std::optional<Rect> part = intersect(pl.rect, op.rect);
    if (!part) continue;
    covered.push_back(*part);
    area += part->area();
    if (seen[size_t(pl.code)]) continue;
    seen[size_t(pl.code)] = 1;
    const Code& code = p.codes[size_t(pl.code)];
    const int symbol = code.find_symbol(op.name);
    if (task ? code.find_task(op.name) == nullptr : symbol < 0) {
      return make_error("{} runs code '{}', which has no {} '{}'", pe(part->x, part->y), code.name,
                        task ? "task" : "symbol", op.name);
    }
    if (!task) symbols.push_back(&code.symbols[size_t(symbol)]);
  }
  if (area < op.rect.area()) {
    const auto [x, y] = find_uncovered(op.rect, std::move(covered));
    return make_error("{} has no code placed on it", pe(x, y));
  }
  return Status::ok();
}

// Random values lie in [lo, hi) with lo < hi, both within every symbol type's finite range,
// so that no value becomes infinite or saturates.
Status check_random(const HostData& d, const std::vector<const Symbol*>& symbols) {
  if (d.kind != HostData::Kind::random) return Status::ok();
  if (!(d.a < d.b)) return make_error("random values need lo < hi, found {} and {}", d.a, d.b);
  for (const Symbol* s : symbols) {
    const DTypeRange r = dtype_range(s->type);
    if (!(d.a >= r.lo && d.b <= r.hi)) {
      return make_error("random range [{}, {}) exceeds the {} values of symbol '{}' ({}..{})", d.a,
                        d.b, dtype_name(s->type), s->name, r.lo, r.hi);
    }
  }
  return Status::ok();
}

// An h2d's value list has `count` values per PE (each PE's own) or `count` in all (copied to
// every PE), for the symbol's count in each code on the rect.
Status check_h2d_data(const HostOp& op, const std::vector<const Symbol*>& symbols) {
  WAFER_TRY(check_random(op.data, symbols));
  if (op.data.kind != HostData::Kind::values) return Status::ok();
  const size_t n = op.data.values.size();
  const int64_t pes = op.rect.area();
  const bool uniform = std::all_of(symbols.begin(), symbols.end(),
                                   [&](const Symbol* s) { return s->count == symbols[0]->count; });
  for (const Symbol* s : symbols) {
    const uint32_t c = s->count;
    if (n == c || (uniform && int64_t(n) == int64_t(c) * pes)) continue;
    return make_error(
        "{} values, but symbol '{}' has {} elements per PE (give {}, or {} for the "
        "{} PEs)",
        n, op.name, c, c, int64_t(c) * pes, pes);
  }
  return Status::ok();
}

Status check_stream(const HostOp& op, const Program& p, const arch::Arch& arch) {
  WAFER_TRY(in_range("color", op.color, arch.colors, "arch", "colors"));
  if (unsigned(op.stream_type) >= unsigned(kDTypes)) return make_error("invalid dtype");
  if (unsigned(op.edge) >= unsigned(Dir::ramp))
    return make_error("a stream must enter from N, E, S or W");
  const Rect& r = op.rect;
  const bool on_edge = op.edge == Dir::west    ? r.x == 0 && r.w == 1
                       : op.edge == Dir::east  ? int64_t(r.x) + r.w == p.width && r.w == 1
                       : op.edge == Dir::north ? r.y == 0 && r.h == 1
                                               : int64_t(r.y) + r.h == p.height && r.h == 1;
  if (!on_edge) {
    const bool column = op.edge == Dir::west || op.edge == Dir::east;
    return make_error("a stream from {} must address one {} on that edge of the program, found {}",
                      dir_name(op.edge), column ? "column" : "row", rect_text(r));
  }
  if (op.data.kind != HostData::Kind::values) {
    return make_error(
        "a stream needs an explicit value list (fill, iota and random take their "
        "length from a symbol, so only h2d has them)");
  }
  if (op.data.values.empty() || int64_t(op.data.values.size()) > kMaxStreamValues) {
    return make_error("a stream needs 1 to {} values, found {}", kMaxStreamValues,
                      op.data.values.size());
  }
  return Status::ok();
}

const char* host_kind_name(HostOp::Kind k) {
  switch (k) {
    case HostOp::Kind::h2d:
      return "h2d";
    case HostOp::Kind::d2h:
      return "d2h";
    case HostOp::Kind::launch:
      return "launch";
    case HostOp::Kind::stream_in:
      return "stream";
  }
  return "?";
}

Status check_host_op(const Program& p, const HostOp& op, const arch::Arch& arch) {
  if (unsigned(op.kind) > unsigned(HostOp::Kind::stream_in))
    return make_error("invalid host operation");
  WAFER_TRY(check_rect(op.rect, p));
  if (op.kind == HostOp::Kind::stream_in) return check_stream(op, p, arch);
  std::vector<const Symbol*> symbols;
  WAFER_TRY(check_host_names(p, op, symbols));
  return op.kind == HostOp::Kind::h2d ? check_h2d_data(op, symbols) : Status::ok();
}

Status check_host(const Program& p, const arch::Arch& arch) {
  for (size_t i = 0; i < p.host.size(); ++i) {
    const HostOp& op = p.host[i];
    const std::string what = op.kind == HostOp::Kind::stream_in
                                 ? fmt::format("host stream on color {}", op.color)
                                 : fmt::format("host {} of '{}'", host_kind_name(op.kind), op.name);
    WAFER_TRY(check_host_op(p, op, arch)
                  .with_context(fmt::format("{} at {}", what, where(op.loc, "index", i))));
  }
  return Status::ok();
}

Status check_fabric(const Program& p, const arch::Arch& arch) {
  if (p.width < 1 || p.height < 1)
    return make_error("the program is {} x {} PEs, which is empty", p.width, p.height);
  if (p.width > arch.fabric_width || p.height > arch.fabric_height) {
    return make_error("the program is {} x {} PEs but the fabric of arch '{}' is {} x {}", p.width,
                      p.height, arch.name, arch.fabric_width, arch.fabric_height);
  }
  return Status::ok();
}

}  // namespace

Status verify(const Program& program, const arch::Arch& arch) {
  WAFER_TRY(check_fabric(program, arch));
  WAFER_TRY(check_codes(program, arch));
  WAFER_TRY(check_placements(program, arch));
  WAFER_TRY(check_routes(program, arch));
  return check_host(program, arch);
}

}  // namespace wafer::ir
