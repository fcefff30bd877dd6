#include "daemon/decode/json_decoder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/decode/registry.h"
#include "trailwatch/source.h"

namespace trailwatch::decode {
namespace {

using Type = FieldValue::Type;

// Owns a record followed by kRecordPadding bytes, as a source hands it out.
// The padding is filled with characters that would change the parse if the
// decoder read them as part of the record.
class PaddedRecord {
 public:
  explicit PaddedRecord(std::string_view text) : buffer_(text.size() + kRecordPadding, '}') {
    buffer_.replace(0, text.size(), text);
    size_ = text.size();
  }
  std::string_view view() const { return std::string_view(buffer_.data(), size_); }

 private:
  std::string buffer_;
  std::size_t size_ = 0;
};

class JsonDecoderTest : public ::testing::Test {
 protected:
  void fields(std::vector<std::string> paths) {
    paths_ = std::move(paths);
    decoder_.setFields(paths_);
  }

  const Event* decode(std::string_view text) {
    record_ = std::make_unique<PaddedRecord>(text);
    error_ = DecodeError{};
    return decoder_.decode(record_->view(), error_);
  }

  // The decoded texts of field `id`.
  static std::vector<std::string> texts(const Event& event, FieldId id) {
    std::vector<std::string> out;
    for (const auto& v : event.values(id)) out.emplace_back(v.text);
    return out;
  }

  JsonDecoder decoder_;
  std::vector<std::string> paths_;
  std::unique_ptr<PaddedRecord> record_;
  DecodeError error_;
};

using Strings = std::vector<std::string>;

TEST_F(JsonDecoderTest, ExtractsNestedPaths) {
  fields({"agent.who.identifier.value", "action", "agent.requestor"});
  const Event* e =
      decode(R"({"action":"R","agent":{"requestor":true,"who":{"identifier":{"value":"u-17"}}}})");
  ASSERT_NE(e, nullptr) << error_.reason << ": " << error_.detail;
  EXPECT_EQ(texts(*e, 0), Strings{"u-17"});
  EXPECT_EQ(texts(*e, 1), Strings{"R"});
  ASSERT_EQ(e->values(2).size(), 1u);
  EXPECT_EQ(e->values(2)[0].type, Type::kBool);
  EXPECT_TRUE(e->values(2)[0].boolean);
}

TEST_F(JsonDecoderTest, RawIsTheRecordText) {
  fields({"a"});
  const std::string text = R"(  {"a": 1}  )";
  const Event* e = decode(text);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->raw(), text);
  EXPECT_EQ(e->raw().data(), record_->view().data());
}

TEST_F(JsonDecoderTest, KeysContainingDotsAreWalkedPartByPart) {
  fields({"annotations.authorization.k8s.io/decision", "annotations.authorization.k8s.io/reason",
          "a.b.c"});
  const Event* e = decode(
      R"({"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC"},)"
      R"("a.b":{"c":1},"a":{"b.c":2}})");
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_EQ(texts(*e, 0), Strings{"allow"});
  EXPECT_EQ(texts(*e, 1), Strings{"RBAC"});
  EXPECT_EQ(texts(*e, 2), (Strings{"1", "2"}));
}

TEST_F(JsonDecoderTest, DottedKeyThatOnlyPrefixesAPathIsSkipped) {
  fields({"a.b.c"});
  const Event* e = decode(R"({"a.x":{"c":1},"a.b.c.d":5,"a.b":7})");
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_TRUE(e->values(0).empty());
}

TEST_F(JsonDecoderTest, ArraysOfObjectsGiveOneValuePerElement) {
  fields({"a.b", "entity.what.reference"});
  const Event* e =
      decode(R"({"a":[{"b":1},{"c":3},{"b":2}],"entity":[{"what":{"reference":"Patient/1"}},)"
             R"({"what":{"reference":"Patient/2"}}]})");
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_EQ(texts(*e, 0), (Strings{"1", "2"}));
  EXPECT_EQ(texts(*e, 1), (Strings{"Patient/1", "Patient/2"}));
}

TEST_F(JsonDecoderTest, ArraysOfScalarsGiveEachElement) {
  fields({"user.groups", "nested"});
  const Event* e = decode(
      R"({"user":{"groups":["system:masters","system:authenticated"]},"nested":[[1,2],[3]]})");
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_EQ(texts(*e, 0), (Strings{"system:masters", "system:authenticated"}));
  EXPECT_EQ(texts(*e, 1), (Strings{"1", "2", "3"}));
}

TEST_F(JsonDecoderTest, EmptyArrayGivesNoValue) {
  fields({"a"});
  const Event* e = decode(R"({"a":[]})");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->values(0).empty());
}

TEST_F(JsonDecoderTest, EveryValueTypeWithItsText) {
  fields({"s", "i", "f", "neg", "exp", "t", "f2", "n", "o", "big"});
  const Event* e =
      decode(R"({"s":"text","i":42,"f":3.50,"neg":-7,"exp":1e3,"t":true,"f2":false,"n":null,)"
             R"("o":{"x": [1, {"y":2}]} ,"big":18446744073709551617})");
  ASSERT_NE(e, nullptr) << error_.detail;
  auto one = [&](FieldId id) {
    EXPECT_EQ(e->values(id).size(), 1u) << paths_[id];
    return e->values(id).empty() ? FieldValue{} : e->values(id)[0];
  };
  EXPECT_EQ(one(0).type, Type::kString);
  EXPECT_EQ(one(0).text, "text");
  EXPECT_EQ(one(1).type, Type::kNumber);
  EXPECT_EQ(one(1).number, 42);
  EXPECT_EQ(one(1).text, "42");
  EXPECT_EQ(one(2).number, 3.5);
  EXPECT_EQ(one(2).text, "3.50");
  EXPECT_EQ(one(3).number, -7);
  EXPECT_EQ(one(3).text, "-7");
  EXPECT_EQ(one(4).number, 1000);
  EXPECT_EQ(one(4).text, "1e3");
  EXPECT_EQ(one(5).type, Type::kBool);
  EXPECT_TRUE(one(5).boolean);
  EXPECT_EQ(one(5).text, "true");
  EXPECT_EQ(one(6).type, Type::kBool);
  EXPECT_FALSE(one(6).boolean);
  EXPECT_EQ(one(6).text, "false");
  EXPECT_EQ(one(7).type, Type::kNull);
  EXPECT_EQ(one(7).text, "null");
  EXPECT_EQ(one(8).type, Type::kComposite);
  EXPECT_EQ(one(8).text, R"({"x": [1, {"y":2}]})");
  EXPECT_EQ(one(9).type, Type::kNumber);
  EXPECT_EQ(one(9).text, "18446744073709551617");
  EXPECT_DOUBLE_EQ(one(9).number, 18446744073709551617.0);
}

TEST_F(JsonDecoderTest, ObjectWantedWithItsChildrenGivesBoth) {
  fields({"o", "o.x", "o.y.z"});
  const Event* e = decode(R"({"o":{"x":1,"y":{"z":"deep"}}	,"after":2})");
  ASSERT_NE(e, nullptr) << error_.detail;
  ASSERT_EQ(e->values(0).size(), 1u);
  EXPECT_EQ(e->values(0)[0].type, Type::kComposite);
  EXPECT_EQ(e->values(0)[0].text, R"({"x":1,"y":{"z":"deep"}})");
  EXPECT_EQ(texts(*e, 1), Strings{"1"});
  EXPECT_EQ(texts(*e, 2), Strings{"deep"});
}

TEST_F(JsonDecoderTest, ArrayOfObjectsAtTheLeafGivesCompositePerElement) {
  fields({"entity"});
  const Event* e = decode(R"({"entity":[{"a":1}, {"b":2}]})");
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_EQ(texts(*e, 0), (Strings{R"({"a":1})", R"({"b":2})"}));
  EXPECT_EQ(e->values(0)[1].type, Type::kComposite);
}

TEST_F(JsonDecoderTest, EscapedStringsAreUnescaped) {
  fields({"s", "u", "k\"ey", "caf\xc3\xa9"});
  const Event* e = decode(
      R"({"s":"a\"b\\c\nd\t\/","u":"\u00e9\ud83d\ude00","k\"ey":"quoted key","caf\u00e9":"escaped key"})");
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_EQ(texts(*e, 0), Strings{"a\"b\\c\nd\t/"});
  EXPECT_EQ(texts(*e, 1), Strings{"\xc3\xa9\xf0\x9f\x98\x80"});
  EXPECT_EQ(texts(*e, 2), Strings{"quoted key"});
  EXPECT_EQ(texts(*e, 3), Strings{"escaped key"});
}

TEST_F(JsonDecoderTest, AbsentFieldsHaveNoValues) {
  fields({"missing", "a.missing", "a.b.c", "s.t"});
  const Event* e = decode(R"({"a":{"b":1},"s":"scalar, not an object"})");
  ASSERT_NE(e, nullptr) << error_.detail;
  for (FieldId id = 0; id < 4; ++id) EXPECT_TRUE(e->values(id).empty()) << paths_[id];
  EXPECT_TRUE(e->values(99).empty());
}

TEST_F(JsonDecoderTest, ValuesDoNotLeakIntoTheNextRecord) {
  fields({"a", "b"});
  ASSERT_NE(decode(R"({"a":[1,2,3],"b":"x"})"), nullptr);
  const Event* e = decode(R"({"a":4})");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(texts(*e, 0), Strings{"4"});
  EXPECT_TRUE(e->values(1).empty());
  ASSERT_EQ(decode(R"({"a":5,"b":[)"), nullptr);
  e = decode(R"({"c":1})");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->values(0).empty());
  EXPECT_TRUE(e->values(1).empty());
}

// present() lists exactly the fields with values, once each, and follows
// each record (the rule index visits only these).
TEST_F(JsonDecoderTest, PresentListsTheFieldsWithValues) {
  fields({"a", "b", "c.d", "e"});
  const auto present = [](const Event& e) {
    EXPECT_NE(e.present(), nullptr);
    if (e.present() == nullptr) return std::vector<FieldId>{};
    std::vector<FieldId> ids = *e.present();
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  const Event* e = decode(R"({"a":[1,2],"c":{"d":null},"x":3})");
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_EQ(present(*e), (std::vector<FieldId>{0, 2}));
  e = decode(R"({"b":"x","e":{"f":1}})");
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_EQ(present(*e), (std::vector<FieldId>{1, 3}));
  ASSERT_EQ(decode(R"({"a":1,"b":[)"), nullptr);
  e = decode(R"({"x":1})");
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_EQ(present(*e), (std::vector<FieldId>{}));
}

TEST_F(JsonDecoderTest, SetFieldsAgainReplacesThePaths) {
  fields({"a", "b"});
  ASSERT_NE(decode(R"({"a":1,"b":2,"c":3})"), nullptr);
  fields({"c", "a.x", "a"});
  const Event* e = decode(R"({"a":1,"b":2,"c":3})");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(texts(*e, 0), Strings{"3"});
  EXPECT_TRUE(e->values(1).empty());
  EXPECT_EQ(texts(*e, 2), Strings{"1"});
  fields({});
  e = decode(R"({"a":1})");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->values(0).empty());
}

TEST_F(JsonDecoderTest, DuplicatePathsEachGetTheValue) {
  fields({"a", "a"});
  const Event* e = decode(R"({"a":"v"})");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(texts(*e, 0), Strings{"v"});
  EXPECT_EQ(texts(*e, 1), Strings{"v"});
}

TEST_F(JsonDecoderTest, EmptyOrBlankRecordIsEmptyRecord) {
  fields({"a"});
  for (const char* text : {"", " ", " \t\r\n "}) {
    EXPECT_EQ(decode(text), nullptr);
    EXPECT_EQ(error_.reason, "empty_record") << '"' << text << '"';
  }
}

TEST_F(JsonDecoderTest, NonObjectDocumentIsNotAnObject) {
  fields({"a"});
  for (const char* text : {"[1,2]", "\"a\"", "42", "true", "null", " [] "}) {
    EXPECT_EQ(decode(text), nullptr) << text;
    EXPECT_EQ(error_.reason, "not_an_object") << text;
    EXPECT_FALSE(error_.detail.empty());
  }
}

TEST_F(JsonDecoderTest, BrokenJsonIsMalformed) {
  fields({"a", "b.c"});
  for (const char* text : {
           R"({"a":1)",          // truncated
           R"({"a":"unclosed)",  // unterminated string
           R"({"a":tru})",       // bad atom on a wanted path
           R"({"a":nul})",
           R"({"a":1,})",         // trailing comma
           R"({"a" 1})",          // missing colon
           R"({"a":01})",         // leading zero
           R"({"a":1}x)",         // trailing garbage
           R"({"a":1} {"a":2})",  // two documents
           R"({"b":{"c":[1,}})",
           "{\"a\":\"\xff\xfe\"}",  // invalid UTF-8
           "garbage",
       }) {
    EXPECT_EQ(decode(text), nullptr) << text;
    EXPECT_EQ(error_.reason, "malformed_json") << text;
    EXPECT_FALSE(error_.detail.empty()) << text;
  }
}

TEST_F(JsonDecoderTest, NulBytesAreHandled) {
  fields({"a"});
  const std::string with_nul("{\"a\":\"x\0y\"}", 11);
  EXPECT_EQ(decode(with_nul), nullptr);
  EXPECT_EQ(error_.reason, "malformed_json");
  const std::string escaped_nul = R"({"a":"x\u0000y"})";
  const Event* e = decode(escaped_nul);
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_EQ(texts(*e, 0), Strings{std::string("x\0y", 3)});
  EXPECT_EQ(decode(std::string("{\"a\":1}\0", 8)), nullptr);
  EXPECT_EQ(error_.reason, "malformed_json");
}

TEST_F(JsonDecoderTest, DeepNestingOnAWantedPathIsTooDeep) {
  fields({"a"});
  const int levels = 10000;
  const std::string deep_array =
      "{\"a\":" + std::string(levels, '[') + "1" + std::string(levels, ']') + "}";
  EXPECT_EQ(decode(deep_array), nullptr);
  EXPECT_EQ(error_.reason, "too_deep") << error_.detail;

  std::string path = "x";
  for (int i = 0; i < 100; ++i) path += ".x";
  fields({path});
  std::string deep_object;
  for (int i = 0; i < 101; ++i) deep_object += "{\"x\":";
  deep_object += "1" + std::string(101, '}');
  EXPECT_EQ(decode(deep_object), nullptr);
  EXPECT_EQ(error_.reason, "too_deep") << error_.detail;
}

TEST_F(JsonDecoderTest, ModerateNestingIsFine) {
  fields({"a"});
  const std::string nested = "{\"a\":" + std::string(50, '[') + "7" + std::string(50, ']') + "}";
  const Event* e = decode(nested);
  ASSERT_NE(e, nullptr) << error_.reason << ": " << error_.detail;
  EXPECT_EQ(texts(*e, 0), Strings{"7"});
}

TEST_F(JsonDecoderTest, DeepNestingInASkippedValueDoesNotMatter) {
  fields({"a"});
  const int levels = 5000;
  const std::string text =
      "{\"skip\":" + std::string(levels, '[') + std::string(levels, ']') + ",\"a\":1}";
  const Event* e = decode(text);
  // simdjson itself caps depth at 1024, which may refuse the record; either
  // way it must not crash and `a` is right when it decodes.
  if (e != nullptr) {
    EXPECT_EQ(texts(*e, 0), Strings{"1"});
  } else {
    EXPECT_TRUE(error_.reason == "too_deep" || error_.reason == "malformed_json") << error_.reason;
  }
}

TEST_F(JsonDecoderTest, RecordInsideALargerBufferStopsAtItsEnd) {
  fields({"a", "b"});
  // Two lines in one read buffer; the record is the first line only, and
  // what follows it serves as the padding.
  std::string buffer = "{\"a\":1}\n{\"b\":2}\n";
  buffer.append(kRecordPadding, ' ');
  const std::string_view record(buffer.data(), 7);
  DecodeError error;
  const Event* e = decoder_.decode(record, error);
  ASSERT_NE(e, nullptr) << error.detail;
  EXPECT_EQ(texts(*e, 0), Strings{"1"});
  EXPECT_TRUE(e->values(1).empty());
  EXPECT_EQ(e->raw(), "{\"a\":1}");

  // A truncated record must not borrow the closing brace from the bytes after it.
  const std::string_view truncated(buffer.data(), 6);
  EXPECT_EQ(decoder_.decode(truncated, error), nullptr);
  EXPECT_EQ(error.reason, "malformed_json");
}

TEST_F(JsonDecoderTest, SkipsUnwantedValuesOfEveryShape) {
  fields({"z"});
  const Event* e = decode(
      R"({"a":{"b":[1,{"c":"}"}]},"s":"\"{[","n":-1.5e-3,"t":true,"f":false,"x":null,"z":"end"})");
  ASSERT_NE(e, nullptr) << error_.detail;
  EXPECT_EQ(texts(*e, 0), Strings{"end"});
}

TEST(DecoderRegistry, MakesJsonAndRefusesUnknownFormats) {
  EXPECT_NE(makeDecoder("json"), nullptr);
  EXPECT_EQ(makeDecoder("yaml"), nullptr);
  EXPECT_EQ(makeDecoder(""), nullptr);
  const auto names = decoderNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "json"), names.end());
  for (const auto& name : names) EXPECT_NE(makeDecoder(name), nullptr) << name;
}

// Kubernetes audit events from Falco's test traces: one JSON object per line.
TEST(JsonDecoderCorpus, DecodesFalcoKubernetesAuditTraces) {
  const std::filesystem::path dir =
      std::filesystem::path(TRAILWATCH_CORPUS_DIR) / "falco-k8s-audit/trace_files/k8s_audit";
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "shared corpus not found at " << dir.string()
                 << " (fetch ../shared/corpus to run this test)";
  }
  JsonDecoder decoder;
  const std::vector<std::string> paths = {"verb", "user.username",
                                          "annotations.authorization.k8s.io/decision",
                                          "objectRef.resource", "kind"};
  decoder.setFields(paths);
  int lines = 0;
  int with_decision = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::size_t size = line.size();
      line.append(kRecordPadding, '\0');
      DecodeError error;
      const Event* e = decoder.decode(std::string_view(line.data(), size), error);
      ASSERT_NE(e, nullptr) << entry.path() << ": " << error.reason << ": " << error.detail;
      // The traces include a few deliberately odd records (`{"kind": 0}`).
      if (e->values(4).size() != 1 || e->values(4)[0].text != "Event") continue;
      ASSERT_EQ(e->values(0).size(), 1u) << entry.path();
      EXPECT_EQ(e->values(0)[0].type, FieldValue::Type::kString);
      EXPECT_FALSE(e->values(0)[0].text.empty()) << entry.path();
      ASSERT_EQ(e->values(1).size(), 1u) << entry.path();
      EXPECT_FALSE(e->values(1)[0].text.empty()) << entry.path();
      if (!e->values(2).empty()) {
        ++with_decision;
        const std::string_view d = e->values(2)[0].text;
        EXPECT_TRUE(d == "allow" || d == "forbid") << entry.path() << ": " << d;
      }
      ++lines;
    }
  }
  EXPECT_GT(lines, 0);
  EXPECT_GT(with_decision, 0);
}

}  // namespace
}  // namespace trailwatch::decode
