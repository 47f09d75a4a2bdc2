"""Benchmark: `segflow test` on the starter tests, and `segflow diff` against one preview.

    .venv/bin/python benchmarks/review.py [--repeat 5]

Needs a built warehouse (`segflow demo`). Measured in this process, side by side:

- the starter segment tests (`segments/tests/`), all of them, and the cost per test;
- `segflow diff` of a copy of the segments in a temporary git repository, with vip's order
  threshold raised from 10 to 12 (evaluated on the warehouse as of its published build);
- `segflow preview vip` as of the same day, as the command does it (the segments loaded, then
  the query): review.md wants the diff to take about as long. The diff loads the segments
  twice (the ref's and the working tree's); YAML reading is most of both.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from segflow.evaluation.queries import preview
from segflow.review.diff import compute, default_as_of
from segflow.review.tests import run_tests
from segflow.segments.project import load_project
from segflow.settings import load_settings
from segflow.warehouse import open_warehouse


def timed(repeat: int, work) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return times


def line(label: str, times: list[float]) -> str:
    return f"{label:<44}{min(times):>8.3f}{statistics.median(times):>8.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = load_settings()
    tests = run_tests(settings, [])
    assert tests.ok, "\n".join(tests.lines())
    test_times = timed(args.repeat, lambda: run_tests(settings, []))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(settings.segments_dir, root / "segments")
        git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com"]
        subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
        subprocess.run([*git, "add", "segments"], cwd=root, check=True)
        subprocess.run([*git, "commit", "-q", "-m", "base"], cwd=root, check=True)
        vip = root / "segments" / "vip.yml"
        vip.write_text(vip.read_text().replace("      gt: 10\n", "      gt: 12\n"))
        changed = settings.model_copy(update={"segments_dir": root / "segments"})
        with open_warehouse(settings, read_only=True) as wh:
            day = default_as_of(wh)
            result = compute(wh, changed, "main", None, "bench")
            diff_times = timed(args.repeat, lambda: compute(wh, changed, "main", None, "bench"))
            project = load_project(changed.segments_dir)
            query_times = timed(args.repeat, lambda: preview(wh, project, "vip", day))
            # what `segflow preview` does: load the segments, then the query
            preview_times = timed(
                args.repeat, lambda: preview(wh, load_project(changed.segments_dir), "vip", day)
            )
    print(f"as of {day}, {args.repeat} runs each        min (s)  median (s)")
    print(line(f"segflow test: {len(tests.outcomes)} starter tests", test_times))
    print(f"  per test: {1000 * statistics.median(test_times) / len(tests.outcomes):.0f} ms")
    print(line("segflow diff: vip orders > 10 -> > 12", diff_times))
    print(line("segflow preview vip (segments loaded)", preview_times))
    print(line("  its query alone", query_times))
    print(
        f"  diff / preview: {statistics.median(diff_times) / statistics.median(preview_times):.2f}"
    )
    for item in result.segments:
        print(f"  {item.segment} {item.status}: {item.before} -> {item.after}")


if __name__ == "__main__":
    main()
