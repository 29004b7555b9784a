"""Small helpers shared by the /api/v1 tests."""

API = "/api/v1"


def error_of(resp) -> str:
    """The error code of a JSON error answer, asserting the envelope carries nothing else."""
    body = resp.get_json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == resp.status_code
    return body["error"]["message"]
