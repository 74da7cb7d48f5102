"""BigQuery, the warehouse: the one module that talks to it.

Pointed at the local emulator or at BigQuery by settings alone
(BIGQUERY_EMULATOR_HOST set or empty). Table definitions come from
abbanoa/warehouse/tables.yaml, which Terraform reads too.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from google.cloud import bigquery

from abbanoa.errors import ServiceUnavailable
from abbanoa.settings import Settings, get_settings

WAREHOUSE_DIR = Path(__file__).resolve().parent.parent / "warehouse"
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

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self.client = client(self.settings)
        self.dataset = f"{self.settings.gcp_project}.{self.settings.bq_dataset}"

    def table_id(self, table: str) -> str:
        return f"{self.dataset}.{table}"

    def check(self) -> None:
        where = self.settings.bigquery_emulator_host or "BigQuery"
        try:
            list(self.client.query("SELECT 1 AS ok").result(timeout=10))
        except Exception as exc:
            raise ServiceUnavailable(f"BigQuery at {where} is unreachable: {str(exc).splitlines()[0]}") from exc

    def create_all(self) -> list[str]:
        """Create the dataset and every table of tables.yaml if missing; returns the table ids."""
        ds = bigquery.Dataset(self.dataset)
        ds.location = self.settings.bq_location
        self.client.create_dataset(ds, exists_ok=True)
        created = []
        for name, definition in table_definitions().items():
            table = bigquery.Table(self.table_id(name), schema=schema(name))
            table.description = definition.get("description")
            if tp := definition.get("time_partitioning"):
                table.time_partitioning = bigquery.TimePartitioning(type_=tp["type"], field=tp["field"])
            if cl := definition.get("clustering"):
                table.clustering_fields = cl
            self.client.create_table(table, exists_ok=True)
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
        job = self.client.load_table_from_file(
            buffer,
            self.table_id(table),
            job_config=bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
                schema=schema(table),
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            ),
        )
        job.result()
        return count

    def query(self, sql: str, params: Sequence[bigquery.ScalarQueryParameter] | None = None):
        """Run SQL with bound parameters; `{dataset}` in the text is the warehouse dataset."""
        config = bigquery.QueryJobConfig(query_parameters=list(params or []))
        return self.client.query(sql.replace("{dataset}", self.dataset), job_config=config).result()

    def query_rows(self, sql: str, params=None) -> list[dict[str, Any]]:
        return [dict(row.items()) for row in self.query(sql, params)]

    def query_df(self, sql: str, params=None):
        return self.query(sql, params).to_dataframe(create_bqstorage_client=False)


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
