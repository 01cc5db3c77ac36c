from __future__ import annotations

import itertools

import pytest
from mailwarden.reputation.model import EntityState, aggregate_status

STATUSES = ("ENABLED", "REINSTATED", "DISABLED")


@pytest.mark.parametrize(("customer", "ses"), list(itertools.product(STATUSES, STATUSES)))
def test_aggregate_truth_table_per_seed_001(customer, ses):
    got = aggregate_status(customer, ses)
    if "DISABLED" in (customer, ses):
        assert got == "DISABLED"
    elif customer == "REINSTATED":
        assert got == "REINSTATED"
    else:
        assert got == "ENABLED"


def test_entity_name_and_tier_come_from_arns():
    e = EntityState(
        "arn:aws:ses:us-east-1:123456789012:tenant/acme/tn-1",
        "arn:aws:ses:us-east-1:aws:reputation-policy/strict",
        "ENABLED",
        "DISABLED",
        "DISABLED",
    )
    assert (e.name, e.policy_tier, e.paused_by_ses) == ("acme", "strict", True)
