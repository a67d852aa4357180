"""``stylize gallery OUTDIR``: write OUTDIR/index.html for a folder of results and their reports."""

from pathlib import Path

from core.cli import add_command, run_job
from core.commands import COMMANDS
from core.errors import InputError
from core.gallery import write_gallery
from core.gallery_results import results_sections


def register(subparsers) -> None:
    p = add_command(subparsers, "gallery", COMMANDS["gallery"].help,
                    description="Write OUTDIR/index.html: for every report JSON under OUTDIR (--report files, "
                                "`stylize scene`'s report.json) an original | stylized wipe, the command line, the "
                                "key numbers and links to the files. Static HTML, works from file://. The "
                                "convention it reads: core/gallery_results.py.\n\nexample: stylize image a.jpg "
                                "b.jpg -o out/a.png --report out/a.json && stylize gallery out")
    p.add_argument("folder", metavar="OUTDIR", help="folder holding the results and their report JSONs")
    p.add_argument("--title", default=None, help="page title (default: the folder name)")
    p.add_argument("--report", metavar="FILE.json", default=None, help="write a report JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    root = Path(args.folder)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder")
    return run_job(args, "gallery", lambda job: _write(job, root))


def _write(job, root: Path) -> int:
    args, report = job.args, job.report
    with report.phase("collect"):
        sections = results_sections(root)
    if not sections:
        raise InputError(f"{root} holds no report JSON (write one with --report FILE.json); nothing to show")
    path = write_gallery(root, sections, args.title or f"Results in {root.resolve().name}")
    report.inputs = [str(root)]
    report.outputs = [str(path)]
    report.sizes = {"results": sum(len(s.items) for s in sections)}
    print(f"stylize gallery: wrote {path} ({report.sizes['results']} results)")
    return 0
