#include "daemon/source/journal_entry.h"

#include <algorithm>
#include <limits>

#include "daemon/common/json_writer.h"

namespace trailwatch::source {

std::string formatJournalTime(uint64_t realtime_usec) {
  constexpr auto kLast = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return formatRfc3339Micros(static_cast<int64_t>(std::min(realtime_usec, kLast)));
}

bool splitJournalData(std::string_view data, JournalField& out) {
  const size_t eq = data.find('=');
  if (eq == std::string_view::npos) return false;
  out.name = data.substr(0, eq);
  out.value = data.substr(eq + 1);
  return true;
}

void appendJournalJson(std::string& out, std::vector<JournalField>& fields,
                       const JournalEntryMeta& meta) {
  // Stable: the values of a repeated field keep their journal order.
  std::stable_sort(fields.begin(), fields.end(),
                   [](const JournalField& a, const JournalField& b) { return a.name < b.name; });
  out.append("{\"@timestamp\":\"");
  out.append(formatJournalTime(meta.realtime_usec));
  out.append("\",\"__CURSOR\":");
  appendJsonString(out, meta.cursor);
  out.append(",\"__REALTIME_TIMESTAMP\":\"");
  out.append(std::to_string(meta.realtime_usec));
  out.push_back('"');
  if (meta.has_monotonic) {
    out.append(",\"__MONOTONIC_TIMESTAMP\":\"");
    out.append(std::to_string(meta.monotonic_usec));
    out.push_back('"');
  }
  for (size_t i = 0; i < fields.size();) {
    size_t end = i + 1;
    while (end < fields.size() && fields[end].name == fields[i].name) ++end;
    out.push_back(',');
    appendJsonString(out, fields[i].name);
    out.push_back(':');
    if (end - i == 1) {
      appendJsonString(out, fields[i].value);
    } else {
      out.push_back('[');
      for (size_t k = i; k < end; ++k) {
        if (k > i) out.push_back(',');
        appendJsonString(out, fields[k].value);
      }
      out.push_back(']');
    }
    i = end;
  }
  out.push_back('}');
}

}  // namespace trailwatch::source
