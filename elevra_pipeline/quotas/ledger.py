"""The shared quota ledger: one SQL transaction admits a call against every limit of a model.

Rows in `quota_reservations` are sliding-window entries (`at` = when the call counts from). All
processes share them, so one quota holds across every Dagster run. PostgreSQL serializes per model
with `SELECT ... FOR UPDATE` on the model's lock row; SQLite, which has no row locks (SQLAlchemy
drops the `FOR UPDATE` there), with the `BEGIN IMMEDIATE` every app-database transaction starts with.
"""

import math
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, delete, func, select, update
from sqlalchemy.engine import Engine

from elevra_pipeline.quotas.limits import ModelLimits, QuotaConfig
from elevra_pipeline.quotas.windows import day_key, seconds_until_day_reset
from elevra_pipeline.storage.database import dialect_insert
from elevra_pipeline.storage.models import (
    GeminiBatchJob,
    ModelAttempt,
    QuotaDaily,
    QuotaLimitChange,
    QuotaModel,
    QuotaReservation,
)

PRUNE_EVERY = 500
_ATTEMPT_INSERT = ModelAttempt.__table__.insert()  # built once: settlements insert attempt rows by the hundred


@dataclass(frozen=True)
class Decision:
    admitted: bool
    reservation_id: int | None = None
    wait: float = 0.0  # seconds until this model could admit the call
    reason: str = ""


class QuotaLedger:
    def __init__(
        self,
        engine: Engine,
        window_seconds: float = 60.0,
        day_seconds: float | None = None,
        in_flight_lease_seconds: float = 600.0,
        arrival_margin_seconds: float = 0.0,
        adaptive: bool = False,
    ):
        self.engine = engine
        # until settled, a call counts from the latest the server can have counted it: an answer that
        # outlasts the window must not free its slot here before it frees on the server
        self.arrival_margin = arrival_margin_seconds
        self.window = window_seconds
        self.day_seconds = day_seconds
        self.lease = in_flight_lease_seconds
        self.adaptive = adaptive  # effective limits follow Google's 429s (see `rate_limited`)
        self._insert = dialect_insert(engine)
        self._postgres = engine.dialect.name == "postgresql"
        self._sql = self._statements()

    @classmethod
    def for_config(cls, engine: Engine, config: QuotaConfig) -> "QuotaLedger":
        return cls(
            engine,
            config.window_seconds,
            config.day_seconds,
            config.in_flight_lease_seconds,
            config.arrival_margin_seconds,
            config.adaptive,
        )

    def _statements(self) -> dict:
        """Built once: constructing SQLAlchemy statements per call costs more than running them."""
        r, m, d = QuotaReservation, QuotaModel, QuotaDaily
        in_window = (r.model == bindparam("model")) & (r.at > bindparam("since"))
        daily = self._insert(d.__table__).values(
            model=bindparam("model"), day_key=bindparam("day"), requests=bindparam("n", type_=Integer)
        )
        model_row = (  # the model's lock row: its cool-down and what was learnt of its limits
            m.cooldown_until,
            m.cooldown_reason,
            m.rpm_effective,
            m.tpm_effective,
            m.rpd_effective,
            m.rpd_effective_day,
            m.limits_changed_at,
            m.probe_windows,
            m.last_cut_at,
            m.unavailable_at,
            m.unavailable_reason,
        )
        statements = {
            "lock": select(*model_row, *self._no_flush_wait())
            .where(m.model == bindparam("model"))
            .with_for_update(of=m),
            "read": select(*model_row).where(m.model == bindparam("model")),
            # one round trip while the model is locked: the window, the day and the tokens in flight
            "usage": select(
                select(func.count()).where(in_window).scalar_subquery(),
                select(func.coalesce(func.sum(r.tokens), 0)).where(in_window).scalar_subquery(),
                select(d.requests)
                .where(d.model == bindparam("model"), d.day_key == bindparam("day"))
                .scalar_subquery(),
                select(func.coalesce(func.sum(r.tokens), 0))
                .where(r.model == bindparam("model"), r.in_flight.is_(True), r.at > bindparam("lease_since"))
                .scalar_subquery(),
            ),
            "reserve": r.__table__.insert()
            .values(
                model=bindparam("model"),
                at=bindparam("at"),
                tokens=bindparam("tokens"),
                day_key=bindparam("day"),
                in_flight=True,
            )
            .returning(r.id, sort_by_parameter_order=True),  # one row per call admitted, in their order
            "count_days": daily.on_conflict_do_update(
                index_elements=["model", "day_key"],
                set_={"requests": d.__table__.c.requests + bindparam("n", type_=Integer)},
            ),
            "settle": update(r)
            .where(r.id == bindparam("rid"))
            .values(
                at=bindparam("at"), in_flight=False, tokens=func.coalesce(bindparam("tokens", type_=Integer), r.tokens)
            ),
        }
        return statements

    @contextmanager
    def _transaction(self):
        """A ledger transaction. On PostgreSQL its commit does not wait for the WAL to reach the disk
        (`synchronous_commit = off`, this transaction only): the model's lock is held through the commit,
        so the flush would otherwise be what serializes every reservation. What it risks is the last
        fraction of a second of reservations if the database server itself crashes; the server's 429s
        would then be read like any other. The app's records keep full durability."""
        with self.engine.begin() as conn:
            if self._postgres:
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield conn

    def _no_flush_wait(self) -> list:
        """The same setting as a column of the model-lock query, saving a round trip (PostgreSQL)."""
        return [func.set_config("synchronous_commit", "off", True)] if self._postgres else []

    def _lock_model(self, conn, model: str):
        """Lock the model's row (creating it on first use) and return it: the cool-down first."""
        row = conn.execute(self._sql["lock"], {"model": model}).first()
        if row is None:
            conn.execute(
                self._insert(QuotaModel.__table__).values(model=model, cooldown_until=0.0).on_conflict_do_nothing()
            )
            row = conn.execute(self._sql["lock"], {"model": model}).one()
        return row

    def _effective(self, row, allowed: ModelLimits, day: str) -> ModelLimits:
        """`allowed` (declared x share) lowered by what was learnt from Google's 429s."""
        rpm, tpm, rpd, rpd_day = row[2], row[3], row[4], row[5]
        return allowed.model_copy(
            update={
                "rpm": min(allowed.rpm, rpm) if allowed.rpm and rpm else allowed.rpm,
                "tpm": min(allowed.tpm, tpm) if allowed.tpm and tpm else allowed.tpm,
                "rpd": min(allowed.rpd, rpd) if allowed.rpd and rpd and rpd_day == day else allowed.rpd,
            }
        )

    def _change(self, conn, model: str, limit: str, old: int, new: int, now: float, reason: str, **row) -> None:
        conn.execute(update(QuotaModel).where(QuotaModel.model == model).values(**row))
        conn.execute(
            QuotaLimitChange.__table__.insert().values(
                at=now, model=model, limit=limit, old=old, new=new, reason=reason
            )
        )

    def _raise_after_clean_windows(self, conn, model: str, row, allowed: ModelLimits, now: float) -> None:
        """Additive increase: a step (5% of what is allowed, at least 1) back towards it after
        `probe_windows` windows without a 429; the number of windows doubles after each cut (at most
        32), so a limit that was really reached is probed more and more rarely."""
        changed_at, probe = row[6], row[7] or 1
        if now - changed_at < self.window * probe:
            return
        for limit, column, current in (("rpm", "rpm_effective", row[2]), ("tpm", "tpm_effective", row[3])):
            ceiling = getattr(allowed, limit)
            if current is None or not ceiling or current >= ceiling:
                continue
            new = min(ceiling, current + max(1, round(ceiling * 0.05)))
            back = new >= ceiling
            self._change(
                conn,
                model,
                limit,
                current,
                new,
                now,
                f"{probe} clean window(s): raised by a step" + (", back to the share" if back else ""),
                **{column: None if back else new, "limits_changed_at": now, "probe_windows": 1 if back else probe},
            )

    def rate_limited(
        self, model: str, allowed: ModelLimits, scope: str | None, quota_id: str | None, now: float
    ) -> None:
        """Google said 429 while our own count was under the effective limit: someone else (the web app,
        another job) uses the same project's quota. Per minute: cut the limit the quota id names to what
        we had admitted in the window (at least one step); per day: today's limit to what we had sent.
        Recorded in `quota_limit_changes`."""
        if not self.adaptive or scope not in ("minute", "day"):
            return
        with self._transaction() as conn:
            row = self._lock_model(conn, model)
            today = day_key(now, self.day_seconds)
            effective = self._effective(row, allowed, today)
            count, used, done, _ = conn.execute(
                self._sql["usage"],
                {"model": model, "since": now - self.window, "day": today, "lease_since": now - self.lease},
            ).one()
            why = f"429 {quota_id or ''}".strip()
            if scope == "day":
                sent = max(1, done or 0)  # the refused call has left the count (settle_refused)
                if effective.rpd and sent < effective.rpd:
                    self._change(
                        conn, model, "rpd", effective.rpd, sent, now,
                        f"{why} after {sent} of our calls today: the rest of today's quota is used elsewhere",
                        rpd_effective=sent, rpd_effective_day=today,
                    )  # fmt: skip
                return
            limit = "tpm" if "token" in (quota_id or "").lower() else "rpm"
            current = getattr(effective, limit)
            ours = count if limit == "rpm" else int(used)  # the refused calls have left the window
            if not current or ours >= current:
                return  # we were at our own limit: nothing learnt
            step = max(1, round(getattr(allowed, limit) * 0.05))
            new = max(1, min(ours, current - step))
            # the 429s of one burst are one event: the wait before the next raise doubles once per event
            probe = (row[7] or 1) if now - row[8] < self.window else min(32, (row[7] or 1) * 2)
            self._change(
                conn, model, limit, current, new, now,
                f"{why} with {ours} of our {'calls' if limit == 'rpm' else 'tokens'} in the window: "
                "someone else uses this quota",
                **{f"{limit}_effective": new, "limits_changed_at": now, "probe_windows": probe, "last_cut_at": now},
            )  # fmt: skip

    def limit_changes(self, model: str | None = None, since: float = 0.0) -> list[dict]:
        c = QuotaLimitChange
        query = select(c.at, c.model, c.limit, c.old, c.new, c.reason).where(c.at >= since).order_by(c.id)
        if model:
            query = query.where(c.model == model)
        with self.engine.begin() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def effective_limits(self, model: str, allowed: ModelLimits, now: float) -> ModelLimits:
        with self.engine.begin() as conn:
            row = conn.execute(self._sql["read"], {"model": model}).first()
        return allowed if row is None else self._effective(row, allowed, day_key(now, self.day_seconds))

    def try_reserve(self, model: str, limits: ModelLimits, tokens: int, now: float, ahead: int = 0) -> Decision:
        """Admit now, or say how long until this call could be admitted behind `ahead` callers of the
        same process already waiting for this model (so they do not all wake for the same slot).
        `limits`: what the pipeline may take (declared x share); with `adaptive`, lowered by 429s."""
        return self.try_reserve_many(model, limits, [tokens], now, ahead)[0]

    def try_reserve_many(
        self,
        model: str,
        limits: ModelLimits,
        tokens: list[int],
        now: float,
        ahead: int = 0,
        patience: float = math.inf,
    ) -> list[Decision]:
        """`try_reserve` for several calls in one transaction, in order, as if each came after the one
        before: a refused call that will wait for this model (its wait within `patience`) is one more
        caller ahead of the next. One lock and one read of the window for a whole turn of the event loop."""
        r = QuotaReservation
        with self.engine.begin() as conn:
            row = self._lock_model(conn, model)  # counted only once locked
            cooldown_until, cooldown_reason = row[0], row[1]
            if row[9] is not None:  # retired or not found: never worth waiting for
                return [Decision(False, wait=math.inf, reason=f"unavailable ({row[10]})")] * len(tokens)
            if self.adaptive:
                if row[2] is not None or row[3] is not None:
                    self._raise_after_clean_windows(conn, model, row, limits, now)
                    row = conn.execute(self._sql["lock"], {"model": model}).one()
                limits = self._effective(row, limits, day_key(now, self.day_seconds))
            if cooldown_until > now:
                refused = Decision(False, wait=cooldown_until - now, reason=f"cooling down ({cooldown_reason})")
                return [refused] * len(tokens)
            since, today = now - self.window, day_key(now, self.day_seconds)
            count, used, done, _ = conn.execute(
                self._sql["usage"], {"model": model, "since": since, "day": today, "lease_since": now - self.lease}
            ).one()
            window: list | None = None  # the window's entries, read once if a call must wait
            decisions, admitted = [], []
            at = now + self.arrival_margin

            seen: tuple[int, list] = (-1, [])

            def entries() -> list:  # the window as the next call sees it: with this turn's admissions
                nonlocal window, seen
                window = window if window is not None else self._window(conn, model, since)
                if seen[0] != len(admitted):
                    seen = (len(admitted), sorted(window + [(at, tokens[i]) for i in admitted]))
                return seen[1]

            for asked in tokens:
                wait, reason = 0.0, ""
                if limits.tpm and asked > limits.tpm:
                    decisions.append(
                        Decision(False, wait=math.inf, reason=f"request of {asked} tokens exceeds TPM {limits.tpm}")
                    )
                    continue
                if limits.rpm and count + 1 > limits.rpm:
                    wait, reason = self._wait_for_requests(entries(), now, count + 1 + ahead - limits.rpm), "RPM"
                elif limits.tpm and used + asked > limits.tpm:
                    wait = self._wait_for(entries(), now, lambda _c, t: t + asked * (1 + ahead) <= limits.tpm)
                    reason = "TPM"
                if not reason and limits.rpd and (done or 0) + len(admitted) + 1 > limits.rpd:
                    wait, reason = seconds_until_day_reset(now, self.day_seconds), "RPD"
                if reason:
                    decisions.append(Decision(False, wait=max(wait, 0.001), reason=f"{reason} limit reached"))
                    ahead += wait <= patience
                    continue
                count, used = count + 1, used + asked
                admitted.append(len(decisions))
                decisions.append(None)
            if admitted:
                values = [{"model": model, "at": at, "tokens": tokens[i], "day": today} for i in admitted]
                ids = conn.execute(self._sql["reserve"], values).scalars().all()
                conn.execute(self._sql["count_days"], {"model": model, "day": today, "n": len(admitted)})
                for i, reservation_id in zip(admitted, ids):
                    decisions[i] = Decision(True, reservation_id=reservation_id)
                if any(i % PRUNE_EVERY == 0 for i in ids):
                    conn.execute(delete(r).where(r.at < now - max(self.window, self.lease) - 60))
            return decisions

    def _window(self, conn, model: str, since: float) -> list:
        r = QuotaReservation
        return conn.execute(select(r.at, r.tokens).where(r.model == model, r.at > since).order_by(r.at)).all()

    def _wait_for_requests(self, rows: list, now: float, leaving: int) -> float:
        """Seconds until the `leaving` oldest entries have left the window."""
        return rows[leaving - 1][0] + self.window - now if 0 < leaving <= len(rows) else self.window

    def _wait_for(self, rows: list, now: float, fits) -> float:
        """Seconds until enough of the oldest entries leave the window for `fits(count, tokens)`."""
        count, tokens = len(rows), sum(t for _, t in rows)
        for at, spent in rows:
            count, tokens = count - 1, tokens - spent
            if fits(count, tokens):
                return at + self.window - now
        return self.window

    def enqueued_batch_tokens(self, conn, model: str) -> int:
        """Input tokens of the model's Batch API jobs not yet ended (submitting ones included)."""
        job = GeminiBatchJob
        return conn.execute(
            select(func.coalesce(func.sum(job.estimated_tokens), 0)).where(job.model == model, job.ended_at.is_(None))
        ).scalar_one()

    def batch_capacity(self, model: str, limits: ModelLimits) -> float:
        """Tokens a new job of `model` may hold now: `batch_enqueued_tokens` less the open jobs' (inf: no limit)."""
        with self.engine.begin() as conn:
            unavailable = conn.execute(select(QuotaModel.unavailable_at).where(QuotaModel.model == model)).scalar()
            if unavailable is not None:
                return 0  # retired: no job goes to it
            if not limits.batch_enqueued_tokens:
                return math.inf
            return max(0, limits.batch_enqueued_tokens - self.enqueued_batch_tokens(conn, model))

    def open_batch_job(self, model: str, limits: ModelLimits, tokens: int, job: dict) -> int | None:
        """Reserve `tokens` of the model's `batch_enqueued_tokens` by writing the job's row (`job`: its
        columns) in one transaction with the check; the row's id, or None when the job would not fit.
        The tokens stay reserved until the job's `ended_at` is set."""
        with self._transaction() as conn:
            self._lock_model(conn, model)  # one job at a time per model, across processes
            enqueued = self.enqueued_batch_tokens(conn, model)
            if limits.batch_enqueued_tokens and enqueued + tokens > limits.batch_enqueued_tokens:
                return None
            values = {**job, "model": model, "estimated_tokens": tokens}
            return conn.execute(
                GeminiBatchJob.__table__.insert().values(**values).returning(GeminiBatchJob.id)
            ).scalar_one()

    def settle(
        self, reservation_id: int, now: float, actual_tokens: int | None = None, attempt: dict | None = None
    ) -> None:
        """After the call: count it from `now`, the latest the server can have counted it (see the engine).
        `attempt`, the call's attempt row, is written in the same transaction."""
        self.settle_many([(reservation_id, now, actual_tokens, attempt)])

    def settle_many(self, settled: list[tuple[int, float, int | None, dict | None]]) -> None:
        """`settle` for several calls (reservation id, at, tokens, attempt row or None) in one transaction."""
        with self._transaction() as conn:
            conn.execute(
                self._sql["settle"], [{"rid": rid, "at": at, "tokens": tokens} for rid, at, tokens, _ in settled]
            )
            by_columns: dict[tuple, list[dict]] = {}
            for *_, attempt in settled:
                if attempt is not None:
                    by_columns.setdefault(tuple(sorted(attempt)), []).append(attempt)
            for rows in by_columns.values():  # one INSERT per set of columns (executemany)
                conn.execute(_ATTEMPT_INSERT, rows)

    def settle_refused(self, reservation_id: int, attempt: dict | None = None) -> None:
        """A call Google refused with a 429 was not counted by Google: it leaves our windows and our day
        too, so our counts stay what Google counted (which is what `rate_limited` compares)."""
        r, d = QuotaReservation, QuotaDaily
        with self._transaction() as conn:
            row = conn.execute(select(r.model, r.day_key).where(r.id == reservation_id)).first()
            conn.execute(update(r).where(r.id == reservation_id).values(at=0.0, tokens=0, in_flight=False))
            if row is not None:
                conn.execute(update(d).where(d.model == row[0], d.day_key == row[1]).values(requests=d.requests - 1))
            if attempt is not None:
                conn.execute(ModelAttempt.__table__.insert().values(**attempt))

    def cool_down(self, model: str, until: float, reason: str) -> None:
        """Shared by every process: nobody sends to `model` before `until` (never shortened)."""
        with self._transaction() as conn:
            current = self._lock_model(conn, model)[0]
            if until > current:
                conn.execute(
                    update(QuotaModel)
                    .where(QuotaModel.model == model)
                    .values(cooldown_until=until, cooldown_reason=reason)
                )

    def mark_unavailable(self, model: str, at: float, reason: str) -> bool:
        """Gemini does not serve `model` (404, or not listed): every process skips it until it is found
        again. True when this call marked it (the first to see it: that one alerts the team)."""
        with self._transaction() as conn:
            if self._lock_model(conn, model)[9] is not None:
                return False
            conn.execute(
                update(QuotaModel)
                .where(QuotaModel.model == model)
                .values(unavailable_at=at, unavailable_reason=reason[:2000])
            )
            return True

    def mark_available(self, model: str, marked_by: str = "") -> bool:
        """Clear `model`'s mark (only one whose reason starts with `marked_by`). True when it was marked."""
        with self._transaction() as conn:
            row = self._lock_model(conn, model)
            if row[9] is None or not (row[10] or "").startswith(marked_by):
                return False
            conn.execute(
                update(QuotaModel).where(QuotaModel.model == model).values(unavailable_at=None, unavailable_reason=None)
            )
            return True

    def unavailable_models(self) -> dict[str, tuple[float, str]]:
        """model -> (since when, why) for every model marked unavailable."""
        m = QuotaModel
        query = select(m.model, m.unavailable_at, m.unavailable_reason).where(m.unavailable_at.is_not(None))
        with self.engine.begin() as conn:
            return {row[0]: (row[1], row[2] or "") for row in conn.execute(query)}

    def usage(self, model: str, now: float) -> dict:
        with self.engine.begin() as conn:
            count, used, daily, queued = conn.execute(
                self._sql["usage"],
                {
                    "model": model,
                    "since": now - self.window,
                    "day": day_key(now, self.day_seconds),
                    "lease_since": now - self.lease,
                },
            ).one()
            daily = daily or 0
            enqueued = self.enqueued_batch_tokens(conn, model)
            cooldown = conn.execute(
                select(
                    QuotaModel.cooldown_until,
                    QuotaModel.cooldown_reason,
                    QuotaModel.unavailable_at,
                    QuotaModel.unavailable_reason,
                ).where(QuotaModel.model == model)
            ).first()
        return {
            "requests_in_window": count,
            "tokens_in_window": int(used),
            "requests_today": daily,
            "tokens_in_flight": int(queued),
            "batch_enqueued_tokens": int(enqueued),
            "cooldown_seconds": max(0.0, cooldown[0] - now) if cooldown else 0.0,
            "cooldown_reason": cooldown[1] if cooldown and cooldown[0] > now else None,
            "unavailable_since": cooldown[2] if cooldown else None,
            "unavailable_reason": cooldown[3] if cooldown else None,
        }
