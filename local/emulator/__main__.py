"""``python -m local.emulator``: the emulator's fidelity inventory (operations, the error codes each
can answer, and any its model does not allow) as JSON."""

from __future__ import annotations

import json

from . import emulated_aws
from .fidelity import inventory

if __name__ == "__main__":
    with emulated_aws() as emu:
        print(json.dumps(inventory(emu.dispatcher.services.values()), indent=2))
