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
