"""`python -m bench [name ...]`: run every benchmark under bench/ (or the named ones).

Each benchmark prints ratios against a baseline measured in the same run; none
is part of `make test`, since timings on a shared machine are not assertions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> int:
    available = sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))
    chosen = names or available
    unknown = [n for n in chosen if n not in available]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    status = 0
    for name in chosen:
        print(f"== bench.{name}", flush=True)
        status |= subprocess.run([sys.executable, "-m", f"bench.{name}"]).returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
