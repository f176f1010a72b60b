#!/usr/bin/env python3
"""Prints one line 'N passed, N failed' for the whole run: cargo's 'test result:' lines from the
log, the JUnit XML reports Gradle wrote, and the last '<step>: N passed, N failed' line of each log
given after them (steps: licenses, samples, readme, platforms, fuzz)."""
import glob
import re
import sys
import xml.etree.ElementTree as ET

log_path, reports_dir = sys.argv[1], sys.argv[2]
platform_logs = sys.argv[3:]
passed = failed = skipped = 0
with open(log_path, errors="replace") as log:
    for line in log:
        m = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", line)
        if m:
            passed += int(m.group(1))
            failed += int(m.group(2))
            skipped += int(m.group(3))
for report in glob.glob(f"{reports_dir}/**/TEST-*.xml", recursive=True):
    suite = ET.parse(report).getroot()
    tests = int(suite.get("tests", 0))
    bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skip = int(suite.get("skipped", 0))
    passed += tests - bad - skip
    failed += bad
    skipped += skip
for platform_log in platform_logs:
    summary = None
    try:
        with open(platform_log, errors="replace") as log:
            for line in log:
                m = re.match(r"(?:platforms|fuzz|samples|licenses|readme): (\d+) passed, (\d+) failed", line)
                if m:
                    summary = (int(m.group(1)), int(m.group(2)))
    except OSError:
        pass
    if summary is None:
        failed += 1  # the script died before its summary
    else:
        passed += summary[0]
        failed += summary[1]
print(f"{passed} passed, {failed} failed, {skipped} skipped")
