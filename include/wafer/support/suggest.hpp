// "Did you mean" hints for names a user typed: the Levenshtein edit distance, and the closest
// of a set of candidates within two edits. The program text reader uses it for keywords,
// codes, opcodes and symbols; the estimator for model and system names.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace wafer {

// Levenshtein distance: insertions, deletions and substitutions of one character.
size_t edit_distance(std::string_view a, std::string_view b);

// " (did you mean 'x'?)" for the closest candidate within two edits (and fewer edits than
// the name has characters), else "".
std::string suggestion(std::string_view name, const std::vector<std::string_view>& candidates);

}  // namespace wafer
