"""Rewrite README.md's result tables from the stored results.

* bench table: the newest bench/results/*-pipeline-*.json (``streamedit bench --json``);
* eval table: the newest bench/results/*-eval-*/ folder of ``streamedit eval --json`` files;
* GPU table: every ``streamedit bench --json`` file of the newest bench/results/*-gpu-*/
  folder (what scripts/gpu-checks.sh writes), rows in file-name order.

    python bench/update_readme.py            # rewrite
    python bench/update_readme.py --check    # exit 1 when the README is stale
"""

import argparse
import json
import re
import sys
from pathlib import Path

from streamedit_sdk.benchmarks.report import markdown_table
from streamedit_sdk.evaluation.report import markdown_summary

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BENCH = ("<!-- bench-table:start -->", "<!-- bench-table:end -->")
EVAL = ("<!-- eval-table:start -->", "<!-- eval-table:end -->")
GPU = ("<!-- gpu-table:start -->", "<!-- gpu-table:end -->")


def newest_bench() -> Path | None:
    stored = sorted(RESULTS.glob("*-pipeline-*.json"))
    return stored[-1] if stored else None


def newest_eval() -> Path | None:
    stored = sorted(p for p in RESULTS.glob("*-eval-*") if p.is_dir())
    return stored[-1] if stored else None


def newest_gpu() -> Path | None:
    stored = sorted(p for p in RESULTS.glob("*-gpu-*") if p.is_dir())
    return stored[-1] if stored else None


def merged_gpu_report(folder: Path) -> dict:
    """The folder's bench files as one report (machine and source of the first)."""
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    merged = dict(reports[0])
    results = [r for rep in reports for r in rep["results"]]
    # the SDK's defaults first, then each variation, the host backend last; sizes ascending
    results.sort(key=lambda r: (r["backend"] != "torch-cuda",
                                r.get("backbone", "portrait") != "portrait",
                                not r.get("cuda_graphs", True), r.get("low_latency", False),
                                r.get("landmark_threads", 1),
                                int(r["size"].split("x")[0])))
    merged["results"] = results
    return merged


def render_gpu(folder: Path) -> str:
    report = merged_gpu_report(folder)
    m = report["machine"]
    rel = folder.relative_to(ROOT)
    v = m["versions"]
    return (f"From [`{rel}/`]({rel}) ({report.get('date', 'undated')}; {m['gpu']}, "
            f"{m['cpu']}, {m['cores']} cores; torch {v.get('torch')}, TensorRT "
            f"{v.get('tensorrt') or 'not installed'}; frames: {report['source']}):\n\n"
            f"{markdown_table(report)}")


def render_bench(result_file: Path) -> str:
    report = json.loads(result_file.read_text(encoding="utf-8"))
    m = report["machine"]
    rel = result_file.relative_to(ROOT)
    return (f"From [`{rel}`]({rel}) ({report.get('date', 'undated')}; {m['cpu']}, "
            f"{m['cores']} cores, GPU: {m.get('gpu') or 'none'}; frames: {report['source']}):\n\n"
            f"{markdown_table(report)}")


def render_eval(folder: Path) -> str:
    files = sorted(folder.glob("*.json"), key=lambda p: [int(t) if t.isdigit() else t
                                                         for t in re.split(r"(\d+)", p.stem)])
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    rel = folder.relative_to(ROOT)
    return (f"From [`{rel}/`]({rel}) ({len(reports)} clips; PSNR dB / SSIM):\n\n"
            f"{markdown_summary(reports)}")


def replace_section(text: str, markers: tuple[str, str], body: str) -> str:
    start, end = markers
    if start not in text or end not in text:
        raise KeyError(f"README.md has no {start} ... {end} section")
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{body}\n{end}{rest.split(end, 1)[1]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, do not write")
    args = parser.parse_args()
    bench, evals, gpu = newest_bench(), newest_eval(), newest_gpu()
    if bench is None or evals is None or gpu is None:
        print("bench/results needs a *-pipeline-*.json (streamedit bench --json), a *-eval-*/ "
              "folder (streamedit eval --json per clip) and a *-gpu-*/ folder "
              "(scripts/gpu-checks.sh)", file=sys.stderr)
        return 2
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    try:
        new = replace_section(text, BENCH, render_bench(bench))
        new = replace_section(new, EVAL, render_eval(evals))
        new = replace_section(new, GPU, render_gpu(gpu))
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    if args.check:
        return 0 if new == text else 1
    readme.write_text(new, encoding="utf-8")
    print(f"README.md tables from {bench.name} and {evals.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
