"""The periodic jobs every process runs, and their intervals."""

from __future__ import annotations

from datetime import timedelta

from bot import jobs


def test_every_process_runs_the_same_jobs_at_their_intervals() -> None:
    """The one list in bot/jobs.py: each job once, under the name its claims are stored by."""
    assert {job.name: job.every for job in jobs.JOBS} == {
        "jobs.prune": timedelta(days=1),
        "retention": timedelta(hours=1),
        "broadcast.release": timedelta(seconds=10),
        "broadcast.progress": timedelta(seconds=10),
        "reminders": timedelta(minutes=1),
        "broadcast.ack_remind": timedelta(minutes=5),
        "case.escalate": timedelta(minutes=5),
        "case.satisfaction": timedelta(minutes=15),
        "whatsapp.settle": timedelta(minutes=1),
    }
    assert len(jobs.JOBS) == len({job.name for job in jobs.JOBS})
