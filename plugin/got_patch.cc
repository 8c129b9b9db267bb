// GOT patching: Nix's shared libraries call many of their own exported functions through their
// PLT (they are built without -Bsymbolic), so rewriting the GOT slot of a symbol in each loaded
// object catches every call, including calls inside libnixexpr itself. RELRO pages are made
// writable for the write and restored afterwards.
#include "got_patch.hh"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace nixperf {

namespace {

struct PatchRequest
{
    const char * symbol;
    void * replacement;
    size_t patched;
};

bool write_slot(void ** slot, void * value)
{
    long page = sysconf(_SC_PAGESIZE);
    auto start = reinterpret_cast<uintptr_t>(slot) & ~(uintptr_t(page) - 1);
    // The slot may sit in a read-only (RELRO) page; find out by trying to make it writable.
    if (mprotect(reinterpret_cast<void *>(start), page, PROT_READ | PROT_WRITE) != 0)
        return false;
    __atomic_store_n(slot, value, __ATOMIC_SEQ_CST);
    // Leave it read-write only if it was not RELRO. We cannot query the old protection cheaply,
    // so restore read-only when the page lies inside a PT_GNU_RELRO segment (checked by caller
    // passing through this path only for JUMP_SLOTs, which are RELRO under BIND_NOW).
    return true;
}

int patch_object(struct dl_phdr_info * info, size_t, void * data)
{
    auto * req = static_cast<PatchRequest *>(data);
    const ElfW(Dyn) * dyn = nullptr;
    uintptr_t relro_start = 0, relro_end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const auto & ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_DYNAMIC)
            dyn = reinterpret_cast<const ElfW(Dyn) *>(info->dlpi_addr + ph.p_vaddr);
        else if (ph.p_type == PT_GNU_RELRO) {
            relro_start = info->dlpi_addr + ph.p_vaddr;
            relro_end = relro_start + ph.p_memsz;
        }
    }
    if (!dyn) return 0;

    const ElfW(Sym) * symtab = nullptr;
    const char * strtab = nullptr;
    const ElfW(Rela) * jmprel = nullptr;
    size_t jmprel_size = 0;
    for (auto * d = dyn; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: symtab = reinterpret_cast<const ElfW(Sym) *>(d->d_un.d_ptr); break;
        case DT_STRTAB: strtab = reinterpret_cast<const char *>(d->d_un.d_ptr); break;
        case DT_JMPREL: jmprel = reinterpret_cast<const ElfW(Rela) *>(d->d_un.d_ptr); break;
        case DT_PLTRELSZ: jmprel_size = d->d_un.d_val; break;
        }
    }
    if (!symtab || !strtab || !jmprel) return 0;
    // The dynamic loader has already relocated these addresses, except in the vDSO.
    if (reinterpret_cast<uintptr_t>(symtab) < info->dlpi_addr) return 0;

    long page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < jmprel_size / sizeof(ElfW(Rela)); i++) {
        const auto & rel = jmprel[i];
        if (ELF64_R_TYPE(rel.r_info) != R_X86_64_JUMP_SLOT) continue;
        const auto & sym = symtab[ELF64_R_SYM(rel.r_info)];
        if (std::strcmp(strtab + sym.st_name, req->symbol) != 0) continue;
        auto ** slot = reinterpret_cast<void **>(info->dlpi_addr + rel.r_offset);
        if (!write_slot(slot, req->replacement)) continue;
        auto addr = reinterpret_cast<uintptr_t>(slot);
        if (addr >= relro_start && addr < relro_end)
            mprotect(reinterpret_cast<void *>(addr & ~(uintptr_t(page) - 1)), page, PROT_READ);
        req->patched++;
    }
    return 0;
}

} // namespace

size_t patch_plt_slots(const char * symbol, void * replacement) noexcept
{
    PatchRequest req{symbol, replacement, 0};
    dl_iterate_phdr(patch_object, &req);
    return req.patched;
}

void * real_symbol(const char * symbol) noexcept
{
    return dlsym(RTLD_DEFAULT, symbol);
}

} // namespace nixperf
