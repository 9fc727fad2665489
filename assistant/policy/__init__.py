"""The rules of rules/ read and applied: language, triage, tone, SLA, timetable."""
