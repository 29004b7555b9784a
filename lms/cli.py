"""`flask --app wsgi lms ...` commands."""

import click
from flask.cli import AppGroup

lms_cli = AppGroup("lms", help="Yanxiu administration commands.")


@lms_cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--name", default="管理员")
@click.password_option()
def create_admin(username, name, password):
    """Create a site administrator."""
    from lms.access.services import assign, site_context
    from lms.accounts.services import create_user
    from lms.extensions import db

    user = create_user(username, name, password)
    db.session.flush()
    assign(user, "site_admin", site_context())
    db.session.commit()
    click.echo(f"site admin {username} created")


# --- bootstrapping a province from the shell (issue 2) ---------------------------------------------
# The same services as the administration pages, so the same names are refused for the same reasons;
# the shell is trusted with every role (the installer makes the first province admin and site admins).


def _message(exc) -> str:
    from flask_babel import force_locale

    from lms.communities.admin_views import admin_error

    with force_locale("en"):
        return admin_error(exc)


def _place(model, ref: str, what: str, plural: str):
    from lms.communities.services import find_places

    found = find_places(model, ref)
    if not found:
        raise click.ClickException(f"no {what} {ref!r} (give its id, code or name)")
    if len(found) > 1:
        # Each with what it is under, so the installer can tell them apart.
        listed = ", ".join(f"{p.id} {p.name}" + _under(p) for p in found[:10])
        raise click.ClickException(f"several {plural} are called {ref!r}: {listed}; give the id")
    return found[0]


def _under(place) -> str:
    above = getattr(place, "parent", None) or getattr(place, "county", None)
    return f" (in {above.name})" if above is not None else ""


@lms_cli.command("create-region")
@click.argument("name")
@click.option("--parent", help="The region above (id, division code or name); none for a province.")
@click.option("--code", help="Administrative division code, 6 or 12 digits (e.g. 360102).")
def create_region(name, parent, code):
    """Create a province, or a city or county under --parent (the level follows the parent)."""
    from lms.communities import services
    from lms.communities.models import Region

    above = _place(Region, parent, "region", "regions") if parent else None
    try:
        region = services.add_region(above, name, code)
    except services.CommunityError as exc:
        raise click.ClickException(_message(exc)) from None
    where = f" in {above.name}" if above else ""
    click.echo(f"{region.level} {region.name} created{where}: id {region.id}" + (f", code {code}" if code else ""))


@lms_cli.command("create-school")
@click.argument("name")
@click.option("--county", required=True, help="The county (id, division code or name).")
@click.option("--stage", type=click.Choice(["primary", "junior", "senior"]), help="School stage.")
def create_school(name, county, stage):
    """Create a school in a county (its name as the roster files spell it)."""
    from lms.communities import services
    from lms.communities.models import Region

    try:
        school = services.add_school(_place(Region, county, "county", "counties"), name, stage)
    except services.CommunityError as exc:
        raise click.ClickException(_message(exc)) from None
    click.echo(f"school {school.name} created in {school.county.name}: id {school.id}")


@lms_cli.command("grant-role")
@click.argument("username")
@click.argument("role")
@click.option("--region", "region_ref", help="Region where the role is held (id, code or name).")
@click.option("--school", "school_ref", help="School where the role is held (id or name).")
@click.option("--workshop", "workshop_id", type=int, help="Workshop id where the role is held.")
@click.option("--project", "project_id", type=int, help="Training project id (project_manager is held in one).")
@click.option("--new-name", help="Create the account USERNAME with this name if it does not exist.")
@click.option("--revoke", is_flag=True, help="Take the role away instead.")
def grant_role(username, role, region_ref, school_ref, workshop_id, project_id, new_name, revoke):
    """Give USERNAME a ROLE at a region, school, workshop or project (site_admin: at the site, no place).

    Roles: province_admin, city_admin, county_admin, supervisor, expert, school_admin,
    school_trainer, host, site_admin; project_manager in a project (--project; a region-wide one
    from before projects can still be revoked with --region). A new account gets a one-time password, printed
    once, that must be changed at the first sign-in."""
    from lms.access import services as access
    from lms.access.roles import ROLE_CONTEXTS
    from lms.accounts import services as accounts
    from lms.communities.models import Region, School, Workshop
    from lms.extensions import db

    if role not in ROLE_CONTEXTS:
        raise click.BadParameter(f"one of {', '.join(ROLE_CONTEXTS)}", param_hint="ROLE")
    if sum(x is not None for x in (region_ref, school_ref, workshop_id, project_id)) > 1:
        raise click.UsageError("give one place: --region, --school, --workshop or --project")
    if region_ref:
        place = _place(Region, region_ref, "region", "regions").context
    elif school_ref:
        place = _place(School, school_ref, "school", "schools").context
    elif workshop_id is not None:
        ws = db.session.get(Workshop, workshop_id)
        if ws is None:
            raise click.ClickException(f"no workshop {workshop_id}")
        place = ws.context
    elif project_id is not None:
        from lms.projects.models import Project

        project = db.session.get(Project, project_id)
        if project is None:
            raise click.ClickException(f"no project {project_id}")
        place = project.context
    else:
        place = access.site_context()
    user = accounts.find_by_login(username)
    password = None
    if user is None:
        if not new_name or revoke:
            raise click.ClickException(f"no account {username!r} (add --new-name to create it)")
        password = accounts.generate_initial_password()
        try:
            user = accounts.create_user(username, new_name.strip()[:64], password, must_change_password=True)
        except accounts.AccountError:
            raise click.ClickException("a username has 3-64 letters, digits, '_', '.' or '-'") from None
        db.session.flush()
    try:
        if revoke:
            access.revoke_by_shell(user, role, place)
        else:
            access.grant_by_shell(user, role, place)
    except access.AccessError as exc:
        db.session.rollback()
        raise click.ClickException(_message(exc)) from None
    click.echo(f"{username}: {role} {'revoked' if revoke else 'granted'} at {place.kind} {place.name}")
    if password:
        click.echo(f"new account {username}, one-time password (shown once): {password}")


@lms_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users (for `make run`).")
@click.option("--seed", type=int, default=None, help="Random seed; the same seed builds the same province.")
@click.option("--scale", type=click.IntRange(50, 200_000), default=None, help="Number of teachers (default 3000).")
@click.option("--password", default=None, help="Password of every demo account (default Demo2026!).")
def demo(if_empty, seed, scale, password):
    """Build a fictitious demo province: regions, schools, teachers, workshops, roles, announcements."""
    import time

    from lms.accounts.services import AccountError, check_password_strength
    from lms.communities import demo as demo_data

    if demo_data.has_users():
        if if_empty:
            click.echo("The database already has users: demo data not loaded.")
            return
        raise click.ClickException("The database already has users; demo data goes into an empty database only.")
    password = password or demo_data.DEFAULT_PASSWORD
    try:
        check_password_strength(password)
    except AccountError as exc:
        raise click.ClickException(f"weak demo password ({exc})") from None
    started = time.perf_counter()
    result = demo_data.build(
        scale=scale or demo_data.DEFAULT_SCALE,
        seed=demo_data.DEFAULT_SEED if seed is None else seed,
        password=password,
    )
    click.echo(demo_data.summary(result))
    click.echo(f"({time.perf_counter() - started:.1f} s)")


@lms_cli.command("run-due")
@click.option("--force", is_flag=True, help="Run every task now, due or not.")
def run_due(force):
    """Run the periodic tasks that are due (homework phases and reminders, activity notices, cleanup).

    The app runs them itself while LMS_SCHEDULER is on; with it off, call this from cron."""
    from flask import current_app

    from lms.core.schedule import run_due as run

    done = run(current_app._get_current_object(), force=force)
    for name, result in done.items():
        click.echo(f"{name}: {result}")
    if not done:
        click.echo("nothing due")


@lms_cli.command("resources-read-files")
def resources_read_files():
    """Read the words inside the files of resources uploaded before files were read (for search)."""
    from lms.resources.services import read_files

    click.echo(f"{read_files()} resources read")


@lms_cli.command("idcard-key")
def idcard_key():
    """Print the key ID-card numbers are encrypted with (hex), to pin it as LMS_IDCARD_KEY."""
    from flask import current_app

    from lms.core.idcard import key_from_config

    click.echo(key_from_config(current_app.config).hex())


@lms_cli.command("idcard-rekey")
@click.option("--old-key", envvar="LMS_OLD_IDCARD_KEY", help="The previous LMS_IDCARD_KEY (hex).")
@click.option(
    "--old-secret-key",
    envvar="LMS_OLD_SECRET_KEY",
    help="The previous LMS_SECRET_KEY, when the previous key was derived from it.",
)
def idcard_rekey(old_key, old_secret_key):
    """Re-encrypt the stored ID-card numbers from a previous key to the key in effect.

    Give the previous key as LMS_OLD_IDCARD_KEY or LMS_OLD_SECRET_KEY (kept out of the shell history),
    or as an option; with neither, it is asked for. All numbers change in one transaction, or none."""
    from lms.accounts.services import reseal_idcards
    from lms.core.idcard import IdCardKeyError, key_from_config

    if old_key and old_secret_key:
        raise click.UsageError("give either the old key or the old secret key, not both")
    if not (old_key or old_secret_key):
        old_key = click.prompt("previous LMS_IDCARD_KEY (hex)", hide_input=True)
    try:
        old = key_from_config({"IDCARD_KEY": old_key or "", "SECRET_KEY": old_secret_key or ""})
        changed, current = reseal_idcards(old)
    except IdCardKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"re-encrypted {changed} ID-card numbers; {current} were already under the key in effect")
