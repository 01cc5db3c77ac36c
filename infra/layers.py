"""Lambda layers: the ``mailwarden`` package, and the pinned SDK layer bundled locally (no Docker)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .config import ROOT

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64


@jsii.implements(ILocalBundling)
class PipArm64Bundling:
    """pip-installs a requirements file for CPython 3.13 on manylinux aarch64 into ``python/``."""

    def __init__(self, requirements: Path) -> None:
        self.requirements = requirements

    def try_bundle(self, output_dir: str, options: Any = None) -> bool:
        target = Path(output_dir) / "python"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--platform",
            "manylinux2014_aarch64",
            "--implementation",
            "cp",
            "--python-version",
            "3.13",
            "--only-binary=:all:",
            "--target",
            str(target),
            "-r",
            str(self.requirements),
        ]
        subprocess.run(cmd, check=True)
        for cache in target.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        return True


POLICY_DIR = "mailwarden-policy"
POLICY_FILE = f"/opt/{POLICY_DIR}/policy.json"  # where Lambda finds the deployed policy


class Layers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, policy_json: str) -> None:
        super().__init__(scope, construct_id)
        sdk_dir = ROOT / "layers" / "sdk"
        self.sdk = lambda_.LayerVersion(
            self,
            "Sdk",
            description="boto3/botocore (pinned together), Powertools, pydantic, PyYAML for python3.13 arm64",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(sdk_dir),
                bundling=BundlingOptions(
                    # Never pulled: local bundling succeeds first (Docker is not required).
                    image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
                    # jsii calls try_bundle(output_dir, options) positionally; its generated Protocol
                    # declares keyword-only options, so the structural check disagrees with the runtime.
                    local=PipArm64Bundling(sdk_dir / "requirements.txt"),  # type: ignore[arg-type]
                ),
            ),
        )
        self.mailwarden = lambda_.LayerVersion(
            self,
            "Mailwarden",
            description="The mailwarden package (domain logic, adapters, contracts)",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(ROOT / "layers" / "mailwarden"),
                # the operator CLI runs on laptops and CI, not in Lambda; `pip install -e .` writes the egg-info
                exclude=["**/__pycache__", "*.egg-info", "python/mailwarden/cli", "python/mailwarden/__main__.py"],
            ),
        )

        # The validated, normalized policy file: a changed policy is a new asset, so a new layer
        # version and a function update (policy as code, deployed with the stack).
        staging = Path(tempfile.mkdtemp(prefix="mailwarden-policy-"))
        (staging / POLICY_DIR).mkdir()
        (staging / POLICY_DIR / "policy.json").write_text(policy_json)
        self.policy = lambda_.LayerVersion(
            self,
            "Policy",
            description="The Mailwarden policy file (normalized JSON)",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(str(staging)),
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.sdk, self.mailwarden, self.policy]
