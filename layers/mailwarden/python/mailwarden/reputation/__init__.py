"""Reputation entities (SES tenants): pure logic, no boto3."""
