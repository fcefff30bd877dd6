// Diagnostic: one problem found in a configuration or rule file, located as
// `file:line:col: message` (1-based line and column; 0 when unknown), the
// form `trailwatch check` prints and editors jump to.
//
// Thread-safety: plain values.
#pragma once

#include <string>
#include <vector>

namespace trailwatch {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem concerns the whole file
  int column = 0;  // 1-based; 0 when unknown
  std::string message;

  std::string str() const {
    std::string out = file;
    if (line > 0) {
      out += ':' + std::to_string(line);
      if (column > 0) out += ':' + std::to_string(column);
    }
    out += ": ";
    out += message;
    return out;
  }
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace trailwatch
