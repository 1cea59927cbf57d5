#!/usr/bin/env python3
"""File-level import graph of src/: cycles and layering rules.

Every `crate::a::b::...` path in a file (in `use` lines and in code), and every
`super::...` path, is resolved to the longest prefix that names a module file
(`src/a/b.rs` or `src/a/b/mod.rs`); the edge goes from the file to that module's file.
Paths into the file's own module tree (a `mod.rs` using its children, a file using
itself) are not edges of interest and are dropped.

Checks:
  * layers (see LAYERS): a top-level module imports only modules of lower layers;
  * rules (see RULES): a file under the first folder imports nothing under the
    forbidden prefixes;
  * cycles: strongly connected components of more than one file.

Usage: tools/check_module_graph.py [--strict-cycles] [--dot FILE]
Exit 1 if a layering rule is broken, or (with --strict-cycles) if there is a cycle.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

# The library's top-level modules, bottom layer first: a module may import only modules of
# earlier layers (src/lib.rs documents the same order). `cli` and `<main>` are the binary.
LAYERS = [
    ["kernels", "imageio", "report", "http"],
    ["model", "survey"],
    ["weights", "cartoonize"],
    ["engine", "backend"],
    ["bench", "train", "eval", "inference"],
    ["experiment"],
    ["studio"],
]

# (importer prefix, forbidden prefixes): module paths as "a::b".
RULES = [
    ("kernels", lambda m: not m.startswith("kernels"), "kernels/ imports only kernels/"),
    ("engine", lambda m: m.startswith("backend"), "engine/ imports no backend/"),
    ("backend", lambda m: m.startswith("engine"), "backend/ imports no engine/"),
]


def module_files():
    """Maps module path ("a::b", "" for the crate root) to its file."""
    files = {}
    for dirpath, _, names in os.walk(ROOT):
        for n in names:
            if not n.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, n), ROOT)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                rel = [] if rel == ["lib"] else ["<main>"]
            files["::".join(rel)] = os.path.join(dirpath, n)
    return files


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//")[0] for line in text.split("\n"))


def expand_use_groups(text):
    """Expands `crate::a::{b, c::d}` into `crate::a::b crate::a::c::d` (nested too)."""
    out = []
    for m in re.finditer(r"\b(crate|super|self)((?:::\w+)*)::\{", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        inner = text[m.end() : i - 1]
        base = m.group(1) + m.group(2)
        for part in split_top(inner):
            part = part.strip()
            if part and part not in ("self", "*"):
                out.append(base + "::" + part)
    return text + "\n" + "\n".join(expand_use_groups(p) if "{" in p else p for p in out)


def split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    return parts


def resolve(segs, own, files):
    """Module path named by a `crate::`/`super::`/`self::` path, as a list of segments."""
    if segs[0] == "crate":
        return segs[1:]
    base = list(own)
    if segs[0] == "self":
        return base + segs[1:]
    while segs and segs[0] == "super":
        segs = segs[1:]
        base = base[:-1]
    return base + segs


def paths_in(mod, files):
    """Every crate-relative path a file names (use lines expanded, code paths too)."""
    text = expand_use_groups(strip_comments(open(files[mod], encoding="utf-8").read()))
    own = mod.split("::") if mod else []
    found = [resolve(m.group(1).split("::"), own, files)
             for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text)]
    # Plain `use child::Name;` / `pub use child::{..}` in a module naming its own children.
    for m in re.finditer(r"\buse\s+(\w+(?:::\w+)*)", text):
        segs = m.group(1).split("::")
        if segs[0] not in ("crate", "super", "self") and "::".join(own + segs[:1]) in files:
            found.append(own + segs)
    return found


def reexports(files):
    """(module, name) -> module file the name really comes from, for `pub use` lines."""
    out = {}
    for mod, path in files.items():
        text = expand_use_groups(strip_comments(open(path, encoding="utf-8").read()))
        own = mod.split("::") if mod else []
        for m in re.finditer(r"\bpub(?:\([\w:]+\))?\s+use\s+([\w:]+)", text):
            segs = m.group(1).split("::")
            if segs[0] in ("crate", "super", "self"):
                target = resolve(segs, own, files)
            else:
                target = own + segs
            out[(mod, target[-1])] = target
    # expand the grouped form too: `pub use x::{A, B}` was expanded into separate paths
        for m in re.finditer(r"\bpub(?:\([\w:]+\))?\s+use\s+(\w+(?:::\w+)*)::\{([^}]*)\}", text):
            base = m.group(1).split("::")
            base = resolve(base, own, files) if base[0] in ("crate", "super", "self") else own + base
            for part in split_top(m.group(2)):
                part = part.strip().split(" as ")[0].strip()
                if part and part not in ("self", "*"):
                    out[(mod, part.split("::")[-1])] = base + part.split("::")
    return out


def module_of(target, files, rexp, depth=0):
    """The module file a path ends in, following `pub use` re-exports."""
    for k in range(len(target), 0, -1):
        cand = "::".join(target[:k])
        if cand in files:
            if k < len(target) and (cand, target[k]) in rexp and depth < 8:
                return module_of(rexp[(cand, target[k])], files, rexp, depth + 1)
            return cand
    return None


def edges(files):
    rexp = reexports(files)
    graph = {m: set() for m in files}
    for mod in files:
        for target in paths_in(mod, files):
            cand = module_of(target, files, rexp)
            if cand is None or cand == mod:
                continue
            if mod and cand.startswith(mod + "::"):
                continue  # a module file naming its own children
            graph[mod].add(cand)
    return graph


def sccs(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    return [c for c in out if len(c) > 1]


def main():
    strict = "--strict-cycles" in sys.argv
    files = module_files()
    graph = edges(files)
    failed = False
    for prefix, forbidden, what in RULES:
        for mod, targets in sorted(graph.items()):
            if mod == prefix or mod.startswith(prefix + "::"):
                bad = sorted(t for t in targets if forbidden(t))
                for t in bad:
                    print(f"layering: {files[mod]} imports {t} ({what})")
                    failed = True
    layer = {m: i for i, names in enumerate(LAYERS) for m in names}
    for mod, targets in sorted(graph.items()):
        top = mod.split("::")[0]
        if top not in layer:
            if top not in ("", "cli", "<main>"):
                print(f"layering: {files[mod]}: top-level module {top} has no place in LAYERS")
                failed = True
            continue
        for t in sorted(targets):
            other = t.split("::")[0]
            if other != top and other in layer and layer[other] >= layer[top]:
                print(f"layering: {files[mod]} imports {t} ({other} is not below {top})")
                failed = True
    cycles = sccs(graph)
    for c in cycles:
        print("cycle: " + " <-> ".join(c))
    if cycles and strict:
        failed = True
    if "--dot" in sys.argv:
        with open(sys.argv[sys.argv.index("--dot") + 1], "w") as f:
            f.write("digraph src {\n")
            for mod, targets in sorted(graph.items()):
                for t in sorted(targets):
                    f.write(f'  "{mod}" -> "{t}";\n')
            f.write("}\n")
    print(f"{len(files)} files, {sum(map(len, graph.values()))} edges, {len(cycles)} cycles")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
