"""What the admin says about a whole upload: the sidecar JSON and the `process` options.

Many lists leave out what is the same for every row (the election date, the city): these fill the
gaps. `columns` maps header text to a role and wins over every other layer of the column mapping.
"""

import json
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.addresses import address_problem
from elevra_pipeline.intake.roles import Role, normalize_header

EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)


def plausible_date(text: str) -> date | None:
    """A real calendar date between 1900 and 2100 (past elections are valid records), else None."""
    try:
        value = date.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value if EARLIEST <= value <= LATEST else None


class UploadOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uploader_email: str | None = None
    debug: bool = False
    election_date: str | None = Field(default=None, description="YYYY-MM-DD for rows without a date")
    jurisdiction: str | None = None
    state: str | None = None
    columns: dict[str, Role] = Field(
        default_factory=dict, description="header text -> role; wins over aliases and model"
    )
    include_hidden_sheets: bool = False
    election_type: str | None = Field(default=None, description="general, primary… for rows that do not say")
    open_primary: bool = False  # a primary whose parties share one contest (top-two); else one per party
    include_not_on_ballot: bool = False  # keep withdrawn, removed, deceased… people as candidates
    mode: Literal["online", "batch", "auto"] = Field(default="auto", description="how the model calls go")
    deadline: str | None = Field(default=None, description="when results are needed: YYYY-MM-DD[THH:MM]")
    review: bool | None = None  # stage the records until `approve ID` (None: the deployment's ELEVRA_REVIEW)
    date_order: Literal["mdy", "dmy"] | None = Field(default=None, description="03/11/2026: mdy March 11, dmy 3 Nov")
    sidecar_error: str | None = None

    @field_validator("election_date")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        if value and not plausible_date(value.strip()):
            raise ValueError(f"'{value}' is not a date between 1900 and 2100 written as YYYY-MM-DD")
        return value.strip() if value else None

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'{value}' is not a date or time written as YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
        return value.strip()

    @field_validator("jurisdiction", "state", "uploader_email", "election_type")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return " ".join(value.split())[:255] or None if value else None

    @model_validator(mode="after")
    def _mailable_uploader(self):
        """A bad address is dropped with a warning (the team is still told); it never rejects the upload."""
        if self.uploader_email and (problem := address_problem(self.uploader_email)):
            warning = f"uploader_email: {problem}; only the team is e-mailed about this upload"
            self.uploader_email = None
            self.sidecar_error = f"{self.sidecar_error}; {warning}" if self.sidecar_error else warning
        return self

    def override_for(self, header: str) -> Role | None:
        wanted = normalize_header(header)
        return next((role for name, role in self.columns.items() if normalize_header(name) == wanted), None)


def parse_options(*layers: dict) -> UploadOptions:
    """Later layers win (sidecar, then command-line options); a bad value names the setting."""
    merged: dict = {}
    for layer in layers:
        merged.update({k: v for k, v in (layer or {}).items() if v is not None})
    if isinstance(merged.get("columns"), str):
        try:
            merged["columns"] = json.loads(merged["columns"])
        except ValueError as e:
            raise UnusableUploadError(f'columns: not valid JSON ({e}); write it as {{"Header": "role"}}') from e
    try:
        return UploadOptions.model_validate(merged)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}" for err in e.errors()
        )
        roles = any(err["loc"][:1] == ("columns",) for err in e.errors())
        hint = f" (roles: {', '.join(r.value for r in Role)})" if roles else ""
        raise UnusableUploadError(f"upload options are invalid: {problems}{hint}") from e
