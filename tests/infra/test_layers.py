"""The SDK layer's local bundling: called as jsii calls it, building for arm64 / cp313 with pip."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from infra.layers import PipArm64Bundling

ROOT = Path(__file__).resolve().parents[2]


def test_try_bundle_takes_jsii_positional_options_and_pins_the_target_platform(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: seen.append(cmd))
    bundler = PipArm64Bundling(ROOT / "layers" / "sdk" / "requirements.txt")
    assert bundler.try_bundle(str(tmp_path), object()) is True  # jsii passes (output_dir, options)
    (cmd,) = seen
    flags = " ".join(cmd)
    assert "--platform manylinux2014_aarch64" in flags and "--only-binary=:all:" in flags
    assert "--python-version 3.13" in flags and f"--target {tmp_path}/python" in flags


def test_the_sdk_layer_pins_boto3_and_botocore_together():
    reqs = dict(
        line.split("==")
        for line in (ROOT / "layers" / "sdk" / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert reqs["boto3"] == reqs["botocore"]
    major, minor, _ = (int(x) for x in reqs["boto3"].split("."))
    assert (major, minor) >= (1, 42)  # tenants/reputation need >= 1.40, Partner Central Account >= 1.42


def test_the_mailwarden_layer_ships_the_package_without_the_cli_or_install_metadata(synth: Any) -> None:
    stack, _ = synth
    outdir = Path(stack.node.root.outdir)
    (layer,) = [a for a in outdir.glob("asset.*") if (a / "python" / "mailwarden" / "contracts").is_dir()]
    shipped = {p.relative_to(layer).as_posix() for p in layer.rglob("*")}
    assert "python/mailwarden/wiring.py" in shipped and "python/mailwarden/aws/clients.py" in shipped
    # the operator CLI is not Lambda code
    assert not [p for p in shipped if p.startswith("python/mailwarden/cli") or p.endswith("__main__.py")]
    assert not [p for p in shipped if ".egg-info" in p or "__pycache__" in p]  # nor what `pip install -e .` writes
