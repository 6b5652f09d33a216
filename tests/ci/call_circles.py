# SPDX-License-Identifier: MIT
"""Prints the call circles between object files ("a.c.o b.c.o; ..."), or "none".

A file calls another when one of its undefined symbols (nm) is defined there; a circle is a
strongly connected set of two or more files."""
import os
import subprocess
import sys


def graph(objs):
    defined, wanted = {}, {}
    for obj in objs:
        name = os.path.basename(obj)
        out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBR":
                defined[parts[2]] = name
            elif len(parts) == 2 and parts[0] == "U":
                wanted.setdefault(name, set()).add(parts[1])
    edges = {}
    for name, symbols in wanted.items():
        for sym in symbols:
            if sym in defined and defined[sym] != name:
                edges.setdefault(name, set()).add(defined[sym])
    return edges


def circles(edges):
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
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
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


if __name__ == "__main__":
    result = circles(graph(sys.argv[1:]))
    print("; ".join(" ".join(c) for c in result) if result else "none")
