"""Event contracts: names, patterns and schemas shared by CDK, handlers and the local router."""
