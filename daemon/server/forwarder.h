// `trailwatch forward`: the log host's side of a NATS deployment. Reads the
// configuration's file sources (`forward.sources`, default every file
// source) as `run` would, and publishes each record, one per message, to
// JetStream, where `run` instances with a nats source consume it.
//
// What it promises:
//  - At least once: a source's checkpoint (its own file,
//    <state_dir>/checkpoints/forward-<source>.ckpt, so `run` on the same
//    host keeps its own) moves only past records the stream acknowledged
//    storing (every PubAck of the batch received). A publish that fails or
//    is not acknowledged within `timeout` sends the whole batch again,
//    with backoff, until it is stored or the forwarder is stopped.
//  - Duplicates from such retries are dropped by the stream: each message
//    carries a Nats-Msg-Id made of the record's file, offset and a hash of
//    its text (forwardMessageId()).
//  - Partitions: with `partition_key`, each record is decoded with its
//    source's format and goes to `<subject>.<bucket>`, bucket =
//    FNV-1a-64(first value of the field, as text) mod `partitions`
//    (partitionOf()); a record without the field, or one that does not
//    decode, goes to bucket 0. Without it every record goes to `subject`.
//  - SIGTERM/SIGINT: finishes the batch in flight, commits, exits 0.
//
// Thread-safety: runForward() runs on the calling thread, once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace trailwatch::server {

struct ForwardOptions {
  std::string config_file;
};

int runForward(const ForwardOptions& options);

// The partition of a record whose partition key has the value `value`.
std::size_t partitionOf(std::string_view value, std::size_t partitions);

// The de-duplication id of a record: file, offset and text hash.
std::string forwardMessageId(std::string_view origin, uint64_t offset, std::string_view text);

}  // namespace trailwatch::server
