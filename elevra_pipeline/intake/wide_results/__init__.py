"""Results layouts read as candidate lists: choices across the columns (wide) or down the rows under
contest headings (sideways), with vote counts beside them.

A results sheet has no office or candidate column to map: its contests are titles over (or
headings above) its choices, and its rows are precincts. `read_results_layout` recognises such a
sheet from its values (`layout`), turns its choices into an ordinary table (office, candidate,
party, ...) that the intake reads like any list (`table`), and puts every row of the sheet back
into the intake report under its own row number: a choice line, a heading, vote counts, a note.
"""

from elevra_pipeline.intake.wide_results.table import read_results_layout

__all__ = ["read_results_layout"]
