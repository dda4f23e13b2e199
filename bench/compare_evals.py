"""Compare two folders of ``streamedit eval --json`` files, field by field, timing aside.

For a change that must not change results (a refactor): run ``streamedit eval CLIP --json``
for every clip before and after into two folders (with each clip's stderr in ``CLIP.log``),
then

    python bench/compare_evals.py BEFORE_DIR AFTER_DIR

prints a Markdown table (one row per clip: the five methods' PSNR before and after, whether
every field but ``fps`` is identical) and exits 1 when any clip differs. A clip whose eval
failed on both sides with the same one-line error counts as identical.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TIMING = {"fps"}  # fields that measure the machine, not the result
METHODS = ("arr", "fixed", "flow", "landmark_only", "dis")


def differences(a: object, b: object, path: str = "") -> list[str]:
    """Where two JSON values differ (timing fields skipped), as ``path: a != b`` lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key in TIMING:
                continue
            if key not in a or key not in b:
                out.append(f"{path}.{key}: missing on one side")
            else:
                out += differences(a[key], b[key], f"{path}.{key}")
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _error(folder: Path, clip: str) -> str | None:
    log = folder / f"{clip}.log"
    if not log.is_file():
        return None
    lines = [ln for ln in log.read_text(encoding="utf-8").splitlines()
             if ln.startswith("streamedit eval:")]
    return lines[-1] if lines else None


def compare(before: Path, after: Path) -> tuple[list[str], bool]:
    """(table rows, all identical)."""
    clips = sorted({p.stem for d in (before, after)
                    for p in (*d.glob("*.json"), *d.glob("*.log"))})
    rows = ["| clip | frames | arr / fixed / flow / landmark_only / dis PSNR dB, before | after "
            "| identical (all but timing) |", "| --- | ---: | --- | --- | --- |"]
    same = True
    for clip in clips:
        a, b = before / f"{clip}.json", after / f"{clip}.json"
        if not (a.is_file() and b.is_file()):
            ea, eb = _error(before, clip), _error(after, clip)
            ok = ea is not None and ea == eb
            rows.append(f"| {clip} | | {ea or 'no result'} | {eb or 'no result'} | "
                        f"{'yes (the same error)' if ok else 'NO'} |")
            same &= ok
            continue
        x, y = (json.loads(p.read_text(encoding="utf-8")) for p in (a, b))
        diff = differences(x, y)
        psnr = lambda r: " / ".join(f"{r[m]['psnr']:.3f}" for m in METHODS)  # noqa: E731
        rows.append(f"| {clip} | {x['frames']} | {psnr(x)} | {psnr(y)} | "
                    f"{'yes' if not diff else 'NO: ' + '; '.join(diff[:3])} |")
        same &= not diff
    return rows, same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    rows, same = compare(args.before, args.after)
    print("\n".join(rows))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
