// Result files (traces, images, maps) written whole or not at all.
//
// write_file_atomically writes into a temporary file beside the target, `PATH.tmp.<pid>` (the
// same directory, so the rename stays on one file system), flushes and fsyncs it, and renames
// it over PATH. On any failure, an exception included, the temporary file is removed and PATH
// keeps what it held before; the error names the path and the reason. A target that exists
// and is not a regular file (/dev/stdout, a pipe) cannot be replaced, so it is written in place.
//
// While a temporary file exists its path is held in a fixed-size table that a signal handler
// may read: remove_pending_files() unlinks every one with async-signal-safe calls only, so an
// interrupted run (main.cpp's SIGINT handler) leaves neither a partial result nor a stray
// temporary file.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "wafer/support/error.hpp"

namespace wafer {

// Writes the file's bytes into `f`; an error's message is the reason ("no space left on device").
using FileWriter = std::function<Status(std::FILE* f)>;

// `what` names the kind of file in errors ("cannot write trace 'out.json': permission denied");
// empty gives "cannot write 'out.json': ...".
Status write_file_atomically(const std::string& path, const std::string& what, const FileWriter& write);
Status write_file_atomically(const std::string& path, const std::string& what, std::string_view contents);

// Unlinks every temporary file being written now. Async-signal-safe: for signal handlers.
void remove_pending_files() noexcept;

// The C library's message for errno, lower-case like every message of the project.
std::string os_error_text(int error);

}  // namespace wafer
