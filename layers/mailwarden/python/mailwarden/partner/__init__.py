"""Partner Central connection preferences kept at the policy's desired state."""
