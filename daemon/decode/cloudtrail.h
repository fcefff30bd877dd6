// CloudTrailDecoder (format `cloudtrail`): AWS CloudTrail events, one JSON
// event per record, or the log file shape `{"Records": [ ... ]}` whose
// records each become one event (decode() returns the first, next() the
// others).
//
// References:
//   CloudTrail record contents
//     https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
//   userIdentity element
//     https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
//
// Normalized fields it fills (docs/formats/cloudtrail.md has an example):
//   @timestamp           eventTime (RFC 3339, UTC)
//   event.action         eventName
//   event.provider       eventSource
//   event.outcome        failure when errorCode is present (a non-empty
//                        string), else success
//   user.id              userIdentity.arn, else userIdentity.principalId
//   user.name            userIdentity.userName, else
//                        userIdentity.sessionContext.sessionIssuer.userName
//   source.ip            sourceIPAddress (may be a service name such as
//                        `ec2.amazonaws.com`, as CloudTrail writes it)
//   cloud.region         awsRegion
//   cloud.account.id     recipientAccountId
//   user_agent.original  userAgent
// Every other wanted path is resolved against the event's own JSON with
// JsonDecoder's semantics (json_fields.h): `userIdentity.type`,
// `requestParameters.bucketName`, `errorCode`, ...
//
// raw(): the record for a lone event; for an element of Records, that
// element minified.
//
// Errors (DecodeError::reason): `empty_record`, `malformed_json`,
// `too_deep`, `not_an_object`, `not_an_audit_event` (an object with none of
// eventName, eventSource, eventVersion, or a Records array holding no event).
//
// Lifetime: values stay valid until the next decode(), next() or
// setFields() (event.h).
//
// Thread-safety: none; one decoder per thread (decoder.h).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "daemon/decode/field_table.h"
#include "daemon/decode/json_fields.h"
#include "trailwatch/decoder.h"

namespace trailwatch::decode {

class CloudTrailDecoder final : public Decoder {
 public:
  CloudTrailDecoder();
  CloudTrailDecoder(const CloudTrailDecoder&) = delete;
  CloudTrailDecoder& operator=(const CloudTrailDecoder&) = delete;

  void setFields(std::span<const std::string> paths) override;
  const Event* decode(std::string_view record, DecodeError& error) override;
  std::unique_ptr<Decoder> clone() const override { return std::make_unique<CloudTrailDecoder>(); }
  const Event* next(DecodeError& error) override;

 private:
  const Event* emit(simdjson::dom::object event);
  void fill(simdjson::dom::object event);

  simdjson::dom::parser parser_;
  FieldTable table_;
  NativeJsonFields native_;
  std::string_view record_;
  bool file_shape_ = false;
  std::vector<simdjson::dom::object> pending_;  // the Records of a file
  std::size_t next_ = 0;
  std::string element_raw_;
};

}  // namespace trailwatch::decode
