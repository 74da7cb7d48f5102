"""BigQuery, the warehouse: the one module that talks to it.

Pointed at the local emulator or at BigQuery by settings alone
(BIGQUERY_EMULATOR_HOST set or empty). Table definitions come from
abbanoa/warehouse/tables.yaml, which Terraform reads too.

Every call is bounded: google-cloud-bigquery retries a 500 or a hung request for 10
minutes by default, and `result(timeout=)` bounds only the polling (LOCAL.md). Here one
call (an API request and its retries) ends within its deadline (BIGQUERY_DEADLINE_S) by
construction: a retry is only started before half the deadline (google-api-core checks
its timeout before each retry, not during one) and each request may take the other half.
Uploads have few retries; the `check` probe is bounded in total (CHECK_DEADLINE_S, on a
clock of its own); what still fails becomes ServiceUnavailable: one line.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import requests
import yaml
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_RETRY

from abbanoa.errors import ServiceUnavailable
from abbanoa.settings import Settings, get_settings

WAREHOUSE_DIR = Path(__file__).resolve().parent.parent / "warehouse"
CHECK_DEADLINE_S = 10.0
# A job (query, load) may legitimately run long: its completion is awaited up to this
# many deadlines; each request made meanwhile is still bounded by one deadline.
JOB_WAIT_DEADLINES = 30
UPLOAD_RETRIES = 2
# what a retry cannot fix within the deadline, or a store that is down or hung
_UNAVAILABLE = (
    api_exceptions.RetryError,
    api_exceptions.ServerError,
    api_exceptions.TooManyRequests,
    requests.exceptions.RequestException,
    ConnectionError,
    TimeoutError,
    concurrent.futures.TimeoutError,
)
_clients: dict[tuple[str, str], bigquery.Client] = {}


@lru_cache(maxsize=1)
def table_definitions() -> dict[str, dict[str, Any]]:
    """Table name -> definition (description, schema fields, partitioning, clustering)."""
    spec = yaml.safe_load((WAREHOUSE_DIR / "tables.yaml").read_text())
    for definition in spec.values():
        definition["fields"] = json.loads((WAREHOUSE_DIR / definition["schema"]).read_text())
    return spec


def schema(table: str) -> list[bigquery.SchemaField]:
    return [bigquery.SchemaField.from_api_repr(f) for f in table_definitions()[table]["fields"]]


def client(settings: Settings | None = None) -> bigquery.Client:
    """A BigQuery client for the configured project, emulator or real."""
    settings = settings or get_settings()
    key = (settings.gcp_project, settings.bigquery_emulator_host)
    if key not in _clients:
        if settings.bigquery_emulator_host:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials

            _clients[key] = bigquery.Client(
                project=settings.gcp_project,
                credentials=AnonymousCredentials(),
                client_options=ClientOptions(api_endpoint=settings.bigquery_emulator_host),
                location=settings.bq_location,
            )
        else:
            _clients[key] = bigquery.Client(project=settings.gcp_project, location=settings.bq_location)
    return _clients[key]


class Warehouse:
    """The warehouse dataset: create tables, load rows, run parameterised queries."""

    def __init__(self, settings: Settings | None = None, deadline_s: float | None = None):
        self.settings = settings or get_settings()
        self.client = client(self.settings)
        self.dataset = f"{self.settings.gcp_project}.{self.settings.bq_dataset}"
        self.deadline_s = float(deadline_s or self.settings.bigquery_deadline_s)
        self.where = self.settings.bigquery_emulator_host or "BigQuery"

    def table_id(self, table: str) -> str:
        return f"{self.dataset}.{table}"

    # --- bounds --------------------------------------------------------------------

    @property
    def retry(self) -> api_retry.Retry:
        """Retries of one API call: none started after half the deadline, so that with
        request_timeout the call ends within the deadline."""
        return DEFAULT_RETRY.with_deadline(self.deadline_s / 2)

    @property
    def request_timeout(self) -> float:
        """One HTTP request: the half of the deadline the retries leave."""
        return self.deadline_s / 2

    @property
    def job_timeout(self) -> float:
        return self.deadline_s * JOB_WAIT_DEADLINES

    @property
    def job_request_timeout(self) -> float:
        """The request that starts a job or uploads its data: BigQuery answers jobs.insert
        at once, the emulator only when the job is done (a large MERGE or upload can take
        minutes there), so against the emulator it gets the job's own bound."""
        return self.job_timeout if self.settings.bigquery_emulator_host else self.deadline_s

    def unavailable(self, exc: BaseException, doing: str) -> ServiceUnavailable:
        """One line naming the endpoint, what was being done and why it failed."""
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, api_exceptions.RetryError) and exc.cause is not None:
            cause = str(exc.cause).strip().splitlines()
            reason = f"gave up after {self.deadline_s:g} s: {cause[0] if cause else type(exc.cause).__name__}"
        return ServiceUnavailable(f"BigQuery at {self.where} failed ({doing}): {reason[:300]}")

    def bounded(self, doing: str, call, *args, **kwargs):
        """Run a client call; a store that is down, failing or hung becomes ServiceUnavailable."""
        try:
            return call(*args, **kwargs)
        except _UNAVAILABLE as exc:
            raise self.unavailable(exc, doing) from exc

    def wait(self, job, doing: str):
        """Wait for a job: its polls bounded by the deadline, the job itself by job_timeout.
        No job_retry: the client's own wraps a 10-minute deadline around ours."""
        extra = {"job_retry": None} if isinstance(job, bigquery.QueryJob) else {}
        return self.bounded(doing, job.result, retry=self.retry, timeout=self.job_timeout, **extra)

    # --- calls ---------------------------------------------------------------------

    def check(self) -> None:
        """Raise ServiceUnavailable (one line) unless a query answers within CHECK_DEADLINE_S,
        in total: the probe runs on a thread of its own and is given up at the deadline
        whatever the client is doing (a hung socket, a retry's back-off)."""
        probe = Warehouse(self.settings, deadline_s=CHECK_DEADLINE_S)

        def select_one():
            job = probe.client.query("SELECT 1 AS ok", retry=probe.retry, job_retry=None, timeout=probe.request_timeout)
            return list(job.result(retry=probe.retry, timeout=probe.request_timeout, job_retry=None))

        outcome: dict[str, BaseException | None] = {}

        def attempt():
            try:
                select_one()
                outcome["error"] = None
            except BaseException as exc:  # handed to the caller's thread
                outcome["error"] = exc

        # a daemon thread: a request still hanging at the deadline neither holds the caller
        # nor keeps the process from exiting (it ends with its own timeout)
        worker = threading.Thread(target=attempt, name="bigquery-probe", daemon=True)
        worker.start()
        worker.join(CHECK_DEADLINE_S)
        if "error" not in outcome:
            raise ServiceUnavailable(
                f"BigQuery at {self.where} is unreachable: no answer to SELECT 1 within {CHECK_DEADLINE_S:g} s"
            )
        if (exc := outcome["error"]) is not None:  # down, 500, refused, bad answer
            raise ServiceUnavailable(
                f"BigQuery at {self.where} is unreachable: {str(probe.unavailable(exc, 'SELECT 1')).split(': ', 1)[-1]}"
            ) from exc

    def create_table(self, table: bigquery.Table, exists_ok: bool = False):
        return self.bounded(
            f"creating {table.table_id}",
            self.client.create_table,
            table,
            exists_ok=exists_ok,
            retry=self.retry,
            timeout=self.request_timeout,
        )

    def delete_table(self, table_id: str) -> None:
        self.bounded(
            f"deleting {table_id}",
            self.client.delete_table,
            table_id,
            not_found_ok=True,
            retry=self.retry,
            timeout=self.request_timeout,
        )

    def load_file(self, handle, table_id: str, job_config: bigquery.LoadJobConfig):
        """A load job from an open file, waited for; returns the job."""
        doing = f"loading into {table_id}"
        job = self.bounded(
            doing,
            self.client.load_table_from_file,
            handle,
            table_id,
            job_config=job_config,
            num_retries=UPLOAD_RETRIES,
            timeout=self.job_request_timeout,
        )
        self.wait(job, doing)
        return job

    def run_query(self, sql: str, config: bigquery.QueryJobConfig | None = None):
        """Start a query job and wait for it; returns the finished job."""
        job = self.bounded(
            "querying",
            self.client.query,
            sql,
            job_config=config,
            retry=self.retry,
            job_retry=None,  # see wait()
            timeout=self.job_request_timeout,
        )
        self.wait(job, "querying")
        return job

    def create_all(self) -> list[str]:
        """Create the dataset and every table of tables.yaml if missing; returns the table ids."""
        ds = bigquery.Dataset(self.dataset)
        ds.location = self.settings.bq_location
        self.bounded(
            f"creating dataset {self.dataset}",
            self.client.create_dataset,
            ds,
            exists_ok=True,
            retry=self.retry,
            timeout=self.request_timeout,
        )
        created = []
        for name, definition in table_definitions().items():
            table = bigquery.Table(self.table_id(name), schema=schema(name))
            table.description = definition.get("description")
            if tp := definition.get("time_partitioning"):
                table.time_partitioning = bigquery.TimePartitioning(type_=tp["type"], field=tp["field"])
            if cl := definition.get("clustering"):
                table.clustering_fields = cl
            self.create_table(table, exists_ok=True)
            created.append(self.table_id(name))
        return created

    def load_rows(self, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append rows with a load job (NDJSON): free of streaming quotas, atomic per call."""
        buffer = io.BytesIO()
        count = 0
        for row in rows:
            buffer.write(json.dumps(row, default=_json_default).encode())
            buffer.write(b"\n")
            count += 1
        if count == 0:
            return 0
        buffer.seek(0)
        self.load_file(
            buffer,
            self.table_id(table),
            bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
                schema=schema(table),
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            ),
        )
        return count

    def query(self, sql: str, params: Sequence[bigquery.ScalarQueryParameter] | None = None):
        """Run SQL with bound parameters; `{dataset}` in the text is the warehouse dataset."""
        config = bigquery.QueryJobConfig(query_parameters=list(params or []))
        job = self.run_query(sql.replace("{dataset}", self.dataset), config)
        return self.wait(job, "reading a query result")

    def query_rows(self, sql: str, params=None) -> list[dict[str, Any]]:
        return self.bounded("reading a query result", lambda: [dict(row.items()) for row in self.query(sql, params)])

    def query_df(self, sql: str, params=None):
        return self.bounded(
            "reading a query result", lambda: self.query(sql, params).to_dataframe(create_bqstorage_client=False)
        )

    def query_frames(self, sql: str, params=None, page_rows: int = 50_000):
        """The result as DataFrames of at most `page_rows` rows each: memory bounded by a page."""
        config = bigquery.QueryJobConfig(query_parameters=list(params or []))
        job = self.run_query(sql.replace("{dataset}", self.dataset), config)
        rows = self.bounded(
            "reading a query result",
            job.result,
            page_size=page_rows,
            retry=self.retry,
            timeout=self.job_timeout,
            job_retry=None,
        )
        pages = rows.to_dataframe_iterable(bqstorage_client=None)
        while True:
            frame = self.bounded("reading a query result", next, pages, None)
            if frame is None:
                return
            yield frame


def param(name: str, type_: str, value: Any) -> bigquery.ScalarQueryParameter:
    return bigquery.ScalarQueryParameter(name, type_, value)


def array_param(name: str, type_: str, values: Sequence[Any]) -> bigquery.ArrayQueryParameter:
    return bigquery.ArrayQueryParameter(name, type_, list(values))


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
