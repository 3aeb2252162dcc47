// The program text format: a hand-written lexer, a recursive-descent parser and a printer
// (text.hpp; the user reference is docs/program-format.md).
//
// Grammar. A statement ends at a newline, at ';' or before a closing '}'; '#' starts a
// comment that runs to the end of the line; NAME is an identifier or a "quoted string"
// (escapes \\ \" \n \t \xHH; valid UTF-8 once unescaped); INT is decimal or 0x hex,
// optionally negative.
//
//   file     := 'program' INT INT { top }                      (program comes first)
//   top      := 'arch' NAME | code | place | route | host
//   code     := 'code' NAME '{' { 'sym' NAME DTYPE INT | task | label | instr } '}'
//   task     := 'task' NAME KIND INT ['color' INT] ['blocked']
//               ( '{' { label | instr } '}' | 'at' LABEL )
//   label    := IDENT ':'                                      (local to its code)
//   instr    := OPCODE [operand {',' operand}] ['async'] ['then' ('activate'|'unblock') NAME]
//   place    := 'place' NAME rect                 rect := INT INT INT INT      (x y w h)
//   route    := 'route' INT rect position {'|' position}
//   position := 'rx' PORT {',' PORT} 'tx' PORT {',' PORT}
//   host     := 'host' '{' { hostop } '}'
//   hostop   := 'h2d' NAME rect data | 'd2h' NAME rect | 'launch' NAME rect
//             | 'stream' INT SIDE rect DTYPE data
//   data     := 'values' NUM {NUM} | 'fill' NUM | 'iota' NUM NUM | 'random' INT NUM NUM
//
// An instruction's operands are read as its opcode's signature (program.hpp) says, so a word
// means what its position makes it: `x` is a special as a scalar source and a symbol name
// where a symbol is expected. Label, task and symbol names are resolved when their code
// closes, so they may be used before they are declared. The lexer turns the whole text into
// tokens first and ends the list with an error token at the first bad character; the parser
// reports the first error only, as `FILE:LINE:COL: message`. Nesting is fixed (code { task
// { } }), every loop consumes a token, and every count is bounded (sizes 2^20, elements and
// values 2^24), so no input crashes, hangs or allocates more than a multiple of its size.
//
// The printer writes canonical text: tasks as blocks when, in declaration order, they own
// consecutive instruction ranges starting at 0; otherwise a flat instruction list with
// `task ... at LABEL` headers. Labels are named L<index>; floats are written in shortest
// round-trip form. Printing and parsing again gives an equal Program for every parsed
// program and every program that passes verify() (NaN payloads excepted: all NaNs print as
// `nan`).
#include "wafer/ir/text.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>

#include "wafer/support/suggest.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer::ir {

namespace {

constexpr int64_t kMaxExtent = int64_t(1) << 20;    // program sizes, rect coordinates
constexpr int64_t kMaxElements = int64_t(1) << 24;  // symbol elements, host values
constexpr size_t kMaxPositions = 64;                // switch positions of one route
constexpr uintmax_t kMaxFileBytes = uintmax_t(1) << 28;
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

// ---------------------------------------------------------------- characters and numbers

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ident_start(char c) { return is_alpha(c) || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
bool is_hex(char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
int hex_value(char c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

bool is_identifier(std::string_view s) {
  if (s.empty() || !is_ident_start(s[0])) return false;
  return std::all_of(s.begin(), s.end(), is_ident_char);
}

// The written form of a number token, before conversion.
struct NumberText {
  enum class Form { integer, real, overflow } form = Form::real;
  bool negative = false;
  uint64_t magnitude = 0;  // integers
  bool hex = false;
};

// Accumulates digits of `base` into a uint64; false on a bad digit or overflow.
bool accumulate(std::string_view digits, unsigned base, uint64_t& out, bool& overflow) {
  out = 0;
  overflow = false;
  for (char c : digits) {
    if (base == 16 ? !is_hex(c) : !is_digit(c)) return false;
    const uint64_t d = uint64_t(hex_value(c));
    if (out > (UINT64_MAX - d) / base) overflow = true;
    out = out * base + d;
  }
  return !digits.empty();
}

NumberText classify_number(std::string_view s) {
  NumberText n;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    n.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  n.hex = s.size() > 2 && s[0] == '0' && (s[1] | 0x20) == 'x';
  bool overflow = false;
  const bool ok = n.hex ? accumulate(s.substr(2), 16, n.magnitude, overflow)
                        : accumulate(s, 10, n.magnitude, overflow);
  if (ok) n.form = overflow ? NumberText::Form::overflow : NumberText::Form::integer;
  return n;
}

// Converts a decimal real (or inf/nan) with one correct rounding; nullopt when malformed or
// out of range.
template <typename F>
std::optional<F> to_real(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  F value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// Shortest text that reads back to exactly `v`, always with a '.' or exponent for floats.
template <typename F>
std::string real_text(F v, bool mark_float) {
  std::string s = fmt::format("{}", v);
  if (mark_float && s.find_first_of(".ein") == std::string::npos) s += ".0";
  return s;
}

template <typename Map>
std::vector<std::string_view> keys_of(const Map& map) {
  std::vector<std::string_view> keys;
  for (const auto& entry : map) keys.push_back(entry.first);
  return keys;
}

std::vector<std::string_view> opcode_names() {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < size_t(Opcode::count_); ++i) names.push_back(op_info(Opcode(i)).name);
  return names;
}

constexpr std::string_view kSpecialNames[] = {"x", "y", "width", "height", "wavelet"};
constexpr std::string_view kTaskKinds[] = {"local", "data", "control"};

std::optional<int32_t> find_name(std::string_view name, const std::string_view* names,
                                 size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (names[i] == name) return int32_t(i);
  }
  return std::nullopt;
}

// "r12" -> 12 for prefix 'r'; nullopt unless the word is the prefix and decimal digits.
std::optional<int32_t> indexed_word(std::string_view word, char prefix) {
  if (word.size() < 2 || word.size() > 11 || word[0] != prefix) return std::nullopt;
  uint64_t value = 0;
  bool overflow = false;
  if (!accumulate(word.substr(1), 10, value, overflow) || value > uint64_t(kInt32Max)) {
    return std::nullopt;
  }
  return int32_t(value);
}

// ---------------------------------------------------------------- lexer

enum class Tok : uint8_t { ident, number, string, punct, newline, end, error };

// Kept small (32 bytes): the unescaped contents of a string and the message of an error
// token live in Tokens::values.
struct Token {
  Tok kind = Tok::end;
  uint32_t line = 1, col = 1;
  uint32_t value = 0;     // index into Tokens::values (string and error tokens)
  std::string_view text;  // as written
};

struct Tokens {
  std::vector<Token> list;
  std::vector<std::string> values;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Tokens run() {
    for (;;) {
      skip_blank();
      out_.list.push_back(next_token());
      const Tok kind = out_.list.back().kind;
      if (kind == Tok::end || kind == Tok::error) return std::move(out_);
    }
  }

 private:
  char at(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  bool done() const { return pos_ >= text_.size(); }

  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }

  void skip_blank() {
    while (!done()) {
      const char c = at();
      if (c == '#') {
        while (!done() && at() != '\n') advance();
      } else if (c == ' ' || c == '\t' || c == '\r') {
        advance();
      } else {
        return;
      }
    }
  }

  Token start(Tok kind) {
    Token t;
    t.kind = kind;
    t.line = line_;
    t.col = col_;
    begin_ = pos_;
    return t;
  }
  Token finish(Token t) {
    t.text = text_.substr(begin_, pos_ - begin_);
    return t;
  }
  Token error(Token t, std::string message) {
    t.kind = Tok::error;
    t.value = uint32_t(out_.values.size());
    out_.values.push_back(std::move(message));
    return finish(t);
  }

  bool number_starts() const {
    const char c = at();
    if (is_digit(c) || (c == '.' && is_digit(at(1)))) return true;
    if (c != '-' && c != '+') return false;
    return is_digit(at(1)) || (at(1) == '.' && is_digit(at(2))) || special_real_follows(1);
  }
  // "inf" or "nan" at `ahead`, not followed by more of a word.
  bool special_real_follows(size_t ahead) const {
    const std::string_view rest = text_.substr(std::min(pos_ + ahead, text_.size()));
    return (rest.starts_with("inf") || rest.starts_with("nan")) &&
           (rest.size() == 3 || !is_ident_char(rest[3]));
  }

  Token next_token() {
    if (done()) return finish(start(Tok::end));
    const char c = at();
    if (c == '\n') {
      Token t = start(Tok::newline);
      advance();
      return finish(t);
    }
    if (number_starts()) return lex_number();
    if (is_ident_start(c)) return lex_word();
    if (c == '"') return lex_string();
    Token t = start(Tok::punct);
    if (std::string_view("{},:;|").find(c) != std::string_view::npos) {
      advance();
      return finish(t);
    }
    const bool printable = c > ' ' && c < 0x7f;
    advance();
    return error(t, printable
                        ? fmt::format("unexpected character '{}'", c)
                        : fmt::format("unexpected character '\\x{:02x}'", unsigned(uint8_t(c))));
  }

  Token lex_word() {
    Token t = start(Tok::ident);
    while (is_ident_char(at())) advance();
    return finish(t);
  }

  // Takes in a sign, digits, letters, '.', and a sign right after an exponent 'e'; the
  // parser decides whether the text is a well-formed number.
  Token lex_number() {
    Token t = start(Tok::number);
    if (at() == '-' || at() == '+') advance();
    if (special_real_follows(0)) {
      for (int i = 0; i < 3; ++i) advance();
      return finish(t);
    }
    const bool hex = at() == '0' && (at(1) | 0x20) == 'x';
    while (!done()) {
      const char c = at();
      const char prev = pos_ > begin_ ? text_[pos_ - 1] : '\0';
      const bool exponent_sign = (c == '-' || c == '+') && !hex && (prev | 0x20) == 'e';
      if (!is_ident_char(c) && c != '.' && !exponent_sign) break;
      advance();
    }
    return finish(t);
  }

  Token lex_string() {
    Token t = start(Tok::string);
    t.value = uint32_t(out_.values.size());
    std::string& value = out_.values.emplace_back();
    advance();
    for (;;) {
      if (done() || at() == '\n') return error(t, "unterminated string");
      const char c = at();
      advance();
      if (c == '"') return finish_string(t, value);
      if (c != '\\') {
        value += c;
        continue;
      }
      if (!lex_escape(value)) {
        Token bad = start(Tok::error);
        return error(std::move(bad), "bad escape in string (use \\\\, \\\", \\n, \\t or \\xHH)");
      }
    }
  }

  // A string becomes a name, which may reach JSON output: it must be valid UTF-8 once its
  // escapes are applied.
  Token finish_string(Token t, const std::string& value) {
    const size_t bad = invalid_utf8_at(value);
    if (bad == std::string::npos) return finish(t);
    return error(t, fmt::format("string is not valid UTF-8 (byte {} of its value is 0x{:02x})", bad + 1,
                                unsigned(uint8_t(value[bad]))));
  }

  bool lex_escape(std::string& out) {
    const char e = at();
    int length = 1;
    switch (e) {
      case '\\':
      case '"':
        out += e;
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'x':
        if (!is_hex(at(1)) || !is_hex(at(2))) return false;
        out += char(hex_value(at(1)) * 16 + hex_value(at(2)));
        length = 3;
        break;
      default:
        return false;
    }
    for (int i = 0; i < length; ++i) advance();
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0, begin_ = 0;
  uint32_t line_ = 1, col_ = 1;
  Tokens out_;
};

// ---------------------------------------------------------------- parser

// A name used before its code has closed, resolved in resolve().
struct Reference {
  enum class Kind : uint8_t { label, task, symbol } kind;
  enum class Target : uint8_t { operand, done_task, entry } target;
  std::string name;
  uint32_t line, col;
  size_t index;  // instruction (operand, done_task) or task (entry)
  size_t arg;    // operand index
};

// A declared name: what it stands for and the line it was declared on.
struct Def {
  int32_t index;  // label: instruction; task: index in Code::tasks; symbol: symbol index
  uint32_t line;
};
using Names = std::map<std::string, Def, std::less<>>;

// Everything known about the code being parsed.
struct CodeState {
  Code code;
  Names labels, tasks, symbols;
  std::vector<Reference> refs;
};

// The error "duplicate KIND 'NAME' (first declared at line L)" when `name` is in `names`.
std::optional<std::string> duplicate(const Names& names, const std::string& name,
                                     std::string_view kind) {
  auto it = names.find(name);
  if (it == names.end()) return std::nullopt;
  return fmt::format("duplicate {} '{}' (first declared at line {})", kind, name, it->second.line);
}

std::string describe(const Token& t) {
  if (t.kind == Tok::end) return "end of file";
  if (t.kind == Tok::newline) return "end of line";
  std::string text(t.text.substr(0, 40));
  if (t.text.size() > 40) text += "...";
  return fmt::format("'{}'", text);
}

class Parser {
 public:
  Parser(Tokens tokens, std::string_view filename)
      : toks_(std::move(tokens.list)), values_(std::move(tokens.values)), file_(filename) {}

  Expected<Program> parse_file() {
    skip_separators();
    if (!is_word(peek(), "program")) {
      return fail(peek(), fmt::format("expected 'program WIDTH HEIGHT' as the first statement, "
                                      "found {}",
                                      describe(peek())));
    }
    WAFER_TRY(parse_size());
    WAFER_TRY(end_statement());
    for (skip_separators(); peek().kind != Tok::end; skip_separators()) {
      WAFER_TRY(parse_top());
      WAFER_TRY(end_statement());
    }
    return std::move(program_);
  }

 private:
  // ---- tokens

  const Token& peek(size_t ahead = 0) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  const Token& next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  static bool is_punct(const Token& t, char c) { return t.kind == Tok::punct && t.text[0] == c; }
  static bool is_word(const Token& t, std::string_view w) {
    return t.kind == Tok::ident && t.text == w;
  }
  static bool is_separator(const Token& t) { return t.kind == Tok::newline || is_punct(t, ';'); }
  bool at_statement_end() const {
    const Token& t = peek();
    return is_separator(t) || is_punct(t, '}') || t.kind == Tok::end;
  }
  void skip_separators() {
    while (is_separator(peek())) next();
  }

  // ---- errors

  // Messages stay on one line: control characters of quoted names show as '?'.
  Status fail_at(uint32_t line, uint32_t col, std::string message) const {
    for (char& c : message) {
      if (uint8_t(c) < 0x20 || c == 0x7f) c = '?';
    }
    return Status::error(fmt::format("{}:{}:{}: {}", file_, line, col, message));
  }
  // An error at `t`; at a lexer error token, the lexer's message wins.
  Status fail(const Token& t, const std::string& message) const {
    return fail_at(t.line, t.col, t.kind == Tok::error ? values_[t.value] : message);
  }
  Status expected(std::string_view what, const Token& t) const {
    return fail(t, fmt::format("expected {}, found {}", what, describe(t)));
  }

  Status end_statement() {
    if (is_separator(peek())) {
      next();
      return Status::ok();
    }
    if (at_statement_end()) return Status::ok();
    return expected("end of line", peek());
  }
  Status expect_punct(char c) {
    if (!is_punct(peek(), c)) return expected(fmt::format("'{}'", c), peek());
    next();
    return Status::ok();
  }
  Status expect_word(std::string_view w) {
    if (!is_word(peek(), w)) return expected(fmt::format("'{}'", w), peek());
    next();
    return Status::ok();
  }

  // ---- values

  // An integer token within [lo, hi].
  Status integer(std::string_view what, int64_t lo, int64_t hi, int64_t& out) {
    const Token& t = peek();
    const NumberText n = classify_number(t.text);
    if (t.kind != Tok::number || n.form == NumberText::Form::real) {
      return expected(fmt::format("{} (an integer)", what), t);
    }
    const bool fits = n.form == NumberText::Form::integer &&
                      n.magnitude <= uint64_t(INT64_MAX) + (n.negative ? 1 : 0);
    const int64_t v = n.negative ? int64_t(0 - n.magnitude) : int64_t(n.magnitude);
    if (!fits || v < lo || v > hi) {
      return fail(t,
                  fmt::format("{} must be between {} and {}, found {}", what, lo, hi, describe(t)));
    }
    next();
    out = v;
    return Status::ok();
  }
  template <typename T>
  Status integer_as(std::string_view what, int64_t lo, int64_t hi, T& out) {
    int64_t v = 0;
    WAFER_TRY(integer(what, lo, hi, v));
    out = T(v);
    return Status::ok();
  }

  Status unsigned64(std::string_view what, uint64_t& out) {
    const Token& t = peek();
    const NumberText n = classify_number(t.text);
    if (t.kind != Tok::number || n.form == NumberText::Form::real || n.negative) {
      return expected(fmt::format("{} (a non-negative integer)", what), t);
    }
    if (n.form == NumberText::Form::overflow) {
      return fail(t, fmt::format("{} does not fit in 64 bits, found {}", what, describe(t)));
    }
    out = n.magnitude;
    next();
    return Status::ok();
  }

  // A host value: any number, inf or nan, as a double.
  Status real(std::string_view what, double& out) {
    const Token& t = peek();
    const bool word = t.kind == Tok::ident && (t.text == "inf" || t.text == "nan");
    if (t.kind != Tok::number && !word) return expected(what, t);
    const NumberText n = classify_number(t.text);
    std::optional<double> v;
    if (n.hex && n.form == NumberText::Form::integer) {
      v = n.negative ? -double(n.magnitude) : double(n.magnitude);
    } else if (!n.hex) {
      v = to_real<double>(t.text);
    }
    if (!v) return fail(t, fmt::format("malformed or out-of-range number {}", describe(t)));
    out = *v;
    next();
    return Status::ok();
  }

  Status name(std::string_view what, std::string& out) {
    const Token& t = peek();
    if (t.kind == Tok::ident)
      out = std::string(t.text);
    else if (t.kind == Tok::string)
      out = values_[t.value];
    else
      return expected(what, t);
    next();
    return Status::ok();
  }

  Status dtype(DType& out) {
    const Token& t = peek();
    const std::optional<DType> d = t.kind == Tok::ident ? parse_dtype(t.text) : std::nullopt;
    if (!d) return expected("a dtype (f32, f16, bf16, i16 or i32)", t);
    out = *d;
    next();
    return Status::ok();
  }

  Status rect(Rect& r) {
    WAFER_TRY(integer_as("an x coordinate", 0, kMaxExtent, r.x));
    WAFER_TRY(integer_as("a y coordinate", 0, kMaxExtent, r.y));
    WAFER_TRY(integer_as("a width", 1, kMaxExtent, r.w));
    return integer_as("a height", 1, kMaxExtent, r.h);
  }

  // ---- top level

  Status parse_size() {
    next();
    WAFER_TRY(integer_as("a program width", 1, kMaxExtent, program_.width));
    return integer_as("a program height", 1, kMaxExtent, program_.height);
  }

  Status parse_top() {
    const Token& t = peek();
    if (is_word(t, "arch")) return parse_arch();
    if (is_word(t, "code")) return parse_code();
    if (is_word(t, "place")) return parse_place();
    if (is_word(t, "route")) return parse_route();
    if (is_word(t, "host")) return parse_host();
    if (is_word(t, "program")) return fail(t, "duplicate 'program' statement");
    if (t.kind != Tok::ident) return expected("a statement (arch, code, place, route or host)", t);
    return fail(t, fmt::format("unknown statement {}{}", describe(t),
                               suggestion(t.text, {"arch", "code", "place", "route", "host"})));
  }

  Status parse_arch() {
    const Token& keyword = next();
    if (arch_line_ != 0) {
      return fail(keyword,
                  fmt::format("duplicate 'arch' statement (the first is at line {})", arch_line_));
    }
    arch_line_ = keyword.line;
    return name("an arch preset name or \"file\"", program_.arch);
  }

  Status parse_code() {
    next();
    const Token& name_token = peek();
    CodeState st;
    WAFER_TRY(name("a code name", st.code.name));
    if (auto dup = duplicate(codes_, st.code.name, "code")) return fail(name_token, *dup);
    WAFER_TRY(
        block(fmt::format("code '{}'", st.code.name), [&] { return parse_code_statement(st); }));
    WAFER_TRY(resolve(st));
    codes_[st.code.name] = {int32_t(program_.codes.size()), name_token.line};
    program_.codes.push_back(std::move(st.code));
    return Status::ok();
  }

  // Parses '{' statements '}' with `statement` for each statement.
  template <typename F>
  Status block(const std::string& what, F&& statement) {
    const Token& open = peek();
    WAFER_TRY(expect_punct('{'));
    for (skip_separators(); !is_punct(peek(), '}'); skip_separators()) {
      if (peek().kind == Tok::end) {
        return fail(peek(), fmt::format("expected '}}' to close {} opened at line {}, found "
                                        "end of file",
                                        what, open.line));
      }
      WAFER_TRY(statement());
      WAFER_TRY(end_statement());
    }
    next();
    return Status::ok();
  }

  Status parse_place() {
    const Token& keyword = next();
    const Token& name_token = peek();
    std::string code;
    WAFER_TRY(name("a code name", code));
    auto it = codes_.find(code);
    if (it == codes_.end()) {
      return fail(name_token,
                  fmt::format("unknown code '{}'{}", code, suggestion(code, keys_of(codes_))));
    }
    Placement p;
    p.code = it->second.index;
    p.loc = {keyword.line, keyword.col};
    WAFER_TRY(rect(p.rect));
    program_.placements.push_back(p);
    return Status::ok();
  }

  Status parse_route() {
    const Token& keyword = next();
    Route r;
    r.loc = {keyword.line, keyword.col};
    WAFER_TRY(integer_as("a color", 0, kInt32Max, r.color));
    WAFER_TRY(rect(r.rect));
    for (;;) {
      if (r.positions.size() == kMaxPositions) {
        return fail(peek(), fmt::format("too many switch positions (at most {})", kMaxPositions));
      }
      RoutePosition position;
      WAFER_TRY(expect_word("rx"));
      WAFER_TRY(ports(position.rx));
      WAFER_TRY(expect_word("tx"));
      WAFER_TRY(ports(position.tx));
      r.positions.push_back(position);
      if (!is_punct(peek(), '|')) break;
      next();
    }
    program_.routes.push_back(std::move(r));
    return Status::ok();
  }

  Status ports(PortMask& mask) {
    for (;;) {
      const Token& t = peek();
      const std::optional<Dir> d = t.kind == Tok::ident ? parse_dir(t.text) : std::nullopt;
      if (!d) return expected("a port (N, E, S, W or R)", t);
      if (mask & port_bit(*d)) return fail(t, fmt::format("port {} is listed twice", describe(t)));
      mask |= port_bit(*d);
      next();
      if (!is_punct(peek(), ',')) return Status::ok();
      next();
    }
  }

  // ---- host

  Status parse_host() {
    next();
    return block("host", [&] { return parse_host_op(); });
  }

  Status parse_host_op() {
    const Token& t = next();
    HostOp op;
    op.loc = {t.line, t.col};
    if (is_word(t, "h2d") || is_word(t, "d2h") || is_word(t, "launch")) {
      op.kind = is_word(t, "h2d")   ? HostOp::Kind::h2d
                : is_word(t, "d2h") ? HostOp::Kind::d2h
                                    : HostOp::Kind::launch;
      WAFER_TRY(name(op.kind == HostOp::Kind::launch ? "a task name" : "a symbol name", op.name));
      WAFER_TRY(rect(op.rect));
      if (op.kind == HostOp::Kind::h2d) WAFER_TRY(data(op.data));
    } else if (is_word(t, "stream")) {
      op.kind = HostOp::Kind::stream_in;
      WAFER_TRY(parse_stream(op));
    } else if (t.kind == Tok::ident) {
      return fail(t, fmt::format("unknown host operation {}{}", describe(t),
                                 suggestion(t.text, {"h2d", "d2h", "launch", "stream"})));
    } else {
      return expected("a host operation (h2d, d2h, launch or stream)", t);
    }
    program_.host.push_back(std::move(op));
    return Status::ok();
  }

  Status parse_stream(HostOp& op) {
    WAFER_TRY(integer_as("a color", 0, kInt32Max, op.color));
    const Token& side = peek();
    const std::optional<Dir> d = side.kind == Tok::ident ? parse_dir(side.text) : std::nullopt;
    if (!d || *d == Dir::ramp) return expected("an edge side (N, E, S or W)", side);
    op.edge = *d;
    next();
    WAFER_TRY(rect(op.rect));
    WAFER_TRY(dtype(op.stream_type));
    return data(op.data);
  }

  Status data(HostData& d) {
    const Token& t = next();
    if (is_word(t, "values")) return value_list(d);
    if (is_word(t, "fill")) {
      d.kind = HostData::Kind::fill;
      return real("a fill value", d.a);
    }
    if (is_word(t, "iota")) {
      d.kind = HostData::Kind::iota;
      WAFER_TRY(real("an iota start", d.a));
      return real("an iota step", d.b);
    }
    if (is_word(t, "random")) {
      d.kind = HostData::Kind::random;
      WAFER_TRY(unsigned64("a random seed", d.seed));
      WAFER_TRY(real("a random low bound", d.a));
      return real("a random high bound", d.b);
    }
    return expected("host data (values, fill, iota or random)", t);
  }

  Status value_list(HostData& d) {
    d.kind = HostData::Kind::values;
    if (at_statement_end()) return expected("a value", peek());
    while (!at_statement_end()) {
      if (d.values.size() == size_t(kMaxElements)) {
        return fail(peek(), fmt::format("too many values (at most {})", kMaxElements));
      }
      double v = 0;
      WAFER_TRY(real("a value", v));
      d.values.push_back(v);
    }
    return Status::ok();
  }

  // ---- codes

  Status parse_code_statement(CodeState& st) {
    const Token& t = peek();
    if (t.kind == Tok::ident && is_punct(peek(1), ':')) return parse_label(st);
    if (is_word(t, "sym")) return parse_symbol(st);
    if (is_word(t, "task")) return parse_task(st);
    return parse_instr(st);
  }

  Status parse_task_statement(CodeState& st, const std::string& task) {
    const Token& t = peek();
    if (t.kind == Tok::ident && is_punct(peek(1), ':')) return parse_label(st);
    if (is_word(t, "sym") || is_word(t, "task")) {
      return fail(t, fmt::format("'{}' cannot appear inside task '{}' (close it with '}}' first)",
                                 t.text, task));
    }
    return parse_instr(st);
  }

  // A label, and the instruction that may follow it on the same line.
  Status parse_label(CodeState& st) {
    const Token& t = next();
    next();
    const std::string label(t.text);
    if (auto dup = duplicate(st.labels, label, "label")) return fail(t, *dup);
    st.labels[label] = {int32_t(st.code.instrs.size()), t.line};
    if (at_statement_end()) return Status::ok();
    return parse_instr(st);
  }

  Status parse_symbol(CodeState& st) {
    next();
    const Token& name_token = peek();
    Symbol s;
    WAFER_TRY(name("a symbol name", s.name));
    if (auto dup = duplicate(st.symbols, s.name, "symbol")) return fail(name_token, *dup);
    WAFER_TRY(dtype(s.type));
    WAFER_TRY(integer_as("an element count", 1, kMaxElements, s.count));
    st.symbols[s.name] = {int32_t(st.code.symbols.size()), name_token.line};
    st.code.symbols.push_back(std::move(s));
    return Status::ok();
  }

  Status parse_task(CodeState& st) {
    next();
    const Token& name_token = peek();
    Task task;
    WAFER_TRY(name("a task name", task.name));
    if (auto dup = duplicate(st.tasks, task.name, "task")) return fail(name_token, *dup);
    WAFER_TRY(task_kind(task.kind));
    WAFER_TRY(integer_as("a task id", 0, kInt32Max, task.id));
    WAFER_TRY(task_options(task));
    const size_t index = st.code.tasks.size();
    st.tasks[task.name] = {int32_t(index), name_token.line};
    task.entry = uint32_t(st.code.instrs.size());
    st.code.tasks.push_back(task);
    if (is_word(peek(), "at")) {
      next();
      const Token& label = peek();
      if (label.kind != Tok::ident) return expected("a label", label);
      st.refs.push_back({Reference::Kind::label, Reference::Target::entry, std::string(label.text),
                         label.line, label.col, index, 0});
      next();
      return Status::ok();
    }
    if (!is_punct(peek(), '{')) return expected("'{' or 'at'", peek());
    return block(fmt::format("task '{}'", task.name),
                 [&] { return parse_task_statement(st, task.name); });
  }

  Status task_kind(TaskKind& kind) {
    const Token& t = peek();
    const auto k = t.kind == Tok::ident ? find_name(t.text, kTaskKinds, 3) : std::nullopt;
    if (!k) return expected("a task kind (local, data or control)", t);
    kind = TaskKind(*k);
    next();
    return Status::ok();
  }

  Status task_options(Task& task) {
    bool has_color = false;
    while (is_word(peek(), "color") || is_word(peek(), "blocked")) {
      const Token& t = next();
      const bool repeated = is_word(t, "color") ? has_color : task.blocked;
      if (repeated) return fail(t, fmt::format("{} is given twice", describe(t)));
      if (is_word(t, "blocked")) {
        task.blocked = true;
        continue;
      }
      has_color = true;
      WAFER_TRY(integer_as("a color", 0, kInt32Max, task.color));
    }
    return Status::ok();
  }

  // ---- instructions

  static bool at_operands_end(const Token& t) {
    return is_separator(t) || is_punct(t, '}') || t.kind == Tok::end || is_word(t, "async") ||
           is_word(t, "then");
  }

  Status parse_instr(CodeState& st) {
    const Token& t = peek();
    if (t.kind != Tok::ident) return expected("an instruction", t);
    const std::optional<Opcode> op = parse_opcode(t.text);
    if (!op) {
      return fail(t, fmt::format("unknown instruction {}{}", describe(t),
                                 suggestion(t.text, opcode_names())));
    }
    next();
    Instr in;
    in.op = *op;
    in.loc = {t.line, t.col};
    const std::string_view sig = op_info(*op).signature;
    const std::string_view op_name = op_info(*op).name;
    for (size_t i = 0; i < sig.size(); ++i) {
      if (at_operands_end(peek())) {
        return fail(peek(), fmt::format("'{}' takes {} operand{}, found {}", op_name, sig.size(),
                                        sig.size() == 1 ? "" : "s", i));
      }
      if (i > 0) {
        if (!is_punct(peek(), ',')) {
          return expected(fmt::format("',' after operand {} of '{}'", i, op_name), peek());
        }
        next();
      }
      WAFER_TRY(parse_operand(st, sig[i], in, i));
    }
    if (is_punct(peek(), ',') || (sig.empty() && !at_operands_end(peek()))) {
      return fail(peek(),
                  fmt::format("too many operands for '{}' (it takes {})", op_name, sig.size()));
    }
    WAFER_TRY(parse_completion(st, in));
    st.code.instrs.push_back(in);
    return Status::ok();
  }

  // Optional `async` and `then activate|unblock TASK` after the operands.
  Status parse_completion(CodeState& st, Instr& in) {
    if (is_word(peek(), "async")) {
      next();
      in.async = true;
    }
    if (!is_word(peek(), "then")) return Status::ok();
    next();
    const Token& action = peek();
    if (!is_word(action, "activate") && !is_word(action, "unblock")) {
      return expected("'activate' or 'unblock' after 'then'", action);
    }
    in.on_done = is_word(action, "activate") ? OnDone::activate : OnDone::unblock;
    next();
    return reference(st, Reference::Kind::task, Reference::Target::done_task, 0, "a task name");
  }

  // Records a name to resolve when the code closes.
  Status reference(CodeState& st, Reference::Kind kind, Reference::Target target, size_t arg,
                   std::string_view what) {
    const Token& t = peek();
    std::string text;
    if (kind == Reference::Kind::label && t.kind != Tok::ident) return expected(what, t);
    WAFER_TRY(name(what, text));
    st.refs.push_back({kind, target, std::move(text), t.line, t.col, st.code.instrs.size(), arg});
    return Status::ok();
  }

  Status parse_operand(CodeState& st, char letter, Instr& in, size_t i) {
    const Token& t = peek();
    Operand& o = in.args[i];
    const std::string what = fmt::format("as operand {} of '{}'", i + 1, op_info(in.op).name);
    switch (letter) {
      case 'r':
        return indexed_operand(t, 'r', Operand::Kind::reg, "a register (rN)", what, o);
      case 'd':
        return indexed_operand(t, 'd', Operand::Kind::dsd, "a dsd register (dN)", what, o);
      case 's':
        return scalar_operand(t, what, o, "a register, special or immediate");
      case 'v':
        if (indexed_word(t.kind == Tok::ident ? t.text : "", 'd')) {
          return indexed_operand(t, 'd', Operand::Kind::dsd, "", what, o);
        }
        return scalar_operand(t, what, o, "a dsd register, register, special or immediate");
      case 'i':
        return immediate_operand(t, what, in.op == Opcode::movi, o);
      case 'c':
        o.kind = Operand::Kind::color;
        return integer_as(fmt::format("a color {}", what), 0, kInt32Max, o.value);
      case 'T':
        return dtype_operand(o);
      case 'l':
        return name_operand(st, o, i, Reference::Kind::label, "a label " + what);
      case 't':
        return name_operand(st, o, i, Reference::Kind::task, "a task name " + what);
      default:
        return name_operand(st, o, i, Reference::Kind::symbol, "a symbol name " + what);
    }
  }

  // A label, task or symbol operand, resolved when the code closes.
  Status name_operand(CodeState& st, Operand& o, size_t i, Reference::Kind kind,
                      const std::string& what) {
    o.kind = kind == Reference::Kind::label  ? Operand::Kind::label
             : kind == Reference::Kind::task ? Operand::Kind::task
                                             : Operand::Kind::sym;
    return reference(st, kind, Reference::Target::operand, i, what);
  }

  Status indexed_operand(const Token& t, char prefix, Operand::Kind kind, std::string_view noun,
                         const std::string& what, Operand& o) {
    const auto index = t.kind == Tok::ident ? indexed_word(t.text, prefix) : std::nullopt;
    if (!index) return expected(fmt::format("{} {}", noun, what), t);
    o.kind = kind;
    o.value = *index;
    next();
    return Status::ok();
  }

  Status scalar_operand(const Token& t, const std::string& what, Operand& o,
                        std::string_view noun) {
    if (t.kind == Tok::number || is_word(t, "inf") || is_word(t, "nan")) {
      return immediate_operand(t, what, true, o);
    }
    if (t.kind == Tok::ident && indexed_word(t.text, 'r')) {
      return indexed_operand(t, 'r', Operand::Kind::reg, "", what, o);
    }
    const auto special = t.kind == Tok::ident ? find_name(t.text, kSpecialNames, 5) : std::nullopt;
    if (!special) return expected(fmt::format("{} {}", noun, what), t);
    o.kind = Operand::Kind::special;
    o.value = *special;
    next();
    return Status::ok();
  }

  // A 32-bit immediate: an integer in [-2^31, 2^32) or, where allowed, an f32 literal.
  Status immediate_operand(const Token& t, const std::string& what, bool allow_float, Operand& o) {
    const bool word = is_word(t, "inf") || is_word(t, "nan");
    const NumberText n = classify_number(t.text);
    const bool is_real = word || (t.kind == Tok::number && n.form == NumberText::Form::real);
    if ((t.kind != Tok::number && !word) || (is_real && !allow_float)) {
      return expected(fmt::format("an integer immediate {}", what), t);
    }
    o.kind = Operand::Kind::imm;
    if (is_real) {
      const std::optional<float> f = to_real<float>(t.text);
      if (!f) return fail(t, fmt::format("malformed or out-of-range f32 {}", describe(t)));
      o.value = int32_t(f32_to_bits(*f));
      o.imm_is_float = true;
    } else {
      const bool fits =
          n.form == NumberText::Form::integer &&
          (n.negative ? n.magnitude <= (uint64_t(1) << 31) : n.magnitude <= UINT32_MAX);
      if (!fits) return fail(t, fmt::format("immediate {} does not fit in 32 bits", describe(t)));
      o.value = int32_t(uint32_t(n.negative ? 0 - n.magnitude : n.magnitude));
    }
    next();
    return Status::ok();
  }

  Status dtype_operand(Operand& o) {
    DType d = DType::f32;
    WAFER_TRY(dtype(d));
    o.kind = Operand::Kind::dtype;
    o.value = int32_t(d);
    return Status::ok();
  }

  // ---- name resolution

  Status resolve(CodeState& st) {
    for (const Reference& ref : st.refs) {
      int32_t value = 0;
      WAFER_TRY(lookup(st, ref, value));
      if (ref.target == Reference::Target::entry)
        st.code.tasks[ref.index].entry = uint32_t(value);
      else if (ref.target == Reference::Target::done_task)
        st.code.instrs[ref.index].done_task = value;
      else
        st.code.instrs[ref.index].args[ref.arg].value = value;
    }
    return Status::ok();
  }

  Status lookup(const CodeState& st, const Reference& ref, int32_t& value) const {
    static constexpr const char* kNouns[] = {"undefined label", "unknown task", "unknown symbol"};
    const Names& names = ref.kind == Reference::Kind::label  ? st.labels
                         : ref.kind == Reference::Kind::task ? st.tasks
                                                             : st.symbols;
    auto it = names.find(ref.name);
    if (it == names.end()) {
      const std::string in_code =
          ref.kind == Reference::Kind::label ? "" : fmt::format(" in code '{}'", st.code.name);
      return fail_at(ref.line, ref.col,
                     fmt::format("{} '{}'{}{}", kNouns[int(ref.kind)], ref.name, in_code,
                                 suggestion(ref.name, keys_of(names))));
    }
    value = ref.kind == Reference::Kind::task ? st.code.tasks[size_t(it->second.index)].id
                                              : it->second.index;
    return Status::ok();
  }

  std::vector<Token> toks_;
  std::vector<std::string> values_;
  size_t pos_ = 0;
  std::string_view file_;
  Program program_;
  uint32_t arch_line_ = 0;
  Names codes_;
};

// ---------------------------------------------------------------- printer

std::string quoted_name(std::string_view name) {
  if (is_identifier(name)) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\')
      out += fmt::format("\\{}", c);
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (uint8_t(c) < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", unsigned(uint8_t(c)));
    else
      out += c;
  }
  return out + "\"";
}

std::string rect_text(const Rect& r) { return fmt::format("{} {} {} {}", r.x, r.y, r.w, r.h); }

std::string ports_text(PortMask m) {
  std::string s;
  for (unsigned d = 0; d < 5; ++d) {
    if (m & (1u << d)) s += fmt::format("{}{}", s.empty() ? "" : ",", dir_name(Dir(d)));
  }
  return s;
}

std::string dtype_text(int32_t value) {
  return value >= 0 && value <= int32_t(DType::i32) ? std::string(dtype_name(DType(value))) : "?";
}

class Printer {
 public:
  explicit Printer(const Program& p) : p_(p) {}

  std::string run() {
    line(0, fmt::format("program {} {}", p_.width, p_.height));
    if (!p_.arch.empty()) line(0, "arch " + quoted_name(p_.arch));
    for (const Code& code : p_.codes) print_code(code);
    if (!p_.placements.empty()) out_ += "\n";
    for (const Placement& pl : p_.placements) {
      line(0, fmt::format("place {} {}", code_name(pl.code), rect_text(pl.rect)));
    }
    if (!p_.routes.empty()) out_ += "\n";
    for (const Route& r : p_.routes) print_route(r);
    if (!p_.host.empty()) print_host();
    return std::move(out_);
  }

 private:
  void line(int indent, std::string_view text) {
    out_.append(size_t(indent), ' ');
    out_ += text;
    out_ += '\n';
  }

  std::string code_name(int index) const {
    if (index < 0 || size_t(index) >= p_.codes.size()) return fmt::format("\"<code {}>\"", index);
    return quoted_name(p_.codes[size_t(index)].name);
  }

  // True when tasks, in declaration order, own consecutive instruction ranges from 0.
  static bool blocks_fit(const Code& code) {
    if (code.tasks.empty()) return code.instrs.empty();
    uint32_t at = 0;
    for (const Task& t : code.tasks) {
      if (t.entry < at || t.entry > code.instrs.size()) return false;
      at = t.entry;
    }
    return code.tasks[0].entry == 0;
  }

  void print_code(const Code& code) {
    out_ += "\n";
    line(0, fmt::format("code {} {{", quoted_name(code.name)));
    for (const Symbol& s : code.symbols) {
      line(2,
           fmt::format("sym {} {} {}", quoted_name(s.name), dtype_text(int32_t(s.type)), s.count));
    }
    mark_targets(code);
    task_names_.clear();
    for (const Task& t : code.tasks) task_names_.emplace(t.id, t.name);  // the first of an id
    if (blocks_fit(code)) {
      print_blocks(code);
    } else {
      for (const Task& t : code.tasks) line(2, task_header(t) + " at " + label_name(code, t.entry));
      print_instrs(code, 0, code.instrs.size(), 2);
      print_label(code.instrs.size(), 0);
    }
    line(0, "}");
  }

  void print_blocks(const Code& code) {
    for (size_t i = 0; i < code.tasks.size(); ++i) {
      const Task& t = code.tasks[i];
      const bool last = i + 1 == code.tasks.size();
      const size_t end = last ? code.instrs.size() : code.tasks[i + 1].entry;
      line(2, task_header(t) + " {");
      print_instrs(code, t.entry, end, 4);
      if (last) print_label(code.instrs.size(), 2);
      line(2, "}");
    }
  }

  std::string task_header(const Task& t) const {
    const bool kind_ok = unsigned(t.kind) <= unsigned(TaskKind::control);
    std::string s = fmt::format("task {} {} {}", quoted_name(t.name),
                                kind_ok ? kTaskKinds[unsigned(t.kind)] : "?", t.id);
    if (t.color != -1) s += fmt::format(" color {}", t.color);
    if (t.blocked) s += " blocked";
    return s;
  }

  void mark_targets(const Code& code) {
    target_.assign(code.instrs.size() + 1, false);
    auto mark = [&](int64_t index) {
      if (index >= 0 && size_t(index) < target_.size()) target_[size_t(index)] = true;
    };
    for (const Instr& in : code.instrs) {
      for (const Operand& o : in.args) {
        if (o.kind == Operand::Kind::label) mark(o.value);
      }
    }
    if (!blocks_fit(code)) {
      for (const Task& t : code.tasks) mark(t.entry);
    }
  }

  std::string label_name(const Code& code, int64_t index) const {
    if (index < 0 || index > int64_t(code.instrs.size())) return fmt::format("{}", index);
    return fmt::format("L{}", index);
  }

  void print_label(size_t index, int indent) {
    if (target_[index]) line(indent, fmt::format("L{}:", index));
  }

  void print_instrs(const Code& code, size_t begin, size_t end, int indent) {
    for (size_t i = begin; i < end; ++i) {
      print_label(i, indent - 2);
      line(indent, instr_text(code, code.instrs[i]));
    }
  }

  std::string instr_text(const Code& code, const Instr& in) const {
    if (unsigned(in.op) >= unsigned(Opcode::count_))
      return fmt::format("\"<opcode {}>\"", unsigned(in.op));
    const std::string_view sig = op_info(in.op).signature;
    std::string s(op_info(in.op).name);
    for (size_t i = 0; i < sig.size(); ++i) {
      s += i == 0 ? " " : ", ";
      s += operand_text(code, in.args[i]);
    }
    if (in.async) s += " async";
    if (in.on_done != OnDone::none) {
      s += in.on_done == OnDone::activate ? " then activate " : " then unblock ";
      s += task_name(in.done_task);
    }
    return s;
  }

  std::string task_name(int id) const {
    auto it = task_names_.find(id);
    return it != task_names_.end() ? quoted_name(it->second) : fmt::format("{}", id);
  }

  std::string operand_text(const Code& code, const Operand& o) const {
    switch (o.kind) {
      case Operand::Kind::reg:
        return fmt::format("r{}", o.value);
      case Operand::Kind::dsd:
        return fmt::format("d{}", o.value);
      case Operand::Kind::special:
        return o.value >= 0 && o.value < 5 ? std::string(kSpecialNames[o.value]) : "?";
      case Operand::Kind::imm:
        return o.imm_is_float ? real_text(bits_to_f32(uint32_t(o.value)), true)
                              : fmt::format("{}", o.value);
      case Operand::Kind::label:
        return label_name(code, o.value);
      case Operand::Kind::task:
        return task_name(o.value);
      case Operand::Kind::color:
        return fmt::format("{}", o.value);
      case Operand::Kind::sym:
        if (o.value >= 0 && size_t(o.value) < code.symbols.size()) {
          return quoted_name(code.symbols[size_t(o.value)].name);
        }
        return fmt::format("{}", o.value);
      case Operand::Kind::dtype:
        return dtype_text(o.value);
      case Operand::Kind::none:
        break;
    }
    return "?";
  }

  void print_route(const Route& r) {
    std::string s = fmt::format("route {} {}", r.color, rect_text(r.rect));
    for (size_t i = 0; i < r.positions.size(); ++i) {
      s += fmt::format("{} rx {} tx {}", i == 0 ? "" : " |", ports_text(r.positions[i].rx),
                       ports_text(r.positions[i].tx));
    }
    line(0, s);
  }

  void print_host() {
    out_ += "\n";
    line(0, "host {");
    for (const HostOp& op : p_.host) line(2, host_text(op));
    line(0, "}");
  }

  static std::string host_text(const HostOp& op) {
    const std::string where = rect_text(op.rect);
    switch (op.kind) {
      case HostOp::Kind::h2d:
        return fmt::format("h2d {} {} {}", quoted_name(op.name), where, data_text(op.data));
      case HostOp::Kind::d2h:
        return fmt::format("d2h {} {}", quoted_name(op.name), where);
      case HostOp::Kind::launch:
        return fmt::format("launch {} {}", quoted_name(op.name), where);
      case HostOp::Kind::stream_in:
        return fmt::format("stream {} {} {} {} {}", op.color, dir_name(op.edge), where,
                           dtype_text(int32_t(op.stream_type)), data_text(op.data));
    }
    return "?";
  }

  static std::string data_text(const HostData& d) {
    switch (d.kind) {
      case HostData::Kind::values: {
        std::string s = "values";
        for (double v : d.values) s += " " + real_text(v, false);
        return s;
      }
      case HostData::Kind::fill:
        return "fill " + real_text(d.a, false);
      case HostData::Kind::iota:
        return fmt::format("iota {} {}", real_text(d.a, false), real_text(d.b, false));
      case HostData::Kind::random:
        return fmt::format("random {} {} {}", d.seed, real_text(d.a, false), real_text(d.b, false));
    }
    return "?";
  }

  const Program& p_;
  std::string out_;
  std::vector<bool> target_;                    // instructions that labels name
  std::map<int, std::string_view> task_names_;  // task id -> name, in the current code
};

}  // namespace

Expected<Program> parse_program(const std::string& text, const std::string& filename) {
  Parser parser(Lexer(text).run(), filename);
  return parser.parse_file();
}

Expected<Program> load_program_file(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return make_error("cannot read program file '{}': {}", path, lower_first(ec.message()));
  if (size > kMaxFileBytes) {
    return make_error("program file '{}' is too large ({} bytes, at most {})", path, size,
                      kMaxFileBytes);
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(size_t(size), '\0');
  if (!in || !in.read(text.data(), std::streamsize(size))) {
    return make_error("cannot read program file '{}': {}", path, lower_first(std::strerror(errno)));
  }
  return parse_program(text, path);
}

std::string print_program(const Program& program) { return Printer(program).run(); }

}  // namespace wafer::ir
