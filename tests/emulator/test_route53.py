"""Route 53 behind ``local/emulator/route53.py``: what AWS accepts that moto alone refused."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator


def _change(r53: Any, zone: str, action: str, rrset: dict[str, Any]) -> None:
    r53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": rrset}]}
    )


def test_a_set_deleted_can_be_created_again_while_other_sets_sort_after_it(emu: Emulator) -> None:
    """moto refused the second CREATE ("already exists") because a set sorts after it in the zone
    (here the autodiscover CNAME after the apex MX): a rollback followed by the same cut-over again."""
    r53 = emu.client("route53")
    zone = r53.create_hosted_zone(Name="acme.example", CallerReference="r53")["HostedZone"]["Id"]
    mx = {"Name": "acme.example", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mx.new.example"}]}
    cname = {"Name": "autodiscover.acme.example", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "a.x"}]}
    _change(r53, zone, "CREATE", cname)
    for _ in range(2):
        _change(r53, zone, "CREATE", mx)
        _change(r53, zone, "DELETE", mx)
    _change(r53, zone, "CREATE", mx)
    sets = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    assert [s["ResourceRecords"] for s in sets if s["Type"] == "MX"] == [[{"Value": "10 mx.new.example"}]]
    with pytest.raises(ClientError) as err:  # a CREATE of a set that exists is still refused, as AWS does
        _change(r53, zone, "CREATE", mx)
    assert err.value.response["Error"]["Code"] == "InvalidChangeBatch"
