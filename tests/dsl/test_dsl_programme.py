"""Programme folders: a programme file and its campaign files compile into one version."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

import dsl
from dsl.programme import bundle_text, read_folder
from engine.check.run_examples import run_examples
from engine.compiled import compile_ruleset
from engine.errors import RuleErrors

PROGRAMME = """\
ruleset "shop" {
  currency CNY
}

tier normal "普通会员" points x1.0
tier gold   "金卡"     points x1.5
"""

CAMPAIGN = """\
campaign "{id}" {{
  owner "li.wei", label "{label}"
  {extra}
  status {status}
}}

{body}
"""


def campaign(cid: str, body: str, *, status: str = "live", extra: str = "", label: str = "L") -> str:
    return CAMPAIGN.format(id=cid, body=body, status=status, extra=extra, label=label)


def ten_off(rule_id: str, priority: int = 0) -> str:
    return f'rule {rule_id} "{rule_id}" {{\n  priority {priority}\n  then item discount 10%\n}}\n'


BASKET_EXAMPLE = """\
example "one line" {
  at 2026-12-05 10:00
  line "x" price 100.00 qty 1 tax 13%
  expect payable EXPECTED
}
"""


def files(**campaigns: str) -> dict[str, str]:
    return {"programme.rules": PROGRAMME, **{f"{k.replace('_', '-')}.rules": v for k, v in campaigns.items()}}


class TestMerge:
    def test_priority_ties_break_by_campaign_file_name_then_file_order(self) -> None:
        """Rules of equal priority run programme file first, then campaigns by file name, then file order."""
        loaded = dsl.load_files(
            files(
                b_second=campaign("b", ten_off("b1") + ten_off("b2")),
                a_first=campaign("a", ten_off("a1") + ten_off("a_top", priority=5)),
            ),
            "shop",
        )
        compiled = compile_ruleset(loaded)
        order = [r.id for r in sorted(loaded.rules, key=lambda r: (-r.priority, r.order))]
        assert order == ["a_top", "a1", "b1", "b2"]
        assert {r.id: r.campaign for r in loaded.rules} == {"a1": "a", "a_top": "a", "b1": "b", "b2": "b"}
        assert [c.file for c in loaded.campaigns] == ["a-first.rules", "b-second.rules"]
        assert compiled.name == "shop"

    def test_the_digest_covers_every_file(self) -> None:
        """Editing one campaign file changes the version; the bundle is what is hashed and stored."""
        one = files(c=campaign("c", ten_off("r")))
        two = files(c=campaign("c", ten_off("r") + "# edited\n"))
        v1, v2 = (compile_ruleset(dsl.load_files(f, "shop")) for f in (one, two))
        assert v1.digest != v2.digest
        assert v1.digest == hashlib.sha256(bundle_text(one).encode()).hexdigest()

    def test_a_stored_bundle_loads_back_to_the_same_version(self) -> None:
        """audit verify re-compiles a stored bundle through dsl.load: same ruleset, same digest."""
        f = files(c=campaign("c", ten_off("r")))
        original = compile_ruleset(dsl.load_files(f, "shop"))
        again = compile_ruleset(dsl.load(bundle_text(f), "shop"))
        assert again.digest == original.digest
        assert again.ruleset == original.ruleset

    def test_a_folder_with_only_the_programme_file_is_that_file(self) -> None:
        """Same text, same digest as the one-file ruleset it replaces."""
        alone = compile_ruleset(dsl.load_files({"programme.rules": PROGRAMME}, "shop"))
        assert alone.digest == compile_ruleset(dsl.load(PROGRAMME, "shop.rules")).digest

    def test_the_campaign_window_narrows_its_rules(self) -> None:
        """A campaign's `valid` dates bound every rule in it; examples outside the window see nothing."""
        body = ten_off("r") + BASKET_EXAMPLE.replace("EXPECTED", "100.00")
        loaded = dsl.load_files(files(c=campaign("c", body, extra="valid 2026-12-10 to 2026-12-12")), "shop")
        (rule,) = loaded.rules
        assert (rule.validity.date_from, rule.validity.date_to) == (date(2026, 12, 10), date(2026, 12, 12))
        assert run_examples(compile_ruleset(loaded)) == []  # the example is on 12-05: not discounted

    def test_examples_in_a_campaign_run_against_the_whole_version(self) -> None:
        body = BASKET_EXAMPLE.replace("EXPECTED", "81.00")
        loaded = dsl.load_files(
            files(a=campaign("a", ten_off("a1")), b=campaign("b", ten_off("b1") + body)), "shop"
        )
        assert run_examples(compile_ruleset(loaded)) == []


class TestDrafts:
    def test_a_draft_applies_only_to_the_drafts_program(self) -> None:
        """The live program leaves a draft campaign out; with_drafts applies it; one version."""
        loaded = dsl.load_files(
            files(live=campaign("live", ten_off("l")), next=campaign("next", ten_off("n"), status="draft")),
            "shop",
        )
        live = compile_ruleset(loaded)
        assert [r.id for r in live.ruleset.rules] == ["l"]
        assert live.with_drafts is not live and live.with_drafts.applies_drafts
        assert [r.id for r in live.with_drafts.ruleset.rules] == ["l", "n"]
        assert live.with_drafts.version == live.version
        assert not live.applies_drafts

    def test_a_drafts_example_runs_with_the_drafts_and_a_live_one_without(self) -> None:
        live_example = BASKET_EXAMPLE.replace("EXPECTED", "90.00")
        draft_example = BASKET_EXAMPLE.replace("EXPECTED", "81.00")
        f = files(
            live=campaign("live", ten_off("l") + live_example),
            next=campaign("next", ten_off("n") + draft_example, status="draft"),
        )
        assert run_examples(compile_ruleset(dsl.load_files(f, "shop"))) == []
        f["next.rules"] = f["next.rules"].replace("81.00", "90.00")
        (error,) = run_examples(compile_ruleset(dsl.load_files(f, "shop")))
        assert "next.rules" in error.span.location

    def test_without_drafts_there_is_one_program(self) -> None:
        compiled = compile_ruleset(dsl.load_files(files(c=campaign("c", ten_off("r"))), "shop"))
        assert compiled.with_drafts is compiled


class TestErrors:
    def _errors(self, f: dict[str, str]) -> list[str]:
        with pytest.raises(RuleErrors) as caught:
            dsl.load_files(f, "shop")
        return [str(e) for e in caught.value.errors]

    def test_each_error_names_its_own_file(self) -> None:
        """A typo in a campaign file points at that file:line:col; the whole version is refused."""
        bad = 'rule r "r" {\n  when member.tier >= glod\n  then item discount 10%\n}\n'
        (error,) = self._errors(files(ok=campaign("ok", ten_off("x")), oops=campaign("oops", bad)))
        assert error.startswith("shop/oops.rules:8:")
        assert "glod" in error

    def test_duplicate_ids_across_files_name_the_other_file(self) -> None:
        (error,) = self._errors(files(a=campaign("a", ten_off("r")), b=campaign("b", ten_off("r"))))
        assert error.startswith("shop/b.rules:")
        assert "already used at shop/a.rules:" in error

    def test_what_a_campaign_file_may_not_hold(self) -> None:
        """Tiers and a ruleset header belong to the programme file; the status is live or draft."""
        text = campaign("c", 'tier vip "VIP"\n', status="drfat")
        errors = self._errors(files(c=text))
        assert any("tiers belong to the programme file" in e for e in errors)
        assert any("unknown campaign status 'drfat'" in e and "did you mean 'draft'" in e for e in errors)

    def test_a_file_beside_the_programme_must_be_a_campaign(self) -> None:
        errors = self._errors(files(c=PROGRAMME.replace('"shop"', '"other"')))
        assert any("shop/c.rules:1:1" in e and "campaign header" in e for e in errors)

    def test_the_programme_file_is_not_a_campaign(self) -> None:
        errors = self._errors({"programme.rules": campaign("c", ten_off("r"))})
        assert any("programme.rules:1:1" in e and "ruleset header" in e for e in errors)

    def test_a_campaign_file_alone_is_not_a_ruleset(self) -> None:
        with pytest.raises(RuleErrors) as caught:
            dsl.load(campaign("c", ten_off("r")), "c.rules")
        assert "campaign file" in str(caught.value)

    def test_duplicate_campaign_ids(self) -> None:
        errors = self._errors(files(a=campaign("same", ten_off("x")), b=campaign("same", ten_off("y"))))
        assert any("campaign 'same' is also declared in a.rules" in e for e in errors)

    def test_a_rule_window_outside_its_campaign(self) -> None:
        body = 'rule r "r" {\n  valid 2026-01-01 to 2026-01-31\n  then item discount 10%\n}\n'
        errors = self._errors(files(c=campaign("c", body, extra="valid 2026-12-01 to 2026-12-12")))
        assert any("lies outside campaign 'c'" in e and e.startswith("shop/c.rules:8:3:") for e in errors)


class TestFolder:
    def test_load_path_reads_a_programme_folder(self, tmp_path: Path) -> None:
        (tmp_path / "programme.rules").write_text(PROGRAMME, encoding="utf-8")
        (tmp_path / "c.rules").write_text(campaign("c", ten_off("r")), encoding="utf-8")
        (tmp_path / "notes.txt").write_text("not a rules file", encoding="utf-8")
        assert set(read_folder(tmp_path)) == {"programme.rules", "c.rules"}
        assert [r.id for r in dsl.load_path(tmp_path).rules] == ["r"]
