#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Without DATABASE_URL/REDIS_URL, the embedded PostgreSQL + pgvector and Redis under var/ serve this
    # command (started here, or joined if `make run` or another command runs them); settings start nothing.
    from config.env import load_dotenv
    from nstsite import embedded

    load_dotenv()
    embedded.configure_environment()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
