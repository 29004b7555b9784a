from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from lms.accounts import services
from lms.accounts.forms import LoginForm, PasswordForm, ProfileForm
from lms.accounts.limits import login_limits, record_failure
from lms.signals import user_logged_in

bp = Blueprint("accounts", __name__)

ERRORS = {
    "wrong_password": lambda: _("The current password is wrong."),
    "password_short": lambda: _("The password needs at least 8 characters."),
    "password_simple": lambda: _("Use both letters and digits in the password."),
    "bad_name": lambda: _("Please enter your name."),
    "bad_phone": lambda: _("Enter an 11-digit mainland mobile number."),
    "phone_taken": lambda: _("This phone number belongs to another account."),
}


def error_text(exc: Exception) -> str:
    return ERRORS.get(str(exc), lambda: str(exc))()


def _safe_next(target: str | None) -> str:
    """Only a path on this site: no open redirect through ?next= (nor a header split)."""
    if target and _is_local_path(target):
        return target
    return url_for("communities.personal_space")


def _is_local_path(target: str) -> bool:
    # Browsers drop tabs and newlines anywhere in a URL and read a backslash as "/", so "/<TAB>/evil.com"
    # and "/<BACKSLASH>evil.com" both go off-site; a newline would also break the Location header.
    if "\\" in target or any(ch < " " or ch == "\x7f" for ch in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    if current_user.is_authenticated:
        return redirect(url_for("communities.personal_space"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.identifier.data, form.password.data)
        except services.AccountError:
            user = None
            flash(_("This account has been deactivated. Ask your school or county administrator."), "danger")
            return render_template("accounts/login.html", form=form)
        if user is None:
            record_failure()
            flash(_("Wrong username/phone or password."), "danger")
        else:
            locale = session.get("locale")
            # New session on sign-in: nothing an attacker planted in the old one survives.
            session.clear()
            if locale:
                session["locale"] = locale
            _sign_in(user)
            services.record_login(user)
            user_logged_in.send(user)
            if user.must_change_password:
                flash(_("Please choose your own password now."), "warning")
                return redirect(url_for("accounts.password"))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


def _sign_in(user) -> None:
    """Flask-Login's sign-in, tied to a new server-side sign-in row (ended by signing out)."""
    session[services.SIGN_IN_KEY] = services.start_sign_in(
        user, request.headers.get("User-Agent", ""), request.remote_addr or ""
    )
    login_user(user)


@bp.route("/logout", methods=["POST"])
def logout():
    services.end_sign_in(session.get(services.SIGN_IN_KEY))
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.new.data)
        except services.AccountError as exc:
            field = form.current if str(exc) == "wrong_password" else form.new
            field.errors = [*field.errors, error_text(exc)]
        else:
            # The session version moved on and every sign-in ended: sign in again on this device.
            _sign_in(current_user._get_current_object())
            flash(_("Your password has been changed. Other devices have been signed out."), "success")
            return redirect(url_for("communities.personal_space"))
    return _password_page(form)


def _password_page(form):
    user = current_user._get_current_object()
    devices = [] if user.must_change_password else services.sign_ins(user)
    return render_template("accounts/password.html", form=form, devices=devices,
                           this_device=session.get(services.SIGN_IN_KEY))  # fmt: skip


@bp.route("/account/sign-ins/end-others", methods=["POST"])
@login_required
def end_other_sign_ins():
    """Sign out every other browser of this account (a forgotten school computer, a lost phone)."""
    ended = services.end_other_sign_ins(current_user, session.get(services.SIGN_IN_KEY))
    flash(_("Signed out of %(n)s other devices.", n=ended), "success")
    return redirect(url_for("accounts.password"))


@bp.route("/account/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        try:
            services.update_profile(
                current_user,
                name=form.name.data,
                phone=form.phone.data,
                email=form.email.data,
                bio=form.bio.data,
                subject=form.subject.data,
                stage=form.stage.data,
            )
        except services.AccountError as exc:
            # Under the field it concerns, as the form's own validation messages are.
            field = {"bad_phone": form.phone, "phone_taken": form.phone, "bad_name": form.name}.get(str(exc))
            if field is not None:
                field.errors = [*field.errors, error_text(exc)]
            else:
                flash(error_text(exc), "danger")
        else:
            flash(_("Profile saved."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form)


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["locale"] = code
    if current_user.is_authenticated:
        services.set_locale(current_user, code)
    return redirect(_safe_next(request.form.get("next")))


# Pages that stay open while a one-time password must still be replaced.
# The player's heartbeats and video files too: they answer JSON/bytes, not pages, and run every few
# seconds per viewer (a redirect means nothing to them, and this check loads the user).
_PASSWORD_EXEMPT = {"accounts.password", "accounts.logout", "accounts.set_language", "static", "healthz",
                    "watch.heartbeat", "watch.media"}  # fmt: skip


@bp.before_app_request
def _require_own_password():
    """A one-time password (roster import, admin reset) opens only the change-password page."""
    if (
        # The exempt endpoints first: they must not load the user (one query, per heartbeat/segment).
        request.endpoint not in _PASSWORD_EXEMPT
        and not request.path.startswith("/api/")
        and current_user.is_authenticated
        and current_user.must_change_password
    ):
        flash(_("Please choose your own password now."), "warning")
        return redirect(url_for("accounts.password"))


# Account administration (reset passwords, deactivate) registers its routes on this blueprint.
from lms.accounts import admin_views  # noqa: E402, F401
