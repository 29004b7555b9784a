"""The OpenAPI document: valid, served without auth, and listing exactly the app's /api/v1 rules."""

import re

from openapi_spec_validator import validate

from tests.api.helpers import API

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _document(client):
    resp = client.get(f"{API}/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()


def test_document_is_valid_openapi(client):
    doc = _document(client)
    assert doc["openapi"].startswith("3.")
    validate(doc)


def test_document_lists_every_api_rule_and_nothing_else(app, client):
    doc = _document(client)
    served: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == API or rule.rule.startswith(API + "/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(API) :])
            served |= {(path, m.lower()) for m in rule.methods - IGNORED_METHODS}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served, "no /api/v1 rules found"
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


def test_path_parameters_match_the_rules(client):
    for path, ops in _document(client)["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def test_operations_describe_bodies_responses_and_auth(client):
    doc = _document(client)
    schemas = doc["components"]["schemas"]
    operation_ids = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            operation_ids.append(op["operationId"])
            assert op["summary"], (path, method)
            if "requestBody" in op:
                content = op["requestBody"]["content"]
                if "multipart/form-data" in content:  # an upload: the file fields are described inline
                    assert content["multipart/form-data"]["schema"]["properties"], (path, method)
                else:
                    ref = content["application/json"]["schema"]["$ref"]
                    assert ref.rsplit("/", 1)[1] in schemas
                assert "400" in op["responses"]
            success = [code for code in op["responses"] if code.startswith("2")]
            assert len(success) == 1, (path, method)
            if success != ["204"]:
                assert "content" in op["responses"][success[0]], (path, method)
            if op["security"]:
                assert "401" in op["responses"], (path, method)
                schemes = {name for req in op["security"] for name in req}
                # The session cookie is never enough for an unsafe method.
                assert schemes == ({"bearerAuth", "cookieAuth"} if method == "get" else {"bearerAuth"}), (path, method)
    assert len(operation_ids) == len(set(operation_ids))
    public = {(p, m) for p, ops in doc["paths"].items() for m, op in ops.items() if not op["security"]}
    assert public == {("/openapi.json", "get"), ("/auth/token", "post")}


def test_document_declares_id_card_rules(client):
    member = _document(client)["components"]["schemas"]["Member"]["properties"]
    assert "idcard.view_full" in member["id_card"]["description"]
    assert "member.contact" in member["phone"]["description"]
