"""`python -m abbanoa check`: can every store be reached with the current settings?"""

from __future__ import annotations

from abbanoa.errors import AbbanoaError
from abbanoa.settings import Settings

HELP = "check that PostgreSQL, Redis, Pub/Sub and BigQuery answer with the current settings"


def checks(settings: Settings) -> list[tuple[str, str | None]]:
    """(service, None when fine or the reason it is not) for every store."""
    from abbanoa.stores import bigquery, cache, postgres, pubsub

    results: list[tuple[str, str | None]] = []

    def attempt(name, fn):
        try:
            fn()
            results.append((name, None))
        except AbbanoaError as exc:
            results.append((name, str(exc)))
        except Exception as exc:
            results.append((name, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))

    attempt("postgresql", lambda: postgres.check(settings))

    def redis_check():
        if not cache.Cache(settings).available():
            raise AbbanoaError(f"Redis at {settings.redis_url} is unreachable")

    attempt("redis", redis_check)

    def pubsub_check():
        pub = pubsub.publisher(settings)
        list(pub.list_topics(request={"project": f"projects/{settings.gcp_project}"}, timeout=5))

    attempt("pubsub", pubsub_check)
    attempt("bigquery", lambda: bigquery.Warehouse(settings).check())
    return results


def add_arguments(parser) -> None:
    pass


def run(args, settings: Settings) -> int:
    failed = 0
    for name, problem in checks(settings):
        print(f"{name:<11} {'ok' if problem is None else 'FAIL  ' + problem}")
        failed += problem is not None
    return 1 if failed else 0
