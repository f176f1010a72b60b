#!/usr/bin/env python3
"""The per-platform footprint table: each platform's library (from build/natives/check.json, written
by scripts/build-natives.sh) and the jars under build/libs.

    bench/platform_sizes.py [BENCHMARKS.md [NATIVES_DIR]]   rewrites the section between the platform markers

bench/report.py includes the same section when it regenerates BENCHMARKS.md.
"""
import glob
import json
import os
import sys

START = "<!-- platforms:start -->"
END = "<!-- platforms:end -->"
GOAL_LIBRARY = 4 * 1048576
GOAL_JAR = 10 * 1048576


def render(natives="build/natives", libs="build/libs"):
    check = os.path.join(natives, "check.json")
    if not os.path.isfile(check):
        return None
    with open(check) as f:
        rows = [r for r in json.load(f) if "jni" in r["file"]]
    md = [START, "### Every platform's library (stripped, release profile)\n",
          "Built by `scripts/build-natives.sh`; goal: at most 4 MiB per library and 10 MiB for the all-platform jar.\n",
          "| platform | file | size | needs at most | within 4 MiB |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        glibc = ("GLIBC_" + r["max_glibc"]) if r.get("max_glibc") else ("musl" if r["key"].endswith("-musl") else "—")
        md.append("| `%s` | `%s` | %.2f MiB | %s | %s |" % (r["key"], r["file"], r["bytes"] / 1048576.0, glibc,
                                                           "yes" if r["bytes"] <= GOAL_LIBRARY else "no"))
    jars = sorted(glob.glob(os.path.join(libs, "freshcreds-*.jar")))
    if jars:
        md.append("")
        md.append("| jar | size | goal |")
        md.append("| --- | --- | --- |")
        for j in jars:
            name = os.path.basename(j)
            size = os.path.getsize(j)
            is_all = not any(name.endswith("-%s.jar" % r["key"]) for r in rows)
            goal = ("≤ 10 MiB: %s" % ("met" if size <= GOAL_JAR else "missed")) if is_all else ""
            md.append("| `%s`%s | %.2f MiB | %s |" % (name, " (all platforms)" if is_all else "", size / 1048576.0, goal))
    md.append(END)
    return "\n".join(md) + "\n"


def splice(path, natives="build/natives"):
    section = render(natives)
    if section is None:
        sys.exit("platform_sizes: build/natives/check.json is missing; run scripts/build-natives.sh first")
    text = open(path).read()
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + section + "\n" + after
    else:
        marker = "## Targets"
        i = text.find(marker)
        text = (text[:i] + section + "\n" + text[i:]) if i >= 0 else (text + "\n" + section)
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    splice(sys.argv[1] if len(sys.argv) > 1 else "BENCHMARKS.md", sys.argv[2] if len(sys.argv) > 2 else "build/natives")
