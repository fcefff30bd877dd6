#include "daemon/decode/syslog.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/decode/registry.h"
#include "trailwatch/source.h"

namespace trailwatch::decode {
namespace {

using Strings = std::vector<std::string>;
using namespace std::string_view_literals;

const Strings kPaths = {
    "@timestamp", "host.name", "message", "process.name", "process.pid", "log.syslog.priority",
    "log.syslog.version", "log.syslog.hostname", "log.syslog.appname", "log.syslog.procid",
    "log.syslog.msgid", "log.syslog.structured_data", "log.syslog.facility.code",
    "log.syslog.facility.name", "log.syslog.severity.code", "log.syslog.severity.name",
    "syslog.format", "syslog.timestamp", "syslog.tag", "syslog.sd_id",
    "syslog.sd.exampleSDID@32473.iut", "syslog.sd.exampleSDID@32473.eventSource",
    "syslog.sd.exampleSDID@32473.eventID", "syslog.sd.examplePriority@32473.class",
    "syslog.sd.timeQuality.tzKnown", "syslog.sd.x.k", "syslog.sd.x.v", "syslog.body_error",
    "event.action", "event.outcome", "event.type", "user.id", "user.name", "source.ip",
    "source.domain", "patient.id", "syslog.atna.event_action_code", "syslog.atna.event_date_time",
    "syslog.atna.event_id.code", "syslog.atna.event_type_code.code",
    "syslog.atna.active_participant.user_id", "syslog.atna.participant_object.id",
    "syslog.atna.audit_source.id", "syslog.atna.truncated",
    // Body paths (syslog+json / syslog+kv).
    "user", "action", "kv.user", "kv.action", "kv.msg", "kv.message", "kv.n", "n", "patient.mrn",
    "tags",
    // Nested formats (syslog+FORMAT).
    "db.user", "db.name", "db.object", "db.statement", "auditd.node", "auditd.type",
    "auditd.serial", "file.path", "process.executable", "http.request.method",
    "http.response.status_code", "forwarded_for", "request_time"};

// One decoded record, copied out, with each value's type.
struct Fields {
  std::map<std::string, Strings> text;
  std::map<std::string, std::vector<FieldValue::Type>> types;
  const Strings& operator[](const std::string& path) const {
    static const Strings kNone;
    auto it = text.find(path);
    return it == text.end() ? kNone : it->second;
  }
  bool has(const std::string& path) const { return text.count(path) != 0; }
  FieldValue::Type type(const std::string& path) const { return types.at(path).at(0); }
};

class Harness {
 public:
  explicit Harness(std::string_view format = "syslog", const DecoderOptions& options = {})
      : decoder_(makeDecoder(format, options)) {
    auto* syslog = dynamic_cast<SyslogDecoder*>(decoder_.get());
    EXPECT_NE(syslog, nullptr) << format;
    if (syslog != nullptr) syslog->setYear(2026);
    decoder_->setFields(kPaths);
  }

  // Decodes `line` followed by kRecordPadding junk bytes; the reason is ""
  // when the record was taken.
  Fields decode(std::string_view line) {
    buffer_.assign(line);
    buffer_.append(kRecordPadding, '"');
    error_ = DecodeError{};
    Fields out;
    const Event* event = decoder_->decode(std::string_view(buffer_.data(), line.size()), error_);
    if (event == nullptr) return out;
    EXPECT_EQ(event->raw(), line);
    expectPresentListed(*event);
    for (FieldId id = 0; id < kPaths.size(); ++id) {
      for (const auto& v : event->values(id)) {
        out.text[kPaths[id]].emplace_back(v.text);
        out.types[kPaths[id]].push_back(v.type);
      }
    }
    return out;
  }

  // Every event `line` gives (decode, then next() until nullptr), each with
  // its raw text under "raw"; and every event flush() gives.
  std::vector<Fields> decodeAll(std::string_view line) {
    buffer_.assign(line);
    buffer_.append(kRecordPadding, '"');
    error_ = DecodeError{};
    std::vector<Fields> out;
    drain(decoder_->decode(std::string_view(buffer_.data(), line.size()), error_), out);
    std::fill(buffer_.begin(), buffer_.end(), 'x');  // the source reuses its buffer
    return out;
  }
  std::vector<Fields> flushAll() {
    error_ = DecodeError{};
    std::vector<Fields> out;
    drain(decoder_->flush(error_), out);
    return out;
  }

  std::string_view reason() const { return error_.reason; }
  const std::string& detail() const { return error_.detail; }

 private:
  // Every event lists the fields it has (Event::present()), which the rule
  // index reads instead of every gated field: exactly those, each once.
  static void expectPresentListed(const Event& event) {
    ASSERT_NE(event.present(), nullptr);
    std::vector<FieldId> listed = *event.present(), with_values;
    std::sort(listed.begin(), listed.end());
    for (FieldId id = 0; id < kPaths.size(); ++id) {
      if (!event.values(id).empty()) with_values.push_back(id);
    }
    EXPECT_EQ(listed, with_values);
  }

  void drain(const Event* event, std::vector<Fields>& out) {
    while (event != nullptr) {
      Fields& f = out.emplace_back();
      f.text["raw"].emplace_back(event->raw());
      expectPresentListed(*event);
      for (FieldId id = 0; id < kPaths.size(); ++id) {
        for (const auto& v : event->values(id)) {
          f.text[kPaths[id]].emplace_back(v.text);
          f.types[kPaths[id]].push_back(v.type);
        }
      }
      event = decoder_->next(error_);
    }
  }

  std::unique_ptr<Decoder> decoder_;
  std::string buffer_;
  DecodeError error_;
};

// RFC 5424 section 6.5, examples 1-4, verbatim ("BOM" is the three bytes).
TEST(SyslogDecoder, DecodesRfc5424Examples) {
  Harness h;
  auto f = h.decode(
      "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' "
      "failed for lonvick on /dev/pts/8");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["syslog.format"], Strings{"rfc5424"});
  EXPECT_EQ(f["log.syslog.priority"], Strings{"34"});
  EXPECT_EQ(f.type("log.syslog.priority"), FieldValue::Type::kNumber);
  EXPECT_EQ(f["log.syslog.facility.code"], Strings{"4"});
  EXPECT_EQ(f["log.syslog.facility.name"], Strings{"auth"});
  EXPECT_EQ(f["log.syslog.severity.code"], Strings{"2"});
  EXPECT_EQ(f["log.syslog.severity.name"], Strings{"crit"});
  EXPECT_EQ(f["log.syslog.version"], Strings{"1"});
  EXPECT_EQ(f["@timestamp"], Strings{"2003-10-11T22:14:15.003Z"});
  EXPECT_EQ(f["host.name"], Strings{"mymachine.example.com"});
  EXPECT_EQ(f["process.name"], Strings{"su"});
  EXPECT_EQ(f["log.syslog.appname"], Strings{"su"});
  EXPECT_FALSE(f.has("process.pid")) << "PROCID is -";
  EXPECT_EQ(f["log.syslog.msgid"], Strings{"ID47"});
  EXPECT_FALSE(f.has("log.syslog.structured_data"));
  EXPECT_EQ(f["message"], Strings{"'su root' failed for lonvick on /dev/pts/8"}) << "BOM dropped";

  f = h.decode(
      "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make "
      "the do-nuts.");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["log.syslog.facility.name"], Strings{"local4"});
  EXPECT_EQ(f["log.syslog.severity.name"], Strings{"notice"});
  EXPECT_EQ(f["@timestamp"], Strings{"2003-08-24T05:14:15.000003-07:00"});
  EXPECT_EQ(f["host.name"], Strings{"192.0.2.1"});
  EXPECT_EQ(f["process.pid"], Strings{"8710"});
  EXPECT_EQ(f.type("process.pid"), FieldValue::Type::kNumber);
  EXPECT_FALSE(f.has("log.syslog.msgid"));
  EXPECT_EQ(f["message"], Strings{"%% It's time to make the do-nuts."});

  f = h.decode(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
      "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBF"
      "An application event log entry...");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["syslog.sd_id"], Strings{"exampleSDID@32473"});
  EXPECT_EQ(f["syslog.sd.exampleSDID@32473.iut"], Strings{"3"});
  EXPECT_EQ(f["syslog.sd.exampleSDID@32473.eventSource"], Strings{"Application"});
  EXPECT_EQ(f["syslog.sd.exampleSDID@32473.eventID"], Strings{"1011"});
  EXPECT_EQ(f["log.syslog.structured_data"],
            Strings{"[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"});
  EXPECT_EQ(f["message"], Strings{"An application event log entry..."});

  f = h.decode(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
      "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 "
      "class=\"high\"]");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["syslog.sd_id"], (Strings{"exampleSDID@32473", "examplePriority@32473"}));
  EXPECT_EQ(f["syslog.sd.examplePriority@32473.class"], Strings{"high"});
  EXPECT_FALSE(f.has("message")) << "no MSG";
}

// RFC 3164 section 5.4, examples 1-4 verbatim (example 4 both as its
// originator sent it and as the relay forwarded it).
TEST(SyslogDecoder, DecodesRfc3164Examples) {
  Harness h;
  auto f = h.decode("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["syslog.format"], Strings{"rfc3164"});
  EXPECT_EQ(f["log.syslog.severity.name"], Strings{"crit"});
  EXPECT_EQ(f["@timestamp"], Strings{"2026-10-11T22:14:15Z"}) << "year assumed, UTC";
  EXPECT_EQ(f["syslog.timestamp"], Strings{"Oct 11 22:14:15"});
  EXPECT_EQ(f["host.name"], Strings{"mymachine"});
  EXPECT_EQ(f["process.name"], Strings{"su"});
  EXPECT_EQ(f["syslog.tag"], Strings{"su"});
  EXPECT_FALSE(f.has("process.pid"));
  EXPECT_EQ(f["message"], Strings{"'su root' failed for lonvick on /dev/pts/8"});

  f = h.decode("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["@timestamp"], Strings{"2026-02-05T17:32:18Z"});
  EXPECT_EQ(f["host.name"], Strings{"10.0.0.99"});
  EXPECT_FALSE(f.has("process.name")) << "Use is no TAG";
  EXPECT_EQ(f["message"], Strings{"Use the BFG!"});
  EXPECT_EQ(f["log.syslog.facility.name"], Strings{"user"});
  EXPECT_EQ(f["log.syslog.severity.name"], Strings{"notice"});

  f = h.decode(
      "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  "
      "Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # "
      "Transport: Conveyer1=OK, Conveyer2=OK # %%");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["host.name"], Strings{"CST"}) << "as the RFC says, HOSTNAME is CST here";
  EXPECT_FALSE(f.has("process.name"));
  EXPECT_EQ(f["message"][0].substr(0, 27), "1987 mymachine myproc[10]: ");

  f = h.decode(
      "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All "
      "Folks!");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["log.syslog.severity.name"], Strings{"emerg"});
  EXPECT_EQ(f["log.syslog.facility.name"], Strings{"kern"});
  EXPECT_FALSE(f.has("@timestamp")) << "no valid TIMESTAMP: all CONTENT (section 4.3.2)";
  EXPECT_FALSE(f.has("host.name"));
  EXPECT_EQ(f["message"],
            Strings{"1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: "
                    "That's All Folks!"});

  f = h.decode(
      "<0>Oct 22 10:52:12 scapegoat 1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 "
      "sched[0]: That's All Folks!");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["@timestamp"], Strings{"2026-10-22T10:52:12Z"});
  EXPECT_EQ(f["host.name"], Strings{"scapegoat"});
}

TEST(SyslogDecoder, DecodesLogFileLines) {
  Harness h;
  // /var/log/auth.log as rsyslog's traditional file format writes it.
  auto f = h.decode(
      "Nov  3 07:01:02 ehr01 sshd[4121]: Accepted publickey for alice from 10.0.0.5 port 50312");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["@timestamp"], Strings{"2026-11-03T07:01:02Z"});
  EXPECT_EQ(f["host.name"], Strings{"ehr01"});
  EXPECT_EQ(f["process.name"], Strings{"sshd"});
  EXPECT_EQ(f["process.pid"], Strings{"4121"});
  EXPECT_EQ(f["syslog.tag"], Strings{"sshd[4121]"});
  EXPECT_FALSE(f.has("log.syslog.priority"));
  EXPECT_EQ(f["message"], Strings{"Accepted publickey for alice from 10.0.0.5 port 50312"});

  // Debian 12's default (RSYSLOG_FileFormat): RFC 3339 time.
  f = h.decode(
      "2026-11-23T10:00:00.123456+00:00 ehr01 postfix/smtpd[77]: connect from unknown[10.1.1.1]");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["@timestamp"], Strings{"2026-11-23T10:00:00.123456+00:00"});
  EXPECT_EQ(f["host.name"], Strings{"ehr01"});
  EXPECT_EQ(f["process.name"], Strings{"postfix/smtpd"});
  EXPECT_EQ(f["process.pid"], Strings{"77"});
  EXPECT_EQ(f["message"], Strings{"connect from unknown[10.1.1.1]"});

  // What a program sends to /dev/log: no HOSTNAME; a fraction of a second.
  f = h.decode("<86>Nov 23 10:00:00.250 CRON[99]: pam_unix(cron:session): session opened");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_FALSE(f.has("host.name"));
  EXPECT_EQ(f["process.name"], Strings{"CRON"});
  EXPECT_EQ(f["@timestamp"], Strings{"2026-11-23T10:00:00.250Z"});
  EXPECT_EQ(f["log.syslog.facility.name"], Strings{"authpriv"});
  EXPECT_EQ(f["message"], Strings{"pam_unix(cron:session): session opened"});

  f = h.decode("Nov 23 10:00:00 ehr01 kernel: [  12.5] eth0: link up\r");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["process.name"], Strings{"kernel"});
  EXPECT_EQ(f["message"], Strings{"[  12.5] eth0: link up"}) << "CR dropped";
}

TEST(SyslogDecoder, UnescapesStructuredDataAndKeepsRepeats) {
  Harness h;
  auto f = h.decode(
      R"(<14>1 2026-01-02T03:04:05Z h a 1 - [x k="q\"b\\s\]e" k="two" v="a\zb ] c" e=""][x k="3"] m)");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["syslog.sd.x.k"], (Strings{"q\"b\\s]e", "two", "3"}));
  EXPECT_EQ(f["syslog.sd.x.v"], Strings{"a\\zb ] c"}) << "other backslashes are themselves";
  EXPECT_EQ(f["syslog.sd_id"], (Strings{"x", "x"}));
  EXPECT_EQ(f["message"], Strings{"m"});
  f = h.decode("<14>1 2026-01-02T03:04:05Z h a 1 - [x]");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["syslog.sd_id"], Strings{"x"});
}

TEST(SyslogDecoder, RejectsWithFixedReasons) {
  Harness h;
  const std::pair<std::string, std::string_view> cases[] = {
      {"", "empty_record"},
      {" \t\r\n", "empty_record"},
      {"\xEF\xBB\xBF", "empty_record"},
      {"<>1 - - - - - -", "malformed_syslog"},
      {"<192>1 - - - - - -", "malformed_syslog"},
      {"<1234>x", "malformed_syslog"},
      {"<abc>x", "malformed_syslog"},
      {"<13", "malformed_syslog"},
      {"<13>2 - - - - - -", "malformed_syslog"},
      {"<13>1 - - - - -", "malformed_syslog"},
      {"<13>1 - - - - - ", "malformed_syslog"},
      {"<13>1  - - - - -", "malformed_syslog"},
      {"<13>1 -", "malformed_syslog"},
      {"just some text", "malformed_syslog"},
      {"{\"json\":true}", "malformed_syslog"},
      {"Oct 11 22:14:15x host a: b", "malformed_syslog"},
      {"Foo 11 22:14:15 host a: b", "malformed_syslog"},
      {"<13>1 2003-13-11T22:14:15Z h a - - -", "bad_timestamp"},
      {"<13>1 2003-10-11 22:14:15Z h a - - -", "bad_timestamp"},
      {"<13>1 2003-10-11T22:14:15 h a - - -", "bad_timestamp"},
      {"<13>1 2003-10-11T22:14:15+0100 h a - - -", "bad_timestamp"},
      {"2026-11-23T25:00:00Z host a: b", "bad_timestamp"},
      {"<13>1 - h a - - x", "malformed_structured_data"},
      {"<13>1 - h a - - -x", "malformed_structured_data"},
      {"<13>1 - h a - - [", "malformed_structured_data"},
      {"<13>1 - h a - - []", "malformed_structured_data"},
      {"<13>1 - h a - - [id", "malformed_structured_data"},
      {"<13>1 - h a - - [id k=v]", "malformed_structured_data"},
      {"<13>1 - h a - - [id k=\"v]", "malformed_structured_data"},
      {"<13>1 - h a - - [id k=\"v\\\"]", "malformed_structured_data"},
      {"<13>1 - h a - - [id  k=\"v\"]", "malformed_structured_data"},
      {"<13>1 - h a - - [id k=\"v\"]x", "malformed_structured_data"},
  };
  for (const auto& [line, reason] : cases) {
    auto f = h.decode(line);
    EXPECT_EQ(h.reason(), reason) << line;
    EXPECT_FALSE(h.detail().empty()) << line;
    EXPECT_TRUE(f.text.empty()) << line;
  }
}

TEST(SyslogDecoder, AcceptsEdgeShapes) {
  Harness h;
  auto f = h.decode("<13>1 - - - - - -");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_FALSE(f.has("@timestamp"));
  EXPECT_FALSE(f.has("host.name"));
  EXPECT_EQ(f["log.syslog.severity.name"], Strings{"notice"});
  f = h.decode("<13>1 - - - - - - ");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["message"], Strings{""}) << "an empty MSG is present";
  f = h.decode("<191>hello");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["log.syslog.facility.name"], Strings{"local7"});
  EXPECT_EQ(f["message"], Strings{"hello"});
  f = h.decode("<13>Oct 11 22:14:15 host");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["host.name"], Strings{"host"});
  EXPECT_FALSE(f.has("message"));
  f = h.decode("  \xEF\xBB\xBF<13>Oct 11 22:14:15 host tag: x\0\n"sv);
  EXPECT_EQ(f["message"], Strings{"x"});
  EXPECT_EQ(h.reason(), "") << "leading spaces, BOM, trailing NUL/LF";
  f = h.decode("<13>1 - - app proc-ess - - x");
  EXPECT_EQ(f["log.syslog.procid"], Strings{"proc-ess"});
  EXPECT_FALSE(f.has("process.pid")) << "a PROCID that is not a number";
}

TEST(SyslogDecoder, SurvivesHostileInput) {
  Harness h;
  h.decode(std::string(1 << 20, '['));
  EXPECT_EQ(h.reason(), "malformed_syslog");
  std::string many = "<13>1 - h a - - ";
  for (int i = 0; i < 20000; ++i) many += "[x k=\"" + std::to_string(i) + "\"]";
  auto f = h.decode(many);
  EXPECT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["syslog.sd.x.k"].size(), 20000u);
  h.decode("<13>1 - h a - - [x k=\"" + std::string(100001, '\\'));
  EXPECT_EQ(h.reason(), "malformed_structured_data");
  f = h.decode("<13>1 - h a - - [x k=\"" + std::string(100000, '\\') + "\"]");
  EXPECT_EQ(h.reason(), "") << "an even run of backslashes: the quote closes the value";
  EXPECT_EQ(f["syslog.sd.x.k"], Strings{std::string(50000, '\\')});
  h.decode("<13>1 - h a - - [x k=\"" + std::string(100000, '\\') + "\\\"]");
  EXPECT_EQ(h.reason(), "malformed_structured_data") << "an odd run: the quote is escaped";
  for (std::string_view tail : {"<", "<1", "<13>", "<13>1", "<13>1 ", "<13>Oct", "<13>Oct 11 22:1",
                                "2026-", "2026-11-23T10:00:00Z", "<13>1 - h a - - [x k=\"\\"}) {
    h.decode(tail);
  }
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131) & 0xFF));
  h.decode(junk);
  h.decode("<13>Oct 11 22:14:15 \xff\xfe \xc3\x28: \x80");
  EXPECT_EQ(h.reason(), "") << "bytes are not checked for UTF-8";
  f = h.decode("<13>1 - h\0 a - - - \0x\0"sv);
  EXPECT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["message"], Strings{std::string("\0x", 2)});
}

// An ATNA message in the shape of DICOM PS3.15 Annex A.5 (written for this
// test): a patient record read by a requesting user, sent as RFC 5424 with
// a BOM, as IHE ATNA senders do.
constexpr std::string_view kAtna =
    "<85>1 2026-11-23T08:58:13.001Z ehr01.example.org EHR 2114 IHE+RFC-3881 - "
    "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<AuditMessage xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
    "  <!-- <EventIdentification EventActionCode=\"D\"/> is a comment -->\n"
    "  <EventIdentification EventActionCode=\"R\" EventDateTime=\"2026-11-23T09:58:12.345+01:00\" "
    "EventOutcomeIndicator=\"0\">\n"
    "    <EventID csd-code=\"110110\" codeSystemName=\"DCM\" originalText=\"Patient Record\"/>\n"
    "    <EventTypeCode csd-code=\"ITI-21\" codeSystemName=\"IHE Transactions\" "
    "originalText=\"Patient Demographics Query\"/>\n"
    "  </EventIdentification>\n"
    "  <ActiveParticipant UserID=\"alice@ehr.example\" AlternativeUserID=\"4711\" "
    "UserName=\"Alice O&apos;Neil\" UserIsRequestor=\"true\" NetworkAccessPointID=\"10.20.30.40\" "
    "NetworkAccessPointTypeCode=\"2\">\n"
    "    <RoleIDCode csd-code=\"110153\" codeSystemName=\"DCM\" originalText=\"Source Role ID\"/>\n"
    "  </ActiveParticipant>\n"
    "  <ActiveParticipant UserID=\"pacs.ehr.example\" UserIsRequestor=\"false\" "
    "NetworkAccessPointID=\"pacs.ehr.example\" NetworkAccessPointTypeCode=\"1\">\n"
    "    <RoleIDCode csd-code=\"110152\" codeSystemName=\"DCM\" originalText=\"Destination Role "
    "ID\"/>\n"
    "  </ActiveParticipant>\n"
    "  <AuditSourceIdentification AuditEnterpriseSiteID=\"St. Example\" AuditSourceID=\"ehr01\">\n"
    "    <AuditSourceTypeCode csd-code=\"4\"/>\n"
    "  </AuditSourceIdentification>\n"
    "  <ParticipantObjectIdentification ParticipantObjectID=\"MRN-42^^^&amp;1.2.840.99&amp;ISO\" "
    "ParticipantObjectTypeCode=\"1\" ParticipantObjectTypeCodeRole=\"1\">\n"
    "    <ParticipantObjectIDTypeCode csd-code=\"2\" codeSystemName=\"RFC-3881\" "
    "originalText=\"Patient Number\"/>\n"
    "  </ParticipantObjectIdentification>\n"
    "  <ParticipantObjectIdentification ParticipantObjectID='query-&#x31;&#50;' "
    "ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"24\"/>\n"
    "</AuditMessage>";

TEST(SyslogDecoder, DecodesAtnaAuditMessage) {
  Harness h;
  auto f = h.decode(kAtna);
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["event.action"], Strings{"read"});
  EXPECT_EQ(f["event.outcome"], Strings{"success"});
  EXPECT_EQ(f["event.type"], (Strings{"110110", "Patient Record"}));
  EXPECT_EQ(f["@timestamp"], Strings{"2026-11-23T09:58:12.345+01:00"}) << "the event's own time";
  EXPECT_EQ(f["syslog.timestamp"], Strings{"2026-11-23T08:58:13.001Z"});
  EXPECT_EQ(f["user.id"], Strings{"alice@ehr.example"});
  EXPECT_EQ(f["user.name"], Strings{"Alice O'Neil"});
  EXPECT_EQ(f["source.ip"], Strings{"10.20.30.40"});
  EXPECT_FALSE(f.has("source.domain")) << "the non-requestor's address is not the source";
  EXPECT_EQ(f["patient.id"], Strings{"MRN-42^^^&1.2.840.99&ISO"});
  EXPECT_EQ(f["syslog.atna.participant_object.id"],
            (Strings{"MRN-42^^^&1.2.840.99&ISO", "query-12"}));
  EXPECT_EQ(f["syslog.atna.active_participant.user_id"],
            (Strings{"alice@ehr.example", "pacs.ehr.example"}));
  EXPECT_EQ(f["syslog.atna.event_action_code"], Strings{"R"});
  EXPECT_EQ(f["syslog.atna.event_id.code"], Strings{"110110"});
  EXPECT_EQ(f["syslog.atna.event_type_code.code"], Strings{"ITI-21"});
  EXPECT_EQ(f["syslog.atna.audit_source.id"], Strings{"ehr01"});
  EXPECT_FALSE(f.has("syslog.atna.truncated"));
  EXPECT_EQ(f["log.syslog.facility.name"], Strings{"authpriv"});
  EXPECT_EQ(f["log.syslog.msgid"], Strings{"IHE+RFC-3881"});
}

TEST(SyslogDecoder, ReadsRfc3881AttributesAndCutMessages) {
  Harness h;
  // RFC 3881's own schema: `code`/`displayName`, a machine-name access point.
  auto f = h.decode(
      "<85>Nov 23 10:00:00 pacs atna: <AuditMessage><EventIdentification EventActionCode=\"D\" "
      "EventDateTime=\"2026-11-23T10:00:00\" EventOutcomeIndicator=\"8\"><EventID code=\"110103\" "
      "displayName=\"DICOM Instances Accessed\"/></EventIdentification><ActiveParticipant "
      "UserID=\"bob\" UserIsRequestor=\"1\" NetworkAccessPointID=\"ws7.example\" "
      "NetworkAccessPointTypeCode=\"1\"/></AuditMessage>");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["event.action"], Strings{"delete"});
  EXPECT_EQ(f["event.outcome"], Strings{"failure"});
  EXPECT_EQ(f["event.type"], (Strings{"110103", "DICOM Instances Accessed"}));
  EXPECT_EQ(f["@timestamp"], Strings{"2026-11-23T10:00:00Z"}) << "a zone-less time stays out";
  EXPECT_EQ(f["syslog.atna.event_date_time"], Strings{"2026-11-23T10:00:00"});
  EXPECT_EQ(f["user.id"], Strings{"bob"});
  EXPECT_EQ(f["source.domain"], Strings{"ws7.example"});
  EXPECT_FALSE(f.has("source.ip"));

  // Cut at a 1024-byte UDP limit: what was read stands, and it says so.
  f = h.decode(
      "<85>Nov 23 10:00:00 pacs atna: <AuditMessage><EventIdentification EventActionCode=\"E\" "
      "EventOutcomeIndicator=\"0\"/><ActiveParticipant UserID=\"carol\" UserIsRequestor=\"tr");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["event.action"], Strings{"execute"});
  EXPECT_EQ(f["syslog.atna.truncated"], Strings{"true"});
  EXPECT_FALSE(f.has("user.id"));

  for (std::string_view hostile :
       {"<AuditMessage", "<AuditMessage><!--", "<AuditMessage><![CDATA[", "<AuditMessage <<<< >>",
        "<AuditMessage><EventIdentification EventActionCode=", "<AuditMessage><a b='",
        "<AuditMessage><a =\"x\" / / = \"y\" c d e=f>", "<AuditMessage></", "<AuditMessage><?",
        "<AuditMessage><x:ActiveParticipant x:UserID=\"&#xFFFFFFFFF;&#0;&#xD800;&bogus;&#;&\" "
        "UserIsRequestor=\"true\"/>"}) {
    f = h.decode("<13>1 - - - - - - " + std::string(hostile));
    EXPECT_EQ(h.reason(), "") << hostile;
  }
  EXPECT_EQ(f["user.id"], Strings{"&#xFFFFFFFFF;&#0;&#xD800;&bogus;&#;&"})
      << "references that are not characters stay as written";
  f = h.decode("<13>1 - - - - - - <AuditMessage>" + std::string(1 << 18, '<') + "</AuditMessage>");
  EXPECT_EQ(h.reason(), "");
}

TEST(SyslogDecoder, JsonBodyFieldsAppearAtTheirPaths) {
  Harness h("syslog+json");
  auto f =
      h.decode(R"(<134>1 2026-11-23T10:00:00Z app01 ehr 42 - - {"user":"alice","action":"read",)"
               R"("patient":{"mrn":"M-1"},"tags":["a","b"],"message":"inner","n":7})");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["user"], Strings{"alice"});
  EXPECT_EQ(f["action"], Strings{"read"});
  EXPECT_EQ(f["patient.mrn"], Strings{"M-1"});
  EXPECT_EQ(f["tags"], (Strings{"a", "b"}));
  EXPECT_EQ(f["n"], Strings{"7"});
  EXPECT_EQ(f.type("n"), FieldValue::Type::kNumber);
  EXPECT_EQ(f["message"].size(), 1u) << "the body's `message` does not shadow the envelope's";
  EXPECT_EQ(f["host.name"], Strings{"app01"});
  EXPECT_FALSE(f.has("syslog.body_error"));

  f = h.decode(R"(<13>Nov 23 10:00:00 app01 ehr[7]: @cee: {"user":"bob"})");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["user"], Strings{"bob"});
  EXPECT_EQ(f["process.pid"], Strings{"7"});

  const std::pair<std::string_view, std::string_view> bad[] = {
      {"<13>1 - h a - - - not json", "not_an_object"},
      {"<13>1 - h a - - - [1,2]", "not_an_object"},
      {"<13>1 - h a - - - {\"a\":", "malformed_json"},
      {"<13>1 - h a - - - @cee:", "empty_body"},
  };
  for (const auto& [line, body_error] : bad) {
    f = h.decode(line);
    ASSERT_EQ(h.reason(), "") << line;
    EXPECT_EQ(f["syslog.body_error"], Strings{std::string(body_error)}) << line;
    EXPECT_EQ(f["host.name"], Strings{"h"}) << "the envelope stays";
  }
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
  deep += "1" + std::string(100000, '}');
  f = h.decode("<13>1 - h a - - - " + deep);
  EXPECT_EQ(h.reason(), "") << "deep nesting no rule reads into is taken";
  EXPECT_EQ(f["host.name"], Strings{"h"});
  f = h.decode("<13>1 - h a - - - " + std::string(1000, '{'));
  EXPECT_EQ(f["syslog.body_error"].size(), 1u);
}

TEST(SyslogDecoder, KeyValueBodyPairsAppearUnderKvAndBare) {
  Harness h("syslog+kv");
  auto f =
      h.decode(R"(<14>Nov 23 10:00:00 fw01 audit: user=alice action="record read" n=3 msg='it''s' )"
               R"(message=inner free text kv.user=x quoted="a\"b)");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["user"], Strings{"alice"});
  EXPECT_EQ(f["kv.user"], Strings{"alice"});
  EXPECT_EQ(f["action"], Strings{"record read"});
  EXPECT_EQ(f["kv.action"], Strings{"record read"});
  EXPECT_EQ(f["n"], Strings{"3"});
  EXPECT_EQ(f.type("n"), FieldValue::Type::kNumber);
  EXPECT_EQ(f["kv.msg"], Strings{"it"}) << "the first quoted part";
  EXPECT_EQ(f["kv.message"], Strings{"inner"});
  EXPECT_EQ(f["message"].size(), 1u) << "`message=` does not shadow the envelope's";
  EXPECT_EQ(f["host.name"], Strings{"fw01"});

  f = h.decode("<14>1 - h a - - - no pairs here = =x");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["syslog.body_error"], Strings{"no_pairs"});
  f = h.decode("<14>1 - h a - - - user=\"unclosed \\\" \\");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["user"], Strings{"unclosed \" \\"});
}

// The real util-linux `logger` sends RFC 5424 and RFC 3164 datagrams to a
// UDP socket this test opens on port 0; each is decoded as received.
class LoggerClient : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v logger >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "util-linux logger not installed";
    }
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    timeval timeout{10, 0};  // a bound on a broken logger, not a sleep
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }

  // Runs logger with `args` against the socket; the datagram it sent.
  std::string send(const std::string& args) {
    const std::string command =
        "logger -n 127.0.0.1 -P " + std::to_string(port_) + " --udp " + args;
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    char buffer[8192];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    EXPECT_GT(n, 0) << "no datagram from: " << command;
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }

  int fd_ = -1;
  int port_ = 0;
};

TEST_F(LoggerClient, Rfc5424MessagesDecode) {
  const std::string line = send(
      "--rfc5424 -p auth.warning -t ehr --id=4242 --msgid ID47 --sd-id 'exampleSDID@32473' "
      "--sd-param 'iut=\"3\"' --sd-param 'eventSource=\"App\"' -- 'patient chart opened'");
  Harness h;
  auto f = h.decode(line);
  ASSERT_EQ(h.reason(), "") << h.detail() << "\n" << line;
  EXPECT_EQ(f["syslog.format"], Strings{"rfc5424"});
  EXPECT_EQ(f["log.syslog.priority"], Strings{"36"});
  EXPECT_EQ(f["log.syslog.facility.name"], Strings{"auth"});
  EXPECT_EQ(f["log.syslog.severity.name"], Strings{"warning"});
  EXPECT_EQ(f["process.name"], Strings{"ehr"});
  EXPECT_EQ(f["process.pid"], Strings{"4242"});
  EXPECT_EQ(f["log.syslog.msgid"], Strings{"ID47"});
  EXPECT_EQ(f["syslog.sd.exampleSDID@32473.iut"], Strings{"3"});
  EXPECT_EQ(f["syslog.sd.exampleSDID@32473.eventSource"], Strings{"App"});
  EXPECT_EQ(f["syslog.sd.timeQuality.tzKnown"], Strings{"1"}) << "logger's own SD element";
  EXPECT_EQ(f["message"], Strings{"patient chart opened"});
  ASSERT_EQ(f["@timestamp"].size(), 1u);
  EXPECT_EQ(f["@timestamp"], f["syslog.timestamp"]);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  ASSERT_EQ(f["host.name"].size(), 1u);
  EXPECT_EQ(f["host.name"][0].substr(0, std::string_view(host).find('.')),
            std::string_view(host).substr(0, std::string_view(host).find('.')));
}

TEST_F(LoggerClient, Rfc3164MessagesDecode) {
  const std::string line = send("--rfc3164 -p local4.err -t ehr --id=77 -- 'login failed for bob'");
  Harness h;
  auto f = h.decode(line);
  ASSERT_EQ(h.reason(), "") << h.detail() << "\n" << line;
  EXPECT_EQ(f["syslog.format"], Strings{"rfc3164"});
  EXPECT_EQ(f["log.syslog.priority"], Strings{"163"});
  EXPECT_EQ(f["log.syslog.facility.name"], Strings{"local4"});
  EXPECT_EQ(f["log.syslog.severity.name"], Strings{"err"});
  EXPECT_EQ(f["process.name"], Strings{"ehr"});
  EXPECT_EQ(f["process.pid"], Strings{"77"});
  EXPECT_EQ(f["message"], Strings{"login failed for bob"});
  ASSERT_EQ(f["@timestamp"].size(), 1u);
  EXPECT_EQ(f["@timestamp"][0].substr(0, 5), "2026-") << "the year the test fixed";
  EXPECT_EQ(f["host.name"].size(), 1u);
}

TEST_F(LoggerClient, JsonBodyThroughLogger) {
  const std::string line =
      send("--rfc5424 -t ehr -- '{\"user\":\"alice\",\"patient\":{\"mrn\":\"M-9\"}}'");
  Harness h("syslog+json");
  auto f = h.decode(line);
  ASSERT_EQ(h.reason(), "") << h.detail() << "\n" << line;
  EXPECT_EQ(f["user"], Strings{"alice"});
  EXPECT_EQ(f["patient.mrn"], Strings{"M-9"});
}

TEST(SyslogDecoder, NestedBodyOwnsEventPathsAndEnvelopeOwnsSyslogPaths) {
  Harness h("syslog+json");
  const std::string line =
      R"(<134>1 2026-11-23T10:00:00Z app01 ehr 42 - - {"@timestamp":"2026-11-23T09:59:58Z",)"
      R"("host":{"name":"inner"},"message":"body text","log":{"syslog":{"hostname":"x"}},)"
      R"("syslog":{"tag":"y"},"user":"alice"})";
  auto f = h.decode(line);
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["@timestamp"], Strings{"2026-11-23T09:59:58Z"}) << "the body's own time";
  EXPECT_EQ(f["syslog.timestamp"], Strings{"2026-11-23T10:00:00Z"});
  EXPECT_EQ(f["host.name"], Strings{"inner"});
  EXPECT_EQ(f["log.syslog.hostname"], Strings{"app01"});
  EXPECT_EQ(f["message"].size(), 1u);
  EXPECT_NE(f["message"][0], "body text") << "`message` is the envelope's";
  EXPECT_FALSE(f.has("syslog.tag")) << "syslog.* only from the envelope";
  EXPECT_EQ(f["process.name"], Strings{"ehr"}) << "the envelope fills what the body lacks";
  EXPECT_EQ(f["user"], Strings{"alice"});
}

TEST(SyslogDecoder, PgauditBodyFromPostgresSyslogDestination) {
  // log_destination = syslog, log_line_prefix = '%u@%d ': PostgreSQL sends
  // `[SEQ-LINE] PREFIX SEVERITY:  message` (elog.c, write_syslog).
  Harness h("syslog+pgaudit");
  auto f = h.decode(
      R"(<134>Nov 23 10:00:00 db01 postgres[4242]: [7-1] alice@ehr LOG:  AUDIT: SESSION,1,1,)"
      R"(READ,SELECT,TABLE,public.patients,"SELECT name, ""dob"" FROM patients",<not logged>)");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["db.user"], Strings{"alice"});
  EXPECT_EQ(f["db.name"], Strings{"ehr"});
  EXPECT_EQ(f["db.object"], Strings{"public.patients"});
  EXPECT_EQ(f["db.statement"], Strings{R"(SELECT name, "dob" FROM patients)"});
  EXPECT_EQ(f["event.action"], Strings{"read"});
  EXPECT_EQ(f["host.name"], Strings{"db01"});
  EXPECT_EQ(f["process.pid"], Strings{"4242"});
  EXPECT_FALSE(f.has("syslog.body_error"));

  f = h.decode("<134>Nov 23 10:00:01 db01 postgres[4242]: [8-1] alice@ehr LOG:  connection ok");
  ASSERT_EQ(h.reason(), "") << "a body the nested format rejects keeps the envelope";
  EXPECT_EQ(f["syslog.body_error"], Strings{"not_an_audit_record"});
  EXPECT_EQ(f["host.name"], Strings{"db01"});
}

TEST(SyslogDecoder, AuditdBodiesJoinPerSendingHost) {
  // audisp-syslog / rsyslog forwarding auditd records from two hosts whose
  // serials collide: each host's records make their own event.
  Harness h("syslog+auditd");
  EXPECT_TRUE(h.decodeAll("Nov 23 10:00:00 web1 audisp-syslog: type=SYSCALL "
                          "msg=audit(1700000000.100:7): syscall=257 success=yes auid=1000 "
                          "uid=0 exe=\"/usr/bin/cat\"")
                  .empty());
  EXPECT_EQ(h.reason(), "") << "held, not rejected";
  EXPECT_TRUE(h.decodeAll("Nov 23 10:00:00 web2 audisp-syslog: type=SYSCALL "
                          "msg=audit(1700000000.100:7): syscall=59 success=no auid=1001 uid=1001")
                  .empty());
  EXPECT_TRUE(h.decodeAll("Nov 23 10:00:00 web1 audisp-syslog: type=PATH "
                          "msg=audit(1700000000.100:7): item=0 name=\"/srv/phi/x\"")
                  .empty());
  auto events = h.decodeAll(
      "Nov 23 10:00:00 web1 audisp-syslog: type=EOE "
      "msg=audit(1700000000.100:7): ");
  ASSERT_EQ(events.size(), 1u) << h.reason() << h.detail();
  EXPECT_EQ(events[0]["auditd.node"], Strings{"web1"});
  EXPECT_EQ(events[0]["host.name"], Strings{"web1"});
  EXPECT_EQ(events[0]["file.path"], Strings{"/srv/phi/x"});
  EXPECT_EQ(events[0]["process.executable"], Strings{"/usr/bin/cat"});
  EXPECT_EQ(events[0]["user.id"], Strings{"1000"});
  EXPECT_EQ(events[0]["auditd.type"], (Strings{"SYSCALL", "PATH", "EOE"}));
  EXPECT_EQ(events[0]["raw"][0].substr(0, 15), "node=web1 type=") << "the joined records";

  // web2's event is still open; flush() hands it out without an envelope
  // (the record it came with is gone).
  events = h.flushAll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["auditd.node"], Strings{"web2"});
  EXPECT_EQ(events[0]["host.name"], Strings{"web2"});
  EXPECT_EQ(events[0]["user.id"], Strings{"1001"});
  EXPECT_FALSE(events[0].has("message"));
  EXPECT_FALSE(events[0].has("log.syslog.hostname"));
  EXPECT_TRUE(h.flushAll().empty());

  // A record that names its node keeps it.
  EXPECT_TRUE(h.decodeAll("Nov 23 10:00:00 relay audisp-syslog: node=db9 type=SYSCALL "
                          "msg=audit(1700000001.000:8): auid=5 uid=5")
                  .empty());
  events = h.flushAll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["auditd.node"], Strings{"db9"});

  auto f = h.decode("Nov 23 10:00:00 web1 audisp-syslog: not an audit record");
  EXPECT_EQ(h.reason(), "");
  EXPECT_EQ(f["syslog.body_error"], Strings{"not_an_audit_record"});
}

TEST(SyslogDecoder, MultiEventBodyGivesEachEventTheEnvelope) {
  Harness h("syslog+cloudtrail");
  auto events = h.decodeAll(
      R"(<134>1 2026-11-23T10:00:00Z trail01 forwarder - - - {"Records":[)"
      R"({"eventTime":"2026-11-23T09:00:00Z","eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com"},)"
      R"({"eventTime":"2026-11-23T09:00:01Z","eventName":"DeleteTrail","eventSource":"cloudtrail.amazonaws.com"}]})");
  ASSERT_EQ(events.size(), 2u) << h.reason() << h.detail();
  EXPECT_EQ(events[0]["event.action"], Strings{"StopLogging"});
  EXPECT_EQ(events[1]["event.action"], Strings{"DeleteTrail"});
  for (const auto& e : events) {
    EXPECT_EQ(e["host.name"], Strings{"trail01"});
    EXPECT_EQ(e["log.syslog.appname"], Strings{"forwarder"});
  }
  EXPECT_EQ(events[1]["@timestamp"], Strings{"2026-11-23T09:00:01Z"});
  EXPECT_EQ(h.reason(), "");
}

TEST(SyslogDecoder, AccessLogBodyWithExtraFields) {
  // nginx `access_log syslog:server=...` sends the log_format line as MSG.
  Harness h("syslog+access-log", {{"forwarded_for", "request_time"}});
  auto f =
      h.decode(R"(<190>Nov 23 10:00:00 web01 nginx: 10.0.0.5 - alice [23/Nov/2026:10:00:00 +0000] )"
               R"("GET /fhir/Patient/7 HTTP/1.1" 200 512 "-" "curl/8.0" "203.0.113.9" 0.004)");
  ASSERT_EQ(h.reason(), "") << h.detail();
  EXPECT_EQ(f["http.request.method"], Strings{"GET"});
  EXPECT_EQ(f["http.response.status_code"], Strings{"200"});
  EXPECT_EQ(f["source.ip"], Strings{"10.0.0.5"});
  EXPECT_EQ(f["forwarded_for"], Strings{"203.0.113.9"});
  EXPECT_EQ(f["request_time"], Strings{"0.004"});
  EXPECT_EQ(f.type("request_time"), FieldValue::Type::kNumber);
  EXPECT_EQ(f["@timestamp"], Strings{"2026-11-23T10:00:00+00:00"});
  EXPECT_EQ(f["host.name"], Strings{"web01"});
}

TEST(SyslogDecoder, IsRegistered) {
  auto plain = makeDecoder("syslog");
  ASSERT_NE(plain, nullptr);
  EXPECT_NE(dynamic_cast<SyslogDecoder*>(plain.get()), nullptr);
  for (const char* format :
       {"syslog+json", "syslog+kv", "syslog+pgaudit", "syslog+auditd", "syslog+fhir",
        "syslog+cloudtrail", "syslog+k8s-audit", "syslog+access-log", "syslog+auto"}) {
    EXPECT_NE(dynamic_cast<SyslogDecoder*>(makeDecoder(format).get()), nullptr) << format;
  }
  for (const char* format : {"syslog+", "syslog+syslog", "syslog+syslog+json", "syslog+yaml",
                             "syslog json", "json+syslog"}) {
    EXPECT_EQ(makeDecoder(format), nullptr) << format;
  }
}

}  // namespace
}  // namespace trailwatch::decode
