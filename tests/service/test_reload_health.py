"""Rulesets reload without a restart; health and reflection tell the world what is served."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from service_support import CALL_TIMEOUT, HEALTH_RULES, Running

from server._pb.promo.v1 import promo_pb2 as pb

T = CALL_TIMEOUT
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _health(running: Running, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(running.channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=T).status


def _files(running: Running) -> list[pb.RulesetFile]:
    return list(running.stub.ListRulesets(pb.ListRulesetsRequest(), timeout=T).files)


class TestReload:
    def test_a_changed_file_serves_its_new_version(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """After a good edit, Evaluate answers with the new version and ListRulesets shows it."""
        before = running.stub.Evaluate(gold_request, timeout=T).ruleset.version
        path = running.folder / "health" / "programme.rules"
        path.write_text(path.read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8")
        running.registry.refresh()
        after = running.stub.Evaluate(gold_request, timeout=T).ruleset.version
        assert after != before
        (entry,) = _files(running)
        assert entry.serving.version == after
        assert list(entry.recent_versions) == [after, before]

    def test_a_bad_file_is_refused_and_the_old_version_keeps_serving(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """A file that fails to check leaves the last good version serving; its error is listed."""
        before = running.stub.Evaluate(gold_request, timeout=T).ruleset.version
        path = running.folder / "health" / "programme.rules"
        path.write_text(
            path.read_text(encoding="utf-8").replace("tier gold", "tier gold gold", 1), encoding="utf-8"
        )
        running.registry.refresh()
        assert running.stub.Evaluate(gold_request, timeout=T).ruleset.version == before
        (entry,) = _files(running)
        assert entry.serving.version == before
        assert entry.last_error.startswith("health/programme.rules:")  # relative to the served folder
        assert entry.error_at.endswith("Z")
        assert entry.file_digest != entry.serving.digest
        assert any(e.get("event") == "ruleset_refused" for e in running.log_lines())

    def test_a_deleted_file_stops_serving_its_ruleset(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """Once the file is gone, its ruleset is NOT_FOUND and no longer listed."""
        shutil.rmtree(running.folder / "health")
        running.registry.refresh()
        with pytest.raises(grpc.RpcError) as caught:
            running.stub.Evaluate(gold_request, timeout=T)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND
        assert _files(running) == []

    def test_a_removed_folder_keeps_the_rulesets_serving(self, running: Running) -> None:
        """A folder that disappears (an unmounted share) is an error, not the deletion of every ruleset."""
        shutil.rmtree(running.folder)
        with pytest.raises(FileNotFoundError):
            running.registry.refresh()
        assert running.registry.names() == ("ruyi-health",)


class TestHealth:
    def test_serving_while_a_ruleset_is_loaded(self, running: Running) -> None:
        """Both the server ("") and promo.v1.Promotions report SERVING."""
        assert _health(running) == SERVING
        assert _health(running, "promo.v1.Promotions") == SERVING

    def test_not_serving_with_an_empty_folder_until_a_ruleset_appears(
        self, start_server: Callable[..., Running], tmp_path: Path
    ) -> None:
        """An empty folder is NOT_SERVING; the watcher finds a new file and health turns SERVING."""
        empty = tmp_path / "empty"
        empty.mkdir()
        running = start_server(empty)
        assert _health(running) == NOT_SERVING
        running.registry.watch(interval=0.05)
        try:
            shutil.copytree(HEALTH_RULES, empty / "health")
            deadline = time.monotonic() + T
            while _health(running) != SERVING and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _health(running, "promo.v1.Promotions") == SERVING
        finally:
            running.registry.close()

    def test_not_serving_once_the_last_ruleset_is_deleted(self, running: Running) -> None:
        """Deleting the only ruleset takes the server out of service."""
        shutil.rmtree(running.folder / "health")
        running.registry.refresh()
        assert _health(running) == NOT_SERVING


class TestReflection:
    def test_lists_the_promotions_service(self, running: Running) -> None:
        """Reflection lists promo.v1.Promotions, health and reflection itself."""
        services = ProtoReflectionDescriptorDatabase(running.channel).get_services()
        assert "promo.v1.Promotions" in services
        assert "grpc.health.v1.Health" in services

    def test_describes_the_evaluate_method(self, running: Running) -> None:
        """A client with no .proto can find Evaluate's request type through reflection."""
        database = ProtoReflectionDescriptorDatabase(running.channel)
        proto = database.FindFileContainingSymbol("promo.v1.Promotions")
        (service,) = [s for s in proto.service if s.name == "Promotions"]
        methods = {m.name: m.input_type for m in service.method}
        assert methods["Evaluate"] == ".promo.v1.EvaluateRequest"
