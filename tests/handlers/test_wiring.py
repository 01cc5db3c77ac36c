"""The composition root: one cached factory per deployed function, all forgotten by ``reset``."""

from __future__ import annotations

from mailwarden import wiring
from mailwarden.contracts.functions import FUNCTIONS

from local.deployment import LocalDeployment


def test_every_function_has_a_cached_factory_that_reset_forgets(deployment: LocalDeployment) -> None:
    factories = [getattr(wiring, spec.name) for spec in FUNCTIONS]
    assert all(any(f is built for built in wiring._BUILT) for f in factories)  # no factory escapes reset()
    deployment.tick("health-metrics")
    first = wiring.health_metrics()
    assert wiring.health_metrics() is first  # warm: built once
    wiring.reset()
    assert wiring.health_metrics() is not first


def test_reset_also_forgets_the_clients_and_their_rate_limiters(deployment: LocalDeployment) -> None:
    from mailwarden.aws import clients

    ses = clients.client("sesv2")
    assert clients.client("sesv2") is ses
    wiring.reset()
    assert clients.client("sesv2") is not ses
