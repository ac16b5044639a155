"""Structured-output schemas: Gemini must answer in these shapes, or the attempt is an error."""

from typing import Literal

from pydantic import BaseModel, Field

ElectionType = Literal["general", "primary", "special", "runoff", "municipal", "unknown"]


class BatchAnalysis(BaseModel):
    """Stage 1: what the messy rows of one election batch mean."""

    jurisdiction: str
    office: str
    district: str = ""
    election_date: str = Field(description="ISO date YYYY-MM-DD, or empty when unknown")
    election_type: ElectionType = "unknown"
    candidate_count: int
    data_issues: list[str] = Field(default_factory=list)
    can_structure: bool = Field(description="False when the rows cannot yield a valid election")
    reason: str = Field(default="", description="Why the batch cannot be structured, if so")


class Link(BaseModel):
    url: str
    kind: str = "website"


class CandidateRecord(BaseModel):
    name: str
    party: str = ""
    website: str = ""
    links: list[Link] = Field(default_factory=list)


class ElectionRecord(BaseModel):
    name: str
    jurisdiction: str
    office: str
    district: str = ""
    election_date: str = Field(description="ISO date YYYY-MM-DD")
    election_type: ElectionType = "general"
    links: list[Link] = Field(default_factory=list)


class StructuredBatch(BaseModel):
    """Stage 2: strict records ready to insert."""

    election: ElectionRecord
    candidates: list[CandidateRecord]


class ColumnRoleAnswer(BaseModel):
    column: str = Field(description="the header text exactly as given")
    role: str
    confidence: float = Field(ge=0, le=1)


class ColumnMappingAnswer(BaseModel):
    """Once per sheet, when the known header names leave a required role open."""

    columns: list[ColumnRoleAnswer]
