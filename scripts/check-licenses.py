#!/usr/bin/env python3
"""Licence check of the crates linked into the shipped native libraries (CI; Python 3 stdlib only).

Walks `cargo metadata --locked` from freshcreds-jni and freshcreds-ffi along normal dependencies
only (no dev-, no build-dependencies), for the targets listed in licenses/about.toml, and fails when
  * a crate's SPDX licence expression cannot be satisfied by the `accepted` list of about.toml
    (a `[<crate>.clarify]` entry there replaces the crate's own expression, and its files'
    SHA-256 must still match; a crate with only `license-file` needs such an entry), or
  * licenses/THIRD-PARTY-LICENSES.txt (the report shipped in the jar) does not list exactly the
    third-party crates of the graph: regenerate it with scripts/licenses.sh.
Ends with one line 'licenses: N passed, M failed': one check per crate, plus one for the report.

Usage: scripts/check-licenses.py [--about FILE] [--report FILE]
       scripts/check-licenses.py --render-from ABOUT_JSON [--generator TEXT] [--report FILE]
The second form (used by scripts/licenses.sh) writes the report from `cargo about generate
--format json` output, keeping only the crates of the graph above.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = ("freshcreds-jni", "freshcreds-ffi")
DEFAULT_ABOUT = os.path.join(ROOT, "licenses", "about.toml")
DEFAULT_REPORT = os.path.join(ROOT, "licenses", "THIRD-PARTY-LICENSES.txt")
CRATES_HEADING = "Crates (name version: licence expression)"
TEXTS_HEADING = "Licence texts"


# ---------------------------------------------------------------- about.toml
def load_toml(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        return _mini_toml(data.decode("utf-8"))
    return tomllib.loads(data.decode("utf-8"))


def _mini_toml(text):
    """Enough TOML for about.toml on Pythons without tomllib: tables, arrays of tables, string,
    boolean and integer values, and arrays of strings (inline tables are skipped)."""
    root = {}
    cur = root
    pending_key, pending = None, None

    def value(v):
        v = v.strip()
        if v.startswith('"'):
            return json.loads(v)
        if v.startswith("'"):
            return v[1:-1]
        if v in ("true", "false"):
            return v == "true"
        if re.fullmatch(r"-?\d+", v):
            return int(v)
        return None

    def table(path, array):
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if isinstance(node, list):
                node = node[-1]
        if array:
            node.setdefault(path[-1], []).append({})
            return node[path[-1]][-1]
        return node.setdefault(path[-1], {})

    for raw in text.splitlines():
        line = re.sub(r"\s+#.*$|^#.*$", "", raw).strip()  # about.toml keeps '#' out of strings
        if pending is not None:
            pending += " " + line
            if pending.rstrip().endswith("]"):
                items = re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', pending)
                cur[pending_key] = [value(i) for i in items]
                pending = None
            continue
        if not line:
            continue
        m = re.fullmatch(r"\[\[([^\]]+)\]\]", line) or re.fullmatch(r"\[([^\]]+)\]", line)
        if m:
            cur = table([p.strip() for p in m.group(1).split(".")], line.startswith("[["))
            continue
        key, _, v = line.partition("=")
        key, v = key.strip(), v.strip()
        if v.startswith("[") and not v.endswith("]"):
            pending_key, pending = key, v
        elif v.startswith("["):
            cur[key] = [value(i) for i in re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', v)]
        elif not v.startswith("{"):
            cur[key] = value(v)
    return root


# ---------------------------------------------------------------- SPDX expressions
class SpdxError(ValueError):
    pass


def parse_spdx(expr):
    """Parses an SPDX expression (OR, AND, WITH, parentheses; the legacy '/' means OR) into
    ('or'|'and', [children]) / ('lic', 'ID' or 'ID WITH EXC') nodes."""
    tokens = re.findall(r"\(|\)|/|[^\s()/]+", expr)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def is_op(tok, op):
        return tok is not None and tok.upper() == op

    def or_expr():
        items = [and_expr()]
        while is_op(peek(), "OR") or peek() == "/":
            take()
            items.append(and_expr())
        return items[0] if len(items) == 1 else ("or", items)

    def and_expr():
        items = [with_expr()]
        while is_op(peek(), "AND"):
            take()
            items.append(with_expr())
        return items[0] if len(items) == 1 else ("and", items)

    def with_expr():
        tok = peek()
        if tok is None:
            raise SpdxError(f"unexpected end of '{expr}'")
        if tok == "(":
            take()
            node = or_expr()
            if take_or_none() != ")":
                raise SpdxError(f"missing ')' in '{expr}'")
            return node
        if tok in (")", "/") or tok.upper() in ("AND", "OR", "WITH"):
            raise SpdxError(f"unexpected '{tok}' in '{expr}'")
        lic = take()
        if is_op(peek(), "WITH"):
            take()
            exc = take_or_none()
            if exc is None or exc in ("(", ")", "/"):
                raise SpdxError(f"missing exception after WITH in '{expr}'")
            lic = f"{lic} WITH {exc}"
        return ("lic", lic)

    def take_or_none():
        return take() if peek() is not None else None

    node = or_expr()
    if peek() is not None:
        raise SpdxError(f"unexpected '{peek()}' in '{expr}'")
    return node


def _norm(lic):
    return " ".join(lic.split()).lower()


def satisfied(node, accepted):
    """True when the licences in `accepted` (normalised) satisfy the expression. A licence with an
    exception needs that exact 'ID WITH EXC' accepted; 'ID+' is satisfied by 'ID'."""
    kind, val = node
    if kind == "or":
        return any(satisfied(c, accepted) for c in val)
    if kind == "and":
        return all(satisfied(c, accepted) for c in val)
    lic = _norm(val)
    return lic in accepted or (lic.endswith("+") and lic[:-1] in accepted)


def licences_in(node):
    kind, val = node
    if kind == "lic":
        return [val]
    return [l for c in val for l in licences_in(c)]


# ---------------------------------------------------------------- the graph
def shipped_graph(targets):
    """The packages linked into the shipped libraries: (packages by id, workspace member ids)."""
    cmd = ["cargo", "metadata", "--format-version", "1", "--locked",
           "--manifest-path", os.path.join(ROOT, "Cargo.toml")]
    for t in targets:
        cmd += ["--filter-platform", t]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"check-licenses: {' '.join(cmd)} failed")
    meta = json.loads(res.stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    roots = [p["id"] for p in meta["packages"]
             if p["name"] in SHIPPED and p["id"] in meta["workspace_members"]]
    if len(roots) != len(SHIPPED):
        raise SystemExit(f"check-licenses: workspace members {SHIPPED} not all found")
    return walk(packages, nodes, roots), set(meta["workspace_members"])


def walk(packages, nodes, roots):
    """The package ids reachable from `roots` along normal dependencies (kind null; "dev" and
    "build" edges are not linked into a library), with the features these edges enable.

    cargo metadata resolves the whole workspace at once, so a package's features there include
    what the simulator and dev-dependencies turn on (e.g. reqwest, a dev-dependency of the
    simulator, turns on tower's `util`, which pulls in sync_wrapper). `cargo build -p
    freshcreds-jni` does not; so an optional dependency is followed only when a feature enabled from
    the roots along normal edges turns it on (as cargo-about's graph, krates, does)."""
    feats = {pid: {"default"} for pid in roots}  # requested features per reached package
    changed = True
    while changed:
        changed = False
        for pid in list(feats):
            pkg = packages[pid]
            fmap = pkg.get("features", {})
            # close the feature set: "f" (a feature), "dep:x" (optional dependency x),
            # "x/f" (dependency x, turned on when optional, with its feature f), "x?/f" (f on x
            # only when x is on anyway)
            enabled, todo = set(), [f for f in feats[pid]]
            deps_on, dep_feats, weak = set(), {}, {}
            while todo:
                f = todo.pop()
                if f.startswith("dep:"):
                    deps_on.add(f[4:])
                    continue
                if "/" in f:
                    dep, _, df = f.partition("/")
                    if dep.endswith("?"):
                        weak.setdefault(dep[:-1], set()).add(df)
                    else:
                        deps_on.add(dep)
                        dep_feats.setdefault(dep, set()).add(df)
                    continue
                if f in enabled:
                    continue
                enabled.add(f)
                todo.extend(fmap.get(f, []))
            decls = {}
            for d in pkg.get("dependencies", []):
                if d.get("kind") is None:
                    decls.setdefault(d["name"], []).append(d)
            for dep in nodes[pid]["deps"]:
                if not any(k["kind"] is None for k in dep["dep_kinds"]):
                    continue
                child = dep["pkg"]
                want, on = set(), False
                for d in decls.get(packages[child]["name"], []):
                    key = d.get("rename") or d["name"]
                    if d.get("optional") and key not in deps_on:
                        continue
                    on = True
                    want.update(d.get("features", []))
                    if d.get("uses_default_features", True):
                        want.add("default")
                    want.update(dep_feats.get(key, ()))
                    want.update(weak.get(key, ()))
                if not on:
                    continue
                if child not in feats:
                    feats[child] = set(want)
                    changed = True
                elif not want <= feats[child]:
                    feats[child] |= want
                    changed = True
    return {pid: packages[pid] for pid in feats}


def crate_config(cfg, name):
    c = cfg.get(name)
    return c if isinstance(c, dict) else {}


def check_clarification(pkg, clarify):
    """None when every file of the clarification still has its pinned SHA-256, else the problem."""
    files = clarify.get("files") or []
    if not files and not clarify.get("git"):
        return "its clarification in about.toml lists no licence files to pin"
    # `git` files are fetched and checked by cargo-about (scripts/licenses.sh) only
    crate_dir = os.path.dirname(pkg["manifest_path"])
    for f in files:
        path = os.path.join(crate_dir, f.get("path", ""))
        try:
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            return f"clarified licence file {f.get('path')} unreadable ({e})"
        start = text.find(f["start"]) if f.get("start") else 0
        if start < 0:
            return f"clarified licence file {f['path']} no longer contains its 'start' text"
        end = len(text)
        if f.get("end"):
            i = text.find(f["end"], start)
            if i < 0:
                return f"clarified licence file {f['path']} no longer contains its 'end' text"
            end = i + len(f["end"])
        digest = hashlib.sha256(text[start:end].encode("utf-8")).hexdigest()
        if digest != f.get("checksum"):
            return (f"clarified licence file {f['path']} changed (sha256 {digest}, about.toml pins "
                    f"{f.get('checksum')}): review the crate's licence and update the clarification")
    return None


def check_crate(pkg, cfg, accepted):
    """(expression used, None) when the crate's licence is acceptable, else (expression, problem)."""
    name, version = pkg["name"], pkg["version"]
    conf = crate_config(cfg, name)
    clarify = conf.get("clarify")
    if clarify:
        expr = clarify.get("license")
        if not expr:
            return None, "its clarification in about.toml has no 'license'"
        problem = check_clarification(pkg, clarify)
        if problem:
            return expr, problem
    else:
        expr = pkg.get("license")
        if not expr:
            lf = pkg.get("license_file")
            what = f"only license-file = {lf}" if lf else "no licence at all"
            return None, (f"declares no SPDX licence expression ({what}): review it and add a "
                          f"[{name}.clarify] entry to about.toml, or drop the dependency")
    crate_accepted = accepted | {_norm(l) for l in conf.get("accepted", [])}
    try:
        node = parse_spdx(expr)
    except SpdxError as e:
        return expr, f"unparsable licence expression: {e}"
    if not satisfied(node, crate_accepted):
        missing = sorted({l for l in licences_in(node) if _norm(l) not in crate_accepted})
        return expr, (f"licence '{expr}' is not satisfied by the allow-list (not accepted: "
                      f"{', '.join(missing)}): add it to accepted in about.toml after review, "
                      f"or drop the dependency")
    return expr, None


# ---------------------------------------------------------------- the report
def version_key(v):
    core, _, pre = v.partition("+")[0].partition("-")
    nums = [int(x) if x.isdigit() else 0 for x in core.split(".")]
    return (nums, pre == "", pre)


def crate_key(name, version):
    return (name, version_key(version))


def read_report(path):
    """The set of (name, version) the report lists, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    listed, inside = set(), False
    for line in lines:
        if line == CRATES_HEADING:
            inside = True
            continue
        if inside:
            if line.startswith("-" * 5):
                continue
            if not line.strip():
                if listed:
                    break
                continue
            m = re.match(r"(\S+) (\S+): ", line)
            if m:
                listed.add((m.group(1), m.group(2)))
    return listed


def short_path(path, users, cfg):
    """Where a licence text came from, as `crate-version/path` (None when not from a crate file)."""
    if not path:
        return None
    for pkg in users:
        if os.path.isabs(path):
            d = os.path.dirname(pkg["manifest_path"])
            if path.startswith(d + os.sep):
                return f"{pkg['name']}-{pkg['version']}/{os.path.relpath(path, d)}"
        elif not path.startswith(".."):  # a clarified file, relative to its crate
            clarify = crate_config(cfg, pkg["name"]).get("clarify") or {}
            if any(f.get("path") == path for f in clarify.get("files") or []):
                return f"{pkg['name']}-{pkg['version']}/{path}"
    return None


def render(about_json, generator, report_path, cfg):
    with open(about_json, encoding="utf-8") as f:
        about = json.load(f)
    graph, members = shipped_graph(cfg.get("targets", []))
    third = {pid: p for pid, p in graph.items() if pid not in members}

    exprs = {}
    for c in about["crates"]:
        pid = c["package"]["id"]
        if pid in third:
            exprs[pid] = " ".join(str(c["license"]).split())
    missing = sorted(f"{third[p]['name']} {third[p]['version']}" for p in third if p not in exprs)
    if missing:
        raise SystemExit("check-licenses: cargo-about's output lacks " + ", ".join(missing))

    blocks = []
    for lic in about["licenses"]:
        users = {u["crate"]["id"]: third[u["crate"]["id"]] for u in lic["used_by"]
                 if u["crate"]["id"] in third}
        if not users:
            continue
        users = sorted(users.values(), key=lambda p: crate_key(p["name"], p["version"]))
        text = lic["text"].replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        src = short_path(lic.get("source_path"), users, cfg)
        blocks.append((lic["id"], lic["name"], users, src, text))
    blocks.sort(key=lambda b: (b[0], crate_key(b[2][0]["name"], b[2][0]["version"])))

    counts = {}
    for lic_id, _, users, _, _ in blocks:
        counts.setdefault(lic_id, set()).update(p["id"] for p in users)

    out = []
    w = out.append
    title = "Third-party licences of the freshcreds native libraries"
    w(title)
    w("=" * len(title))
    w("")
    w("The native libraries of freshcreds (freshcreds-jni, which the jar loads, and freshcreds-ffi,")
    w("the C ABI library) link the Rust crates listed below; freshcreds itself is licensed under the")
    w("Apache License 2.0 (LICENSE). Each crate is listed with its licence expression, and each")
    w("licence text below names the crates it applies to: for a choice of licences (OR), the text")
    w("of the first accepted one is given.")
    w("")
    w(f"Generated by scripts/licenses.sh with {generator} from licenses/about.toml; do not edit.")
    w(f"Targets: {', '.join(cfg.get('targets', []))}")
    w("Licences: " + ", ".join(f"{i} ({len(s)})" for i, s in
                               sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0]))))
    w("")
    w("")
    w(CRATES_HEADING)
    w("-" * len(CRATES_HEADING))
    for pid in sorted(third, key=lambda p: crate_key(third[p]["name"], third[p]["version"])):
        w(f"{third[pid]['name']} {third[pid]['version']}: {exprs[pid]}")
    w("")
    w("")
    w(TEXTS_HEADING)
    w("-" * len(TEXTS_HEADING))
    for lic_id, lic_name, users, src, text in blocks:
        w("")
        w("=" * 100)
        w(f"{lic_id} ({lic_name})")
        w("Used by: " + ", ".join(f"{p['name']} {p['version']}" for p in users))
        w(f"Text from: {src}" if src else "Text: the SPDX standard text (no licence file found in the crates)")
        w("=" * 100)
        w("")
        w(text)
    with open(report_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")
    print(f"check-licenses: wrote {os.path.relpath(report_path, ROOT)}: {len(third)} crates, "
          f"{len(blocks)} licence texts")


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--about", default=DEFAULT_ABOUT, help="cargo-about config (the allow-list)")
    ap.add_argument("--report", default=DEFAULT_REPORT, help="the third-party licence report")
    ap.add_argument("--render-from", metavar="ABOUT_JSON",
                    help="write --report from `cargo about generate --format json` output")
    ap.add_argument("--generator", default="cargo-about", help="tool name in the report header")
    args = ap.parse_args()

    cfg = load_toml(args.about)
    if args.render_from:
        render(args.render_from, args.generator, args.report, cfg)
        return 0

    accepted = {_norm(l) for l in cfg.get("accepted", [])}
    targets = cfg.get("targets", [])
    graph, members = shipped_graph(targets)
    passed = failed = 0
    for pid in sorted(graph, key=lambda p: crate_key(graph[p]["name"], graph[p]["version"])):
        pkg = graph[pid]
        expr, problem = check_crate(pkg, cfg, accepted)
        if problem:
            failed += 1
            print(f"licenses: FAIL {pkg['name']} {pkg['version']} ({expr or 'no licence'}): {problem}")
        else:
            passed += 1

    third = {(p["name"], p["version"]) for pid, p in graph.items() if pid not in members}
    rel = os.path.relpath(args.report, ROOT)
    rel = args.report if rel.startswith("..") else rel
    listed = read_report(args.report)
    if listed is None:
        failed += 1
        print(f"licenses: FAIL {rel} is missing: run scripts/licenses.sh")
    elif listed != third:
        failed += 1
        fmt = lambda s: ", ".join(f"{n} {v}" for n, v in sorted(s, key=lambda c: crate_key(*c)))
        print(f"licenses: FAIL {rel} is stale: run scripts/licenses.sh and commit the result")
        if third - listed:
            print(f"  missing from the report: {fmt(third - listed)}")
        if listed - third:
            print(f"  listed but no longer linked: {fmt(listed - third)}")
    else:
        passed += 1

    print(f"licenses: checked {len(graph)} crates ({len(third)} third-party, "
          f"{len(graph) - len(third)} freshcreds) linked into {' and '.join(SHIPPED)} for "
          f"{len(targets)} targets against {len(accepted)} accepted licences "
          f"({', '.join(cfg.get('accepted', []))}); report {rel} lists {len(listed or ())}")
    print(f"licenses: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
