"""What the streaming sources share: their metrics namespace, and one lock for the state files
they write."""
from __future__ import annotations

import threading

__all__ = ["NAMESPACE", "STORE_LOCK"]

NAMESPACE = "stream"
STORE_LOCK = threading.Lock()  # state files written from several bundles at once
