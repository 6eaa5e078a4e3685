"""The committed generated code in server/_pb matches what proto/generate.py produces now."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "server" / "_pb"
STALE = "server/_pb is stale: run python proto/generate.py and commit the result"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("proto_generate", REPO / "proto" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


class TestGeneratedCodeIsFresh:
    def test_regenerating_gives_the_committed_files(self, tmp_path: Path) -> None:
        """Regenerating into a temp dir yields exactly the committed files, byte for byte."""
        _generator().generate(tmp_path)
        fresh, committed = _tree(tmp_path), _tree(COMMITTED)
        assert sorted(fresh) == sorted(committed), STALE
        for name, text in fresh.items():
            assert committed[name] == text, f"{name}: {STALE}"

    def test_generated_grpc_stub_imports_inside_the_server_package(self) -> None:
        """The gRPC stub imports its messages as server._pb.promo.v1, not as a top-level promo package."""
        stub = (COMMITTED / "promo" / "v1" / "promo_pb2_grpc.py").read_text(encoding="utf-8")
        assert "from server._pb.promo.v1 import promo_pb2" in stub
        assert "\nfrom promo." not in stub

    def test_service_declares_evaluate(self) -> None:
        """The Promotions service exposes Evaluate(EvaluateRequest) returns (EvaluateReply)."""
        from server._pb.promo.v1 import promo_pb2 as pb

        method = pb.DESCRIPTOR.services_by_name["Promotions"].methods_by_name["Evaluate"]
        assert method.input_type.full_name == "promo.v1.EvaluateRequest"
        assert method.output_type.full_name == "promo.v1.EvaluateReply"

    def test_regenerating_overwrites_a_hand_edit(self, tmp_path: Path) -> None:
        """A hand edit to a generated file is replaced by the generator's output, not kept."""
        _generator().generate(tmp_path)
        module = tmp_path / "promo" / "v1" / "promo_pb2.py"
        before = module.read_text(encoding="utf-8")
        module.write_text(before + "# edited by hand\n", encoding="utf-8")
        _generator().generate(tmp_path)
        assert module.read_text(encoding="utf-8") == before
