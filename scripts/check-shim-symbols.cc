// Compiled (not linked) by scripts/check-plugin-compiles.sh for every Nix >= 2.26: keeps a
// pointer to each member function the plugin hooks, with the signature the shim assumes
// (plugin/shim_sigs_since_2_26.hh), so that the object file references each of them by the
// mangled name the compiler gives this version's declaration. The script compares those names
// with the shim's NIXPERF_*_SYMBOL strings, which the GOT patcher looks up at load time.
#include "shim.hh"

#if NIXPERF_NIX_AT_LEAST(2, 26)
using namespace nixperf::shim::detail;
[[gnu::used]] auto nixperf_sym_call = sig_call;
[[gnu::used]] auto nixperf_sym_parse_file = sig_parse_file;
[[gnu::used]] auto nixperf_sym_parse_string = sig_parse_string;
[[gnu::used]] auto nixperf_sym_eval_file = sig_eval_file;
[[gnu::used]] auto nixperf_sym_realise = sig_realise;
#endif
