// replaceFileAtomically: the one way trailwatch writes a state file
// (checkpoints, correlation state) so that a crash or power cut leaves
// either the old content or the new, never a mix.
//
// The data goes to a temporary file next to the target (same filesystem, so
// rename() is atomic; mkstemp keeps two writers apart), which is fsynced,
// renamed over the target, and the directory is fsynced so the rename itself
// survives. Missing parent directories are created.
//
// Thread-safety: a free function; callers serialise writes to one path.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "trailwatch/result.h"

namespace trailwatch {

// `what` names the file in messages ("checkpoint file", "correlation state").
Status replaceFileAtomically(const std::string& path, std::string_view data, std::string_view what);
// The same with the content given as consecutive pieces, written in order,
// so a large file need not be assembled in memory first.
Status replaceFileAtomically(const std::string& path, std::span<const std::string_view> pieces,
                             std::string_view what);

}  // namespace trailwatch
