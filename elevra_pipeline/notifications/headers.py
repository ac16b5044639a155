"""E-mail header values come from uploads: the checks live with intake, which reads them first."""

from elevra_pipeline.intake.addresses import address_problem, clean_header

__all__ = ["address_problem", "clean_header"]
