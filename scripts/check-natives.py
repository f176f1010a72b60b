#!/usr/bin/env python3
"""Checks the libraries scripts/build-natives.sh wrote, and reports their sizes.

    scripts/check-natives.py DIR [--max-glibc 2.17] [--json OUT]

For each DIR/<platform-key>/<library>:
  * the file is the right kind for its key (ELF machine, or a PE DLL for windows-*);
  * linux-gnu libraries: no symbol in the dynamic symbol table needs a version above
    GLIBC_<max> (read with `readelf --dyn-syms -W`, which reads every architecture's ELF);
  * linux-musl libraries: they link musl dynamically and need no glibc symbol version;
  * windows DLLs: they import only DLLs that every Windows has (no libgcc_s/libwinpthread);
  * the .sha256 beside the library matches it.
Prints one line per library (size in MiB and the highest glibc version it needs) and exits 1 on any
failure. Sizes are reported, not enforced (BENCHMARKS.md records them against the 4 MiB goal).
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys

ELF_MACHINE = {"x86_64": "Advanced Micro Devices X86-64", "aarch_64": "AArch64"}
# DLLs present on every supported Windows (Server 2016+ / 10+); the Rust std and ring use these.
WINDOWS_SYSTEM_DLLS = {
    "kernel32.dll", "ntdll.dll", "advapi32.dll", "ws2_32.dll", "bcrypt.dll", "bcryptprimitives.dll",
    "userenv.dll", "msvcrt.dll", "secur32.dll", "crypt32.dll", "ole32.dll", "oleaut32.dll", "shell32.dll",
    "user32.dll", "ncrypt.dll", "iphlpapi.dll", "synchronization.dll", "dbghelp.dll", "powrprof.dll",
}


def version_tuple(text):
    return tuple(int(p) for p in text.split("."))


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def glibc_versions(path):
    """Every GLIBC_x.y that a dynamic symbol of `path` is bound to."""
    out = run(["readelf", "--dyn-syms", "-W", path])
    return sorted({m.group(1) for m in re.finditer(r"@@?GLIBC_([0-9]+(?:\.[0-9]+)*)", out)}, key=version_tuple)


def elf_machine(path):
    out = run(["readelf", "-h", "-W", path])
    m = re.search(r"Machine:\s+(.+)", out)
    return m.group(1).strip() if m else "?"


def elf_needed(path):
    out = run(["readelf", "-d", "-W", path])
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def pe_imports(path):
    for tool in ("x86_64-w64-mingw32-objdump", "objdump"):
        try:
            out = run([tool, "-p", path])
        except (OSError, subprocess.CalledProcessError):
            continue
        return re.findall(r"DLL Name:\s+(\S+)", out)
    raise RuntimeError("no objdump that reads PE files (install mingw-w64)")


def check(path, key, max_glibc):
    problems = []
    info = {"key": key, "file": os.path.basename(path), "bytes": os.path.getsize(path)}
    sha_file = path + ".sha256"
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    info["sha256"] = digest
    if not os.path.isfile(sha_file):
        problems.append(f"{sha_file} is missing")
    elif open(sha_file).read().split()[0].lower() != digest:
        problems.append(f"{sha_file} does not match the library")
    if key.startswith("windows-"):
        with open(path, "rb") as f:
            if f.read(2) != b"MZ":
                problems.append("not a PE file")
        imports = pe_imports(path)
        info["imports"] = imports
        foreign = [d for d in imports if d.lower() not in WINDOWS_SYSTEM_DLLS and not d.lower().startswith("api-ms-win-")]
        if foreign:
            problems.append(f"imports DLLs a plain Windows lacks: {', '.join(foreign)}")
        return info, problems
    arch = key.split("-")[1]
    machine = elf_machine(path)
    if machine != ELF_MACHINE.get(arch):
        problems.append(f"ELF machine is {machine}, expected {ELF_MACHINE.get(arch)}")
    versions = glibc_versions(path)
    needed = elf_needed(path)
    info["needed"] = needed
    info["max_glibc"] = versions[-1] if versions else None
    if key.endswith("-musl"):
        if versions:
            problems.append(f"a musl library needs glibc symbol versions: {', '.join(versions)}")
        if not any(n.startswith("libc.") for n in needed):
            problems.append(f"links no libc dynamically (NEEDED: {', '.join(needed) or 'nothing'}); build musl cdylibs with -C target-feature=-crt-static")
    else:
        too_new = [v for v in versions if version_tuple(v) > version_tuple(max_glibc)]
        if too_new:
            problems.append(f"needs GLIBC_{too_new[-1]} (above GLIBC_{max_glibc}): {', '.join('GLIBC_' + v for v in too_new)}")
    return info, problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--max-glibc", default="2.17")
    ap.add_argument("--json")
    args = ap.parse_args()
    results, failed = [], False
    for key in sorted(os.listdir(args.dir)):
        d = os.path.join(args.dir, key)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not (name.endswith(".so") or name.endswith(".dll") or name.endswith(".dylib")):
                continue
            info, problems = check(os.path.join(d, name), key, args.max_glibc)
            results.append(info)
            glibc = f"needs GLIBC_{info['max_glibc']}" if info.get("max_glibc") else ""
            status = "FAIL" if problems else "ok"
            print(f"check-natives: {status:4} {key:22} {name:22} {info['bytes'] / 1048576:6.2f} MiB {glibc}")
            for p in problems:
                print(f"check-natives:      {p}")
            failed |= bool(problems)
    if not results:
        print(f"check-natives: no libraries under {args.dir}")
        failed = True
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
