"""Queue entry points for customers: bulk tags too large to run inside a request."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from patron.customers.services.tags import bulk_tag_job_run


# Retries resume after the last committed batch, and a repeated batch changes nothing twice.
@db_task(retries=3, retry_delay=30)
def bulk_tag_job_run_task(token: str) -> None:
    bulk_tag_job_run(token=token)
