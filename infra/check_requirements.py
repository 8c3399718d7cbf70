#!/usr/bin/env python3
"""Check that the installed Python packages match infra/requirements.txt.

Exits 1 naming each package that is missing or at another version, so that a
machine without them fails with one clear line instead of an ImportError deep
in a test. It only reads what is installed; it installs nothing.

    python3 infra/check_requirements.py [infra/requirements.txt]
"""

import importlib.metadata
import pathlib
import re
import sys

_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def pins(path):
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise SystemExit(f"{path}: {line!r} is not pinned as name==version")
        yield match.group(1), match.group(2)


def main(argv):
    path = argv[1] if len(argv) > 1 else pathlib.Path(__file__).with_name("requirements.txt")
    problems = []
    for name, want in pins(path):
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{name}=={want} is not installed")
            continue
        if have != want:
            problems.append(f"{name} is {have}, want {want}")
    for p in problems:
        print(f"check_requirements: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
