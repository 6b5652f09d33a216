#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The migration guide's fenced blocks, as the guide test runs them.

Every fenced block of docs/migrating-from-dovecot.md is preceded (blank lines apart) by one
mark, an HTML comment that the rendered page does not show:

  <!-- guide-test: run [12|13] [stdin=TEXT] -->   a shell block, run as it is (only on Debian 12
                                                 or 13 when a number is given; TEXT, with \\n for
                                                 a new line, on its standard input)
  <!-- guide-test: file PATH [MODE] [12|13] -->  the block is the whole content of file PATH
  <!-- guide-test: append PATH [12|13] -->       the block's lines are added to file PATH
  <!-- guide-test: ansible [12|13] -->          a shell block run only in the test's second,
                                                 fresh root, the one Ansible sets up
  <!-- guide-test: skip: WHY -->                 not run; WHY says why (a diagram, a log
                                                 sample, what the test does its own way)

Usage:
  extract.py lint GUIDE            TAP: every block has a well-formed mark, every skip a reason
  extract.py script GUIDE RELEASE  the bash functions guide_block_N (one per block run on
                                   Debian RELEASE, 12 or 13), and guide_blocks: their numbers
                                   in order, each with its guide line and section (the ansible
                                   blocks in guide_ansible_blocks)
"""
import re
import shlex
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from tap import Tap  # noqa: E402

MARK = re.compile(r"^\s*<!--\s*guide-test:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)(.*)$")


class Block:
    def __init__(self, line, indent, info, text, mark, mark_line, section):
        self.line, self.indent, self.info, self.text = line, indent, info, text
        self.mark, self.mark_line, self.section = mark, mark_line, section


def blocks(path):
    """The fenced blocks of the guide with the mark before each (None when it has none)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i, section = [], 0, ""
    last_mark, last_mark_line = None, 0
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if m is None:
            mm = MARK.match(line)
            if mm:
                last_mark, last_mark_line = mm.group(1), i + 1
            elif line.strip():
                last_mark = None
            i += 1
            continue
        indent, fence, info = m.group(1), m.group(2), m.group(3).strip()
        body, j = [], i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence)
                                      and lines[j].strip().strip(fence[0]) == ""):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        out.append(Block(i + 1, indent, info, "\n".join(body) + "\n", last_mark, last_mark_line,
                         section))
        last_mark = None
        i = j + 1
    return out


def parse(mark):
    """A mark's kind and options: (kind, {path, mode, release, stdin, why}); ValueError if bad."""
    if mark.startswith("skip:"):
        why = mark[len("skip:"):].strip()
        if not why:
            raise ValueError("a skip without a reason")
        return "skip", {"why": why}
    words = shlex.split(mark)
    if not words:
        raise ValueError("an empty mark")
    kind, rest, opts = words[0], words[1:], {}
    if kind not in ("run", "file", "append", "ansible"):
        raise ValueError(f"unknown kind {kind!r}")
    if kind in ("file", "append"):
        if not rest or not rest[0].startswith("/"):
            raise ValueError(f"{kind} needs an absolute path")
        opts["path"] = rest.pop(0)
    for w in rest:
        if w in ("12", "13"):
            opts["release"] = w
        elif kind == "file" and re.fullmatch(r"0[0-7]{3}", w):
            opts["mode"] = w
        elif kind in ("run", "ansible") and w.startswith("stdin="):
            opts["stdin"] = w[len("stdin="):].replace("\\n", "\n")
        else:
            raise ValueError(f"unknown word {w!r}")
    return kind, opts


def lint(path):
    tap = Tap()
    check = tap.check
    found = blocks(path)
    check(f"the guide has fenced blocks ({len(found)})", len(found) > 10)
    kinds = {}
    for b in found:
        where = f"line {b.line} ({b.section})"
        if b.mark is None:
            check(f"{where}: the block carries a guide-test mark", False,
                  "put <!-- guide-test: run|file|append|skip: why --> before it")
            continue
        try:
            kind, _ = parse(b.mark)
            kinds[kind] = kinds.get(kind, 0) + 1
            check(f"{where}: {b.mark}", True)
        except ValueError as e:
            check(f"{where}: the mark is well-formed", False, f"{b.mark!r}: {e}")
    check(f"blocks run or written by the test: {sum(v for k, v in kinds.items() if k != 'skip')}, "
          f"skipped with a reason: {kinds.get('skip', 0)}", kinds.get("run", 0) > 0)
    return tap.done()


def heredoc(text):
    tag = "GUIDE_EOF"
    while tag in text:
        tag += "_"
    return tag


def script(path, release):
    order, ansible = [], []
    print("# generated by tests/guide/extract.py from docs/migrating-from-dovecot.md: do not edit")
    for k, b in enumerate(blocks(path), 1):
        if b.mark is None:
            print(f"echo 'guide line {b.line}: a block without a guide-test mark' >&2; exit 2")
            return 2
        kind, opts = parse(b.mark)
        if kind == "skip" or opts.get("release", release) != release:
            continue
        print(f"guide_block_{k}() {{ # line {b.line}: {b.mark}")
        if kind in ("run", "ansible"):
            if "stdin" in opts:
                tag = heredoc(b.text + opts["stdin"])
                print("{")
                print(b.text, end="")
                print(f"}} <<'{tag}'\n{opts['stdin']}\n{tag}")
            else:
                print(b.text, end="")
        else:
            tag = heredoc(b.text)
            op = ">" if kind == "file" else ">>"
            dest = shlex.quote(opts["path"])
            print(f"mkdir -p \"$(dirname {dest})\"")
            print(f"cat {op}{dest} <<'{tag}'\n{b.text}{tag}")
            if "mode" in opts:
                print(f"chmod {opts['mode']} {dest}")
        print("}")
        section = b.section.replace("'", "")
        (ansible if kind == "ansible" else order).append(f"{k}:{b.line}:{section}")
    print("guide_blocks=(")
    for o in order:
        print(f"  {shlex.quote(o)}")
    print(")")
    print("guide_ansible_blocks=(")
    for o in ansible:
        print(f"  {shlex.quote(o)}")
    print(")")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "lint":
        sys.exit(lint(sys.argv[2]))
    if len(sys.argv) == 4 and sys.argv[1] == "script" and sys.argv[3] in ("12", "13"):
        sys.exit(script(sys.argv[2], sys.argv[3]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
