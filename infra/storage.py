"""DynamoDB tables from ``mailwarden.contracts.tables`` (the local deployment builds the same)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct
from mailwarden.contracts.tables import TABLES, TableSpec


def _attr(spec: TableSpec, name: str) -> dynamodb.Attribute:
    kind = dynamodb.AttributeType.NUMBER if spec.attribute_type(name) == "N" else dynamodb.AttributeType.STRING
    return dynamodb.Attribute(name=name, type=kind)


class Tables(Construct):
    """On-demand tables with point-in-time recovery and deletion protection; data is retained
    when the stack is deleted (it is the audit trail)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.TableV2] = {spec.name: self._table(spec) for spec in TABLES}

    def _table(self, spec: TableSpec) -> dynamodb.TableV2:
        table = dynamodb.TableV2(
            self,
            "".join(p.title() for p in spec.name.split("-")),
            partition_key=_attr(spec, spec.partition_key),
            sort_key=_attr(spec, spec.sort_key) if spec.sort_key else None,
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
            time_to_live_attribute=spec.ttl_attribute,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=i.name,
                    partition_key=_attr(spec, i.partition_key),
                    sort_key=_attr(spec, i.sort_key) if i.sort_key else None,
                )
                for i in spec.indexes
            ],
        )
        return table

    def __getitem__(self, name: str) -> dynamodb.TableV2:
        return self.tables[name]
