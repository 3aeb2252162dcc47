// NumPy .npy reading and writing (wafer/graph/npy.hpp).
//
// A file is the magic "\x93NUMPY", a major and minor version byte, the header length (2 bytes
// little-endian in version 1, 4 in versions 2 and 3), and a header: a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (4, 32), } padded with spaces to a multiple
// of 64 bytes and ended by a newline; then the elements, C order. The reader parses the three
// keys it needs from that literal (a tiny scanner, not a Python parser: the format fixes the
// keys and the value forms) and refuses big-endian and Fortran-order data by name.
#include "wafer/graph/npy.hpp"

#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "wafer/support/atomic_file.hpp"
#include "wafer/support/numeric.hpp"

namespace wafer::graph {

namespace {

constexpr char kMagic[] = "\x93NUMPY";

struct Descr {
  const char* text;
  ElemType type;
  int bytes;
};
constexpr Descr kDescrs[] = {
    {"<f4", ElemType::f32, 4}, {"<f2", ElemType::f16, 2}, {"<f8", ElemType::f64, 8}, {"<i8", ElemType::i64, 8},
    {"<i4", ElemType::i32, 4}, {"|i1", ElemType::i8, 1},  {"|u1", ElemType::u8, 1},  {"|b1", ElemType::boolean, 1},
};

const Descr* descr_of(ElemType t) {
  if (t == ElemType::bf16) t = ElemType::f32;
  for (const Descr& d : kDescrs)
    if (d.type == t) return &d;
  return nullptr;
}

// The text after `'key':` in the header dict, up to the next top-level comma or the end.
Expected<std::string> header_value(const std::string& header, const std::string& key, const std::string& path) {
  const size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) return make_error("{}: the .npy header has no '{}' key: {}", path, key, header);
  size_t p = header.find(':', at);
  if (p == std::string::npos) return make_error("{}: the .npy header's '{}' has no value", path, key);
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  const size_t end = header[p] == '(' ? header.find(')', p) + 1 : header.find_first_of(",}", p);
  return header.substr(p, end - p);
}

Expected<Shape> parse_shape(const std::string& text, const std::string& path) {
  auto bad = [&] { return make_error("{}: the .npy shape {} is not a tuple of sizes", path, text); };
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return bad();
  Shape s;
  std::string digits;
  for (char c : text.substr(1)) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == ',' || c == ')') {
      if (digits.empty()) continue;
      if (digits.size() > 12) return make_error("{}: the .npy shape {} has a size above 10^12", path, text);
      s.push_back(std::stoll(digits));
      digits.clear();
    } else if (c != ' ' && c != 'L') {
      return bad();
    }
  }
  return s;
}

void store_element(ElemType t, double v, std::string& out) {
  auto store = [&out](auto x) { out.append(reinterpret_cast<const char*>(&x), sizeof x); };
  switch (t) {
    case ElemType::f32:
    case ElemType::bf16: store(float(v)); break;
    case ElemType::f16: store(double_to_f16(v)); break;
    case ElemType::f64: store(v); break;
    case ElemType::i64: store(int64_t(v)); break;
    case ElemType::i32: store(int32_t(v)); break;
    case ElemType::i8: store(int8_t(v)); break;
    case ElemType::u8: store(uint8_t(v)); break;
    case ElemType::boolean: store(uint8_t(v != 0)); break;
  }
}

}  // namespace

Expected<Tensor> read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("{}: cannot open the file", path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0)
    return make_error("{}: not a NumPy .npy file (no \\x93NUMPY magic)", path);
  const int major = uint8_t(bytes[6]);
  if (major < 1 || major > 3) return make_error("{}: .npy format version {} is not supported (1-3 are)", path, major);
  const size_t len_bytes = major == 1 ? 2 : 4;
  uint32_t header_len = 0;
  std::memcpy(&header_len, bytes.data() + 8, len_bytes);
  const size_t data_at = 8 + len_bytes + header_len;
  if (bytes.size() < data_at) return make_error("{}: the .npy header is cut short", path);
  const std::string header = bytes.substr(8 + len_bytes, header_len);
  auto descr = header_value(header, "descr", path);
  auto order = header_value(header, "fortran_order", path);
  auto shape_text = header_value(header, "shape", path);
  if (!descr) return descr.status();
  if (!order) return order.status();
  if (!shape_text) return shape_text.status();
  if (*order != "False") return make_error("{}: Fortran-order arrays are not supported (save np.ascontiguousarray(a))", path);
  const Descr* d = nullptr;
  for (const Descr& c : kDescrs)
    if (*descr == fmt::format("'{}'", c.text)) d = &c;
  if (!d)
    return make_error("{}: dtype {} is not supported (little-endian float16/32/64, int8/32/64, uint8, bool are)",
                      path, *descr);
  auto shape = parse_shape(*shape_text, path);
  if (!shape) return shape.status();
  Tensor t{d->type, *shape, {}};
  const int64_t n = element_count(t.shape);
  if (int64_t(bytes.size() - data_at) != n * d->bytes)
    return make_error("{}: {} bytes of data, the shape {} of {} needs {}", path, bytes.size() - data_at,
                      graph::shape_text(t.shape), d->text, n * d->bytes);
  t.values.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i) t.values.push_back(load_element(d->type, bytes.data() + data_at + i * d->bytes));
  return t;
}

Status write_npy(const std::string& path, const Tensor& t) {
  const Descr* d = descr_of(t.type);
  // A Python tuple: "()", "(4,)", "(4, 32)".
  std::string shape = fmt::format("{}", fmt::join(t.shape, ", "));
  if (t.shape.size() == 1) shape += ',';
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", d->text, shape);
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out(kMagic, 6);
  out += char(1);
  out += char(0);
  const uint16_t len = uint16_t(header.size());
  out.append(reinterpret_cast<const char*>(&len), 2);
  out += header;
  for (double v : t.values) store_element(t.type, v, out);
  return write_file_atomically(path, "NumPy array", out);
}

}  // namespace wafer::graph
