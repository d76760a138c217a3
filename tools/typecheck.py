"""``mypy --strict`` over the installed names (``ipfhir.adapter``, ``ipfhir.mappings``).

mypy cannot follow the import hook of an editable install that maps ``ipfhir.adapter`` onto
``adapter/``, so this builds a tree of symbolic links shaped like the installed package
(``build/typecheck/ipfhir/adapter -> adapter/``, ...) and runs mypy on it with the project's
settings from ``pyproject.toml``. Run from anywhere: ``python tools/typecheck.py [mypy args]``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("adapter", "mappings", "profiles", "conformance")


def link_tree() -> Path:
    tree = ROOT / "build" / "typecheck"
    package = tree / "ipfhir"
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    for name in ("__init__.py", "py.typed"):
        (package / name).symlink_to(ROOT / "ipfhir" / name)
    for folder in FOLDERS:
        (package / folder).symlink_to(ROOT / folder, target_is_directory=True)
    return tree


def main(argv: list[str]) -> int:
    tree = link_tree()
    env = {**os.environ, "MYPYPATH": str(tree)}
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
    cmd += ["--cache-dir", str(ROOT / ".mypy_cache")]
    cmd += argv or ["-p", "ipfhir.adapter", "-p", "ipfhir.mappings"]
    return subprocess.run(cmd, cwd=tree, env=env, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
