"""The Task records are the one place that says what a task is: every part of pdbridge that
serves, lists or runs tasks follows them."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from test_pattern import random_pattern

from pdbridge.cli import COMMANDS
from pdbridge.core.pattern import FEATURES, voice_columns
from pdbridge.models import registry
from pdbridge.models.tasks import INFILL_VOICE, TASKS, pattern_tasks, task

REPO = Path(__file__).resolve().parents[1]


def test_every_verb_is_a_command_and_every_request_is_documented():
    doc = (REPO / "docs" / "protocol.md").read_text()
    requests = set(re.findall(r"^\| `(/[a-z]+)` \|", doc.split("## Requests")[1], flags=re.M))
    for record in TASKS.values():
        if record.verb:
            assert COMMANDS[record.verb][1] == record.help, record.name
        if record.request:
            assert record.request in requests, record.name
        assert record.kind in {"vae", "direct", "next_step"}, record.name


def test_a_task_that_serves_another_answers_its_job():
    for record in TASKS.values():
        assert record.job in TASKS and TASKS[record.job].serves is None, record.name
        if record.serves:  # it has no request or verb of its own
            assert record.request is None and record.verb is None, record.name


def test_every_architecture_defaults_to_a_task_of_its_kind():
    for name, spec in registry.REGISTRY.items():
        assert TASKS[spec.task].kind == spec.kind, name


@pytest.mark.parametrize("record", pattern_tasks(), ids=lambda t: t.name)
def test_pattern_tasks_keep_the_shape_and_merge_as_they_say(record):
    x = np.stack([random_pattern(seed=s).to_array() for s in range(3)])
    model_input = record.model_input(x)
    assert model_input.shape[:2] == x.shape[:2] and model_input.dtype == np.float32
    answer = np.stack([random_pattern(seed=10 + s).to_array() for s in range(3)])[0]
    merged = record.merge(x[0], answer)
    assert merged.shape == (32, FEATURES)
    if record.all_hits:  # humanize: the input's hits, the model's velocities and offsets
        assert np.array_equal(merged[:, :9], x[0][:, :9])
    if record.name == "infill":  # every other voice exactly as given
        cols = voice_columns(INFILL_VOICE)
        keep = [c for c in range(FEATURES) if c not in cols]
        assert np.array_equal(merged[:, keep], x[0][:, keep])
        assert np.array_equal(merged[:, cols], answer[:, cols])


def test_an_unknown_task_is_one_clear_error():
    from pdbridge.core.errors import ModelError

    with pytest.raises(ModelError, match="unknown task 'nope'; known tasks: vae"):
        task("nope")
