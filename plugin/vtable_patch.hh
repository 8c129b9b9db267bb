// Instrumenting single AST nodes by swapping their vtable pointer. A node's class gets a
// subclass of the same layout (no added members) whose virtual functions count/attribute and
// then call the original; the node's vtable pointer is set to a *copy* of that subclass's
// vtable with two extra slots in front of the RTTI pointer:
//
//     block: [count][tag][offset-to-top][RTTI][slot 0 …]      object's vptr → slot 0
//
// `count` is incremented by the hooked function, `tag` is what the hook needs to know (a file
// id, a `with` scope id). Only the nodes that matter pay; no lookup on the hot path.
#pragma once
#include "hooks.hh"

#include <cstdint>
#include <functional>
#include <type_traits>
#include <typeindex>

namespace nixperf::vt {

// What a block counts; decides where its count is reported at the end.
enum class Kind : uint8_t { Thunk, Root, Rec, WithVar };

// `tag` value for nodes that count but never change the attribution owner (library files): the
// recorder's owner of nobody (src/recorder/bridge.rs).
inline constexpr uint32_t NO_OWNER = uint32_t(rec::Owner::Nobody);
// Tag bit of a helper library's nodes: they take over the time only when no module owns it
// (src/recorder/files.rs), which the hook tells from the current owner without calling Rust.
inline constexpr uint32_t HELPER = 1u << 31;
// The attribution tag of a file's nodes.
inline uint32_t attribution_tag(uint32_t file, bool library, bool helper)
{
    return library ? NO_OWNER : helper ? (file | HELPER) : file;
}

inline uintptr_t * block_of(const void * self) { return *reinterpret_cast<uintptr_t * const *>(self); }
inline uintptr_t & count_of(const void * self) { return block_of(self)[-4]; }
inline uint32_t tag_of(const void * self) { return static_cast<uint32_t>(block_of(self)[-3]); }

// The vtable of the hook class, from a leaked copy of a real node (once per class).
void ** class_vtable(std::type_index hook_class, const std::function<void *()> & make_probe);

// The block for (hook class, kind, tag, id): shared by every node with the same key.
void ** block(void ** class_vt, std::type_index hook_class, Kind kind, uint32_t tag, uint32_t id);

// Points `node` at the block of `Hook` (a subclass of the node's exact class `T`). The probe is
// a copy of the node; a node class that owns a unique_ptr (2.26's ExprAttrs) cannot be copied,
// and a default-constructed one has the same vtable.
template<class Hook, class T>
void install(nix::Expr * node, Kind kind, uint32_t tag, uint32_t id)
{
    auto * vt = class_vtable(typeid(Hook), [&]() -> void * {
        if constexpr (std::is_copy_constructible_v<T>)
            return new Hook(*static_cast<const T *>(node));
        else
            return new Hook();
    });
    *reinterpret_cast<void ***>(node) = block(vt, typeid(Hook), kind, tag, id);
}

// Every block with its kind, tag, id and count (for the report at the end).
void for_each(const std::function<void(Kind, uint32_t tag, uint32_t id, uint64_t count)> & f);

} // namespace nixperf::vt
