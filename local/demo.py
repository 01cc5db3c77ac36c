"""``make demo``: seed a realistic estate on the emulator and drive Mailwarden from its real
triggers, printing a timeline (virtual time) and a summary table.

Run: ``python -m local.demo`` (``make demo`` installs first). Each capability adds its scenario
to ``SCENARIOS``; every scenario returns figures that the summary table shows and that
``tests/scenarios`` asserts.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

import boto3
from mailwarden.aws import clients

from local.deployment import LocalDeployment
from local.emulator import Emulator, emulated_aws


@dataclass
class Demo:
    emu: Emulator
    deployment: LocalDeployment
    say: Callable[[str], None]
    figures: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = self.emu.clock.time()

    def log(self, text: str) -> None:
        elapsed = int(self.emu.clock.time() - self.started)
        self.say(f"  [T+{elapsed // 3600:02d}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}] {text}")

    def deliver(self) -> None:
        for d in self.deployment.deliver():
            detail = d.result.get("observations") or [d.result.get("reason")]
            for line in detail:
                self.log(f"    {d.rule} -> {d.function}: {d.result['status']}: {line}")


ESTATE = [  # tenant name, managed policy tier
    ("acme-marketing", "standard"),
    ("acme-transactional", "strict"),
    ("acme-newsletters", "standard"),
    ("globex-billing", "strict"),
    ("globex-alerts", "none"),
    ("initech-sales", "standard"),
    ("initech-support", "standard"),
    ("umbrella-notify", "strict"),
]


def seed(demo: Demo) -> dict[str, str]:
    """Tenants with identities attached, and a WorkMail organization (for the later capabilities)."""
    ses = clients.client("sesv2")  # paced at SES's 1 request/second, like Mailwarden itself
    arns = {}
    for name, tier in ESTATE:
        arns[name] = ses.create_tenant(TenantName=name, Tags=[{"Key": "owner", "Value": name.split("-")[0]}])[
            "TenantArn"
        ]
        demo.emu.control.set_policy(arns[name], tier)
        domain = f"{name.replace('-', '.')}.example.com"
        ses.create_email_identity(EmailIdentity=domain)
        ses.create_tenant_resource_association(
            TenantName=name, ResourceArn=f"arn:aws:ses:us-east-1:123456789012:identity/{domain}"
        )
    org = demo.emu.control.add_organization("acme-corp", "acme.example.com")
    wm = boto3.client("workmail")
    for person in ("alice", "bob", "carol", "dave"):
        uid = wm.create_user(OrganizationId=org, Name=person, DisplayName=person.title())["UserId"]
        wm.register_to_work_mail(OrganizationId=org, EntityId=uid, Email=f"{person}@acme.example.com")
    demo.log(
        f"seeded {len(arns)} SES tenants (standard/strict/none policies), {len(arns)} identities, "
        f"WorkMail org {org} with 4 users"
    )
    return arns


def scenario_plumbing(demo: Demo) -> None:
    """Foundation: SES findings become aws.ses events, routed by the shared rule patterns to the
    ses_events handler, which reads the entity and publishes an explained observation."""
    arns = seed(demo)
    target = arns["acme-marketing"]
    demo.log("SES raises a HIGH-impact BOUNCE finding on acme-marketing (standard policy pauses sending)")
    demo.emu.control.raise_finding(
        target, "BOUNCE", "HIGH", "The bounce rate exceeded 15.0% based on the last 197 emails sent."
    )
    demo.deliver()
    demo.emu.clock.advance(3600)
    demo.log("A LOW-impact DMARC finding on globex-billing (strict policy pauses on any finding)")
    demo.emu.control.raise_finding(arns["globex-billing"], "DMARC", "LOW")
    demo.deliver()
    demo.emu.clock.advance(600)
    demo.log("A malformed event arrives (status record timestamp is not SES's integer array)")
    demo.deployment.put_event(
        "aws.ses",
        "Sending Status Disabled",
        {
            "version": "1.0.0",
            "data": {"origin": "AWS_MANAGED", "record": {"status": "DISABLED", "lastUpdatedTimestamp": "now"}},
        },
        resources=[target],
    )
    demo.deliver()
    dead = demo.deployment.dead_letters()
    for d in dead:
        demo.log(f"    DLQ <- {d['function']}: {d['reason']}")
    demo.emu.clock.advance(36 * 3600)
    demo.log("36 h later the bounce rate is back to normal: SES resolves the finding")
    demo.emu.control.resolve_finding(target, "BOUNCE")
    demo.deliver()
    demo.figures.update(
        tenants=len(arns),
        aws_ses_events=len(demo.emu.control.emitted) + sum(src == "aws.ses" for src, _ in demo.deployment.sent),
        handler_runs=len(demo.deployment.deliveries),
        observations_published=sum(
            1 for p in demo.deployment.published if p["detail-type"] == "Reputation Signal Observed"
        ),
        dead_lettered=len(dead),
    )


SCENARIOS: list[tuple[str, Callable[[Demo], None]]] = [
    ("Plumbing: SES finding -> EventBridge rule -> ses_events -> observation", scenario_plumbing),
]


def run(say: Callable[[str], None] = print) -> dict[str, Any]:
    started = time.perf_counter()
    with emulated_aws() as emu:
        demo = Demo(emu, LocalDeployment(emu), say)
        for title, scenario in SCENARIOS:
            say(f"\n== {title}")
            scenario(demo)
        calls: Counter[str] = Counter()
        for key, n in emu.calls.items():  # seeding + Mailwarden; not the emulator's or harness's own
            calls[key.split(".")[0]] += n
        demo.figures["virtual_hours"] = round((emu.clock.time() - demo.started) / 3600, 1)
        demo.figures["aws_calls"] = dict(sorted(calls.items()))
    demo.figures["wall_seconds"] = round(time.perf_counter() - started, 2)
    say("\n== Summary")
    width = max(len(k) for k in demo.figures)
    for key, value in demo.figures.items():
        shown = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
        say(f"  {key:<{width}}  {shown}")
    return demo.figures


if __name__ == "__main__":
    figures = run()
    sys.exit(0 if figures["dead_lettered"] == 1 and figures["observations_published"] >= 5 else 1)
