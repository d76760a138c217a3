"""``ipfhir validate``: check FHIR resources (files, folders, Bundles; JSON or XML) offline
against their profiles. Exit 0: no errors; 1: some resource has an error; 2: unusable arguments."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ipfhir.mappings.errors import IpError, Issue, operation_outcome

__all__ = ["register"]

_SUFFIXES = (".json", ".xml")
_BAR_THRESHOLD = 20  # files; below this a progress bar is noise


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate", help="validate FHIR resources against the IP, no-basis and R4 profiles"
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file or folder")
    parser.add_argument("--profile", metavar="CANONICAL", help="profile to check against")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=_validate)


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.suffix.lower() in _SUFFIXES and p.is_file()
            )
        else:
            found.append(path)
    return found


def _load(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    if path.suffix.lower() == ".xml" or data.lstrip()[:1] == b"<":
        from ipfhir.mappings.fhirxml import parse_xml

        return parse_xml(data)
    try:
        loaded = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise IpError.single(
            "IP-3030", f"Cannot read {path}: not JSON ({err})", None, "structure"
        ) from err
    if not isinstance(loaded, dict):
        raise IpError.single("IP-3030", f"Cannot read {path}: not a JSON object", None, "structure")
    return loaded


def _records(path: Path, profile: str | None) -> Iterator[dict[str, Any]]:
    from ipfhir.profiles.validator import default_validator

    try:
        resource = _load(path)
    except IpError as err:
        yield _record(path, {}, [replace_severity(i) for i in err.issues])
        return
    except OSError as err:
        yield _record(
            path,
            {},
            [Issue("IP-3030", f"Cannot read {path}: {err.strerror}", (), "exception", "fatal")],
        )
        return
    for res, issues in default_validator().validate_entries(resource, profile):
        yield _record(path, res, issues)


def replace_severity(found: Issue) -> Issue:
    return (
        found
        if found.severity in ("error", "fatal")
        else Issue(found.message_id, found.text, found.expression, found.code, "error")
    )


def _record(path: Path, res: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    return {
        "file": str(path),
        "resourceType": res.get("resourceType"),
        "id": res.get("id"),
        "valid": not any(i.severity in ("error", "fatal") for i in issues),
        "outcome": operation_outcome(issues),
        "_issues": issues,
    }


def _print_text(record: dict[str, Any]) -> None:
    name = f"{record['resourceType'] or '?'}/{record['id'] or '-'}"
    issues: list[Issue] = record["_issues"]
    status = "OK" if record["valid"] else "INVALID"
    print(f"{record['file']}: {name}: {status}")
    for i in issues:
        where = f" {', '.join(i.expression)}" if i.expression else ""
        print(f"  {i.severity:<11} {i.message_id}{where}: {i.text}")


def _check_profile(profile: str | None) -> bool:
    from ipfhir.profiles.validator import default_validator

    lacking = default_validator().missing_definitions()
    if lacking:
        from ipfhir.adapter.errors import MESSAGES

        text = MESSAGES["IP-4604"].format(missing=", ".join(lacking))
        print(f"ipfhir validate: IP-4604: {text}", file=sys.stderr)
        return False
    if profile is None or default_validator().engine.compiled(profile) is not None:
        return True
    print(f"ipfhir validate: unknown profile {profile!r} (IP-3017)", file=sys.stderr)
    return False


def _validate(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not p.exists()]
    for p in missing:
        print(f"ipfhir validate: no such file or folder: {p}", file=sys.stderr)
    files = _files(args.paths)
    if missing or not files or not _check_profile(args.profile):
        if not files and not missing:
            print("ipfhir validate: no .json or .xml files found", file=sys.stderr)
        return 2
    failed = False
    for path in _progress(files):
        for record in _records(path, args.profile):
            failed |= not record["valid"]
            if args.format == "json":
                issues = record.pop("_issues")
                print(json.dumps(record, ensure_ascii=False, sort_keys=False))
                record["_issues"] = issues
            else:
                _print_text(record)
    return 1 if failed else 0


def _progress(files: list[Path]) -> Iterator[Path]:
    if len(files) < _BAR_THRESHOLD or not sys.stderr.isatty():
        yield from files
        return
    from tqdm import tqdm  # type: ignore[import-untyped]

    yield from tqdm(files, unit="file", file=sys.stderr, leave=False)
