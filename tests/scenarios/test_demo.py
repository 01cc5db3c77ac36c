"""The demo's scenarios, end to end from their triggers, with their figures asserted."""

from __future__ import annotations

from local import demo


def test_demo_runs_the_plumbing_end_to_end():
    lines: list[str] = []
    figures = demo.run(lines.append)
    text = "\n".join(lines)
    assert figures["tenants"] == 8
    # BOUNCE open + SES disable, DMARC open + SES disable, resolve + SES re-enable = 6 emitted by "AWS",
    # plus the malformed one we injected.
    assert figures["aws_ses_events"] == 7
    assert figures["handler_runs"] == 7
    assert figures["observations_published"] == 6
    assert figures["dead_lettered"] == 1
    assert figures["virtual_hours"] >= 37
    assert figures["wall_seconds"] < 60
    # Seeding makes 24 SES + 8 WorkMail calls; Mailwarden itself makes exactly the minimum for the
    # 7 events: one GetReputationEntity and one PutEvents per valid event, one DLQ send for the bad one.
    assert figures["aws_calls"] == {"eventbridge": 6, "sesv2": 24 + 6, "sqs": 1, "workmail": 8}
    assert "DLQ <- ses_events" in text and "aggregate DISABLED" in text and "aggregate ENABLED" in text
