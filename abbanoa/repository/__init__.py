"""Tenant-scoped data access: the one place that reads and writes for the API and dashboard.

Tenant isolation is enforced here, in the data layer: every function takes `tenant_id`
and every query filters by it (readings through a join on `nodes`). A row of another
tenant is indistinguishable from a missing one (NotFound). Functions return plain
JSON-ready dicts/lists; the API's bodies are exactly these (docs/api.md).
"""

from __future__ import annotations

from abbanoa.repository.common import InvalidParameter, NotFound

__all__ = ["InvalidParameter", "NotFound"]
