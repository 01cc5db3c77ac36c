"""The sample estate ``mailwarden --local`` starts from: the repository's policy (managing Partner
Central's Sandbox catalog too), four SES tenants (one with an open HIGH bounce finding), a WorkMail
organization with three users, and an identity with its hosted zone (and DKIM records) for MAIL FROM."""

from __future__ import annotations

from mailwarden.aws import clients

from .deployment import REPO_POLICY, LocalDeployment
from .dns_automation import publish_dkim

TENANTS = ("acme-marketing", "acme-transactional", "globex-billing", "initech-sales")
ORGANIZATION = "acme-corp"
USERS = ("alice", "bob")
IDENTITY = "acme.example"


def sample_policy() -> str:
    text = REPO_POLICY.read_text()
    assert "  catalogs: {}" in text, "the repository policy's partner section changed: update local/sample.py"
    return text.replace("  catalogs: {}", "  catalogs:\n    Sandbox: {accessType: DENY_ALL}")


def seed_estate(d: LocalDeployment) -> dict[str, str]:
    """Seeds the estate; returns the names a newcomer types (organization id, identity...)."""
    if d.deployed_policy != sample_policy():  # a deployment made with it (`--local`) is not redeployed
        d.set_policy(sample_policy())
    control = d.emu.control
    arns = {name: d.emu.sesv2.add_tenant(name).arn for name in TENANTS}
    control.raise_finding(arns["acme-marketing"], "BOUNCE", "HIGH", "The bounce rate exceeded 10%.")
    d.deliver()  # the finding's events (observed; the policy is in plan mode)
    org = control.add_organization(ORGANIZATION, f"{ORGANIZATION}.example.com")
    control.add_users(org, *USERS, "administrator")
    clients.client("sesv2").create_email_identity(EmailIdentity=IDENTITY)
    d.emu.client("route53").create_hosted_zone(Name=IDENTITY, CallerReference="sample")
    publish_dkim(d.emu.client("sesv2"), d.emu.client("route53"), IDENTITY)  # the DNS automation: SES verifies it
    d.emu.clock.advance(1)
    return {"organization": org, "identity": IDENTITY, **arns}
