"""A programme folder: the programme file and its campaign files, loaded as one Ruleset.

Layout: ``FOLDER/programme.rules`` (the ``ruleset`` header, tiers, and anything that is
part of the membership contract) and one ``FOLDER/*.rules`` per campaign, each starting
with a ``campaign "id" { ... }`` header. Every file is parsed and built on its own (errors
name their own file:line:col); then they merge: the programme file's declarations first,
then each campaign in file-name order, each in its own file order, so priority ties break
by campaign file name, then order in the file. The merged ruleset is checked as a whole.

The version's text is a *bundle* (:func:`bundle_text`): JSON of every file name and text,
so the digest covers every file and a stored sale keeps every file of its version. A
folder holding only programme.rules bundles to that file's own text: the same digest as
the single file, and a single ``*.rules`` file is simply a programme with no campaigns.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine import rules as ir
from engine.errors import RuleError
from engine.spans import Source, Span

__all__ = [
    "PROGRAMME_FILE",
    "bundle_text",
    "is_bundle",
    "is_programme_folder",
    "merge_programme",
    "read_folder",
    "unbundle",
]

PROGRAMME_FILE = "programme.rules"
_FORMAT = "promo-programme/1"


def is_programme_folder(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / PROGRAMME_FILE).is_file()


def read_folder(path: str | Path) -> dict[str, str]:
    """File name -> text of a programme folder (programme.rules and the campaign *.rules beside it).

    Raises OSError/UnicodeDecodeError as reading does; FileNotFoundError without programme.rules.
    """
    folder = Path(path)
    if not (folder / PROGRAMME_FILE).is_file():
        raise FileNotFoundError(f"{folder}: no {PROGRAMME_FILE} in this folder")
    return {p.name: p.read_bytes().decode("utf-8") for p in sorted(folder.glob("*.rules")) if p.is_file()}


def bundle_text(files: dict[str, str]) -> str:
    """The one text of a programme version (what its digest hashes and the ledger stores)."""
    if set(files) == {PROGRAMME_FILE}:
        return files[PROGRAMME_FILE]
    return json.dumps({"files": files, "format": _FORMAT}, ensure_ascii=False, sort_keys=True, indent=0)


def is_bundle(text: str) -> bool:
    return text.startswith('{\n"files":')


def unbundle(text: str) -> dict[str, str]:
    """The files of a bundle (ValueError when ``text`` is not one)."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("files"), dict):
        raise ValueError("not a programme bundle")
    return {str(k): str(v) for k, v in data["files"].items()}


def merge_programme(
    programme: ir.Ruleset, campaigns: list[tuple[str, Any]], source_text: str
) -> tuple[ir.Ruleset, list[RuleError]]:
    """One Ruleset from the programme and its (file name, CampaignFile) pairs, in file-name order."""
    errors: list[RuleError] = []
    rules = list(programme.rules)
    coupons = list(programme.coupons)
    no_points = list(programme.no_points)
    examples = list(programme.examples)
    headers: list[ir.Campaign] = []
    seen: dict[str, ir.Campaign] = {}
    for file_name, built in sorted(campaigns, key=lambda pair: pair[0]):
        campaign = replace(built.campaign, file=file_name)
        if campaign.id in seen:
            errors.append(
                RuleError(
                    f"campaign '{campaign.id}' is also declared in {seen[campaign.id].file}",
                    campaign.span,
                    "give each campaign its own name",
                )
            )
        seen.setdefault(campaign.id, campaign)
        headers.append(campaign)
        for rule in built.rules:
            validity = _within(rule.validity, campaign, rule.span, errors)
            rules.append(replace(rule, campaign=campaign.id, validity=validity))
        for coupon in built.coupons:
            validity = _within(coupon.validity, campaign, coupon.span, errors)
            coupons.append(replace(coupon, campaign=campaign.id, validity=validity))
        no_points.extend(replace(n, campaign=campaign.id) for n in built.no_points)
        for example in built.examples:
            examples.append(replace(_default_tier(example, programme.tiers, errors), campaign=campaign.id))
    merged = replace(
        programme,
        rules=tuple(replace(r, order=n) for n, r in enumerate(rules)),
        coupons=tuple(replace(c, order=n) for n, c in enumerate(coupons)),
        no_points=tuple(no_points),
        examples=tuple(examples),
        campaigns=tuple(headers),
        source_text=source_text,
    )
    return merged, errors


def _within(validity: ir.Validity, campaign: ir.Campaign, span: Span | None, errors: list[RuleError]):  # type: ignore[no-untyped-def]
    """A rule's or coupon's window narrowed to its campaign's dates."""
    if campaign.date_from is None:
        return validity
    start = max(d for d in (validity.date_from, campaign.date_from) if d is not None)
    end = min(d for d in (validity.date_to, campaign.date_to) if d is not None)
    if end < start:
        errors.append(
            RuleError(
                f"this window lies outside campaign '{campaign.id}' "
                f"({campaign.date_from.isoformat()} to {campaign.date_to.isoformat()})",
                validity.span or span,
                "a campaign's rules run only within its `valid` dates",
            )
        )
        return validity
    return replace(validity, date_from=start, date_to=end)


def _default_tier(example: ir.Example, tiers: tuple[ir.Tier, ...], errors: list[RuleError]) -> ir.Example:
    """A member line without `tier` means the programme's lowest tier (as in a one-file ruleset)."""
    member = example.member
    if member is None or member.tier:
        return example
    if not tiers:
        errors.append(RuleError("this member has no tier and the programme declares none", member.span))
        return example
    return replace(example, member=replace(member, tier=tiers[0].id))


def file_source(folder: str, file_name: str, text: str) -> Source:
    """The Source a programme file's errors name: FOLDER/FILE."""
    return Source(f"{folder.rstrip('/')}/{file_name}", text)
