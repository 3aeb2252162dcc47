// "Did you mean" hints for names a user typed: the Levenshtein edit distance, and the closest
// of a set of candidates within two edits. The program text reader uses it for keywords,
// codes, opcodes and symbols; the estimator for model and system names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

namespace wafer {

// Levenshtein distance: insertions, deletions and substitutions of one character.
size_t edit_distance(std::string_view a, std::string_view b);

// Lower case without dashes, underscores and spaces: the form names users type are compared
// in (`Llama-3-70B` is `llama370b`). Dots stay (gpt3-1.3b and gpt3-13b differ).
std::string normalised_name(std::string_view name);

// The one of `names` that `name` means: the name equal to it in normalised form, else the
// target of the alias (given in normalised form) it equals; nullopt when none.
using NameAlias = std::pair<const char*, const char*>;
std::optional<std::string> canonical_name(std::string_view name, const std::vector<std::string>& names,
                                          const std::vector<NameAlias>& aliases);

// " (did you mean 'x'?)" for the closest candidate within two edits (and fewer edits than
// the name has characters), else "".
std::string suggestion(std::string_view name, const std::vector<std::string_view>& candidates);

}  // namespace wafer
