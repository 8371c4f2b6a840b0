"""Schema fuzzing: schemathesis sends generated requests for every API operation to a live server.

The OpenAPI schema describes ``params`` and every field with types and bounds, so the generated
requests include NaN-adjacent, huge, negative and wrong-typed values. Any answer is fine except a
5xx: bad input must always be a 4xx with our error format. Bounded (``FUZZ_EXAMPLES`` per
operation) and derandomized, so the run is repeatable and takes well under a minute.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
# Revoking our own token would turn every later request into a 401 and hide the rest.
SKIP = {("DELETE", "/api/v1/auth/token/")}


def test_fuzzing_every_api_operation_finds_no_server_error(live_server, staff_user, queues):
    import schemathesis
    from rest_framework.test import APIClient

    admin = APIClient()
    admin.force_authenticate(staff_user)
    raw = admin.get("/api/schema/?format=json").json()
    schema = schemathesis.openapi.from_dict(raw)
    token = Token.objects.create(user=staff_user).key
    headers = {"Authorization": f"Token {token}"}
    failures: list[str] = []
    tried = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        tried += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(base_url=live_server.url, headers=headers, timeout=30)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {case.body!r:.300}")

        run()
    assert tried > 20  # the schema really listed the API
    assert failures == [], "\n".join(failures)
