// `wafer cluster serve --fleet F [--workload W] [--host H] [--port N] [--db FILE]
// [--time-scale X]`: the cluster service over HTTP (src/cluster/service.cpp, docs/cluster.md
// "The service"); W's [[serve]] tables split the fleet between serving and training.
//
// cpp-httplib's threaded server takes every request on every path and method into one
// handler, which copies the method, path, body and headers (names lowered) into an
// HttpRequest and hands it, under one mutex, to the Service with the wall-clock time; the
// Service answers with a status, a content type and a body, and never throws. Port 0 binds a
// free port; the address goes to stderr once the socket listens (`wafer: serving ... on
// http://HOST:PORT`), which is what scripts wait for. Bad flags exit 2; a fleet or store that
// cannot be opened, or a port that cannot be bound, exits 1.
#include "cmd_cluster_serve.hpp"

#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>

#include <fmt/format.h>
#include <httplib.h>

#include "wafer/cluster/service.hpp"

namespace wafer::cli {

namespace {

struct ServeFlags {
  std::string fleet;
  std::string workload;  // empty: no group serves
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string db = "wafer-cluster.db";
  double time_scale = 1;
};

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

cluster::HttpRequest to_request(const httplib::Request& req) {
  cluster::HttpRequest r{req.method, req.path, req.body, {}};
  for (const auto& [name, value] : req.headers) {
    std::string lower = name;
    for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    r.headers[lower] = value;
  }
  return r;
}

int run_serve(const ServeFlags& f) {
  Expected<cluster::Fleet> fleet = cluster::load_fleet(f.fleet);
  if (!fleet) return report_error(fleet.status());
  cluster::WorkloadSpec workload;
  if (!f.workload.empty()) {
    Expected<cluster::WorkloadSpec> spec = cluster::load_workload_spec(f.workload);
    if (!spec) return report_error(spec.status());
    workload = std::move(*spec);
  }
  Expected<std::unique_ptr<cluster::Service>> service =
      cluster::Service::open(*fleet, workload, f.db, f.time_scale, unix_seconds());
  if (!service) return report_error(service.status());
  std::mutex lock;
  httplib::Server server;
  server.set_payload_max_length(size_t(1) << 22);
  auto handler = [&](const httplib::Request& req, httplib::Response& res) {
    cluster::HttpResponse out;
    {
      std::lock_guard<std::mutex> guard(lock);
      out = (*service)->handle(to_request(req), unix_seconds());
    }
    res.status = out.status;
    if (!out.allow.empty()) res.set_header("Allow", out.allow);
    res.set_content(out.body, out.content_type.c_str());
  };
  const char* any = R"(/.*)";
  server.Get(any, handler);
  server.Post(any, handler);
  server.Put(any, handler);
  server.Patch(any, handler);
  server.Delete(any, handler);
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                  std::exception_ptr) {
    res.status = 500;
    res.set_content(R"({"error":{"message":"internal error","field":null}})", "application/json");
  });
  const int port = f.port == 0 ? server.bind_to_any_port(f.host) : f.port;
  if (f.port != 0 && !server.bind_to_port(f.host, port))
    return report_error(fmt::format("cannot listen on {}:{}", f.host, port));
  if (port < 0) return report_error(fmt::format("cannot listen on {}", f.host));
  fmt::print(stderr, "wafer: serving fleet '{}' on http://{}:{} (db {}, time scale {:g})\n",
             fleet->name, f.host, port, f.db, f.time_scale);
  std::fflush(stderr);
  return server.listen_after_bind() ? 0 : report_error("the server stopped with an error");
}

}  // namespace

void add_cluster_serve(CLI::App& cluster, Runner& run) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = cluster.add_subcommand(
      "serve", "an HTTP service over a fleet: training jobs, inference routing, a live page");
  cmd->add_option("--fleet", f->fleet, "fleet file (.toml; examples/fleets/)")->required();
  cmd->add_option("--workload", f->workload,
                  "workload file (.toml) whose [[serve]] tables name the groups that serve its "
                  "model (the rest train); no arrivals. Without it no group serves");
  cmd->add_option("--host", f->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", f->port, "TCP port (0: any free port, printed on start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--db", f->db, "SQLite file of the accepted jobs (created when absent)")
      ->capture_default_str();
  cmd->add_option("--time-scale", f->time_scale,
                  "simulated seconds per wall-clock second (3600: an hour per second)")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1e9));
  cmd->callback([&run, f] { run = [f] { return run_serve(*f); }; });
}

}  // namespace wafer::cli
