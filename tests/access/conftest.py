"""A world built once per module: the matrix tests only read it, so there is no need to rebuild it for
each of their ~1,600 cases. Modules using it must not also use the function-scoped `db`/`world`
fixtures (their teardown empties the tables)."""

import pytest

from lms.extensions import db as _db
from tests.conftest import _clear
from tests.factories import build_world


@pytest.fixture(scope="module")
def shared_world(app):
    with app.app_context():
        _clear(app)
        world = build_world()
        yield world
        _db.session.remove()
        _clear(app)


def sign_in(app, user, client=None):
    """A test client whose session is signed in as `user` (as conftest.login_as, without `db`)."""
    from flask_login.utils import _create_identifier

    client = client or app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        ident = _create_identifier()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
        sess["_id"] = ident
        sess["_sign_in"] = _new_sign_in(app, user)
    return client


def _new_sign_in(app, user) -> str:
    """A server-side sign-in row for `user`, as the sign-in form makes (the user loader requires one).
    Made in an app context of its own: committing the test's session would expire its objects."""
    from lms.accounts.models import User
    from lms.accounts.services import start_sign_in
    from lms.extensions import db

    uid = user.id
    with app.app_context():
        return start_sign_in(db.session.get(User, uid), "test client", "127.0.0.1")
