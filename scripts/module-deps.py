#!/usr/bin/env python3
"""Module dependency graph of the server crate, from its `crate::` paths.

Usage: scripts/module-deps.py [DEPTH]

DEPTH 1 (default) groups by top-level module (`cmd`, `replication`, ...);
DEPTH 2 by file (`cmd::acl`, `replication::follower`, ...). Prints each
module's dependencies, then the groups of modules that depend on one another
in a circle (strongly connected components). Comments and `mod tests` are
ignored; `super::` paths (a file and its parent module) are not counted.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "server", "src")
DEPTH = int(sys.argv[1]) if len(sys.argv) > 1 else 1


def module_of(path):
    parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    return "::".join(parts[:DEPTH]) if parts else "lib"


edges = {}
for dirpath, _, files in os.walk(ROOT):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(dirpath, f)
        m = module_of(path)
        if m in ("lib", "main"):
            continue
        text = open(path, encoding="utf-8").read().split("#[cfg(test)]\nmod tests")[0]
        text = "\n".join(l for l in text.split("\n") if not l.lstrip().startswith("//"))
        refs = {"::".join(p.split("::")[:DEPTH]) for p in re.findall(r"crate::([a-z_]+(?:::[a-z_]+)*)", text)}
        for group in re.findall(r"use crate::\{([^}]*)\}", text):
            refs.update(p.strip().split("::")[0] for p in group.split(",") if p.strip())
        edges.setdefault(m, set()).update(r for r in refs if r != m)

mods = sorted(edges)
known = set(mods)
for m in mods:
    print(f"{m:24} -> {', '.join(sorted(e for e in edges[m] if e in known))}")

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges.get(v, ()):
        if w not in known:
            continue
        if w not in index:
            visit(w)
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
        if len(comp) > 1:
            sccs.append(sorted(comp))


for m in mods:
    if m not in index:
        visit(m)
print("cycles:", "; ".join(" <-> ".join(c) for c in sccs) if sccs else "none")
