"""The database's identity, which the session store records."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, dispose, migrate
from storage.uow import UnitOfWorkFactory


async def test_the_identity_is_issued_once_and_read_the_same(
    engine: AsyncEngine, uow_factory: UnitOfWorkFactory
) -> None:
    async with uow_factory() as uow:
        first = await uow.installation.identity()
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    await migrate(engine)  # migrating again issues nothing new
    async with uow_factory() as uow:
        assert await uow.installation.identity() == first


async def test_two_databases_have_different_identities(tmp_path: Path) -> None:
    identities = []
    for name in ("one.db", "two.db"):
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / name}")
        try:
            await migrate(engine)
            async with UnitOfWorkFactory(engine)() as uow:
                identities.append(await uow.installation.identity())
        finally:
            await dispose(engine)
    assert identities[0] != identities[1]
