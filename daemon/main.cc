// trailwatch: argument parsing and dispatch to the subcommands in
// daemon/server/commands.h. Nothing else lives here.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "daemon/server/commands.h"
#include "daemon/server/coverage.h"
#include "daemon/server/forwarder.h"
#include "daemon/server/pseudonym_command.h"
#include "daemon/server/rule_tests.h"
#include "daemon/server/verify_command.h"

namespace po = boost::program_options;
using namespace trailwatch::server;

namespace {

constexpr const char* kUsage =
    "usage: trailwatch <command> [options]\n"
    "\n"
    "Follows audit and access logs, evaluates Sigma rules mapped to SOC 2 CC7.x and\n"
    "HIPAA 164.312(b), raises alerts and exposes Prometheus metrics.\n"
    "\n"
    "commands:\n"
    "  run    -c FILE                      run the daemon\n"
    "  check  [-c FILE] [--rules PATH]...  validate configuration and rules, print a summary\n"
    "  forward -c FILE                     publish the file sources' records to NATS JetStream\n"
    "  scan   [-c FILE] [--rules PATH]... [--format F] [FILE... | -]\n"
    "                                      scan files or stdin once; alerts on stdout,\n"
    "                                      a JSON summary on stderr\n"
    "  coverage [-c FILE] [--rules PATH]... [--format markdown|json]\n"
    "                                      which SOC 2 / HIPAA controls the rules serve,\n"
    "                                      in which formats; gaps marked\n"
    "  test   [-c FILE] [--require-tests] PATH...\n"
    "                                      run the rules' test cases (*.tests.yml beside\n"
    "                                      each rule), like `promtool test rules`\n"
    "  verify [--key-file F] FILE...       check the hash chain of alert logs; the first\n"
    "                                      broken, deleted or inserted record (exit 1)\n"
    "  pseudonym --key-file F VALUE... | -  the pseudonym a redacting output writes for\n"
    "                                      each value (to search a redacted channel)\n"
    "\n"
    "`trailwatch <command> --help` describes a command's options.\n"
    "exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error\n";

int usageError(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "trailwatch %s: %s\n(see `trailwatch %s --help`)\n", command.c_str(),
               message.c_str(), command.c_str());
  return kExitUsage;
}

// Parses `args` against `desc` (+ positional `inputs` when given). Returns
// false after printing help (exit 0) or an error (exit 2) into `exit_code`.
bool parse(const std::string& command, const std::vector<std::string>& args,
           po::options_description& desc, po::variables_map& vm, bool positional_inputs,
           int& exit_code) {
  desc.add_options()("help,h", "show this help");
  po::positional_options_description pos;
  if (positional_inputs) pos.add("input", -1);
  try {
    po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    exit_code = usageError(command, e.what());
    return false;
  }
  if (vm.count("help")) {
    std::cout << desc;
    exit_code = kExitOk;
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (command == "--version") {
    std::printf("trailwatch %s\n", TRAILWATCH_VERSION);
    return kExitOk;
  }

  po::variables_map vm;
  int exit_code = kExitOk;
  if (command == "run") {
    RunOptions o;
    po::options_description desc(
        "trailwatch run -c FILE: follow the configured sources until SIGTERM;\nSIGHUP reloads the "
        "rules.\noptions");
    desc.add_options()("config,c", po::value(&o.config_file)->required(),
                       "configuration file (YAML)");
    if (!parse(command, args, desc, vm, false, exit_code)) return exit_code;
    return runDaemon(o);
  }
  if (command == "forward") {
    ForwardOptions o;
    po::options_description desc(
        "trailwatch forward -c FILE: publish the configured file sources' records to NATS\n"
        "JetStream (the configuration's forward: section) until SIGTERM.\noptions");
    desc.add_options()("config,c", po::value(&o.config_file)->required(),
                       "configuration file (YAML)");
    if (!parse(command, args, desc, vm, false, exit_code)) return exit_code;
    return runForward(o);
  }
  if (command == "check") {
    CheckOptions o;
    po::options_description desc(
        "trailwatch check [-c FILE] [--rules PATH]... [--skip-unusable]: validate the "
        "configuration and every rule;\n"
        "print `file:line:col: message` per problem (exit 2) or a summary (exit 0).\noptions");
    desc.add_options()("config,c", po::value(&o.config_file), "configuration file (YAML)")(
        "rules,r", po::value(&o.rules)->composing(), "rule file or folder (repeatable)")(
        "skip-unusable", po::bool_switch(&o.skip_unusable),
        "leave out the rules that cannot be used (public packs) and list why, instead of "
        "failing (as unusable_rules: skip)")(
        "show-unindexed", po::bool_switch(&o.show_unindexed),
        "list the rules the rule index cannot skip (no field that must equal a literal): every "
        "event visits them");
    if (!parse(command, args, desc, vm, false, exit_code)) return exit_code;
    setUpLogging("warn");
    return runCheck(o);
  }
  if (command == "scan") {
    ScanOptions o;
    std::string extra_fields;
    po::options_description desc(
        "trailwatch scan [-c FILE] [--rules PATH]... [--format F|auto] [FILE... | -]: scan files "
        "(or\n"
        "stdin) once; each alert is a JSON line on stdout, then a JSON summary goes to stderr.\n"
        "options");
    desc.add_options()("config,c", po::value(&o.config_file),
                       "take rules and settings from this configuration")(
        "rules,r", po::value(&o.rules)->composing(), "rule file or folder (repeatable)")(
        "skip-unusable", po::bool_switch(&o.skip_unusable),
        "leave out the rules that cannot be used and log why (as unusable_rules: skip)")(
        "format,f", po::value(&o.format)->default_value("auto"),
        "record format (json, fhir, pgaudit, auditd, k8s-audit, cloudtrail, access-log, kv, "
        "syslog, syslog+FORMAT); auto: picked from the first record")(
        "extra-fields", po::value(&extra_fields),
        "access-log: comma-separated names of the fields after the user agent")(
        "max-line-bytes", po::value(&o.max_line_bytes)->default_value(1 << 20),
        "skip (and count) records longer than this")(
        "timestamp-field", po::value(&o.timestamp_field)->default_value("@timestamp"),
        "field with the event time, for correlation windows")(
        "workers", po::value(&o.workers)->default_value(0),
        "evaluating threads and correlation shards; 0: the configuration's, else one per 2 cores")(
        "input", po::value(&o.inputs)->composing(), "files to scan; '-' or none for stdin");
    if (!parse(command, args, desc, vm, true, exit_code)) return exit_code;
    for (std::size_t at = 0; !extra_fields.empty() && at <= extra_fields.size();) {
      const std::size_t comma = std::min(extra_fields.find(',', at), extra_fields.size());
      o.extra_fields.push_back(extra_fields.substr(at, comma - at));
      at = comma + 1;
    }
    setUpLogging("warn");
    return runScan(o);
  }
  if (command == "coverage") {
    CoverageOptions o;
    po::options_description desc(
        "trailwatch coverage [-c FILE] [--rules PATH]... [--format markdown|json]: for each\n"
        "SOC 2 / HIPAA control, the rules that serve it and the formats they read; gaps\n"
        "marked. Exit 0 (gaps are reported, not errors), 2 on a usage, configuration or rule\n"
        "error.\noptions");
    desc.add_options()("config,c", po::value(&o.config_file),
                       "configuration: its rules and lookups, and its sources' formats")(
        "rules,r", po::value(&o.rules)->composing(), "rule file or folder (repeatable)")(
        "format,f", po::value(&o.format)->default_value("markdown"), "markdown or json");
    if (!parse(command, args, desc, vm, false, exit_code)) return exit_code;
    setUpLogging("warn");
    return runCoverage(o);
  }
  if (command == "test") {
    RuleTestOptions o;
    po::options_description desc(
        "trailwatch test [-c FILE] [--require-tests] PATH...: run the test cases beside the\n"
        "rules under each PATH (a rule folder, rule file or *.tests.yml file): one line per\n"
        "tests file, `PATH: N cases, OK` or `PATH: FAILED` and the failing cases. Exit 0 when\n"
        "all pass, 1 when a case fails, 2 on a usage, configuration, rule or tests-file error.\n"
        "options");
    desc.add_options()("config,c", po::value(&o.config_file),
                       "take lookup tables, placeholder lists and correlation settings from it")(
        "require-tests", po::bool_switch(&o.require_tests),
        "a rule without tests is an error (exit 1), not a warning")(
        "input", po::value(&o.paths)->composing(), "rule folders, rule files or tests files");
    if (!parse(command, args, desc, vm, true, exit_code)) return exit_code;
    if (o.paths.empty()) return usageError(command, "give the rules to test: PATH...");
    setUpLogging("error");  // the command reports what the decoders reject, per record
    return runRuleTests(o);
  }
  if (command == "verify") {
    VerifyOptions o;
    po::options_description desc(
        "trailwatch verify [--key-file F] FILE...: check the hash chain of alert logs (and\n"
        "FILE.chain, the head written beside each): per file `FILE: OK: …` or `FILE: BROKEN:\n"
        "line N: …` naming the first edited, deleted or inserted record. Exit 0 when every\n"
        "chain is whole, 1 when one is broken, 2 on a usage error or an unreadable file.\n"
        "options");
    desc.add_options()("key-file,k", po::value(&o.key_file),
                       "the HMAC key the logs were written with (output's chain_key_file)")(
        "input", po::value(&o.files)->composing(), "alert log files");
    if (!parse(command, args, desc, vm, true, exit_code)) return exit_code;
    if (o.files.empty()) return usageError(command, "give the alert log file(s): FILE...");
    return runVerify(o);
  }
  if (command == "pseudonym") {
    PseudonymOptions o;
    po::options_description desc(
        "trailwatch pseudonym --key-file F VALUE... | -: print, one per line, the pseudonym\n"
        "an output with `redact: {pseudonymize: ..., key_file: F}` writes for each VALUE\n"
        "(\"-\": one value per line on stdin), so that an investigator holding the key can\n"
        "search the redacted channel for a known identifier. Exit 2 on a usage error or an\n"
        "unreadable key.\n"
        "options");
    desc.add_options()("key-file,k", po::value(&o.key_file), "the output's redact key_file")(
        "input", po::value(&o.values)->composing(), "values");
    if (!parse(command, args, desc, vm, true, exit_code)) return exit_code;
    if (o.key_file.empty()) return usageError(command, "give the key: --key-file F");
    if (o.values.empty()) return usageError(command, "give the value(s): VALUE... or -");
    return runPseudonym(o);
  }
  std::fprintf(stderr, "trailwatch: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return kExitUsage;
}
