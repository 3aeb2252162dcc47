// A model run's observations over all its layers; see model_observe.hpp.
#include "model_observe.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model_placement.hpp"
#include "wafer/sim/observe.hpp"
#include "wafer/support/atomic_file.hpp"
#include "wafer/support/json_text.hpp"

namespace wafer::cli {

namespace {

// The "layers" process of the trace: above every PE row (whose pid is its row number).
constexpr int kLayersPid = 1 << 30;

// A layer's per-PE counters added to the model's at the layer's origin on the fabric.
template <typename T>
void add_per_pe(std::vector<T>& total, const std::vector<T>& layer, int total_w, int total_h, int layer_w,
                int origin_x, int origin_y) {
  if (layer.empty()) return;
  if (total.empty()) total.assign(size_t(total_w) * size_t(total_h), T{});
  for (size_t i = 0; i < layer.size(); ++i) {
    const int x = origin_x + int(i % size_t(layer_w)), y = origin_y + int(i / size_t(layer_w));
    if (x >= total_w || y >= total_h) continue;
    T& into = total[size_t(y) * size_t(total_w) + size_t(x)];
    if constexpr (std::is_same_v<T, uint64_t>) {
      into += layer[i];
    } else {
      for (size_t k = 0; k < into.size(); ++k) into[k] += layer[i][k];
    }
  }
}

// "{...}" of one line of write_trace_json's event list, without the comma that ends it.
std::string without_comma(std::string line) {
  if (!line.empty() && line.back() == ',') line.pop_back();
  return line;
}

bool is_metadata(const std::string& line) { return line.find("\"ph\":\"M\"") != std::string::npos; }

// Writes `text` to `f` and empties it.
Status flush(std::string& text, std::FILE* f) {
  if (std::fwrite(text.data(), 1, text.size(), f) != text.size()) return make_error("{}", os_error_text(errno));
  text.clear();
  return Status::ok();
}

double trace_us(uint64_t cycles, double ghz) { return double(cycles) / (ghz * 1e3); }

// The number after `"key":` in an event line, or -1. The search starts at the event's phase,
// which comes after its name (a task's name could hold any text).
double field(const std::string& line, const char* key, size_t* at = nullptr, size_t* end = nullptr) {
  const std::string needle = fmt::format(",\"{}\":", key);
  const size_t phase = line.find(",\"ph\":");
  const size_t pos = phase == std::string::npos ? phase : line.find(needle, phase);
  if (pos == std::string::npos) return -1;
  const char* from = line.c_str() + pos + needle.size();
  char* stop = nullptr;
  const double v = std::strtod(from, &stop);
  if (at) *at = pos + needle.size();
  if (end) *end = size_t(stop - line.c_str());
  return v;
}

// One event line of a layer's trace moved onto the model's time line, `offset` cycles later,
// when it overlaps the window [from, to) of that line; nullopt when it does not. A time in the
// file is cycles / clock at 6 decimals of a microsecond (finer than a cycle), so the cycle it
// came from is recovered by rounding.
std::optional<std::string> shifted_event(const std::string& line, uint64_t offset, double ghz, uint64_t from,
                                         uint64_t to) {
  size_t at = 0, end = 0;
  const double ts = field(line, "ts", &at, &end);
  if (ts < 0) return line;
  const uint64_t start = uint64_t(std::llround(ts * ghz * 1e3)) + offset;
  const uint64_t stop = start + uint64_t(std::llround(std::max(0.0, field(line, "dur")) * ghz * 1e3));
  if (stop <= from || start >= to) return std::nullopt;
  return line.substr(0, at) + fmt::format("{:.6f}", trace_us(start, ghz)) + line.substr(end);
}

std::string layers_metadata() {
  return fmt::format("{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{0},\"args\":{{\"name\":\"layers\"}}}},\n"
                     "{{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":{0},\"args\":{{\"sort_index\":-1}}}}",
                     kLayersPid);
}

}  // namespace

Expected<sim::Options> sim_options_for_model(const RunFlags& flags) {
  auto o = sim_options(flags);
  if (!o) return o;
  o->trace.from_cycle = 0;
  o->trace.to_cycle = UINT64_MAX;
  return o;
}

void add_layer_stats(sim::Stats& total, const sim::Stats& layer, int origin_x, int origin_y) {
  const int w = total.width, h = total.height;
  add_per_pe(total.busy, layer.busy, w, h, layer.width, origin_x, origin_y);
  add_per_pe(total.stall, layer.stall, w, h, layer.width, origin_x, origin_y);
  add_per_pe(total.compute, layer.compute, w, h, layer.width, origin_x, origin_y);
  add_per_pe(total.link_out, layer.link_out, w, h, layer.width, origin_x, origin_y);
  total.cycles += layer.cycles;
  total.wavelets_moved += layer.wavelets_moved;
  total.instructions += layer.instructions;
  total.vector_elements += layer.vector_elements;
}

ModelObservation::ModelObservation(const compiler::Plan& plan, const RunFlags& flags, std::string model)
    : arch_(plan.arch), flags_(flags), model_(std::move(model)) {
  for (const compiler::Layer& l : plan.layers) layers_.push_back({l.name, l.kernel, l.origin_x, l.origin_y});
  const ir::Rect used = plan_extent(plan);
  total_.width = used.w;
  total_.height = used.h;
}

Expected<std::unique_ptr<ModelObservation>> ModelObservation::create(const compiler::Plan& plan,
                                                                     const RunFlags& flags,
                                                                     const std::string& model) {
  std::unique_ptr<ModelObservation> o(new ModelObservation(plan, flags, model));
  if (flags.trace.empty()) return o;
  std::string dir = (std::filesystem::temp_directory_path() / "wafer-model-trace.XXXXXX").string();
  if (!mkdtemp(dir.data())) return make_error("cannot make a scratch directory for --trace: {}", os_error_text(errno));
  o->scratch_ = dir;
  return o;
}

ModelObservation::~ModelObservation() {
  std::error_code ignored;
  if (!scratch_.empty()) std::filesystem::remove_all(scratch_, ignored);
}

compiler::LayerObserver ModelObservation::observer() {
  return [this](size_t layer, const sim::Simulator& sim) { return observe(layer, sim); };
}

Status ModelObservation::observe(size_t layer, const sim::Simulator& sim) {
  const LayerInfo& l = layers_.at(layer);
  const uint64_t start = spans_.empty() ? 0 : spans_.back().end;
  LayerSpan span{l.name, l.kernel, start, start + sim.now(), {}, sim.trace_dropped()};
  add_layer_stats(total_, sim.stats(), l.origin_x, l.origin_y);
  if (!scratch_.empty()) {
    span.trace_file = (scratch_ / fmt::format("layer{}.json", layer)).string();
    WAFER_TRY(sim::write_trace_json(sim, span.trace_file, l.origin_x, l.origin_y));
  }
  spans_.push_back(std::move(span));
  return Status::ok();
}

Status ModelObservation::write_trace() const {
  const double ghz = arch_.clock_ghz;
  size_t kept = 0;
  uint64_t dropped = 0;
  const auto window = flags_.trace_window.empty() ? std::pair<uint64_t, uint64_t>{0, UINT64_MAX}
                                                  : *parse_window(flags_.trace_window);
  auto write = [&](std::FILE* f) -> Status {
    std::string text = "{\"traceEvents\":[\n" + layers_metadata();
    for (size_t i = 0; i < spans_.size(); ++i) {
      const LayerSpan& s = spans_[i];
      const nlohmann::json args = {{"layer", i}, {"kernel", s.kernel}, {"cycles", s.end - s.start}};
      text += fmt::format(",\n{{\"name\":{},\"cat\":\"layer\",\"ph\":\"X\",\"ts\":{:.6f},\"dur\":{:.6f},\"pid\":{},"
                          "\"tid\":0,\"args\":{}}}",
                          json_text(nlohmann::json(s.name)), trace_us(s.start, ghz), trace_us(s.end - s.start, ghz),
                          kLayersPid, json_text(args));
    }
    std::set<std::string> named;  // metadata lines already written (a PE's name, once)
    for (const LayerSpan& s : spans_) {
      dropped += s.dropped;
      std::ifstream in(s.trace_file);
      std::string line;
      std::getline(in, line);  // {"traceEvents":[
      while (std::getline(in, line) && line.rfind("]", 0) != 0) {
        line = without_comma(std::move(line));
        if (is_metadata(line)) {
          if (named.insert(line).second) text += ",\n" + line;
          continue;
        }
        const std::optional<std::string> event = shifted_event(line, s.start, ghz, window.first, window.second);
        if (!event) continue;
        if (kept >= flags_.trace_max_events) {
          ++dropped;
          continue;
        }
        ++kept;
        text += ",\n" + *event;
        if (text.size() >= (1 << 20)) WAFER_TRY(flush(text, f));
      }
    }
    text += fmt::format("\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{{\"model\":{},\"arch\":{},\"clock_ghz\":{},"
                        "\"layers\":{},\"dropped_events\":{}}}}}\n",
                        json_text(nlohmann::json(model_)), json_text(nlohmann::json(arch_.name)), ghz,
                        spans_.size(), dropped);
    return flush(text, f);
  };
  WAFER_TRY(write_file_atomically(flags_.trace, "trace", write));
  note_trace_written(flags_.trace, kept + spans_.size(), dropped);
  return Status::ok();
}

Status ModelObservation::finish() const {
  print_stats_summary(total_, arch_, flags_);
  if (!flags_.trace.empty()) WAFER_TRY(write_trace());
  if (flags_.heatmap.empty()) return Status::ok();
  const std::string title = fmt::format("{} on {}: {}x{} PEs, {} layers, {} cycles", model_, arch_.name,
                                        total_.width, total_.height, spans_.size(), total_.cycles);
  return write_heatmap(total_, flags_, title);
}

}  // namespace wafer::cli
