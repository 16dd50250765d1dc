"""Single-instance locks of the cycle (one running cycle per config, one daemon per config).

The same flock lock as a campaign's (orchestrator/campaign/lock.py); re-exported under the names the
cycle uses.
"""

from __future__ import annotations

from orchestrator.campaign.lock import InstanceLock
from orchestrator.campaign.lock import lock_holder as holder

__all__ = ["InstanceLock", "holder"]
