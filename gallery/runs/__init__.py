"""Job bodies: what each style job does, called only from ``gallery/jobs.py`` (which claims a row first).

The request side (``previews.py``, ``landing.py``) imports their file and cache names from here, never the
other way round, so no module both enqueues a job and runs it.
"""
