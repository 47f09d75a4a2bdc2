"""The read-only BI role: Superset's Gamma role without anything that writes, plus access to
the segflow database, so BI users can open the dashboards and charts and nothing else."""

from __future__ import annotations

from segflow.bi.environment import BI_ROLE, SupersetEnvironment

# Runs inside Superset's environment (its own Python): kept as text, not imported here.
_SCRIPT = """
import sys
from superset.app import create_app

app = create_app()
with app.app_context():
    from superset import db, security_manager as sm
    from superset.models.core import Database

    name, database_name = sys.argv[1], sys.argv[2]
    writes = ("can_write", "can_delete", "can_add", "can_edit", "can_import", "can_export",
              "can_copy", "can_save", "can_override", "can_invalidate", "can_tag",
              "can_this_form_post", "can_warm_up", "can_grant", "can_set_embedded")
    # Not the connections, SQL Lab or saved queries: the dashboards' data only.
    hidden = ("Database", "SQLLab", "SavedQuery", "Query", "SqlLab", "Log", "RowLevelSecurity")
    gamma = sm.find_role("Gamma")
    role = sm.find_role(name) or sm.add_role(name)
    keep = [p for p in gamma.permissions
            if not p.permission.name.startswith(writes) and p.view_menu.name not in hidden]
    for database in db.session.query(Database).filter_by(database_name=database_name):
        access = sm.find_permission_view_menu("database_access", database.perm)
        if access is not None:
            keep.append(access)
    role.permissions = keep
    db.session.commit()
    print(len(keep))
"""


def sync_bi_role(env: SupersetEnvironment, database_name: str = "segflow") -> int:
    """Create or update the role; returns its number of permissions."""
    return int(env.run_script(_SCRIPT, BI_ROLE, database_name).strip().splitlines()[-1])
