#!/usr/bin/env python3
"""Keeps the README's code samples identical to the sample projects, so they compile as written.

In README.md, a fenced code block right after a line

    <!-- sample: samples/maven-v2/pom.xml#dependencies -->

must hold the lines of that file between the markers `[readme:dependencies]` and
`[/readme:dependencies]` (in any comment syntax, the marker lines themselves excluded, common
indentation removed); `<!-- sample: PATH -->` without `#NAME` means the whole file.

    scripts/readme-samples.py           check; prints 'readme: N passed, N failed', exits 1 on a difference
    scripts/readme-samples.py --write   rewrites those blocks in README.md from the samples
"""
import pathlib
import re
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- sample: (?P<path>[^#\s]+)(?:#(?P<name>[\w-]+))? -->\s*$")


def excerpt(path, name):
    lines = (ROOT / path).read_text().splitlines()
    if name is None:
        return "\n".join(lines)
    start = next((i for i, l in enumerate(lines) if f"[readme:{name}]" in l), None)
    end = next((i for i, l in enumerate(lines) if f"[/readme:{name}]" in l), None)
    if start is None or end is None or end < start:
        raise SystemExit(f"readme: {path} has no [readme:{name}] ... [/readme:{name}] region")
    return textwrap.dedent("\n".join(lines[start + 1:end]))


def main():
    write = "--write" in sys.argv[1:]
    lines = README.read_text().splitlines()
    out, passed, failed, i = [], 0, 0, 0
    while i < len(lines):
        out.append(lines[i])
        m = MARKER.match(lines[i])
        if not m:
            i += 1
            continue
        fence = lines[i + 1] if i + 1 < len(lines) else ""
        if not fence.startswith("```"):
            raise SystemExit(f"readme: line {i + 1}: a sample marker must be followed by a ``` fence")
        close = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
        have = "\n".join(lines[i + 2:close])
        want = excerpt(m["path"], m["name"])
        where = m["path"] + (f"#{m['name']}" if m["name"] else "")
        if have == want:
            passed += 1
        else:
            failed += 1
            print(f"readme: the block after line {i + 1} differs from {where}; run scripts/readme-samples.py --write")
        out.append(fence)
        out.extend((want if write else have).splitlines())
        out.append(lines[close])
        i = close + 1
    if write:
        README.write_text("\n".join(out) + "\n")
        print(f"readme: wrote {passed + failed} sample blocks")
        return 0
    print(f"readme: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
