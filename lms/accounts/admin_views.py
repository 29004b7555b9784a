"""Account administration (issue 2): find people within one's reach, reset a password, deactivate
or reactivate an account. Every page checks `user.manage` through lms.access, which judges a person
by their school and by every role they hold. Routes on the accounts blueprint."""

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.accounts import services
from lms.accounts.models import User
from lms.accounts.views import bp
from lms.core.pagination import page_arg
from lms.extensions import db


def _no_store(resp):
    # A one-time password is on this page: no browser or proxy cache may keep a copy.
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/manage/people")
@login_required
def people():
    if not access.holds_anywhere(current_user, "user.manage"):
        abort(404)
    q = (request.args.get("q") or "").strip()[:64]
    found = services.search_people(current_user, q, "user.manage", role_holders=True, page=page_arg(request),
                                   per_page=20)  # fmt: skip
    return render_template("accounts/people.html", q=q, found=found,
                           manageable=access.manageable(current_user, found.items))  # fmt: skip


def _person(user_id: int) -> User:
    person = db.session.get(User, user_id)
    if person is None:
        abort(404)
    access.require(current_user, "user.manage", person)
    return person


@bp.route("/manage/people/<int:user_id>", methods=["GET", "POST"])
@login_required
def person(user_id):
    from lms.communities.admin_views import admin_error
    from lms.communities.services import explicit_roles

    person = _person(user_id)
    actor = current_user._get_current_object()
    action = request.form.get("action")
    if request.method == "POST":
        try:
            if action == "reset":
                temp = services.admin_reset_password(actor, person)
                html = render_template("accounts/person_password.html", person=person, password=temp)
                return _no_store(make_response(html))
            if action in ("deactivate", "reactivate"):
                services.set_active(actor, person, action == "reactivate")
                flash(_("The account is deactivated: it cannot sign in or use the API.") if action == "deactivate"
                      else _("The account is active again."), "success")  # fmt: skip
                return redirect(url_for(".person", user_id=person.id))
            abort(400)
        except services.AccountError as exc:
            flash(admin_error(exc), "danger")
    return render_template("accounts/person.html", person=person, roles=explicit_roles(person))
