#!/usr/bin/env python3
"""Checks the Maven publication `gradle publish` writes (default build/repo):

- the POM names the project (name, description, url, licence, scm, developers) and declares no
  dependencies: the AWS SDK stays the application's choice;
- the jar, -sources.jar and -javadoc.jar exist, and a classifier jar for every platform library the
  main jar carries, each with .md5 and .sha1 files that match it (maven-metadata.xml too);
- every binary jar carries META-INF/LICENSE and META-INF/THIRD-PARTY-LICENSES.txt, and its Java 9
  module descriptor (META-INF/versions/9/module-info.class) exports the API packages only.

Prints one line per failed check and 'publication: N passed, N failed'; exits 1 on any failure.
"""
import hashlib
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

GROUP, ARTIFACT = "dev.freshcreds", "freshcreds"
API_PACKAGES = {"dev.freshcreds", "dev.freshcreds.sdkv1", "dev.freshcreds.sdkv2", "dev.freshcreds.micrometer"}
NS = {"m": "http://maven.apache.org/POM/4.0.0"}

repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build/repo")
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"publication: FAIL {what}")
    return ok


base = repo / GROUP.replace(".", "/") / ARTIFACT
versions = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
if not check(len(versions) == 1, f"exactly one version under {base} (found {versions}); run gradle publish"):
    print(f"publication: {passed} passed, {failed} failed")
    sys.exit(1)
version = versions[0]
vdir = base / version
stem = f"{ARTIFACT}-{version}"

# Checksums of every file.
for f in sorted(list(vdir.iterdir()) + list(base.glob("maven-metadata.xml"))):
    if f.suffix in (".md5", ".sha1") or f.is_dir():
        continue
    data = f.read_bytes()
    for algo in ("md5", "sha1"):
        side = f.with_name(f.name + "." + algo)
        want = hashlib.new(algo, data).hexdigest()
        check(side.is_file() and side.read_text().split()[0].strip() == want, f"{side.name} matches {f.name}")

# The POM.
pom_file = vdir / f"{stem}.pom"
if check(pom_file.is_file(), f"{pom_file} exists"):
    pom = ET.parse(pom_file).getroot()
    for path in ("m:name", "m:description", "m:url", "m:licenses/m:license/m:name", "m:licenses/m:license/m:url",
                 "m:scm/m:url", "m:scm/m:connection", "m:developers/m:developer/m:name"):
        node = pom.find(path, NS)
        check(node is not None and (node.text or "").strip(), f"POM has {path.replace('m:', '')}")
    check(pom.findtext("m:groupId", namespaces=NS) == GROUP and pom.findtext("m:artifactId", namespaces=NS) == ARTIFACT,
          f"POM coordinates are {GROUP}:{ARTIFACT}")
    deps = pom.findall("m:dependencies/m:dependency", NS)
    check(not deps, f"POM declares no dependencies (found {[d.findtext('m:artifactId', namespaces=NS) for d in deps]})")

# The jars.
main_jar = vdir / f"{stem}.jar"
for extra in ("sources", "javadoc"):
    check((vdir / f"{stem}-{extra}.jar").is_file(), f"{stem}-{extra}.jar exists")
platforms = set()
if check(main_jar.is_file(), f"{main_jar.name} exists"):
    with zipfile.ZipFile(main_jar) as z:
        platforms = {n.split("/")[1] for n in z.namelist() if n.startswith("native/") and n.count("/") == 2 and not n.endswith((".sha256", "/"))}
    check(platforms, f"{main_jar.name} carries at least one native library")
for key in sorted(platforms):
    check((vdir / f"{stem}-{key}.jar").is_file(), f"classifier jar {stem}-{key}.jar for native/{key} in the main jar")

for jar in sorted(vdir.glob(f"{stem}*.jar")):
    if jar.name.endswith(("-sources.jar", "-javadoc.jar")):
        continue
    with zipfile.ZipFile(jar) as z:
        names = set(z.namelist())
        for meta in ("META-INF/LICENSE", "META-INF/THIRD-PARTY-LICENSES.txt"):
            check(meta in names, f"{jar.name} carries {meta}")
        manifest = z.read("META-INF/MANIFEST.MF").decode() if "META-INF/MANIFEST.MF" in names else ""
        check("Multi-Release: true" in manifest, f"{jar.name} is a multi-release jar")
    described = subprocess.run(["jar", "--describe-module", "--file", str(jar), "--release", "9"],
                               capture_output=True, text=True)
    exports = {line.split()[1] for line in described.stdout.splitlines() if line.startswith("exports ")}
    # "releases: 9", a blank line, then "<module name> jar:file:...!/META-INF/versions/9/module-info.class"
    module = next((line.split()[0] for line in described.stdout.splitlines() if "module-info.class" in line), "")
    check(described.returncode == 0 and module == "dev.freshcreds" and exports == API_PACKAGES,
          f"{jar.name}: module dev.freshcreds exports exactly {sorted(API_PACKAGES)} (got {module!r}, {sorted(exports)})")

print(f"publication: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
