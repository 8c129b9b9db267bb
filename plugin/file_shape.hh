// The shape of a parsed file's value (file_shape.cc), handed to the recorder, which decides from
// it whether the file is a module or a helper library.
#pragma once
#include "hooks.hh"

#include <cstdint>
#include <string>

namespace nixperf {

struct FileShape
{
    rec::ShapeKind kind = rec::ShapeKind::Data;
    uint32_t functions = 0;  // attributes whose value is a function
    uint32_t reexports = 0;  // attributes taken from elsewhere (`import ./x.nix`, `inherit (lib.x) f`)
    uint32_t values = 0;     // other attributes
    bool module_keys = false; // imports / options / config at the top
    std::string detail;       // the lambda patterns in front of the value, as written
};

FileShape file_shape(nix::EvalState * state, nix::Expr * root) noexcept;

} // namespace nixperf
