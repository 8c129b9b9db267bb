#include "vtable_patch.hh"

#include <map>
#include <tuple>

namespace nixperf::vt {

namespace {

struct Key
{
    std::type_index cls;
    Kind kind;
    uint32_t tag, id;
    bool operator<(const Key & o) const
    {
        return std::tie(cls, kind, tag, id) < std::tie(o.cls, o.kind, o.tag, o.id);
    }
};

// Never destroyed: the blocks are in use until the process ends.
auto & class_vtables = *new std::map<std::type_index, void **>;
auto & blocks = *new std::map<Key, void **>;

} // namespace

void ** class_vtable(std::type_index hook_class, const std::function<void *()> & make_probe)
{
    auto it = class_vtables.find(hook_class);
    if (it != class_vtables.end()) return it->second;
    void ** vt = *reinterpret_cast<void ***>(make_probe());
    class_vtables.emplace(hook_class, vt);
    return vt;
}

void ** block(void ** class_vt, std::type_index hook_class, Kind kind, uint32_t tag, uint32_t id)
{
    Key key{hook_class, kind, tag, id};
    auto it = blocks.find(key);
    if (it != blocks.end()) return it->second;
    auto * b = new void *[4 + shim::EXPR_VTABLE_SLOTS];
    b[0] = nullptr;
    b[1] = reinterpret_cast<void *>(uintptr_t(tag));
    b[2] = class_vt[-2];
    b[3] = class_vt[-1];
    for (size_t i = 0; i < shim::EXPR_VTABLE_SLOTS; i++) b[4 + i] = class_vt[i];
    blocks.emplace(key, b + 4);
    return b + 4;
}

void for_each(const std::function<void(Kind, uint32_t, uint32_t, uint64_t)> & f)
{
    for (auto & [key, vt] : blocks) f(key.kind, key.tag, key.id, reinterpret_cast<uintptr_t *>(vt)[-4]);
}

} // namespace nixperf::vt
