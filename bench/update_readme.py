"""Rewrite the benchmark table in README.md from the newest bench/results/*-pipeline-*.json.

    python bench/update_readme.py            # rewrite
    python bench/update_readme.py --check    # exit 1 when the README is stale
"""

import argparse
import json
import sys
from pathlib import Path

from streamedit_sdk.benchmarks.report import markdown_table

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"


def render(result_file: Path) -> str:
    report = json.loads(result_file.read_text(encoding="utf-8"))
    m = report["machine"]
    rel = result_file.relative_to(ROOT)
    return (f"{START}\nFrom [`{rel}`]({rel}) ({report.get('date', 'undated')}; {m['cpu']}, "
            f"{m['cores']} cores, GPU: {m.get('gpu') or 'none'}; frames: {report['source']}):\n\n"
            f"{markdown_table(report)}\n{END}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, do not write")
    args = parser.parse_args()
    stored = sorted((ROOT / "bench" / "results").glob("*-pipeline-*.json"))
    if not stored:
        print("no bench/results/*-pipeline-*.json: run streamedit bench --json first",
              file=sys.stderr)
        return 2
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"README.md has no {START} ... {END} section", file=sys.stderr)
        return 2
    head, rest = text.split(START, 1)
    new = head + render(stored[-1]) + rest.split(END, 1)[1]
    if args.check:
        return 0 if new == text else 1
    readme.write_text(new, encoding="utf-8")
    print(f"README.md table from {stored[-1].name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
