"""Staging tables in the warehouse: chunks are loaded (NDJSON load jobs, no streaming
quota) into a private table, then merged into the target with explicit INSERT columns,
so duplicates within the file and against the warehouse are absorbed in one statement."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import numpy as np
import pandas as pd
from google.cloud import bigquery

from abbanoa.stores.bigquery import Warehouse, schema

# A staging table left behind by a crash expires by itself in BigQuery.
STAGING_LIFETIME = dt.timedelta(days=1)


class Staging:
    """A private copy of `table`'s schema plus `line_no` (the file order, first wins)."""

    def __init__(self, warehouse: Warehouse, like: str):
        self.warehouse = warehouse
        self.fields = schema(like)
        if not any(f.name == "line_no" for f in self.fields):
            self.fields = [*self.fields, bigquery.SchemaField("line_no", "INT64")]
        self.table_id = warehouse.table_id(f"_staging_{like}_{uuid.uuid4().hex[:12]}")
        self.created = False
        self.rows = 0

    def _create(self) -> None:
        table = bigquery.Table(self.table_id, schema=self.fields)
        table.expires = dt.datetime.now(dt.UTC) + STAGING_LIFETIME
        self.warehouse.client.create_table(table)
        self.created = True

    def append(self, frame: pd.DataFrame) -> None:
        """Load a frame whose columns are (a subset of) the staging fields; timestamps as ISO strings."""
        if frame.empty:
            return
        if not self.created:
            self._create()
        data = frame.to_json(orient="records", lines=True, double_precision=12).encode()
        job = self.warehouse.client.load_table_from_file(
            io.BytesIO(data),
            self.table_id,
            job_config=bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
                schema=self.fields,
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            ),
        )
        job.result()
        self.rows += len(frame)

    def merge_into(self, target: str, keys: tuple[str, ...], columns: tuple[str, ...], order_by: str) -> int:
        """Insert the staged rows whose key is new to `target` (first by `order_by` wins);
        returns the rows inserted. Drops the staging table."""
        if not self.created:
            return 0
        try:
            on = " AND ".join(f"T.{k} = S.{k}" for k in keys)
            cols = ", ".join(columns)
            values = ", ".join(f"S.{c}" for c in columns)
            sql = (
                f"MERGE `{self.warehouse.table_id(target)}` T "
                f"USING (SELECT {cols} FROM `{self.table_id}` "
                f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {', '.join(keys)} ORDER BY {order_by}) = 1) S "
                f"ON {on} "
                f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})"
            )
            job = self.warehouse.client.query(sql)
            job.result()
            return int(job.num_dml_affected_rows or 0)
        finally:
            self.drop()

    def drop(self) -> None:
        if self.created:
            self.warehouse.client.delete_table(self.table_id, not_found_ok=True)
            self.created = False


def iso_utc(ts: pd.Series) -> pd.Series:
    """UTC timestamps -> 'YYYY-MM-DDTHH:MM:SS.ffffffZ' strings, vectorised."""
    values = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    return pd.Series(np.datetime_as_string(values, unit="us"), index=ts.index, dtype=object) + "Z"
