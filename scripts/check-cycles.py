#!/usr/bin/env python3
"""Dependency cycles between the files of src/ (issue #17: data flows one way).

Every `crate::…` and `super::…` path in a file (use lines and inline paths, comments
excluded) is resolved to the file that defines the longest module prefix of it. A file
depends on those files; a cycle is a strongly connected component of more than one file.

Unit tests (`#[cfg(test)] mod tests`) are left out. A module's own `mod.rs` declaring its children (`mod x;`, `pub use x::…`) is not an edge:
that is the module tree, not a dependency. Prints every cycle; exits 1 if there is any.

  scripts/check-cycles.py [--top]   (--top: cycles between top-level modules of src/)
"""
import os, re, sys
from collections import defaultdict

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
root = os.path.normpath(root)
top_level = "--top" in sys.argv[1:]

def module_of(path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)

files = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith(".rs"):
            p = os.path.join(d, f)
            files[module_of(p)] = os.path.relpath(p, root)

def resolve(segs):
    """The file of the longest module prefix of `segs`."""
    for n in range(len(segs), -1, -1):
        if tuple(segs[:n]) in files:
            return tuple(segs[:n])
    return None

path_re = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")
edges = defaultdict(set)
for mod, rel in files.items():
    text = open(os.path.join(root, rel), encoding="utf-8").read()
    text = re.sub(r"//[^\n]*", "", text)
    # Unit tests (a file's trailing `#[cfg(test)] mod tests`) are not part of its dependencies.
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
    if cut:
        text = text[: cut.start()]
    is_mod_file = rel.endswith("mod.rs") or rel == "lib.rs"
    # Group imports `use crate::a::{b, c::d}`: expand one level.
    expanded = []
    for m in re.finditer(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^}]*)\}", text):
        for item in m.group(3).split(","):
            item = item.strip().split(" as ")[0]
            if item and item != "self":
                expanded.append(m.group(1) + m.group(2) + "::" + item.split("::{")[0])
            elif item == "self":
                expanded.append(m.group(1) + m.group(2))
    for m in path_re.finditer(text):
        if m.group(2) != "::{":
            expanded.append(m.group(1) + m.group(2))
    for p in expanded:
        segs = p.split("::")
        if segs[0] == "crate":
            base = []
            segs = segs[1:]
        else:
            base = list(mod if is_mod_file else mod[:-1])
            segs = segs[1:]
            while segs and segs[0] == "super":
                base = base[:-1]
                segs = segs[1:]
            # `super` from a mod.rs is the parent of the module.
            if is_mod_file:
                base = base[:-1]
        target = resolve(base + [s for s in segs if s != "self"])
        if target is None or target == mod:
            continue
        # A mod.rs naming its own children is the module tree.
        if is_mod_file and target[: len(mod)] == mod:
            continue
        edges[mod].add(target)

if top_level:
    top = defaultdict(set)
    for a, bs in edges.items():
        for b in bs:
            if a[:1] != b[:1] and a and b:
                top[a[:1]].add(b[:1])
    edges = top

# Tarjan's strongly connected components.
index, low, stack, on, sccs = {}, {}, [], set(), []
sys.setrecursionlimit(10000)
def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(comp)
for v in list(edges):
    if v not in index:
        visit(v)

name = lambda m: "::".join(m) or "crate"
for comp in sccs:
    members = sorted(name(m) for m in comp)
    inside = [(name(a), name(b)) for a in comp for b in edges.get(a, ()) if b in comp]
    print(f"cycle: {', '.join(members)}")
    for a, b in sorted(inside):
        print(f"    {a} -> {b}")
print(f"check-cycles: {len(sccs)} cycle(s) among {len(files) if not top_level else len(edges)} {'top-level modules' if top_level else 'files'}")
sys.exit(1 if sccs else 0)
