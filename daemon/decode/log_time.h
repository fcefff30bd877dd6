// Pieces of the time formats text logs write, shared by the decoders that
// read them (syslog, access-log) and by format detection (auto).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace trailwatch::decode {

// 1-12 for an English month abbreviation (`Jan` … `Dec`, exact case), else 0.
int monthNumber(std::string_view abbreviation);

// RFC 3164 section 4.1.2 TIMESTAMP `Mmm dd hh:mm:ss` at the start of `s`
// (day space-padded or zero-padded), with an optional `.fraction` some
// senders add. Returns the length used (0: not one) and sets `month` (1-12).
std::size_t bsdTimestampLength(std::string_view s, int& month);

}  // namespace trailwatch::decode
