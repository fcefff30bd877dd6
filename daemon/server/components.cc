#include "daemon/server/components.h"

#include <filesystem>
#include <utility>

#include "daemon/alert/file_sink.h"
#include "daemon/alert/redaction.h"
#include "daemon/alert/stdout_sink.h"
#include "daemon/source/file_source.h"

namespace trailwatch::server {

std::string checkpointPath(const config::Config& config, const std::string& source) {
  return (std::filesystem::path(config.state_dir) / "checkpoints" / (source + ".ckpt")).string();
}

Result<std::unique_ptr<Source>> makeSource(const config::Config& config,
                                           const config::SourceConfig& sc,
                                           metrics::Metrics& /*metrics*/) {
  if (sc.type == "file") {
    source::FileSourceOptions fo;
    fo.name = sc.name;
    fo.patterns = sc.paths;
    fo.follow = true;
    fo.start_at_end = sc.start_at_end;
    fo.max_line_bytes = sc.max_line_bytes;
    fo.checkpoint_path = checkpointPath(config, sc.name);
    return std::unique_ptr<Source>(std::make_unique<source::FileSource>(std::move(fo)));
  }
  return Error{"source " + sc.name + ": unsupported type '" + sc.type + "'"};
}

namespace {

// The sink an output's type names, before redaction.
Result<std::unique_ptr<AlertSink>> makeTypedSink(const config::OutputConfig& output) {
  if (output.type == "stdout") {
    return std::unique_ptr<AlertSink>(std::make_unique<alert::StdoutSink>());
  }
  if (output.type == "file") {
    alert::FileSinkOptions options;
    options.hash_chain = output.hash_chain;
    if (!output.chain_key_file.empty()) {
      auto key = alert::readChainKey(output.chain_key_file);
      if (!key.ok()) return Error{key.error()};
      options.chain_key = std::move(key).value();
    }
    auto sink = alert::FileSink::open(output.path, options);
    if (!sink.ok()) return Error{sink.error()};
    return std::unique_ptr<AlertSink>(std::move(sink).value());
  }
  return Error{"unsupported output type '" + output.type + "'"};
}

}  // namespace

Result<std::unique_ptr<AlertSink>> makeSink(const config::Config& /*config*/,
                                            const config::OutputConfig& output,
                                            metrics::Metrics& metrics) {
  auto sink = makeTypedSink(output);
  if (!sink.ok() || !output.redact) return sink;
  // Redaction wraps whatever the type built, so every sink type gets it.
  alert::RedactionPolicy policy;
  policy.drop = output.redact->drop;
  policy.pseudonymize = output.redact->pseudonymize;
  policy.redact_records = output.redact->redact_records;
  if (!output.redact->key_file.empty()) {
    auto key = alert::readChainKey(output.redact->key_file);
    if (!key.ok()) return Error{key.error()};
    policy.key = std::move(key).value();
  }
  std::unique_ptr<AlertSink> inner = std::move(sink).value();
  prometheus::Counter* failures = &metrics.redactionFailures(inner->name());
  return std::unique_ptr<AlertSink>(std::make_unique<alert::RedactingSink>(
      std::move(inner), std::move(policy), [failures] { failures->Increment(); }));
}

}  // namespace trailwatch::server
