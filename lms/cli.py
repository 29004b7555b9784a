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
