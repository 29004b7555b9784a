"""Helpers for /api/v1 tests: bearer-token clients and checking answers against the OpenAPI document."""

import pytest

from lms.accounts import services as accounts


@pytest.fixture
def api_as(app, db):
    """api_as(user) -> a test client that sends a fresh bearer token of that user (None: no auth)."""

    def _client(user=None):
        client = app.test_client()
        if user is not None:
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.issue_token(user, 1)}"
        return client

    return _client


@pytest.fixture
def conforms(app):
    """conforms(response, "Schema") asserts the JSON body is valid against a component schema."""
    from openapi_schema_validator import OAS30Validator

    from lms.api import openapi_document

    components = openapi_document()["components"]

    def _check(resp, name):
        data = resp.get_json()
        OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": components}).validate(data)
        return data

    return _check
