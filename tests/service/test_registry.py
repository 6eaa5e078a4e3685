"""The ruleset registry on its own: what it refuses, what it keeps, and what it forgets."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_support import HEALTH_ONE_FILE

from server.rulesets.registry import RulesetRegistry, UnknownRuleset

HEALTH = HEALTH_ONE_FILE


def _registry(folder: Path, **options: int) -> tuple[RulesetRegistry, list[str]]:
    events: list[str] = []
    registry = RulesetRegistry(folder, **options)
    registry.subscribe(lambda event, state: events.append(event))
    return registry, events


class TestRulesetRegistry:
    def test_a_failing_example_refuses_the_file(self, tmp_path: Path) -> None:
        """A ruleset whose own example no longer holds is refused, as `promo check` would fail it."""
        (tmp_path / "health.rules").write_text(
            HEALTH.replace("expect payable 316.90", "expect payable 316.91", 1), encoding="utf-8"
        )
        registry, events = _registry(tmp_path)
        registry.refresh()
        (state,) = registry.files()
        assert events == ["ruleset_refused"]
        assert state.compiled is None and not registry.ready
        assert "316.91" in (state.last_error or "")

    def test_two_files_may_not_serve_one_name(self, tmp_path: Path) -> None:
        """The second file declaring the same ruleset name is refused, naming the first."""
        (tmp_path / "a.rules").write_text(HEALTH, encoding="utf-8")
        (tmp_path / "b.rules").write_text(HEALTH + "\n# a copy\n", encoding="utf-8")
        registry, _ = _registry(tmp_path)
        registry.refresh()
        first, second = registry.files()
        assert first.compiled is not None
        assert second.compiled is None
        assert f"already loaded from {first.path}" in (second.last_error or "")

    def test_only_the_most_recent_versions_are_kept(self, tmp_path: Path) -> None:
        """With room for two versions, the oldest of three is forgotten (NOT_FOUND) and the others stay."""
        path = tmp_path / "health.rules"
        registry, _ = _registry(tmp_path, keep_versions=2)
        versions = []
        for k in range(3):
            path.write_text(HEALTH + f"\n# revision {k}\n", encoding="utf-8")
            registry.refresh()
            versions.append(registry.get("ruyi-health").version)
        with pytest.raises(UnknownRuleset):
            registry.get("ruyi-health", versions[0])
        assert registry.get("ruyi-health", versions[1]).version == versions[1]
        assert registry.recent_versions("ruyi-health") == (versions[2], versions[1])

    def test_an_unchanged_refused_file_is_not_compiled_again(self, tmp_path: Path) -> None:
        """A refused file is retried only when its bytes change, not on every poll."""
        (tmp_path / "bad.rules").write_text("ruleset {", encoding="utf-8")
        registry, events = _registry(tmp_path)
        registry.refresh()
        registry.refresh()
        assert events == ["ruleset_refused"]

    def test_an_old_version_outlives_its_deleted_file(self, tmp_path: Path) -> None:
        """A sale quoted with a version can still be priced with it after the file is removed."""
        path = tmp_path / "health.rules"
        path.write_text(HEALTH, encoding="utf-8")
        registry, events = _registry(tmp_path)
        registry.refresh()
        version = registry.get("ruyi-health").version
        path.unlink()
        registry.refresh()
        assert events == ["ruleset_loaded", "ruleset_removed"]
        with pytest.raises(UnknownRuleset):
            registry.get("ruyi-health")
        assert registry.get("ruyi-health", version).version == version


class TestProgrammeFolders:
    def test_a_programme_folder_serves_one_version_and_a_bad_campaign_refuses_it_whole(
        self, tmp_path: Path
    ) -> None:
        """Every file of the folder is one version; a broken campaign leaves the last good one serving."""
        import shutil

        from service_support import HEALTH_RULES

        shutil.copytree(HEALTH_RULES, tmp_path / "health")
        registry, events = _registry(tmp_path)
        registry.refresh()
        good = registry.get("ruyi-health")
        assert {c.id for c in good.ruleset.campaigns} >= {"clearance", "coupons"}
        campaign = tmp_path / "health" / "coupons.rules"
        campaign.write_text(
            campaign.read_text(encoding="utf-8").replace("value 20.00", "value 20.001"), encoding="utf-8"
        )
        registry.refresh()
        (state,) = registry.files()
        assert registry.get("ruyi-health") is good
        assert (state.last_error or "").startswith(f"{campaign}:")
        campaign.write_text(
            campaign.read_text(encoding="utf-8").replace("value 20.001", "value 20.00") + "# fixed\n",
            encoding="utf-8",
        )
        registry.refresh()
        assert registry.get("ruyi-health").version != good.version
        assert events == ["ruleset_loaded", "ruleset_refused", "ruleset_loaded"]

    def test_a_worst_case_above_max_discount_keeps_the_last_good_version_serving(
        self, tmp_path: Path
    ) -> None:
        """What `promo check` and `promo publish` refuse, the folder watch refuses too, saying why."""
        import shutil

        from service_support import HEALTH_RULES

        shutil.copytree(HEALTH_RULES, tmp_path / "health")
        programme = tmp_path / "health" / "programme.rules"
        text = programme.read_text(encoding="utf-8")
        registry, events = _registry(tmp_path)
        registry.refresh()
        good = registry.get("ruyi-health")
        programme.write_text(text.replace("  currency CNY\n", "  currency CNY\n  max_discount 10%\n", 1))
        registry.refresh()
        (state,) = registry.files()
        assert registry.get("ruyi-health") is good
        assert "above max_discount 10.00%" in (state.last_error or "")
        assert f"{programme}:" in (state.last_error or "")  # the line that declares the ceiling
        programme.write_text(text.replace("  currency CNY\n", "  currency CNY\n  max_discount 100%\n", 1))
        registry.refresh()
        assert registry.get("ruyi-health").version != good.version
        assert events == ["ruleset_loaded", "ruleset_refused", "ruleset_loaded"]
