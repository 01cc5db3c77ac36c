#!/usr/bin/env python3
"""CDK entry: build the App, read context, compose the stack, attach cdk-nag, synthesize.

Works offline with no AWS credentials and no Docker: account/region come from context
(``mailwarden:account``/``mailwarden:region``) or CDK_DEFAULT_* env, never from an STS lookup.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "layers" / "mailwarden" / "python"))

from infra.node import quiet_jsii_node_check  # noqa: E402

quiet_jsii_node_check()  # before aws_cdk starts the jsii runtime

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.config import from_context  # noqa: E402
from infra.stack import MailwardenStack  # noqa: E402


def build_app(context: dict[str, object] | None = None) -> tuple[cdk.App, MailwardenStack]:
    app = cdk.App(context=context)
    config = from_context(app.node.try_get_context)
    account = app.node.try_get_context("mailwarden:account") or os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = app.node.try_get_context("mailwarden:region") or os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    stack = MailwardenStack(app, f"Mailwarden-{config.stage}", config=config, env=env)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


if __name__ == "__main__":
    build_app()[0].synth()
