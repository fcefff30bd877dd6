#include "daemon/common/nats_names.h"

#include "daemon/common/ascii.h"

namespace trailwatch {

std::string natsUrlProblem(std::string_view url) {
  if (url.empty()) return "empty URL";
  std::size_t start = 0;
  while (start <= url.size()) {
    std::size_t end = url.find(',', start);
    if (end == std::string_view::npos) end = url.size();
    std::string_view one = url.substr(start, end - start);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (one.starts_with("tls://")) return "tls:// is not supported by this build (use nats://)";
    if (!one.starts_with("nats://")) return "'" + std::string(one) + "' is not a nats:// URL";
    std::string_view rest = one.substr(7);
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      rest = rest.substr(0, slash);
    }
    const auto colon = rest.rfind(':');
    if (rest.empty() || colon == 0) return "'" + std::string(one) + "' names no host";
    if (colon != std::string_view::npos) {
      std::string_view port = rest.substr(colon + 1);
      if (port.empty() || port.size() > 5 ||
          port.find_first_not_of("0123456789") != std::string_view::npos ||
          std::stoul(std::string(port)) > 65535 || std::stoul(std::string(port)) == 0) {
        return "'" + std::string(one) + "' has an invalid port";
      }
    }
    start = end + 1;
  }
  return "";
}

std::string natsSubjectProblem(std::string_view subject, bool wildcards) {
  if (subject.empty()) return "empty subject";
  std::size_t start = 0;
  while (true) {
    std::size_t end = subject.find('.', start);
    const bool last = end == std::string_view::npos;
    if (last) end = subject.size();
    const std::string_view token = subject.substr(start, end - start);
    if (token.empty()) return "empty token in subject '" + std::string(subject) + "'";
    for (char c : token) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
        return "subject '" + std::string(subject) + "' holds a space or control character";
      }
    }
    const bool wild = token.find_first_of("*>") != std::string_view::npos;
    if (wild) {
      if (!wildcards) return "subject '" + std::string(subject) + "' holds a wildcard";
      if (token != "*" && !(token == ">" && last)) {
        return "in subject '" + std::string(subject) +
               "', '*' must be a whole token and '>' the whole last token";
      }
    }
    if (last) return "";
    start = end + 1;
  }
}

std::string natsNameProblem(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name.size() > 64) return "longer than 64 characters";
  for (char c : name) {
    if (!ascii::isAlnum(c) && c != '-' && c != '_')
      return "allowed characters: letters, digits, '-' and '_'";
  }
  return "";
}

}  // namespace trailwatch
