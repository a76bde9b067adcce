"""Client records: intake, screenings, sessions written as they happen, follow-ups, reports.

No Qt here: the store and the recorder run headless; the records UI sits on top of them.
"""
