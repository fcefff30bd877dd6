// Placeholder lists: the files behind Sigma `%name%` placeholders, one value
// per line. Blank lines and lines starting with '#' are skipped; spaces and
// tabs around a value, and a CR before the LF, are trimmed.
//
// Thread-safety: free functions over local data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/result.h"

namespace trailwatch::enrich {

// Reads `path`; an error (`path: message`) when it cannot be read.
Result<std::vector<std::string>> loadPlaceholderList(const std::string& path);
std::vector<std::string> parsePlaceholderList(std::string_view text);

}  // namespace trailwatch::enrich
