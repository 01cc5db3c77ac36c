"""Mailwarden: event-driven guardrails for an AWS email estate (shared Lambda layer code)."""

__version__ = "0.1.0"
