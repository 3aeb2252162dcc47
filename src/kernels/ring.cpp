// The interleaved ring and its one-position shift: flows, colors, routes (see ring.hpp).
//
// Colors are assigned greedily, flow by flow in ring order: a flow takes the first color that
// no PE on its path (sender, the PE passed through, receiver) already uses in another flow.
// On the interleaved ring this needs four colors for n >= 4 (two per direction, alternating),
// fewer for shorter lines.
#include "ring.hpp"

#include <algorithm>
#include <map>

namespace wafer::kernels {

std::vector<int> interleaved_ring(int n) {
  std::vector<int> ring;
  for (int c = 0; c < n; c += 2) ring.push_back(c);
  for (int c = (n % 2 == 0) ? n - 1 : n - 2; c >= 1; c -= 2) ring.push_back(c);
  return ring;
}

std::vector<int> ring_positions(const std::vector<int>& ring) {
  std::vector<int> pos(ring.size());
  for (size_t l = 0; l < ring.size(); ++l) pos[size_t(ring[l])] = int(l);
  return pos;
}

namespace {

std::vector<int> path(const RingFlow& f) {
  std::vector<int> pes;
  const int step = f.to > f.from ? 1 : -1;
  for (int c = f.from;; c += step) {
    pes.push_back(c);
    if (c == f.to) break;
  }
  return pes;
}

}  // namespace

Expected<RingShift> plan_ring_shift(int n, Pool& colors, const std::string& user) {
  RingShift s;
  if (n < 2) {
    s.case_of.assign(size_t(std::max(n, 0)), -1);
    return s;
  }
  const std::vector<int> ring = interleaved_ring(n);
  std::vector<std::vector<int>> used(static_cast<size_t>(n));  // colors in use at each PE
  std::vector<int> palette;                        // indices into s.colors
  for (int l = 0; l < n; ++l) {
    RingFlow f{ring[size_t(l)], ring[size_t((l + n - 1) % n)], -1};
    const std::vector<int> pes = path(f);
    for (int k = 0;; ++k) {
      if (k == int(s.colors.size())) {
        auto c = colors.take(user);
        if (!c) return c.status();
        s.colors.push_back(*c);
      }
      const int c = s.colors[size_t(k)];
      const bool free = std::none_of(pes.begin(), pes.end(), [&](int pe) {
        return std::count(used[size_t(pe)].begin(), used[size_t(pe)].end(), c) > 0;
      });
      if (!free) continue;
      f.color = c;
      for (int pe : pes) used[size_t(pe)].push_back(c);
      break;
    }
    s.flows.push_back(f);
  }
  std::vector<int> send(static_cast<size_t>(n)), recv(static_cast<size_t>(n));
  for (const RingFlow& f : s.flows) {
    send[size_t(f.from)] = f.color;
    recv[size_t(f.to)] = f.color;
  }
  std::map<std::pair<int, int>, int> index;
  for (int c = 0; c < n; ++c) {
    auto [it, added] = index.emplace(std::make_pair(send[size_t(c)], recv[size_t(c)]), int(s.cases.size()));
    if (added) s.cases.push_back(it->first);
    s.case_of.push_back(it->second);
  }
  return s;
}

void ring_shift_routes(ir::Program& p, const Axis& a, const ir::Rect& rect, const RingShift& s) {
  const ir::PortMask R = ir::port_bit(ir::Dir::ramp);
  for (const RingFlow& f : s.flows) {
    const ir::Dir out = f.to > f.from ? a.away : a.toward;
    const ir::Dir in = f.to > f.from ? a.toward : a.away;
    for (int c : path(f)) {
      const ir::PortMask rx = c == f.from ? R : ir::port_bit(in);
      const ir::PortMask tx = c == f.to ? R : ir::port_bit(out);
      ir::add_route(p, slice(a, rect, c), f.color, rx, tx);
    }
  }
}

}  // namespace wafer::kernels
