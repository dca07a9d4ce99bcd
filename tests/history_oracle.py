"""A brute-force oracle of campaign history: the contract's definitions, literally
(the campaign-history contract's "Terms", as docs/design/history.md §2 restates them), with none of the
writer's machinery — no timelines, no intervals, no skipping of unchanged records.

Every supply and every retirement is an event `(survey_date, load_seq, key, …)`. The state
at D of a key is its latest event dated <= D (ties: the later load): a supply means present
with that load's values, a retirement means absent. A `--prune` load of source S dated D
retires the keys it lacks whose state at D — as known before the load — came from S.

NO_TRACE: the contract's no-op rule ("a load that gives a record exactly the values it
already has at that survey date adds no version") is applied literally too, so an equal
supply is no event. Its consequence, which a literal reading of "not supplied again after
that retirement" would contradict: a *late* --prune dated D0 retires a record from D0 until
its next recorded entry, even if a load dated after D0 supplied it unchanged
(docs/design/history.md §5, "Known limit").
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Event:
    day: dt.date
    seq: int
    key: str
    retired: bool
    source: str
    values: tuple = ()


@dataclass
class Oracle:
    events: list[Event] = field(default_factory=list)
    seq: int = 0

    def load(self, day: dt.date, source: str, records: dict[str, tuple], prune: bool = False) -> None:
        """One committed load: `records` maps key -> its values (any comparable tuple)."""
        self.seq += 1
        before = self.state(day)
        if prune:
            for key, (src, _) in before.items():
                if src == source and key not in records:
                    self.events.append(Event(day, self.seq, key, True, source))
        for key, values in records.items():
            # "a load that gives a record exactly the values it already has at that survey
            # date adds no version": such a supply leaves no trace (see NO_TRACE below)
            if before.get(key) == (source, tuple(values)):
                continue
            self.events.append(Event(day, self.seq, key, False, source, tuple(values)))

    def state(self, day: dt.date) -> dict[str, tuple[str, tuple]]:
        """key -> (source, values) of every record present at `day`."""
        latest: dict[str, Event] = {}
        for e in self.events:
            if e.day <= day and (e.key not in latest or (e.day, e.seq) > (latest[e.key].day, latest[e.key].seq)):
                latest[e.key] = e
        return {k: (e.source, e.values) for k, e in latest.items() if not e.retired}

    def latest_day(self) -> dt.date | None:
        return max((e.day for e in self.events), default=None)
