"""WorkMail request validation follows WorkMail's own service model (botocore's)."""

from __future__ import annotations

import botocore.session
import pytest
from mailwarden.errors import MalformedEvent
from mailwarden.workmail.model import _ORG, ENTITY_IDENTIFIER, ENTITY_IDENTIFIER_MAX
from mailwarden.workmail.trigger import parse

MODEL = botocore.session.get_session().get_service_model("workmail")


@pytest.mark.parametrize(
    ("operation", "member"),
    [("DescribeUser", "UserId"), ("DeleteUser", "UserId"), ("RegisterToWorkMail", "EntityId")],
)
def test_the_user_pattern_and_length_are_workmails_entity_identifier(operation, member):
    shape = MODEL.operation_model(operation).input_shape.members[member]
    assert shape.metadata["pattern"] == ENTITY_IDENTIFIER
    assert shape.metadata["max"] == ENTITY_IDENTIFIER_MAX
    org = MODEL.operation_model(operation).input_shape.members["OrganizationId"]
    assert org.metadata["pattern"] == _ORG


def _event(user: str) -> dict[str, object]:
    detail = {"organizationId": "m-" + "0" * 32, "user": user, "requestedBy": "hr", "reason": "leaver"}
    return {
        "source": "mailwarden.identity",
        "detail-type": "WorkMail Offboarding Requested",
        "id": "e",
        "detail": detail,
    }


@pytest.mark.parametrize("user", ["alice", "alice@acme.example.com", "a.b_c%d+e-f@x.y", "A" * 256])
def test_identifiers_workmail_accepts_are_accepted(user):
    assert parse(_event(user)).request.user == user  # type: ignore[union-attr]


@pytest.mark.parametrize("user", ["名前", "al ice", "a/b", "a#b", "A" * 257, ""])
def test_identifiers_workmail_refuses_are_refused_naming_the_field(user):
    with pytest.raises(MalformedEvent) as exc:
        parse(_event(user))
    assert str(exc.value).startswith("WorkMail Offboarding Requested: detail.user: ")
