// "Did you mean" hints (see suggest.hpp): one row of the Levenshtein table at a time, and
// the candidate at the smallest distance, if it is within two edits. Names over 64
// characters get no hint, so the quadratic table stays small.
#include "wafer/support/suggest.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace wafer {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggestion(std::string_view name, const std::vector<std::string_view>& candidates) {
  constexpr size_t kMaxLength = 64;
  if (name.size() > kMaxLength) return "";
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view c : candidates) {
    if (c.size() > kMaxLength) continue;
    const size_t d = edit_distance(name, c);
    if (d < best_distance && d < name.size()) {
      best = c;
      best_distance = d;
    }
  }
  return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

std::string normalised_name(std::string_view name) {
  std::string out;
  for (char c : name)
    if (c != '-' && c != '_' && c != ' ') out += char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> canonical_name(std::string_view name, const std::vector<std::string>& names,
                                          const std::vector<NameAlias>& aliases) {
  const std::string key = normalised_name(name);
  for (const std::string& n : names)
    if (normalised_name(n) == key) return n;
  for (const auto& [alias, target] : aliases)
    if (key == alias) return std::string(target);
  return std::nullopt;
}

}  // namespace wafer
