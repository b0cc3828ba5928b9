"""Rasa 3.6, as the project runs it: `python -m bot.rasa_speedups run ...` is `rasa run ...` with one fix.

Rasa validates every custom action's response with `jsonschema.validate(result, schema)`, which first checks
the (constant, large) schema itself against the JSON-schema metaschema: about 40 ms of CPU per custom action
on these machines, most of a knowledge-base answer's turn. Here the validator is built once per schema and
reused; each response is still validated in full against the same schema, and an invalid one still raises
the same ValidationError. Measured by `make bench` (turn latency over REST); see README, Measurements.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Text

_installed = False


def install() -> None:
    """Make RemoteAction reuse one validator for its response schema (idempotent)."""
    global _installed
    if _installed:
        return
    from jsonschema import validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    cache: Dict[type, Any] = {}

    def _validate_action_result(self, result: Dict[Text, Any]) -> bool:
        validator = cache.get(type(self))
        if validator is None:
            schema = self.action_response_format_spec()
            cls = validators.validator_for(schema)
            cls.check_schema(schema)  # once, as jsonschema.validate does on every call
            validator = cache[type(self)] = cls(schema)
        error = best_match(validator.iter_errors(result))  # the error jsonschema.validate would raise
        if error is None:
            return True
        error.message += (  # and the message Rasa adds to it
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result
    _installed = True


def main() -> None:
    # As rasa.__main__ does, but before install() imports TensorFlow (through rasa.core.actions).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
