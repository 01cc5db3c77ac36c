"""Emulated Partner Central Account connection preferences with Revision locking."""

from __future__ import annotations

import boto3
import pytest


@pytest.fixture
def pc(emu):
    return boto3.client("partnercentral-account")


def test_update_with_current_revision_increments_it_and_names_the_list_excludedparticipantids(pc):
    rev = pc.get_connection_preferences(Catalog="AWS")["Revision"]
    out = pc.update_connection_preferences(
        Catalog="AWS", Revision=rev, AccessType="ALLOW_BY_DEFAULT_DENY_SOME", ExcludedParticipantIdentifiers=["p-1"]
    )
    assert out["Revision"] == rev + 1 and out["ExcludedParticipantIds"] == ["p-1"]
    assert pc.get_connection_preferences(Catalog="AWS")["AccessType"] == "ALLOW_BY_DEFAULT_DENY_SOME"


def test_stale_revision_is_a_conflict_and_changes_nothing(pc, emu):
    rev = pc.get_connection_preferences(Catalog="AWS")["Revision"]
    emu.control.other_writer("AWS", "DENY_ALL")
    with pytest.raises(pc.exceptions.ConflictException) as exc:
        pc.update_connection_preferences(Catalog="AWS", Revision=rev, AccessType="ALLOW_ALL")
    assert exc.value.response["Reason"] == "INCOMPATIBLE_CONNECTION_PREFERENCES_REVISION"
    assert pc.get_connection_preferences(Catalog="AWS")["AccessType"] == "DENY_ALL"


def test_validation_and_access_denied(pc, emu):
    with pytest.raises(pc.exceptions.ValidationException, match="at most 100 items"):
        pc.update_connection_preferences(
            Catalog="AWS",
            Revision=1,
            AccessType="ALLOW_BY_DEFAULT_DENY_SOME",
            ExcludedParticipantIdentifiers=[f"p-{i}" for i in range(101)],
        )
    with pytest.raises(pc.exceptions.ValidationException, match="not supported"):
        pc.get_connection_preferences(Catalog="Moon")
    with pytest.raises(pc.exceptions.ValidationException, match="ALLOW_BY_DEFAULT_DENY_SOME"):
        pc.update_connection_preferences(
            Catalog="AWS", Revision=1, AccessType="ALLOW_ALL", ExcludedParticipantIdentifiers=["p-1"]
        )
    emu.control.deny("UpdateConnectionPreferences")
    with pytest.raises(pc.exceptions.AccessDeniedException, match="partnercentral:UpdateConnectionPreferences"):
        pc.update_connection_preferences(Catalog="AWS", Revision=1, AccessType="DENY_ALL")
