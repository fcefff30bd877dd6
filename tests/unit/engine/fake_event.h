// FakeEvent: an Event built by hand for engine tests. Values are given by
// field path; bind() maps them to the FieldIds of a RuleSet's fieldPaths(),
// the way a decoder's setFields() would.
//
// Thread-safety: none; test-local.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "daemon/engine/rule_set.h"
#include "trailwatch/event.h"

namespace trailwatch::engine::testing {

class FakeEvent : public Event {
 public:
  FakeEvent& str(const std::string& path, std::string value) {
    return add(path, FieldValue::Type::kString, std::move(value));
  }
  FakeEvent& num(const std::string& path, double value, std::string text) {
    add(path, FieldValue::Type::kNumber, std::move(text));
    pending_.back().number = value;
    return *this;
  }
  FakeEvent& boolean(const std::string& path, bool value) {
    add(path, FieldValue::Type::kBool, value ? "true" : "false");
    pending_.back().boolean = value;
    return *this;
  }
  FakeEvent& null(const std::string& path) { return add(path, FieldValue::Type::kNull, "null"); }
  FakeEvent& composite(const std::string& path, std::string raw) {
    return add(path, FieldValue::Type::kComposite, std::move(raw));
  }
  FakeEvent& raw(std::string text) {
    raw_ = std::move(text);
    return *this;
  }
  // Whether the event lists its present fields (Event::present()), as the
  // JSON decoder's events do; on by default.
  FakeEvent& listPresent(bool on) {
    list_present_ = on;
    republish();
    return *this;
  }

  FakeEvent() = default;
  // A copy publishes a table of its own (Event is not copyable).
  FakeEvent(const FakeEvent& other)
      : pending_(other.pending_),
        by_id_(other.by_id_),
        raw_(other.raw_),
        list_present_(other.list_present_) {
    republish();
  }
  FakeEvent& operator=(const FakeEvent& other) {
    pending_ = other.pending_;
    by_id_ = other.by_id_;
    raw_ = other.raw_;
    list_present_ = other.list_present_;
    republish();
    return *this;
  }

  // Must be called after the last value is added and before evaluation.
  const FakeEvent& bind(const std::vector<std::string>& paths) {
    by_id_.assign(paths.size(), {});
    for (size_t i = 0; i < pending_.size(); ++i) {
      for (size_t id = 0; id < paths.size(); ++id) {
        if (paths[id] == pending_[i].path) {
          FieldValue v;
          v.type = pending_[i].type;
          v.number = pending_[i].number;
          v.boolean = pending_[i].boolean;
          v.text = *pending_[i].text;
          by_id_[id].push_back(v);
        }
      }
    }
    republish();
    return *this;
  }

  std::string_view raw() const override { return raw_; }

 private:
  struct Pending {
    std::string path;
    FieldValue::Type type;
    std::shared_ptr<const std::string> text;  // stable address, shared by copies
    double number = 0;
    bool boolean = false;
  };

  FakeEvent& add(const std::string& path, FieldValue::Type type, std::string text) {
    pending_.push_back(Pending{path, type, std::make_shared<const std::string>(std::move(text))});
    return *this;
  }

  // Points values() at by_id_ (event.h: the table an Event publishes).
  void republish() {
    table_.assign(by_id_.begin(), by_id_.end());
    present_.clear();
    for (size_t id = 0; id < by_id_.size(); ++id) {
      if (!by_id_[id].empty()) present_.push_back(static_cast<FieldId>(id));
    }
    publish(table_, list_present_ ? &present_ : nullptr);
  }

  std::vector<Pending> pending_;
  std::vector<std::vector<FieldValue>> by_id_;
  std::vector<std::span<const FieldValue>> table_;
  std::vector<FieldId> present_;
  std::string raw_;
  bool list_present_ = true;
};

}  // namespace trailwatch::engine::testing
