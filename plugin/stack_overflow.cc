// A stack overflow still leaves a partial profile. Nix turns an overflow of the evaluator's
// stack (deep or infinite recursion that Nix does not catch as an error) into
// "error: stack overflow (possible infinite recursion)" and _exit(1) from its SIGSEGV handler,
// which skips the on_exit hook through which the profile is written (exit_hook.cc). So the
// plugin finishes the profile from inside that signal handler, just before Nix's own code runs:
// Nix 2.8 through a SIGSEGV handler of its own, chained to Nix's; Nix >= 2.26 by wrapping
// `nix::stackOverflowHandler` (see shim_stack.hh).
//
// This is best effort, and deliberately so. Writing a profile (the Rust recorder, SQLite,
// malloc) is not async-signal-safe. It is acceptable because the process is about to _exit
// anyway, and it is made as safe as it can be:
// - only for an overflow of the main thread's stack (the evaluator's; Nix's own test: the fault
//   address within a page of the stack pointer) on the plugin's 4 MiB alternate stack (Nix's is
//   16 KiB, too small for SQLite);
// - never when the faulting instruction is in libc, ld.so, libgcc_s or the vDSO (a malloc,
//   loader or unwinder lock may be held), nor in the plugin unless the fault is in the last
//   STACK_RESERVE of the stack, where the hooks stop recording (hooks.hh, stack_nearly_full):
//   above it the recorder may be half way through an update. In deep recursion every level is a
//   new call-tree node, so the recorder's own code is where the stack usually runs out: without
//   that reserve almost no overflow would leave a profile. Address ranges are computed at load,
//   not in the handler. When it declines, the plugin says why in one line (write(2)) and Nix's
//   handler runs as without it;
// - exactly once (claim_finish, shared with the exit hook); the one lock on the way
//   (instrument.cc's) is only tried;
// - a 60 s watchdog (alarm) ends the process with Nix's message if finishing ever wedges.
// Nothing else runs in the handler: no getenv, stdio, iostream or formatting, only write(2) of
// fixed strings.
#include "hooks.hh"
#include "got_patch.hh"
#include "shim_stack.hh"

#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <sys/resource.h>

#include <cerrno>
#include <fstream>
#include <cstdint>
#include <cstring>

namespace nixperf {

namespace {

constexpr size_t ALT_STACK_SIZE = size_t(4) << 20;
// The end of the main thread's stack in which hooks record nothing (far more than any recorder
// call needs: a fault there cannot be inside a recorder update that began above it).
constexpr uintptr_t STACK_RESERVE = uintptr_t(1) << 20;
constexpr unsigned WATCHDOG_SECONDS = 60;
constexpr const char NIX_MESSAGE[] = "error: stack overflow (possible infinite recursion)\n";

// Code in which the fault must not be followed by finishing the profile.
struct Range
{
    uintptr_t lo, hi;
    const char * what;
};
constexpr size_t MAX_RANGES = 32;
Range unsafe_code[MAX_RANGES];
size_t unsafe_count = 0;

long main_tid = 0;
uintptr_t stack_top = 0; // highest address of the main thread's stack ([stack] in /proc/self/maps)
char * alt_stack = nullptr; // usable part of the plugin's alternate stack (above a guard page)

void say(const char * s) noexcept
{
    [[gnu::unused]] auto r = ::write(2, s, strlen(s));
}

// ---- at load ---------------------------------------------------------------------------------

const char * classify(const char * name)
{
    if (!name || !*name) return nullptr; // the executable
    const char * file = strrchr(name, '/');
    file = file ? file + 1 : name;
    if (!strncmp(file, "libc.so", 7) || !strncmp(file, "libpthread.so", 13)) return "libc";
    if (!strncmp(file, "ld-linux", 8) || !strncmp(file, "ld.so", 5)) return "the dynamic loader";
    if (!strncmp(file, "libgcc_s.so", 11)) return "libgcc_s (exception unwinding)";
    if (!strncmp(file, "linux-vdso", 10) || !strncmp(file, "linux-gate", 10)) return "the vDSO";
    return nullptr;
}

constexpr const char PLUGIN[] = "the nixperf plugin";

int collect_ranges(struct dl_phdr_info * info, size_t, void * data)
{
    // The plugin is the object one of whose segments holds this very function.
    auto self = reinterpret_cast<uintptr_t>(data);
    const char * what = classify(info->dlpi_name);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const auto & ph = info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
        if (ph.p_type == PT_LOAD && self >= lo && self < lo + ph.p_memsz) what = PLUGIN;
    }
    if (!what) return 0;
    for (int i = 0; i < info->dlpi_phnum && unsafe_count < MAX_RANGES; i++) {
        const auto & ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
        unsafe_code[unsafe_count++] = {lo, lo + ph.p_memsz, what};
    }
    return 0;
}

std::string collect_unsafe_code()
{
    dl_iterate_phdr(collect_ranges, reinterpret_cast<void *>(&collect_ranges));
    bool have_plugin = false, have_libc = false;
    for (size_t i = 0; i < unsafe_count; i++) {
        have_plugin |= unsafe_code[i].what == PLUGIN;
        have_libc |= !strcmp(unsafe_code[i].what, "libc");
    }
    if (!have_plugin || !have_libc) return "cannot locate the plugin's or libc's code";
    return {};
}

uintptr_t find_stack_top()
{
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line))
        if (line.find("[stack]") != std::string::npos) {
            auto dash = line.find('-');
            if (dash == std::string::npos) return 0;
            return std::stoull(line.substr(dash + 1), nullptr, 16);
        }
    return 0;
}

std::string install_alt_stack()
{
    long page = sysconf(_SC_PAGESIZE);
    void * m = mmap(nullptr, ALT_STACK_SIZE + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
        -1, 0);
    if (m == MAP_FAILED) return "cannot map an alternate signal stack";
    // A guard page below it: an overflow of the alternate stack faults instead of corrupting.
    mprotect(m, page, PROT_NONE);
    stack_t st{};
    st.ss_sp = static_cast<char *>(m) + page;
    st.ss_size = ALT_STACK_SIZE;
    st.ss_flags = 0;
    if (sigaltstack(&st, nullptr) != 0) {
        munmap(m, ALT_STACK_SIZE + page);
        return "cannot set the alternate signal stack";
    }
    alt_stack = static_cast<char *>(st.ss_sp);
    return {};
}

// ---- in the signal handler -------------------------------------------------------------------

uintptr_t fault_pc(void * ctx)
{
    auto * uc = static_cast<ucontext_t *>(ctx);
#if defined(__x86_64__)
    return uintptr_t(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return uintptr_t(uc->uc_mcontext.pc);
#else
    (void) uc;
    return 0;
#endif
}

uintptr_t fault_sp(void * ctx)
{
    auto * uc = static_cast<ucontext_t *>(ctx);
#if defined(__x86_64__)
    return uintptr_t(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
    return uintptr_t(uc->uc_mcontext.sp);
#else
    (void) uc;
    return 0;
#endif
}

const char * unsafe_place(uintptr_t pc)
{
    if (!pc) return "code whose address is unknown on this architecture";
    for (size_t i = 0; i < unsafe_count; i++)
        if (pc >= unsafe_code[i].lo && pc < unsafe_code[i].hi) return unsafe_code[i].what;
    return nullptr;
}

bool on_plugin_stack()
{
    char probe;
    return alt_stack && &probe >= alt_stack && &probe < alt_stack + ALT_STACK_SIZE;
}

void watchdog_fired(int) noexcept
{
    say("nixperf: writing the partial profile after a stack overflow took over 60 s; given up\n");
    say(NIX_MESSAGE);
    _exit(1);
}

void start_watchdog() noexcept
{
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = watchdog_fired;
    sigfillset(&act.sa_mask);
    sigaction(SIGALRM, &act, nullptr);
    // Nix's SIGSEGV handler (and ours) runs with every signal blocked.
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &alrm, nullptr);
    alarm(WATCHDOG_SECONDS);
}

// A stack overflow by Nix's test (its fault address within a page of the stack pointer): finish
// the profile if that is safe here. Nix's handler runs after this, whatever it did.
void on_stack_overflow(siginfo_t *, void * ctx) noexcept
{
    int saved_errno = errno;
    if (syscall(SYS_gettid) != main_tid) return; // not the evaluator's thread: leave it to Nix
    const char * where = unsafe_place(fault_pc(ctx));
    // In the reserve at the stack's end the plugin's code only passes calls on (no recorder
    // update can be in progress there).
    if (where == PLUGIN && stack_low_water && fault_sp(ctx) < stack_low_water) where = nullptr;
    if (where) {
        say("nixperf: the stack overflowed inside ");
        say(where);
        say(", where finishing the profile could deadlock or read half-updated data: no partial profile\n");
    } else if (!on_plugin_stack()) {
        say("nixperf: the stack overflow is handled on another alternate stack than the plugin's (too small to write "
            "the profile): no partial profile\n");
    } else if (claim_finish()) {
        start_watchdog();
        finish_after_stack_overflow();
        alarm(0);
    }
    errno = saved_errno;
}

#if NIXPERF_HAVE_STACK_OVERFLOW_HANDLER

// Nix >= 2.26: nix::stackOverflowHandler, called by Nix's SIGSEGV handler after its own
// fault-address check. The previous handler (Nix's default: message and _exit) runs after ours.
shim::StackOverflowHandler * previous_handler = nullptr;

std::string install_handler()
{
    auto * h = static_cast<shim::StackOverflowHandler *>(real_symbol(NIXPERF_STACK_OVERFLOW_HANDLER_SYMBOL));
    if (!h) return "nix::stackOverflowHandler not found";
    previous_handler = new shim::StackOverflowHandler(*h);
    *h = shim::StackOverflowHandler([](siginfo_t * info, void * ctx) {
        on_stack_overflow(info, ctx);
        (*previous_handler)(info, ctx);
    });
    return {};
}

#else

// Nix 2.8: a SIGSEGV handler in front of Nix's, with Nix's fault-address test.
struct sigaction previous_action;

void chain(int sig, siginfo_t * info, void * ctx)
{
    if (previous_action.sa_flags & SA_SIGINFO) {
        if (previous_action.sa_sigaction) previous_action.sa_sigaction(sig, info, ctx);
        return;
    }
    if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(sig);
        return;
    }
    // No handler before ours: the default action when the faulting instruction runs again.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGSEGV, &dfl, nullptr);
}

void segv_handler(int sig, siginfo_t * info, void * ctx)
{
    uintptr_t sp = fault_sp(ctx), addr = reinterpret_cast<uintptr_t>(info->si_addr);
    uintptr_t diff = addr > sp ? addr - sp : sp - addr;
    if (sp && diff < 4096) on_stack_overflow(info, ctx);
    chain(sig, info, ctx);
}

std::string install_handler()
{
    struct sigaction act;
    memset(&act, 0, sizeof act);
    sigfillset(&act.sa_mask);
    act.sa_sigaction = segv_handler;
    act.sa_flags = SA_SIGINFO | SA_ONSTACK;
    if (sigaction(SIGSEGV, &act, &previous_action) != 0) return "cannot install the SIGSEGV handler";
    return {};
}

#endif

} // namespace

void arm_stack_guard() noexcept
{
    // Read after Nix set its stack size (2.8 in main, >= 2.26 when the EvalState is built).
    struct rlimit lim;
    if (!stack_top || syscall(SYS_gettid) != main_tid || getrlimit(RLIMIT_STACK, &lim) != 0) return;
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur < 4 * STACK_RESERVE || lim.rlim_cur > stack_top) return;
    // The stack we run on must be the one /proc/self/maps names: under valgrind (which runs
    // the program on a stack of its own) or on a foreign stack it is not, and a guard computed
    // from it would turn every hook off.
    uintptr_t sp = stack_pointer();
    if (sp > stack_top || sp < stack_top - lim.rlim_cur + 2 * STACK_RESERVE) return;
    stack_low_water = stack_top - lim.rlim_cur + STACK_RESERVE;
}

std::string install_stack_overflow_hook()
{
    main_tid = syscall(SYS_gettid);
    if (main_tid != getpid()) return "loaded outside the main thread: a stack overflow leaves no profile";
    try {
        stack_top = find_stack_top();
    } catch (...) {
    }
    std::string err = collect_unsafe_code();
    if (err.empty()) err = install_alt_stack();
    if (err.empty()) err = install_handler();
    if (!err.empty()) return "stack overflow hook: " + err + " (a stack overflow leaves no profile)";
    return {};
}

} // namespace nixperf
