#include "daemon/decode/key_value.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/decode/registry.h"
#include "trailwatch/source.h"

namespace trailwatch::decode {
namespace {

using Strings = std::vector<std::string>;

const Strings kPaths = {"user",     "kv.user",   "action",   "kv.action", "n",
                        "kv.n",     "user.name", "kv.kv.id", "kv.id",     "msg",
                        "kv.empty", "kv.x",      "x",        "src",       "kv.src"};

class KeyValueDecoderTest : public ::testing::Test {
 protected:
  KeyValueDecoderTest() { decoder_.setFields(kPaths); }

  std::map<std::string, Strings> decode(std::string_view line) {
    buffer_.assign(line);
    buffer_.append(kRecordPadding, '"');
    error_ = DecodeError{};
    types_.clear();
    std::map<std::string, Strings> out;
    const Event* event = decoder_.decode(std::string_view(buffer_.data(), line.size()), error_);
    if (event == nullptr) return out;
    EXPECT_EQ(event->raw(), line);
    for (FieldId id = 0; id < kPaths.size(); ++id) {
      for (const auto& v : event->values(id)) {
        out[kPaths[id]].emplace_back(v.text);
        types_[kPaths[id]].push_back(v.type);
      }
    }
    return out;
  }

  KeyValueDecoder decoder_;
  std::string buffer_;
  DecodeError error_;
  std::map<std::string, std::vector<FieldValue::Type>> types_;
};

TEST_F(KeyValueDecoderTest, ReadsBareQuotedAndEscapedValues) {
  auto f = decode(
      R"(user=alice action="record read" n=3 free words user.name='Dr. A' kv.id=9 msg="a \"b\" \\c")");
  ASSERT_EQ(error_.reason, "") << error_.detail;
  EXPECT_EQ(f["user"], Strings{"alice"});
  EXPECT_EQ(f["kv.user"], Strings{"alice"});
  EXPECT_EQ(f["action"], Strings{"record read"});
  EXPECT_EQ(f["kv.action"], Strings{"record read"});
  EXPECT_EQ(f["n"], Strings{"3"});
  EXPECT_EQ(types_["n"][0], FieldValue::Type::kNumber);
  EXPECT_EQ(types_["action"][0], FieldValue::Type::kString);
  EXPECT_EQ(f["user.name"], Strings{"Dr. A"}) << "ECS names meet the shipped rules";
  EXPECT_EQ(f["kv.kv.id"], Strings{"9"});
  EXPECT_EQ(f.count("kv.id"), 0u) << "a `kv.` key is only kv.<key>";
  EXPECT_EQ(f["msg"], Strings{R"(a "b" \c)"});
}

TEST_F(KeyValueDecoderTest, RepeatedKeysAndEmptyValues) {
  auto f = decode("src=10.0.0.1 src=10.0.0.2 empty= x=\"\"");
  ASSERT_EQ(error_.reason, "");
  EXPECT_EQ(f["src"], (Strings{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(f["kv.empty"], Strings{""});
  EXPECT_EQ(f["x"], Strings{""});
  EXPECT_EQ(types_["x"][0], FieldValue::Type::kString);
}

TEST_F(KeyValueDecoderTest, RejectsWithFixedReasons) {
  decode("");
  EXPECT_EQ(error_.reason, "empty_record");
  decode(" \t \r");
  EXPECT_EQ(error_.reason, "empty_record");
  decode("just some words = =x and =");
  EXPECT_EQ(error_.reason, "no_pairs");
  EXPECT_FALSE(error_.detail.empty());
}

TEST_F(KeyValueDecoderTest, SurvivesHostileInput) {
  auto f = decode("user=\"unclosed \\\" \\");
  EXPECT_EQ(f["user"], Strings{"unclosed \" \\"});
  f = decode("user='");
  EXPECT_EQ(f["user"], Strings{""});
  f = decode("user=\xff\xfe\x80 action=\"\xc3\x28\"");
  EXPECT_EQ(f["user"], Strings{"\xff\xfe\x80"}) << "bytes as written, no UTF-8 check";
  f = decode(std::string(1 << 20, '='));
  EXPECT_EQ(error_.reason, "no_pairs");
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "n=" + std::to_string(i) + " ";
  f = decode(many);
  EXPECT_EQ(f["n"].size(), 100000u);
  f = decode(std::string("user=a\0b action=c", 17));
  EXPECT_EQ(f["user"], Strings{std::string("a\0b", 3)});
}

TEST(KeyValueDecoder, IsRegisteredAsKv) {
  EXPECT_NE(dynamic_cast<KeyValueDecoder*>(makeDecoder("kv").get()), nullptr);
}

}  // namespace
}  // namespace trailwatch::decode
