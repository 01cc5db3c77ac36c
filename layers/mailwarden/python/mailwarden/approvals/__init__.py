"""Human approvals: requests recorded with their Step Functions task token, decisions arriving over
signed links or SNS, single-use enforced by a conditional write. Pure logic; ports in ``ports``."""
