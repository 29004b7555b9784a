"""access.scope (what lists and the search index filter with) agrees with access.can everywhere."""

from sqlalchemy import select

from lms import access
from lms.access.models import Context
from lms.access.roles import CAPABILITIES
from lms.extensions import db


def test_scope_matches_can_for_every_user_capability_and_context(world):
    contexts = list(db.session.scalars(select(Context)))
    for name, user in world.users.items():
        for capability in sorted(CAPABILITIES):
            sc = access.scope(user, capability)
            for ctx in contexts:
                assert sc.contains(ctx.path) == access.can(user, capability, ctx), (name, capability, ctx.path)


def test_scope_of_nobody_is_empty(world):
    assert not access.scope(None, "community.view")
    assert not access.scope(world["outsider"], "community.view")
