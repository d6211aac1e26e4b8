"""Schemathesis against the application's own ``/api/v2/openapi.json``: every operation,
called through the WSGI app with generated input, valid and invalid, by a signed-in admin
whose organisation has one of every object in place (``tests/fixtures/tenants.py``).
Schemathesis's checks: no 5xx, and every response (status, content type, headers, body) is
what the document says; invalid input is refused, valid input is not.

Path parameters take the real objects' ids for every operation except DELETE, so generated
bodies reach real objects; DELETEs keep generated ids (deleting the fixtures would leave the
other operations nothing to work on).  The operations are driven from a plain test rather
than ``schemathesis.pytest.from_fixture``, whose lazy loader sets ``Function._nodeid``, an
attribute pytest 9 no longer has.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance


pytestmark = pytest.mark.functional

# Not ours to promise: unknown query parameters are ignored (as most HTTP APIs do), and
# valid-looking input may still be refused for what a schema cannot say (a URL that does
# not resolve, a name already taken, an id that does not exist).
EXCLUDED_CHECKS = [negative_data_rejection, positive_data_acceptance]
EXAMPLES = settings(
    max_examples=3,
    deadline=None,
    database=None,
    # No shrinking: each step is a request and a transaction; the failing case is reported.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def operations(web_config):
    schema = schemathesis.openapi.from_wsgi("/api/v2/openapi.json", web_config.make_wsgi_app())
    return [result.ok() for result in schema.get_all_operations()]


def fixed_path_parameters(operation, ids: dict) -> dict:
    if operation.method.upper() == "DELETE":
        return {}
    names = re.findall(r"{(\w+)}", operation.path)
    return {name: ids[name] for name in names if name in ids}


def fuzz(operation, mode, victim) -> None:
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=fixed_path_parameters(operation, victim.ids) or None
    )

    @EXAMPLES
    @given(case=strategy)
    def run(case):
        case.call_and_validate(headers=victim.headers, excluded_checks=EXCLUDED_CHECKS)

    run()


def test_every_operation_survives_generated_input(web_config, victim):
    found = operations(web_config)
    assert len(found) >= 90, "the document lists too few operations to prove anything"
    failures = []
    for operation in found:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, victim)
            except (Exception, BaseExceptionGroup) as exc:  # every failing operation, not the first
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"
                )
    assert not failures, "\n\n".join(failures)


def test_nul_characters_are_refused_not_a_database_error(api, victim):
    """Found by the fuzzer on PostgreSQL, which cannot store NUL in text: a 422, not a 500."""
    response = api.patch(
        f"/api/v2/routes/{victim.ids['route']}",
        {"name": "in\x00side"},
        headers=victim.headers,
        status=422,
    )
    assert response.json["error"]["field"] == "name"
