#!/usr/bin/env bash
# The sample applications, consumed as users consume freshcreds:
#   1. `gradle publish` writes dev.freshcreds:freshcreds to build/repo (skip with --no-publish), and
#      scripts/check-publication.py checks that publication;
#   2. samples/maven-v2 (SDK v2: STS + SQS, Maven) and samples/gradle-v1 (SDK v1: STS, Gradle) build
#      against build/repo and Maven Central only, nothing else of this checkout;
#   3. each runs twice against the simulator on 127.0.0.1, with the library from a directory on
#      -Djava.library.path and with the copy bundled in the jar, under -Xcheck:jni. A run passes when
#      it exits 0, says where its library came from, and the simulator counted exactly its calls as
#      verified (signature, key, token) and none as rejected.
# Ends with 'samples: N passed, N failed'. Nothing here talks to anything but 127.0.0.1 and the
# package registries.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-tools.sh
root=$(pwd)
work=$root/build/samples
rm -rf "$work"
mkdir -p "$work/home" "$work/aws" "$work/native" "$work/empty"
: > "$work/aws/config"
: > "$work/aws/credentials"
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "samples: PASS $*"; }
fail() { failed=$((failed + 1)); echo "samples: FAIL $*"; }
finish() {
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null
  echo "samples: $passed passed, $failed failed"
  [ "$failed" = 0 ] && [ "$passed" -gt 0 ]
  exit $?
}

if [ "${1:-}" != "--no-publish" ]; then
  gradle --no-daemon -q --console=plain publish || { fail "gradle publish"; finish; }
fi
if python3 scripts/check-publication.py build/repo; then pass "publication in build/repo"; else fail "publication in build/repo"; fi

version=$(sed -n 's/^version = .\(.*\).$/\1/p' build.gradle)
case "$(uname -m)" in
  x86_64 | amd64) key=linux-x86_64 ;;
  aarch64 | arm64) key=linux-aarch_64 ;;
  *) echo "samples: no platform key for $(uname -m)"; fail "platform"; finish ;;
esac
if ldd --version 2>&1 | grep -qi musl; then key=$key-musl; fi
# "Deployed with -Djava.library.path": the library as a deployment would install it, taken from
# the published jar.
python3 - "build/repo/dev/freshcreds/freshcreds/$version/freshcreds-$version.jar" "native/$key/libfreshcreds_jni.so" \
  "$work/native/libfreshcreds_jni.so" <<'PY' || { fail "library for $key in the published jar"; finish; }
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as jar, open(sys.argv[3], "wb") as out:
    out.write(jar.read(sys.argv[2]))
PY

# Builds: the local publication must be the one used, not an earlier copy in ~/.m2.
rm -rf "$HOME/.m2/repository/dev/freshcreds"
if mvn -B -q -Dstyle.color=never -f samples/maven-v2/pom.xml package > "$work/maven-build.log" 2>&1; then
  pass "samples/maven-v2 builds"
else
  cat "$work/maven-build.log"; fail "samples/maven-v2 builds"
fi
if gradle --no-daemon -q --console=plain -p samples/gradle-v1 assemble > "$work/gradle-build.log" 2>&1; then
  pass "samples/gradle-v1 builds"
else
  cat "$work/gradle-build.log"; fail "samples/gradle-v1 builds"
fi

sim="${CARGO_TARGET_DIR:-$root/target}/release/freshcreds-sim"
[ -x "$sim" ] || cargo build -q --release -p freshcreds-sim || { fail "simulator build"; finish; }
"$sim" --ignore-stdin > "$work/sim.out" 2> "$work/sim.err" &
sim_pid=$!
for _ in $(seq 100); do grep -q listening "$work/sim.out" 2>/dev/null && break; sleep 0.1; done
base=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["base_url"])' "$work/sim.out") \
  || { fail "simulator start"; finish; }

stats() { python3 - "$base" <<'PY'
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # loopback, never a proxy
print(json.dumps(json.load(opener.open(sys.argv[1] + "/_sim/stats", timeout=5))))
PY
}

# run NAME CLASSPATH MAINCLASS EXPECT_STS EXPECT_SQS MODE
run() {
  local name=$1 cp=$2 main=$3 want_sts=$4 want_sqs=$5 mode=$6 libpath want_from
  if [ "$mode" = library-path ]; then libpath=$work/native; want_from="from java.library.path"; else libpath=$work/empty; want_from=$key; fi
  local before after out=$work/$name-$mode.out
  before=$(stats)
  # Only what a service on EC2 would have, pointed at the simulator: no AWS_* from the caller, no
  # ~/.aws, no proxy.
  env -i PATH="$PATH" HOME="$work/home" LANG=C.UTF-8 \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base" AWS_ENDPOINT_URL="$base" \
    AWS_CONFIG_FILE="$work/aws/config" AWS_SHARED_CREDENTIALS_FILE="$work/aws/credentials" FRESHCREDS_LOG=warn \
    java -Xcheck:jni -Djava.library.path="$libpath" -Daws.java.v1.disableDeprecationAnnouncement=true \
    -cp "$cp" "$main" 3 > "$out" 2>&1
  local status=$?
  after=$(stats)
  sed "s/^/  $name ($mode): /" "$out"
  local verdict
  verdict=$(python3 - "$before" "$after" "$want_sts" "$want_sqs" <<'PY'
import json, sys
before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
want = {"sts_ok": int(sys.argv[3]), "sqs_ok": int(sys.argv[4])}
d = {k: v - before.get(k, 0) for k, v in after.items() if isinstance(v, int)}
problems = [f"{k}={d.get(k, 0)} (want {v})" for k, v in want.items() if d.get(k, 0) != v]
problems += [f"{k}={d[k]}" for k in ("sts_expired_token", "sts_signature_does_not_match", "sts_invalid_client_token_id",
                                       "sts_other_errors", "sqs_errors") if d.get(k, 0)]
print("; ".join(problems) or "ok")
PY
)
  if [ "$status" != 0 ]; then
    fail "$name ($mode): exit status $status"
  elif ! grep -q "^native library: .*$want_from" "$out"; then
    fail "$name ($mode): library not loaded from $want_from"
  elif [ "$verdict" != ok ]; then
    fail "$name ($mode): simulator counted $verdict"
  else
    pass "$name ($mode): $want_sts STS + $want_sqs SQS calls verified by the simulator"
  fi
}

for mode in library-path bundled; do
  run maven-v2 "samples/maven-v2/target/classes:samples/maven-v2/target/lib/*" com.example.orders.OrdersService 3 3 "$mode"
  run gradle-v1 "samples/gradle-v1/build/classes/java/main:samples/gradle-v1/build/runtime-libs/*" com.example.billing.BillingService 3 0 "$mode"
done

# `java -jar freshcreds.jar doctor` as an operator runs it: the published jar's Main-Class and its
# bundled library, on a host root whose chrony uses Amazon Time Sync, IMDS and STS on the simulator.
doctor_root=$work/doctor-root
mkdir -p "$doctor_root/proc/412" "$doctor_root/etc"
echo chronyd > "$doctor_root/proc/412/comm"
echo "server 169.254.169.123 prefer iburst" > "$doctor_root/etc/chrony.conf"
before=$(stats)
env -i PATH="$PATH" HOME="$work/home" LANG=C.UTF-8 AWS_REGION=us-east-1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base" \
  AWS_CONFIG_FILE="$work/aws/config" AWS_SHARED_CREDENTIALS_FILE="$work/aws/credentials" \
  java -Xcheck:jni -Djava.library.path="$work/empty" -jar "build/repo/dev/freshcreds/freshcreds/$version/freshcreds-$version.jar" \
  doctor --json --root "$doctor_root" --sts-endpoint "$base" < /dev/null > "$work/doctor.json" 2> "$work/doctor.err" \
  && doctor_status=0 || doctor_status=$?   # 1 or 2 are findings, not a script error (ensure-tools sets -e)
after=$(stats)
doctor_verdict=$(python3 - "$work/doctor.json" "$doctor_status" "$before" "$after" <<'PY'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except ValueError as e:
    print(f"not JSON: {e}"); sys.exit()
status = {c["id"]: c["status"] for c in report["checks"]}
worst = max(["pass", "warn", "fail"].index(s) for s in status.values())
problems = [f"{i} is {status.get(i)}" for i in ("chain.source", "imds.token", "imds.role", "imds.credentials", "sts.call", "clock.daemon")
            if status.get(i) != "pass"]
if int(sys.argv[2]) != worst or report["exit_code"] != worst:
    problems.append(f"exit {sys.argv[2]}, report {report['exit_code']}, worst {worst}")
sts = json.loads(sys.argv[4]).get("sts_ok", 0) - json.loads(sys.argv[3]).get("sts_ok", 0)
if sts != 1:
    problems.append(f"the simulator verified {sts} STS calls, not 1")
print("; ".join(problems) or "ok")
PY
)
sed "s/^/  doctor: /" "$work/doctor.err"
if [ "$doctor_verdict" = ok ]; then
  pass "java -jar freshcreds.jar doctor: its checks passed against the simulator, one signed STS call verified"
else
  cat "$work/doctor.json"; fail "java -jar freshcreds.jar doctor: $doctor_verdict"
fi
finish
