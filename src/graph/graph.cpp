// The graph IR's plain parts: element types and their names, shapes, attribute lookups with
// defaults (a present attribute of the wrong kind is an error naming the node and the key),
// and the Graph's value list. The op table, shape inference and verification are in
// op_table.cpp.
#include <algorithm>
#include <cstring>
#include <limits>
#include <fmt/format.h>

#include "ops.hpp"

namespace wafer::graph {

namespace {

struct ElemName {
  ElemType type;
  const char* name;
  int onnx_code;
};

constexpr ElemName kElems[] = {
    {ElemType::f32, "f32", 1},   {ElemType::f16, "f16", 10}, {ElemType::bf16, "bf16", 16},
    {ElemType::f64, "f64", 11},  {ElemType::i64, "i64", 7},  {ElemType::i32, "i32", 6},
    {ElemType::i8, "i8", 3},     {ElemType::u8, "u8", 2},    {ElemType::boolean, "bool", 9},
};

const char* attr_kind(const Attr& a) {
  switch (a.index()) {
    case 0: return "an int";
    case 1: return "a float";
    case 2: return "a string";
    case 3: return "a list of ints";
    case 4: return "a list of floats";
    default: return "a tensor";
  }
}

// The attribute `key` as alternative T, the fallback when absent, or an error.
template <typename T>
Expected<T> lookup(const Node& node, const std::string& key, std::optional<T> fallback, const char* want) {
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) {
    if (fallback) return *fallback;
    return make_error("{}: missing attribute '{}'", node_label(node), key);
  }
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return make_error("{}: attribute '{}' is {}, expected {}", node_label(node), key, attr_kind(it->second), want);
}

}  // namespace

std::string_view elem_name(ElemType t) {
  for (const ElemName& e : kElems)
    if (e.type == t) return e.name;
  return "?";
}

std::optional<ElemType> parse_elem(std::string_view name) {
  for (const ElemName& e : kElems)
    if (name == e.name) return e.type;
  return std::nullopt;
}

std::optional<ElemType> elem_from_onnx(int64_t code) {
  for (const ElemName& e : kElems)
    if (code == e.onnx_code) return e.type;
  return std::nullopt;
}

bool elem_is_float(ElemType t) {
  return t == ElemType::f32 || t == ElemType::f16 || t == ElemType::bf16 || t == ElemType::f64;
}

int elem_bytes(ElemType t) {
  switch (t) {
    case ElemType::f64:
    case ElemType::i64: return 8;
    case ElemType::f32:
    case ElemType::i32: return 4;
    case ElemType::f16:
    case ElemType::bf16: return 2;
    case ElemType::i8:
    case ElemType::u8:
    case ElemType::boolean: return 1;
  }
  return 1;
}

double load_element(ElemType t, const char* bytes) {
  auto load = [bytes](auto v) {
    std::memcpy(&v, bytes, sizeof v);
    return v;
  };
  switch (t) {
    case ElemType::f32: return load(float());
    case ElemType::f64: return load(double());
    case ElemType::f16: return f16_to_double(load(uint16_t()));
    case ElemType::bf16: return bf16_to_double(load(uint16_t()));
    case ElemType::i64: return double(load(int64_t()));
    case ElemType::i32: return load(int32_t());
    case ElemType::i8: return load(int8_t());
    case ElemType::u8: return load(uint8_t());
    case ElemType::boolean: return load(uint8_t()) != 0;
  }
  return 0;
}

int64_t element_count(const Shape& s) {
  for (int64_t d : s)
    if (d <= 0) return 0;
  int64_t n = 1;
  for (int64_t d : s) {
    if (n > std::numeric_limits<int64_t>::max() / d) return std::numeric_limits<int64_t>::max();
    n *= d;
  }
  return n;
}

std::string shape_text(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ",")); }

Expected<int64_t> Node::attr_int(const std::string& key, std::optional<int64_t> fallback) const {
  return lookup<int64_t>(*this, key, fallback, "an int");
}

Expected<double> Node::attr_float(const std::string& key, std::optional<double> fallback) const {
  auto it = attrs.find(key);
  if (it != attrs.end())
    if (const int64_t* i = std::get_if<int64_t>(&it->second)) return double(*i);
  return lookup<double>(*this, key, fallback, "a float");
}

Expected<std::string> Node::attr_string(const std::string& key, std::optional<std::string> fallback) const {
  return lookup<std::string>(*this, key, std::move(fallback), "a string");
}

Expected<std::vector<int64_t>> Node::attr_ints(const std::string& key,
                                               std::optional<std::vector<int64_t>> fallback) const {
  return lookup<std::vector<int64_t>>(*this, key, std::move(fallback), "a list of ints");
}

int Graph::add_value(Value v) {
  values.push_back(std::move(v));
  return int(values.size()) - 1;
}

bool Graph::is_input(int id) const { return std::find(inputs.begin(), inputs.end(), id) != inputs.end(); }

int Graph::find_value(const std::string& value_name) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == value_name) return int(i);
  return -1;
}

}  // namespace wafer::graph
