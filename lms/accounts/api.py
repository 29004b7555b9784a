"""Account endpoints of /api/v1 (the API helper fills these out)."""

from flask import jsonify

from lms.api import api_user, route


@route("/me", summary="The signed-in user")
def me():
    user = api_user()
    return jsonify(id=user.id, username=user.username, name=user.name)
