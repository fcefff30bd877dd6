#include "daemon/server/commands.h"

#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/alert/file_sink.h"
#include "daemon/alert/stdout_sink.h"
#include "daemon/common/json_writer.h"
#include "daemon/config/config.h"
#include "daemon/decode/registry.h"
#include "daemon/engine/rule_index.h"
#include "daemon/engine/rule_set.h"
#include "daemon/metrics/metrics.h"
#include "daemon/server/components.h"
#include "daemon/server/lookup_loader.h"
#include "daemon/server/one_shot_scan.h"
#include "daemon/server/pipeline.h"
#include "daemon/server/service_notifier.h"
#include "daemon/server/snapshot_holder.h"
#include "daemon/source/activated_sockets.h"
#include "daemon/source/file_source.h"
#include "daemon/source/stream_source.h"

namespace trailwatch::server {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void printDiagnostics(const Diagnostics& diags) {
  for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.str().c_str());
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Checks every source's format against the registered decoders.
void checkFormats(const config::Config& config, Diagnostics& diags) {
  for (const auto& source : config.sources) {
    if (decode::makeDecoder(source.format) == nullptr) {
      diags.push_back({config.file, source.format_line, source.format_column,
                       "unknown format '" + source.format + "' in source '" + source.name +
                           "' (known: " + decode::formatsHelp() + ")"});
    } else if (!source.extra_fields.empty() && !decode::takesExtraFields(source.format)) {
      diags.push_back({config.file, source.extra_fields_line, source.extra_fields_column,
                       "extra_fields in source '" + source.name +
                           "' is for the access-log format (and syslog+access-log), not '" +
                           source.format + "'"});
    }
  }
}

// One line per problem of a rule left out by `unusable_rules: skip`:
// `file:line:col: message [rule 'title' skipped]`.
std::vector<std::string> skippedLines(const std::vector<engine::SkippedRule>& skipped) {
  std::vector<std::string> lines;
  for (const auto& s : skipped) {
    const std::string what = s.line == 0       ? "file skipped"
                             : s.title.empty() ? "rule skipped"
                                               : "rule '" + s.title + "' skipped";
    for (const auto& p : s.problems) lines.push_back(p.str() + " [" + what + "]");
  }
  return lines;
}

// Loads the rules; with `skip_unusable`, the rules that cannot be used are
// left out and each is logged as a warning. `skipped_count` (may be null)
// receives how many.
std::shared_ptr<const engine::RuleSet> loadRulesOrReport(const std::vector<std::string>& paths,
                                                         const engine::Placeholders* placeholders,
                                                         bool skip_unusable,
                                                         size_t* skipped_count = nullptr) {
  Diagnostics diags;
  std::vector<engine::SkippedRule> skipped;
  auto rules =
      engine::RuleSet::load(paths, diags, placeholders, skip_unusable ? &skipped : nullptr);
  if (!rules || !diags.empty()) {
    printDiagnostics(diags);
    return nullptr;
  }
  for (const auto& line : skippedLines(skipped)) spdlog::warn("{}", line);
  if (!skipped.empty()) {
    spdlog::warn("{} rule(s) or file(s) left out as unusable (unusable_rules: skip)",
                 skipped.size());
  }
  if (skipped_count != nullptr) *skipped_count = skipped.size();
  return rules;
}

// Escapes glob(3) metacharacters so a path given on the command line is
// taken literally by the file source.
std::string globLiteral(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Loads the configuration's lookup tables and placeholder lists; prints
// `path:line: message` for each broken file and returns false.
bool loadLookupsOrReport(LookupLoader& loader) {
  std::vector<std::string> errors;
  if (loader.loadAll(errors)) return true;
  for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
  return false;
}

}  // namespace

std::optional<config::Config> loadConfigOrReport(const std::string& file) {
  Diagnostics diags;
  auto config = config::loadConfig(file, diags);
  if (config) checkFormats(*config, diags);
  if (!diags.empty()) {
    printDiagnostics(diags);
    return std::nullopt;
  }
  return config;
}

void setUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("trailwatch");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(level));
}

int runCheck(const CheckOptions& options) {
  std::vector<std::string> rule_paths;
  std::optional<config::Config> config;
  if (!options.config_file.empty()) {
    config = loadConfigOrReport(options.config_file);
    if (!config) {
      std::fprintf(stderr, "trailwatch check: configuration %s has errors\n",
                   options.config_file.c_str());
      return kExitUsage;
    }
    rule_paths = config->rules;
  }
  rule_paths.insert(rule_paths.end(), options.rules.begin(), options.rules.end());
  if (rule_paths.empty()) {
    std::fprintf(stderr, "trailwatch check: nothing to check: give -c FILE or --rules PATH\n");
    return kExitUsage;
  }
  config::Config empty;
  LookupLoader lookups(config ? *config : empty, nullptr);
  std::vector<std::string> lookup_errors;
  (void)lookups.loadAll(lookup_errors);
  if (config) {
    // A chain key `run` could not read would stop the daemon at start.
    for (const auto& output : config->outputs) {
      if (output.chain_key_file.empty()) continue;
      if (auto key = alert::readChainKey(output.chain_key_file); !key.ok()) {
        lookup_errors.push_back(key.error());
      }
    }
  }
  for (const auto& e : lookup_errors) std::fprintf(stderr, "%s\n", e.c_str());
  Diagnostics diags;
  std::vector<engine::SkippedRule> skipped;
  const bool skip = options.skip_unusable || (config && config->skip_unusable_rules);
  auto rules =
      engine::RuleSet::load(rule_paths, diags, &lookups.placeholders(), skip ? &skipped : nullptr);
  if (!rules || !diags.empty() || !lookup_errors.empty()) {
    printDiagnostics(diags);
    std::fprintf(stderr, "trailwatch check: %zu problem(s) found\n",
                 diags.size() + lookup_errors.size());
    return kExitUsage;
  }

  if (config) {
    std::printf("config %s: OK (%zu source(s), %zu output(s), state in %s)\n", config->file.c_str(),
                config->sources.size(), config->outputs.size(), config->state_dir.c_str());
    for (const auto& output : config->outputs) {
      if (!output.redact) continue;
      const auto& r = *output.redact;
      std::string what;
      if (!r.drop.empty()) what += "drop " + joinNames(r.drop);
      if (!r.pseudonymize.empty()) {
        if (!what.empty()) what += "; ";
        what += "pseudonymize " + joinNames(r.pseudonymize) + " (key " + r.key_file + ")";
      }
      std::printf("output %s%s: redact: %s; whole records %s\n", output.type.c_str(),
                  output.path.empty() ? "" : (" " + output.path).c_str(), what.c_str(),
                  r.redact_records ? "redacted by field path" : "dropped");
    }
  }
  std::map<std::string, size_t> per_pack;
  std::set<std::string> files;
  for (size_t i = 0; i < rules->size(); ++i) {
    per_pack[rules->rule(i).pack]++;
    files.insert(rules->rule(i).file);
  }
  std::printf("rules: %zu loaded from %zu file(s)\n", rules->size(), files.size());
  for (const auto& [pack, count] : per_pack)
    std::printf("  pack %s: %zu rule(s)\n", pack.c_str(), count);
  if (skip) {
    std::printf("skipped as unusable: %zu rule(s) or file(s)\n", skipped.size());
    for (const auto& line : skippedLines(skipped)) std::printf("  %s\n", line.c_str());
  }
  for (const auto& c : rules->correlations()) {
    const auto& info = rules->rule(c.rule_index);
    std::vector<std::string> inputs;
    for (const auto& in : c.inputs) {
      const auto& r =
          rules->rule(in.from_correlation ? rules->correlations()[in.index].rule_index : in.index);
      inputs.push_back(!r.name.empty() ? r.name : !r.id.empty() ? r.id : r.title);
    }
    std::printf("  correlation %s: %s of %s by %s within %s%s\n", info.title.c_str(),
                engine::correlationTypeName(c.type), joinNames(inputs).c_str(),
                c.group_by.empty() ? "(one group)" : joinNames(c.group_by).c_str(),
                c.timespan_text.c_str(), info.alerts ? "" : " (feeds another correlation)");
  }
  const auto& fields = rules->fieldPaths();
  std::printf("fields used (%zu): %s\n", fields.size(), joinNames(fields).c_str());
  if (config) {
    const auto set = lookups.lookupSet();
    for (size_t i = 0; i < set->size(); ++i) {
      const auto& table = set->table(i);
      std::printf("lookup %s (%s): %zu row(s), key %s matched on %s%s; adds %s\n",
                  table.spec().name.c_str(), table.spec().path.c_str(), table.rows(),
                  table.spec().key.c_str(), table.spec().match.c_str(),
                  table.spec().case_insensitive ? " (case-insensitive)" : "",
                  joinNames(table.addedFields()).c_str());
    }
    for (const auto& [name, values] : lookups.placeholders()) {
      std::printf("placeholder %%%s%%: %zu value(s)\n", name.c_str(), values.size());
    }
    for (const auto& source : config->sources) {
      const auto applicable = rules->rulesFor(source.logsource ? &*source.logsource : nullptr);
      const engine::RuleIndex index(*rules, applicable);
      std::printf("source %s (%s, %s): %zu rule(s) apply, %zu indexed on %zu field(s)\n",
                  source.name.c_str(), source.type.c_str(), source.format.c_str(),
                  applicable.size(), applicable.size() - index.ungated(), index.gatedFields());
    }
  }
  if (options.show_unindexed) {
    // Rules every event visits: nothing they need of an event is indexed.
    for (const uint32_t r : rules->rulesFor(nullptr)) {
      if (!engine::clausesOf(rules->detection(r)).empty()) continue;
      std::printf("not indexed: %s (%s:%d)\n", rules->rule(r).title.c_str(),
                  rules->rule(r).file.c_str(), rules->rule(r).line);
    }
  }
  std::printf("trailwatch check: OK\n");
  return kExitOk;
}

int runScan(const ScanOptions& options) {
  const auto start = Clock::now();
  std::vector<std::string> rule_paths;
  config::Config config;
  if (!options.config_file.empty()) {
    auto loaded = loadConfigOrReport(options.config_file);
    if (!loaded) return kExitUsage;
    config = std::move(*loaded);
    rule_paths = config.rules;
  }
  LookupLoader lookups(config, nullptr);
  if (!loadLookupsOrReport(lookups)) return kExitUsage;
  rule_paths.insert(rule_paths.end(), options.rules.begin(), options.rules.end());
  if (rule_paths.empty()) {
    std::fprintf(stderr, "trailwatch scan: no rules: give --rules PATH or -c FILE\n");
    return kExitUsage;
  }
  if (!options.extra_fields.empty() && !decode::takesExtraFields(options.format)) {
    std::fprintf(stderr,
                 "trailwatch scan: --extra-fields is for --format access-log (and "
                 "syslog+access-log), not '%s'\n",
                 options.format.c_str());
    return kExitUsage;
  }
  auto decoder = decode::makeDecoder(options.format, {options.extra_fields});
  if (!decoder) {
    std::fprintf(stderr, "trailwatch scan: unknown format '%s' (known: %s)\n",
                 options.format.c_str(), decode::formatsHelp().c_str());
    return kExitUsage;
  }
  auto rules = loadRulesOrReport(rule_paths, &lookups.placeholders(),
                                 options.skip_unusable || config.skip_unusable_rules);
  if (!rules) return kExitUsage;

  const bool from_stdin =
      options.inputs.empty() || (options.inputs.size() == 1 && options.inputs[0] == "-");
  std::unique_ptr<Source> source;
  if (from_stdin) {
    source::StreamSourceOptions so;
    so.name = "scan";
    so.fd = STDIN_FILENO;
    so.label = "-";
    so.max_line_bytes = options.max_line_bytes;
    source = std::make_unique<source::StreamSource>(std::move(so));
  } else {
    source::FileSourceOptions fo;
    fo.name = "scan";
    fo.follow = false;
    fo.start_at_end = false;
    fo.max_line_bytes = options.max_line_bytes;
    for (const auto& input : options.inputs) {
      struct stat st {};
      if (input == "-") {
        std::fprintf(stderr, "trailwatch scan: '-' (stdin) cannot be combined with files\n");
        return kExitUsage;
      }
      if (::stat(input.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        std::fprintf(stderr, "trailwatch scan: %s: not a readable regular file\n", input.c_str());
        return kExitUsage;
      }
      fo.patterns.push_back(
          globLiteral(std::filesystem::absolute(input).lexically_normal().string()));
    }
    source = std::make_unique<source::FileSource>(std::move(fo));
  }
  alert::StdoutSink out;
  auto scanned = runOneShotScan(
      std::move(source), std::move(decoder),
      {rules, lookups.lookupSet(), correlatorOptions(config.correlation, options.workers),
       options.timestamp_field},
      out);
  if (!scanned.ok()) {
    std::fprintf(stderr, "trailwatch scan: %s\n", scanned.error().c_str());
    return kExitFailure;
  }

  const PipelineTotals& t = scanned->totals;
  const double seconds = secondsSince(start);
  std::string summary =
      "{\"events\":" + std::to_string(t.events) + ",\"bytes\":" + std::to_string(t.bytes) +
      ",\"decode_errors\":" + std::to_string(t.decode_errors) +
      ",\"oversized\":" + std::to_string(t.oversized) + ",\"alerts\":" + std::to_string(t.alerts) +
      ",\"rules\":" + std::to_string(rules->size()) + ",\"format\":";
  // With `auto`, the summary says which format the first record chose.
  appendJsonString(summary, !scanned->format.empty() ? scanned->format : options.format);
  summary += ",\"seconds\":";
  appendJsonNumber(summary, seconds);
  summary += ",\"events_per_second\":";
  appendJsonNumber(summary, seconds > 0 ? static_cast<double>(t.events) / seconds : 0.0);
  summary += "}";
  std::fprintf(stderr, "%s\n", summary.c_str());
  return kExitOk;
}

int runDaemon(const RunOptions& options) {
  // Signals are taken synchronously by this thread (sigtimedwait below).
  // They are blocked before any thread exists (the metrics exposer starts
  // its own), so every thread inherits the mask and a SIGTERM can never
  // land on a thread that would let its default action kill the process
  // without draining.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto config = loadConfigOrReport(options.config_file);
  if (!config) {
    std::fprintf(stderr, "trailwatch run: configuration %s has errors\n",
                 options.config_file.c_str());
    return kExitUsage;
  }
  setUpLogging(config->log_level);

  metrics::Metrics metrics;
  LookupLoader lookups(*config, &metrics);
  if (!loadLookupsOrReport(lookups)) return kExitUsage;
  LookupSetHolder lookup_holder(lookups.lookupSet());
  for (size_t i = 0; i < lookups.lookupSet()->size(); ++i) {
    const auto& table = lookups.lookupSet()->table(i);
    spdlog::info("lookup {}: {} rows from {}", table.spec().name, table.rows(), table.spec().path);
  }
  const auto load_start = Clock::now();
  size_t skipped = 0;
  auto rules = loadRulesOrReport(config->rules, &lookups.placeholders(),
                                 config->skip_unusable_rules, &skipped);
  if (!rules) return kExitUsage;
  metrics.ruleSetLoaded(rules->size(), secondsSince(load_start), skipped);
  RuleSetHolder holder(rules);
  spdlog::info("loaded {} rules from {}", rules->size(), joinNames(config->rules));

  if (config->metrics.enabled) {
    if (Status s = metrics.listen(config->metrics.listen); !s.ok()) {
      spdlog::error("{}", s.error());
      return kExitFailure;
    }
    for (int port : metrics.listeningPorts()) spdlog::info("metrics on port {}", port);
  }

  std::vector<std::unique_ptr<AlertSink>> sinks;
  for (const auto& output : config->outputs) {
    auto sink = makeSink(*config, output, metrics);
    if (!sink.ok()) {
      spdlog::error("{}", sink.error());
      return kExitFailure;
    }
    sinks.push_back(std::move(sink).value());
  }
  std::vector<AlertSink*> sink_ptrs;
  for (auto& s : sinks) sink_ptrs.push_back(s.get());

  CorrelatorOptions correlation = correlatorOptions(config->correlation, 0);
  correlation.state_file =
      (std::filesystem::path(config->state_dir) / "correlation.state").string();
  correlation.follow_wall_clock = true;
  Correlator correlator(correlation, holder, sink_ptrs, metrics);
  if (Status s = correlator.start(); !s.ok()) {
    spdlog::error("{}", s.error());
    return kExitFailure;
  }

  std::vector<std::unique_ptr<SourcePipeline>> pipelines;
  for (const auto& sc : config->sources) {
    auto made = makeSource(*config, sc, metrics, &holder);
    if (!made.ok()) {
      spdlog::error("{}", made.error());
      return kExitFailure;
    }
    std::unique_ptr<Source> source = std::move(made).value();
    if (Status s = source->open(); !s.ok()) {
      spdlog::error("source {}: {}", sc.name, s.error());
      return kExitFailure;
    }
    pipelines.push_back(std::make_unique<SourcePipeline>(
        std::move(source), decode::makeDecoder(sc.format, {sc.extra_fields}), sc.logsource,
        sink_ptrs, holder, metrics, config->checkpoint_interval, &lookup_holder, &correlator,
        sc.timestamp_field, correlation.shards));
  }
  for (const auto& name : source::closeUnclaimedActivatedSockets()) {
    spdlog::warn(
        "socket activation: no syslog source is named '{}' (FileDescriptorName= in the "
        ".socket unit); that socket is closed",
        name);
  }
  std::vector<std::thread> threads;
  for (auto& p : pipelines) threads.emplace_back([&p] { p->run(); });

  spdlog::info("trailwatch running: {} source(s), {} output(s)", pipelines.size(), sinks.size());
  sd_notifyf(0, "READY=1\nSTATUS=%zu sources, %zu rules", pipelines.size(), rules->size());

  // Watchdog pings (when the unit sets WatchdogSec=) only while every
  // pipeline and correlator shard makes progress; STATUS= every 5 s.
  ServiceNotifierOptions notify_options;
  if (uint64_t usec = 0; sd_watchdog_enabled(0, &usec) > 0) {
    notify_options.watchdog = std::chrono::microseconds(usec);
    spdlog::info("watchdog: pinging every {} ms while every worker makes progress", usec / 2000);
  }
  ServiceNotifier notifier(notify_options, [](const std::string& m) { sd_notify(0, m.c_str()); });
  for (const auto& p : pipelines) notifier.watch("source " + p->name(), &p->heartbeat());
  for (size_t i = 0; i < correlator.shards(); ++i) {
    notifier.watch("correlator shard " + std::to_string(i), &correlator.heartbeat(i));
  }
  auto counts = [&] {
    ServiceCounts c;
    for (const auto& p : pipelines) {
      const PipelineTotals t = p->totals();
      c.events += t.events;
      c.alerts += t.alerts;
    }
    c.alerts += correlator.alerts();
    c.sources = pipelines.size();
    c.rules = holder.snapshot()->size();
    return c;
  };
  notifier.tick(Heartbeat::steadyNanos(), counts());

  // Rebuilds the rule set (rules may name placeholders) and swaps it in; a
  // set that does not compile leaves the running one in place.
  auto rebuildRules = [&](const char* why) {
    const auto start = Clock::now();
    Diagnostics diags;
    std::vector<engine::SkippedRule> skipped;
    auto next = engine::RuleSet::load(config->rules, diags, &lookups.placeholders(),
                                      config->skip_unusable_rules ? &skipped : nullptr);
    if (next && diags.empty()) {
      for (const auto& line : skippedLines(skipped)) spdlog::warn("{}: {}", why, line);
      metrics.ruleSetLoaded(next->size(), secondsSince(start), skipped.size());
      holder.replace(std::move(next));
      spdlog::info("{}: {} rules active", why, holder.snapshot()->size());
      return;
    }
    metrics.ruleSetReloadFailed();
    for (const auto& d : diags) spdlog::error("{}: rejected: {}", why, d.str());
    spdlog::error("{}: rules not rebuilt; the previous {} rules stay active", why,
                  holder.snapshot()->size());
  };

  const auto tick_ns = notifier.tickInterval().count();
  const timespec tick{static_cast<time_t>(tick_ns / 1'000'000'000),
                      static_cast<long>(tick_ns % 1'000'000'000)};
  while (true) {
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    notifier.tick(Heartbeat::steadyNanos(), counts());
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("signal {}: draining and stopping", sig);
      sd_notify(0, "STOPPING=1");
      break;
    }
    // Once per wake-up (a second, or a signal): lookup and placeholder files
    // that changed are re-read.
    const auto changes = lookups.poll();
    if (changes.lookups) lookup_holder.replace(lookups.lookupSet());
    if (sig == SIGHUP) {
      // MONOTONIC_USEC is required with RELOADING=1 by Type=notify-reload
      // (systemd >= 253); older managers ignore the field. READY=1 follows
      // whatever the reload's outcome: a rejected rule set keeps the old one.
      timespec mono{};
      clock_gettime(CLOCK_MONOTONIC, &mono);
      sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                 static_cast<unsigned long long>(mono.tv_sec) * 1'000'000ULL +
                     static_cast<unsigned long long>(mono.tv_nsec / 1000));
      rebuildRules("SIGHUP reload");
      sd_notify(0, "READY=1");
    } else if (changes.placeholders) {
      rebuildRules("placeholders changed");
    }
  }
  for (auto& p : pipelines) p->requestStop();
  for (auto& t : threads) t.join();
  correlator.stop();  // state was saved with each source's last commit
  for (auto& s : sinks) (void)s->flush();
  spdlog::info("trailwatch stopped");
  return kExitOk;
}

}  // namespace trailwatch::server
