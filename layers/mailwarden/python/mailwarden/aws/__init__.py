"""Thin boto3 adapters: each maps ClientError codes to mailwarden.errors and nothing more."""
