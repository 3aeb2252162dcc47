// The one check every verb makes on its output paths (--trace, --heatmap, --plot, --map,
// --save-map) before any long work starts, so that a run is not wasted on a file it cannot
// write. Nothing is created: the files are written later, atomically
// (support/atomic_file.hpp), so the check is that the path is not a directory and that its
// directory exists and is writable (or, for an existing file that is not a regular one, such
// as /dev/stdout, that the file itself is writable).
#pragma once

#include <string>

#include "wafer/support/error.hpp"

namespace wafer::cli {

// An error names the flag, the path and the reason. `extension` (".png"), when given and the
// path does not end with it, is a warning on stderr: the file is written in that format anyway.
Status check_output_path(const std::string& flag, const std::string& path, const char* extension = nullptr);

}  // namespace wafer::cli
