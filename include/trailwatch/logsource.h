// LogSource: the Sigma `logsource` triple. A rule names the kind of log it
// is written for; a configured source may declare the kind it carries, and
// then receives only the rules whose logsource it satisfies.
//
// Thread-safety: plain values.
#pragma once

#include <string>

namespace trailwatch {

struct LogSource {
  // Lower-cased; empty when not given.
  std::string product;
  std::string service;
  std::string category;

  bool empty() const { return product.empty() && service.empty() && category.empty(); }

  // True when every key `rule` gives is declared here with the same value.
  // A rule that gives no key applies to every source.
  bool satisfies(const LogSource& rule) const {
    auto ok = [](const std::string& mine, const std::string& wanted) {
      return wanted.empty() || mine == wanted;
    };
    return ok(product, rule.product) && ok(service, rule.service) && ok(category, rule.category);
  }
};

}  // namespace trailwatch
