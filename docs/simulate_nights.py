"""The README's history screenshot: 30 simulated nights of the embedded mock, switches turned on and off as the
nights go (1-9 the reference, 10-17 every answer 15 ms slower, 18-24 an empty ErrorResponse message, 25-30 the
reference again), each night a real run of the suite; then the page, and (with Chromium) its screenshot.

    python docs/simulate_nights.py /tmp/nights    # writes /tmp/nights/history/history.html and docs/history.png
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from spidra_contract.tools import history
from spidra_contract.tools.runner import run_suite

ROOT = Path(__file__).resolve().parent.parent
SCHEDULE = (
    [("reference", ())] * 9
    + [("slow", ("slow",))] * 8
    + [("broken", ("error-empty-message",))] * 7
    + [("reference", ())] * 6
)


def main(base: Path) -> None:
    shutil.rmtree(base, ignore_errors=True)
    runs = {}
    for name, switches in dict(SCHEDULE).items():
        options = [f"--mock-switch={switch}" for switch in switches]
        run_suite(*options, "-m", "job_body or unknown or auth", report_dir=base / name, cwd=ROOT)
        runs[name] = json.loads((base / name / "summary.json").read_text(encoding="utf-8"))
    folder = base / "history"
    for night, (name, _) in enumerate(SCHEDULE, start=1):
        summary = dict(runs[name], started=f"2026-11-{night:02d}T02:00:00Z")  # one run a night
        history.record(folder, summary, base / name / "report.html")
    page = folder / history.PAGE
    page.write_text(history.page(history.load(folder)), encoding="utf-8")
    print(page)
    browser = shutil.which("chromium")
    if browser:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,1520"]
        shot = ROOT / "docs" / "history.png"
        subprocess.run(
            [browser, *flags, f"--user-data-dir={base / 'profile'}", f"--screenshot={shot}", page.as_uri()],
            capture_output=True,
            check=False,
        )
        print(shot)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/nights"))
