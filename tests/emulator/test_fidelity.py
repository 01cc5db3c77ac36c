"""The emulator answers as the service models say (issue 20), through real boto3 clients:

* every emulated operation, called with realistic data: its response is valid for the operation's
  output shape (botocore's ``ParamValidator``, as botocore's Stubber checks, and the emulator's own
  stricter check: enums, patterns, lengths);
* every paginated operation walked at several page sizes: each item exactly once;
* every error code the emulator can answer for an operation (``fidelity.raise_sites``, a static scan)
  is one the operation's model lists, a common AWS error or a documented known exception, and is
  really answered by a real trigger;
* the project's code calls no operation of an emulated service that the emulator does not implement.

``tests/conftest.py`` also fails any test of the suite in which the emulator answered an error the
operation's model does not allow, or was asked for an operation it does not implement.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import xform_name
from botocore.validate import ParamValidator

from local.emulator import Emulator, fidelity
from local.emulator.protocol import validate
from tests.fidelity_support import (
    CALLS,
    CLIENTS,
    PAGED,
    TRIGGERS,
    World,
    build_world,
    call,
    code_of,
    failure,
    generic_trigger,
)

ROOT = Path(__file__).resolve().parents[2]
PROJECT_CODE = ("layers/mailwarden/python/mailwarden", "functions", "local", "bench", "infra", "app.py")
SIZES = (1, 2, 5, 100)
ITEMS = 7


@pytest.fixture
def world(emu: Emulator) -> World:
    return build_world(emu)


def implemented(emu: Emulator) -> dict[str, Any]:
    """``service.Operation`` -> the emulated service implementing it."""
    return {f"{s.service_name}.{op}": s for s in emu.dispatcher.services.values() for op in s.handlers}


def operation_model(w: World, key: str) -> Any:
    service, op = key.split(".", 1)
    return w.client(CLIENTS[service]).meta.service_model.operation_model(op)


# ------------------------------------------------------------------------------------- inventory


def test_every_emulated_operation_has_a_realistic_call_and_a_paginator_walk_where_it_pages(emu):
    ops = implemented(emu)
    assert set(CALLS) == set(ops), "a realistic call in tests/fidelity_support.CALLS for every emulated operation"
    pageable = {
        key
        for key, s in ops.items()
        if {"NextToken"} <= set(s.model.operation_model(key.split(".")[1]).input_shape.members)
    }
    assert set(PAGED) == pageable
    assert len(ops) == 66 and len(pageable) == 17


def test_every_botocore_paginator_of_an_emulated_service_is_walked_or_its_operation_not_emulated(emu):
    session = boto3.session.Session()._session
    walked = []
    for s in emu.dispatcher.services.values():
        config = session.get_paginator_model(s.service_name)._paginator_config
        walked += [f"{s.service_name}.{name}" for name in config if name in s.handlers]
    assert set(walked) <= set(PAGED) and len(walked) == 12  # the 12 paginators botocore has for them


# ------------------------------------------------------------------------------------- responses


@pytest.mark.parametrize("key", sorted(CALLS))
def test_the_response_matches_the_operation_output_shape(world, key):
    response = call(world, key)
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    shape = operation_model(world, key).output_shape
    if shape is None or not shape.members:
        assert body == {}, body
        return
    report = ParamValidator().validate(body, shape)
    assert not report.has_errors(), report.generate_report()
    assert validate(shape, {k: v for k, v in body.items() if k in shape.members and not hasattr(v, "read")}) == []
    assert set(body) - {"NextToken"}, f"{key} answered nothing but a token: the check above validated nothing"


# ------------------------------------------------------------------------------------- pagination


def walk(w: World, key: str, kwargs: dict[str, Any], size: int) -> list[list[Any]]:
    """Every page of ``key`` at ``size`` items per page: botocore's paginator where it has one."""
    service, op = key.split(".", 1)
    client = w.client(CLIENTS[service])
    result_key = PAGED[key][1]
    limit = "PageSize" if "PageSize" in operation_model(w, key).input_shape.members else "MaxResults"
    if client.can_paginate(xform_name(op)):
        pages = client.get_paginator(xform_name(op)).paginate(**kwargs, PaginationConfig={"PageSize": size})
        return [p[result_key] for p in pages]
    out, token = [], None
    while True:
        page = getattr(client, xform_name(op))(**kwargs, **{limit: size}, **({"NextToken": token} if token else {}))
        out.append(page[result_key])
        token = page.get("NextToken")
        if not token:
            return out


@pytest.mark.parametrize("key", sorted(PAGED))
def test_a_listing_walked_at_several_page_sizes_yields_each_item_exactly_once(world, key):
    seed, _, item_key = PAGED[key]
    kwargs, expected = seed(world, ITEMS)
    assert len(expected) >= ITEMS
    for size in SIZES:
        pages = walk(world, key, kwargs, size)
        keys = [item_key(item) for page in pages for item in page]
        assert len(keys) == len(set(keys)), f"{key} at {size} per page repeated an item"
        assert set(keys) == expected, f"{key} at {size} per page"
        assert all(len(p) <= size for p in pages) and len(pages) == math.ceil(len(expected) / size), (size, pages)


# ------------------------------------------------------------------------------------- errors


def test_every_error_code_the_emulator_can_answer_is_modelled_common_or_a_documented_known_exception(emu):
    report = fidelity.inventory(emu.dispatcher.services.values())
    assert report["not_allowed"] == []
    assert report["operations"] == 66
    assert {f"{s}.{o}" for s, o in (k.split(".", 1) for k in report["raise_sites"])} >= {
        f"{s.model.service_id.hyphenize()}.{op}" for s in emu.dispatcher.services.values() for op in s.handlers
    }
    assert report["errors_checked"] == sum(len(c) for c in report["raise_sites"].values()) > 66 * 3
    assert fidelity.MOTO_FAULT_CODES <= set(fidelity.COMMON_ERRORS)  # what fault injection answers for moto
    figures = f"{report['operations']} operations, {report['errors_checked']} (operation, code) pairs"
    assert figures in (ROOT / "README.md").read_text().replace("\n  ", " "), "README's fidelity figures are stale"


@pytest.mark.access_denied  # IAM by execution's denial is one of the answers triggered
@pytest.mark.parametrize("key", sorted(CALLS))
def test_every_error_the_operation_can_answer_is_really_answered_with_its_modelled_status(world, key):
    service = implemented(world.emu)[key]
    service_id = service.model.service_id.hyphenize()
    op = operation_model(world, key)
    codes = fidelity.raise_sites([service])[(service_id, op.name)]
    for code in sorted(codes):
        trigger = TRIGGERS.get((key, code)) or generic_trigger(world, key, code, service)
        assert trigger is not None, f"no trigger for {key} answering {code}: add one to TRIGGERS"
        response = failure(lambda trigger=trigger: trigger(world))
        got, status = response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]
        assert got == code, f"{key}: expected {code}, the trigger got {got}"
        assert fidelity.allowed(service_id, op, code)
        shape = next((e for e in op.error_shapes if e.name == code), None)
        declared = shape.metadata.get("error", {}).get("httpStatusCode") if shape else None
        server_fault = code in (service.internal_error, "InternalFailure") or (shape and shape.metadata.get("fault"))
        if declared:
            assert status == declared, (code, status)
        else:  # the model declares no status: a client error is a 4xx, a server fault a 5xx
            assert 500 <= status < 600 if server_fault else 400 <= status < 500, (code, status)
        for member in shape.required_members if shape else []:  # the error's modelled fields are there
            assert member.lower() == "message" or member in response, (code, member, response)
        assert world.emu.dispatcher.outcomes[f"{service_id}.{op.name}:{code}"] >= 1


def test_route53_and_eventbridge_checks_answer_what_aws_answers(world):
    r53 = world.client("route53")
    zone = r53.list_hosted_zones()["HostedZones"][0]["Id"]

    def change(action: str, kind: str, value: str) -> Any:
        rrset = {"Name": "x.acme.example", "Type": kind, "TTL": 60, "ResourceRecords": [{"Value": value}]}
        return r53.change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": rrset}]}
        )

    assert code_of(lambda: change("DELETE", "A", "192.0.2.1"))[0] == "InvalidChangeBatch"
    assert code_of(lambda: change("CREATE", "TXT", "unquoted"))[0] == "InvalidInput"
    events = world.client("events")
    entry = {"Source": "mailwarden.test", "DetailType": "Big", "Detail": '{"x": "' + "y" * 262_144 + '"}'}
    assert code_of(lambda: events.put_events(Entries=[entry]))[0] == "ValidationException"  # a known exception


def test_the_check_catches_an_unmodelled_error_and_an_unimplemented_operation(emu):
    """The enforcement in conftest can fail: an error code the model does not list is noted, and so
    is a request for an operation of an emulated service that the emulator does not implement."""
    op = emu.sesv2.model.operation_model("UpdateReputationEntityPolicy")
    fidelity.note_error(op, "NotFoundException")
    boto3.client("sesv2").list_contact_lists()  # not emulated: moto answers it
    notes = fidelity.drain()
    assert any("UpdateReputationEntityPolicy answered NotFoundException" in n for n in notes), notes
    assert any("sesv2.ListContactLists was called but the emulator does not implement it" in n for n in notes), notes
    assert fidelity.drain() == []


# ------------------------------------------------------------------------------------- the project's calls


def _names_in_project_code() -> set[str]:
    """Attribute names and string constants in the project's code (the emulator aside): where a boto3
    operation is called, its Python name is among them (``client.op(...)``, ``fn=client.op``,
    ``getattr``, ``get_paginator("op")``, an adapter's ``_call("op")``)."""
    names: set[str] = set()
    for root in PROJECT_CODE:
        path = ROOT / root
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            if "emulator" in file.parts:
                continue
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.Attribute):
                    names.add(node.attr)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    names.add(node.value)
    return names


# Names that match an operation of an emulated service but are the harness's own methods.
NOT_AWS_CALLS = {"invoke_async": "local.deployment.LocalDeployment.invoke_async (the local harness)"}


def test_the_project_calls_only_operations_the_emulator_implements(emu):
    used = _names_in_project_code()
    emulated = {s.service_name: s for s in emu.dispatcher.services.values()}
    implemented_names = {xform_name(op) for s in emulated.values() for op in s.handlers}
    missing = {}
    for name, s in emulated.items():
        for op in s.model.operation_names:
            py = xform_name(op)
            if py in used and py not in implemented_names and py not in NOT_AWS_CALLS:
                missing[f"{name}.{op}"] = py
    assert missing == {}, "the project calls these, the emulator does not implement them (moto would answer)"
    source = (ROOT / "local" / "deployment.py").read_text()
    assert all(f"def {name}(" in source for name in NOT_AWS_CALLS)
    assert {"update_reputation_entity_policy", "delete_user", "invoke"} <= used  # the scan sees the adapters' calls
