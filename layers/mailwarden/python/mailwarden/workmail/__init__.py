"""WorkMail offboarding, restore and organization decommission (issue 5, seed 004)."""
