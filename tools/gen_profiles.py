"""Generate the project's FHIR conformance resources into ``profiles/ip/``.

Writes StructureDefinitions with snapshots (``ip-careplan``, ``ip-careteam``, ``ip-goal``,
``ip-plan-consent``, ``ip-sharing-consent`` and every ``ip-*`` extension of
``profiles/mapping-table.md``), the project CodeSystems (from ``mappings/codes.py``), the
ValueSets the profiles bind, ``profiles/ip/package.json`` and ``profiles/plan.schema.json``
(from ``mappings.model.plan_json_schema()``). The definitions live in ``tools/profilegen/``.

Run from the repository root::

    .venv/bin/python tools/gen_profiles.py           # (re)write the files
    .venv/bin/python tools/gen_profiles.py --check   # exit 1 when a committed file is stale

Hand-written files in ``profiles/ip/`` (``README.md``) are left alone; any other file there that
the generator does not produce is reported as stale by ``--check`` and removed by a normal run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # mappings/ is imported from the repository root
    sys.path.insert(0, str(ROOT))

from profilegen.build import GENERATED_DIR, build  # noqa: E402

HAND_WRITTEN = frozenset({"README.md"})


def _stale(root: Path, files: dict[str, str]) -> tuple[list[str], list[str]]:
    """(paths whose content differs or is missing, paths present but not generated)."""
    changed = [
        path
        for path, text in files.items()
        if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != text
    ]
    extra = [
        f"{GENERATED_DIR}/{p.name}"
        for p in sorted((root / GENERATED_DIR).glob("*"))
        if p.is_file() and p.name not in HAND_WRITTEN and f"{GENERATED_DIR}/{p.name}" not in files
    ]
    return changed, extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    root: Path = args.root
    files = build(root)
    changed, extra = _stale(root, files)
    if args.check:
        for path in changed:
            print(f"stale: {path}", file=sys.stderr)
        for path in extra:
            print(f"not generated: {path}", file=sys.stderr)
        return 1 if changed or extra else 0
    (root / GENERATED_DIR).mkdir(parents=True, exist_ok=True)
    for path in changed:
        (root / path).write_text(files[path], encoding="utf-8")
    for path in extra:
        (root / path).unlink()
    print(f"{len(files)} files, {len(changed)} written, {len(extra)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
