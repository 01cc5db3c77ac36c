"""HTTP API plumbing shared by Mailwarden's REST endpoints: bearer-JWT checks and seed-002 error bodies."""
