"""Free text under the person's refusals: the labelled parts of a text (pure).

A free text split into labelled parts (``mappings.free_text``) is a list of ``ext:ip-text-part``
extensions, each carrying ``text`` and the part's topics as ``ext:ip-security-label``: either on
a string element's primitive (``_description``; the string is the parts joined by one space) or
as the sub-extensions of a free-text extension (``ip-contribution``, ``ip-consent-remarks``,
ip-cooperation's ``description``). :func:`strip_text_parts` removes the parts a judge rejects,
anywhere in a resource. A string is written again from the parts kept — never taken from the
store, so a string that says more than its parts (written by a careless or hostile client)
cannot carry the extra words past a refusal; with no part kept the string goes. A free-text
extension with no part kept goes, and so does every extension that thereby loses one of its
sub-extensions (a cooperation whose whole description is withheld is withheld). The original
resource is never changed.
"""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.consent.redact import Keep, Removal
from ipfhir.mappings.codes import ext_url

__all__ = ["PART_URL", "strip_free_text", "strip_text_parts"]

PART_URL = ext_url("ip-text-part")
_SEPARATOR = " "  # mappings.model.PART_SEPARATOR
_GONE = object()  # marker: the node goes (an extension left without its value or a part)


def _is_part(extension: Any) -> bool:
    return isinstance(extension, dict) and extension.get("url") == PART_URL


def _part_text(part: dict[str, Any]) -> str:
    return next(
        (
            str(s.get("valueString", ""))
            for s in part.get("extension", [])
            if s.get("url") == "text"
        ),
        "",
    )


def _carries_parts(node: dict[str, Any], key: str) -> bool:
    carrier = node.get(f"_{key}")
    return isinstance(carrier, dict) and any(_is_part(e) for e in carrier.get("extension", []))


def _text(
    node: dict[str, Any], key: str, path: str, judge: Keep, removed: list[Removal]
) -> tuple[dict[str, Any], bool]:
    """``node`` with the text ``key`` rebuilt from its kept parts; True when nothing is left."""
    carrier = node[f"_{key}"]
    extensions = carrier.get("extension", [])
    parts = [e for e in extensions if _is_part(e)]
    kept = _kept(parts, f"{path}.{key}", judge, removed)
    whole = _SEPARATOR.join(_part_text(p) for p in kept)
    if len(kept) == len(parts) and node.get(key) == whole:
        return node, False
    if len(kept) == len(parts):
        removed.append(Removal(f"{path}.{key}", "text beyond its labelled parts"))
    out = {k: v for k, v in node.items() if k not in (key, f"_{key}")}
    others = [e for e in extensions if not _is_part(e)]
    if kept:
        out[key] = whole
        out[f"_{key}"] = {**carrier, "extension": [*others, *kept]}
    elif others:
        out[f"_{key}"] = {**carrier, "extension": others}
    return out, not kept


def _kept(parts: list[Any], path: str, judge: Keep, removed: list[Removal]) -> list[Any]:
    kept = []
    for index, part in enumerate(parts):
        why = judge(part, f"{path}.extension:part[{index}]")
        if why is None:
            kept.append(part)
        else:
            removed.append(Removal(f"{path}.extension:part[{index}]", why))
    return kept


def _text_extension(node: dict[str, Any], path: str, judge: Keep, removed: list[Removal]) -> Any:
    """A free-text extension without its rejected parts, or ``_GONE`` when none is left."""
    extensions = node["extension"]
    parts = [e for e in extensions if _is_part(e)]
    kept = _kept(parts, path, judge, removed)
    if len(kept) == len(parts):
        return node
    if not kept:
        return _GONE
    return {**node, "extension": [*(e for e in extensions if not _is_part(e)), *kept]}


def _prune(node: Any, path: str, judge: Keep, removed: list[Removal], in_ext: bool) -> Any:
    """``node`` without rejected parts (the same object when nothing changed), or ``_GONE``."""
    if isinstance(node, list):
        items = [_prune(v, f"{path}[{i}]", judge, removed, in_ext) for i, v in enumerate(node)]
        if all(a is b for a, b in zip(items, node, strict=True)):
            return node
        return [v for v in items if v is not _GONE]
    if not isinstance(node, dict):
        return node
    if in_ext and any(_is_part(e) for e in node.get("extension", [])):
        return _text_extension(node, path, judge, removed)
    out, gone = node, False
    for key in [k for k in node if not k.startswith("_") and _carries_parts(node, k)]:
        out, emptied = _text(out, key, path, judge, removed)
        gone = gone or (in_ext and emptied and key.startswith("value"))
    for key, value in list(out.items()):
        if key.startswith("_") and _carries_parts(out, key[1:]):
            continue
        if not isinstance(value, (dict, list)):
            continue
        is_ext = key in ("extension", "modifierExtension")
        new = _prune(value, f"{path}.{key}", judge, removed, is_ext)
        if new is value:
            continue
        out = dict(out) if out is node else out
        if is_ext and in_ext and len(new) < len(value):
            gone = True  # an extension without one of its sub-extensions says something else
        if new:
            out[key] = new
        else:
            del out[key]
    return _GONE if gone else out


def strip_text_parts(resource: dict[str, Any], judge: Keep) -> tuple[dict[str, Any], list[Removal]]:
    """``resource`` without the text parts ``judge`` rejects (``resource`` itself when none)."""
    removed: list[Removal] = []
    out = _prune(resource, str(resource.get("resourceType", "")), judge, removed, False)
    return (out, removed) if removed and out is not _GONE else (resource, removed)


def strip_free_text(
    original: dict[str, Any], stripped: dict[str, Any], earlier: list[Removal], judge: Keep
) -> tuple[dict[str, Any], list[Removal]]:
    """``stripped`` (``original`` after the element rules removed ``earlier``) without the text
    parts ``judge`` rejects, and every removal with its path in ``original``: the parts are
    found in ``original`` too, and those inside an element already removed are not repeated."""
    out, _ = strip_text_parts(stripped, judge)
    _, found = strip_text_parts(original, judge)
    gone = tuple(r.path for r in earlier)
    return out, [
        *earlier,
        *(r for r in found if not any(r.path.startswith((g + ".", g + "[")) for g in gone)),
    ]
