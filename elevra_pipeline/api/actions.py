"""The log of what was done through the API and by whom. An action that needs its upload's partition
run again says so (`wants_run`): the Dagster layer's `api_request_sensor` requests that run."""

from enum import StrEnum

from sqlalchemy import select

from elevra_pipeline.api.auth import Actor
from elevra_pipeline.api.tables import ApiAction
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.status import iso_utc


class Action(StrEnum):
    UPLOAD = "upload"
    REDO = "redo"
    SKIP = "skip"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RETRY = "retry"
    REVERT = "revert"
    APPROVE = "approve"
    DISCARD = "discard"

    @property
    def needs_run(self) -> bool:
        """The upload's work goes on only once its partition runs again (an approval's: to publish)."""
        return self in (Action.REDO, Action.SKIP, Action.RESUME, Action.RETRY, Action.APPROVE)


class ActionLog:
    def __init__(self, repo: Repository):
        self.repo = repo

    def record(
        self,
        actor: Actor,
        action: Action,
        upload_id: int | None,
        outcome: str,
        ok: bool = True,
        reason: str = "",
        batch_key: str | None = None,
        wants_run: bool = False,
    ) -> int:
        with self.repo.unit_of_work() as s:
            row = ApiAction(
                actor=actor.name,
                role=actor.role,
                action=action,
                upload_id=upload_id,
                batch_key=batch_key,
                reason=reason or None,
                outcome=outcome[:4000],
                ok=ok,
                wants_run=wants_run and ok,
            )
            s.add(row)
            s.flush()
            return row.id

    def received(self, upload_id: int) -> bool:
        """The upload was sent to the API (registered there, so its partition and run are still to come)."""
        with self.repo.unit_of_work() as s:
            query = select(ApiAction.id).where(ApiAction.upload_id == upload_id, ApiAction.action == Action.UPLOAD)
            return s.scalar(query.limit(1)) is not None

    def since(self, after_id: int, limit: int = 500) -> list[ApiAction]:
        with self.repo.unit_of_work() as s:
            query = select(ApiAction).where(ApiAction.id > after_id).order_by(ApiAction.id).limit(limit)
            return list(s.scalars(query))

    def of_upload(self, upload_id: int) -> list[dict]:
        with self.repo.unit_of_work() as s:
            rows = s.scalars(select(ApiAction).where(ApiAction.upload_id == upload_id).order_by(ApiAction.id))
            return [
                {
                    "id": a.id,
                    "at": iso_utc(a.at),
                    "by": a.actor,
                    "role": a.role,
                    "action": a.action,
                    "batch_key": a.batch_key,
                    "reason": a.reason,
                    "outcome": a.outcome,
                    "ok": a.ok,
                    "run_requested": a.wants_run,
                }
                for a in rows
            ]
