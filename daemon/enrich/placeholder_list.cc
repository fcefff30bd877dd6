#include "daemon/enrich/placeholder_list.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace trailwatch::enrich {

std::vector<std::string> parsePlaceholderList(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') continue;
    out.emplace_back(line);
  }
  return out;
}

Result<std::vector<std::string>> loadPlaceholderList(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": cannot read: " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{path + ": read error"};
  return parsePlaceholderList(text.str());
}

}  // namespace trailwatch::enrich
