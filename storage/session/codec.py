"""A run as JSON in the session store, and back.

The format is versioned (``"v": 2``). Two fields came later and are optional, so runs
stored before them read as they were: the pattern's long break (``pattern`` then has five
values instead of three) and the run's number in its room (``run_no``).

Runs written by earlier versions kept the vote, what was owed, the outcome and the delivery
instants in an untyped ``extra`` map; they are read into the typed aggregate unchanged in
meaning, so an upgrade keeps every running room.
"""

from __future__ import annotations

import json
from typing import Any

from bot.domain.alarms import MemberResult
from bot.domain.run import Owed, Run, RunOutcome
from bot.domain.timer import EventKind, Mode, Pattern, Timer, TimerEvent

FORMAT = 2


def _owed_to_json(owed: Owed) -> list[Any]:
    return [owed.attempt, owed.by, owed.at_ms]


def _owed_from_json(value: Any) -> Owed:
    if isinstance(value, dict):  # the earlier format: {"n", "by", "at"}
        return Owed(int(value.get("n", 1)), str(value.get("by", "")), int(value.get("at", 0)))
    attempt, by, at = value
    return Owed(int(attempt), str(by), int(at))


def _outcome_to_json(outcome: RunOutcome) -> dict[str, Any]:
    return {
        "kings": list(outcome.kings),
        "results": [
            [r.user_id, r.alarms, r.dismissed, r.on_time, r.is_king] for r in outcome.results
        ],
        "refunds": {str(u): p for u, p in outcome.refunds.items()},
    }


def _outcome_from_json(value: dict[str, Any]) -> RunOutcome:
    return RunOutcome(
        tuple(int(u) for u in value.get("kings", ())),
        tuple(
            MemberResult(int(u), int(a), int(d), int(o), bool(k))
            for u, a, d, o, k in value.get("results", ())
        ),
        {int(u): int(p) for u, p in (value.get("refunds") or {}).items()},
    )


def _pattern_to_json(p: Pattern) -> list[int] | dict[str, Any]:
    """A pomodoro pattern as ``[study, break, terms]``, then ``long_break, long_every`` when it
    has long breaks (the form stored before modes existed); any other mode as an object."""
    if p.mode is not Mode.POMODORO:
        out: dict[str, Any] = {
            "mode": p.mode.value,
            "study": p.study_ms,
            "break": p.break_ms,
            "terms": p.terms,
        }
        if p.break_share is not None:
            out["share"] = p.break_share
        return out
    plain = [p.study_ms, p.break_ms, p.terms]
    if p.long_break_ms is not None and p.long_every is not None:
        plain += [p.long_break_ms, p.long_every]
    return plain


def _pattern_from_json(value: list[int] | dict[str, Any]) -> Pattern:
    if isinstance(value, dict):
        share = value.get("share")
        return Pattern(
            int(value["study"]),
            int(value["break"]),
            int(value["terms"]),
            mode=Mode(value["mode"]),
            break_share=int(share) if share is not None else None,
        )
    # a run stored before long breaks existed has the three values only
    study, brk, terms, *long = value
    if len(long) == 2:
        return Pattern(int(study), int(brk), int(terms), int(long[0]), int(long[1]))
    return Pattern(int(study), int(brk), int(terms))


def run_to_json(run: Run) -> str:
    t = run.timer
    data: dict[str, Any] = {
        "v": FORMAT,
        "run_id": run.run_id,
        "pattern": _pattern_to_json(t.pattern),
        "started_at_ms": t.started_at_ms,
        "events": [[e.kind.value, e.at_ms] for e in t.events],
        "fired_through": run.fired_through,
        "finished": run.finished,
    }
    if run.vote_until_ms is not None:
        data["vote_until_ms"] = run.vote_until_ms
    if run.owed_alarms:
        data["owed_alarms"] = {str(k): _owed_to_json(o) for k, o in run.owed_alarms.items()}
    if run.owed_results is not None:
        data["owed_results"] = _owed_to_json(run.owed_results)
    if run.outcome is not None:
        data["outcome"] = _outcome_to_json(run.outcome)
    if run.reached:
        data["reached"] = {str(k): v for k, v in run.reached.items()}
    if run.run_no is not None:
        data["run_no"] = run.run_no
    return json.dumps(data, separators=(",", ":"))


def run_from_json(text: str | bytes) -> Run:
    d = json.loads(text)
    timer = Timer(
        _pattern_from_json(d["pattern"]),
        d["started_at_ms"],
        tuple(TimerEvent(EventKind(k), at) for k, at in d["events"]),
    )
    if d.get("v") == FORMAT:
        return Run(
            run_id=d["run_id"],
            timer=timer,
            fired_through=d["fired_through"],
            finished=d["finished"],
            vote_until_ms=d.get("vote_until_ms"),
            owed_alarms={
                int(k): _owed_from_json(v) for k, v in (d.get("owed_alarms") or {}).items()
            },
            owed_results=_owed_from_json(d["owed_results"]) if "owed_results" in d else None,
            outcome=_outcome_from_json(d["outcome"]) if "outcome" in d else None,
            reached={int(k): int(v) for k, v in (d.get("reached") or {}).items()},
            run_no=int(d["run_no"]) if d.get("run_no") is not None else None,
        )
    return _from_earlier_format(d, timer)


def _from_earlier_format(d: dict[str, Any], timer: Timer) -> Run:
    """A run written before the typed format: ``extra`` held ``vote_until_ms``, ``owed``
    ({"b:<k>" | "end": {"n", "by", "at"}}), ``announce`` and ``reached``."""
    extra: dict[str, Any] = d.get("extra") or {}
    owed: dict[str, Any] = extra.get("owed") or {}
    vote = extra.get("vote_until_ms")
    announce = extra.get("announce")
    return Run(
        run_id=d["run_id"],
        timer=timer,
        fired_through=d["fired_through"],
        finished=d["finished"],
        vote_until_ms=int(vote) if vote is not None else None,
        owed_alarms={
            int(what.removeprefix("b:")): _owed_from_json(entry)
            for what, entry in owed.items()
            if what.startswith("b:")
        },
        owed_results=_owed_from_json(owed["end"]) if "end" in owed else None,
        outcome=_outcome_from_json(announce) if announce else None,
        reached={int(k): int(v) for k, v in (extra.get("reached") or {}).items()},
    )
