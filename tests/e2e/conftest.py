"""End-to-end fixtures: the real bot (``create_bot``) in SimCord, in virtual time, and the
check of every REST request it made (``tests.support.studio`` holds the ``Studio``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import time_machine
from simcord import Env

from bot.app import StudyOnBot, create_bot, studyon_teardown
from bot.config import Config
from bot.simulation import frozen_wall_clock, patient_member_actions
from tests.e2e.contract import check_requests, report
from tests.support.studio import Studio, make_config


@pytest.fixture(autouse=True)
def rest_contract(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that ran the bot in SimCord, check every REST request it made against
    Discord's API description and limits (``contract.py``); any violation fails the test."""
    yield
    envs = {id(v): v for v in request.node.funcargs.values() if isinstance(v, Env)}
    for env in envs.values():
        requests = list(env.http_requests)
        violations = check_requests(requests)
        if violations:
            pytest.fail(report(violations, len(requests)), pytrace=False)


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with frozen_wall_clock() as traveller:
        yield traveller


@pytest.fixture
def studyon_config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def simcord_bot(frozen: time_machine.Traveller, studyon_config: Config) -> StudyOnBot:
    return create_bot(studyon_config, simulated=True)


@pytest.fixture
async def studio(simcord_env: Env, frozen: time_machine.Traveller) -> AsyncIterator[Studio]:
    bot = simcord_env.bot
    assert isinstance(bot, StudyOnBot)
    patient_member_actions(simcord_env)
    await bot.tree.sync()  # what `studyon sync` does once per deployment
    try:
        yield Studio(simcord_env, frozen, synced=True)
    finally:
        # SimCord's shutdown does not call close(): release the database and store here,
        # or their worker threads keep the test process alive after a failure
        await studyon_teardown(bot)
