"""Count the CPU instructions the rules take per fix, a figure the machine's speed does not move.

Run: ``./run bench instructions [--no-write]`` (needs valgrind). Runs ``bench_rules.py`` under
callgrind with instrumentation only around one warm repeat over the same fixes, restrictions
and rules, and reports instructions per fix. On a shared machine whose speed swings by a factor
of two, this tells two versions of the code apart to a fraction of a per cent; fixes/s stays the
figure the target is set in. Writes ``bench/results/rules_instructions.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench/results/rules_instructions.json"


def count() -> tuple[int, int]:
    """Return (instructions, fixes) of one instrumented rules repeat."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("error: valgrind is needed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [
                "valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={scratch}/callgrind.out",
                sys.executable, str(REPO / "bench/bench_rules.py"), "--callgrind",
            ],
            capture_output=True, text=True, check=False, cwd=REPO,
        )  # fmt: skip
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or collected is None:
        sys.exit(f"error: the instrumented run failed:\n{done.stderr[-2000:]}")
    fixes = json.loads(done.stdout.strip().splitlines()[-1])["fixes"]
    return int(collected.group(1)), int(fixes)


def main() -> None:
    """Run, print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    instructions, fixes = count()
    record = {
        "fixes": fixes,
        "instructions": instructions,
        "instructions_per_fix": round(instructions / fixes),
        "python": platform.python_version(),
        "measured_on": dt.datetime.now(dt.UTC).date().isoformat(),
    }
    print(json.dumps(record, indent=1))
    if not args.no_write:
        RESULTS.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
