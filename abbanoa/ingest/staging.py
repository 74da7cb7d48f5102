"""Staging tables in the warehouse: chunks are loaded (NDJSON load jobs, no streaming
quota) into a private table, then merged into the target with explicit INSERT columns,
so duplicates within the file and against the warehouse are absorbed in one statement."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from google.cloud import bigquery

from abbanoa.stores.bigquery import Warehouse, schema

# A staging table left behind by a crash expires by itself in BigQuery.
STAGING_LIFETIME = dt.timedelta(days=1)
# Rows spooled on disk before a load job: about 80 bytes each as CSV, so a load stays
# below the client's 100 MB upload chunk, which it holds in memory.
SPOOL_ROWS = 500_000


class Staging:
    """A private copy of `table`'s schema plus `line_no` (the file order, first wins).

    Rows are spooled to a local temporary file (disk, not memory) as CSV and loaded in
    few, large load jobs: BigQuery counts load jobs per table and day, and the emulator's
    cost per load grows with the table, so one load per file beats one per chunk."""

    def __init__(self, warehouse: Warehouse, like: str, spool_rows: int = SPOOL_ROWS):
        self.warehouse = warehouse
        self.fields = schema(like)
        if not any(f.name == "line_no" for f in self.fields):
            self.fields = [*self.fields, bigquery.SchemaField("line_no", "INT64")]
        self.table_id = warehouse.table_id(f"_staging_{like}_{uuid.uuid4().hex[:12]}")
        self.spool_rows = spool_rows
        self.created = False
        self.rows = 0
        self._spool = None
        self._spooled = 0
        self.time_range: tuple[str, dt.datetime, dt.datetime] | None = None  # see merge_into

    def _create(self) -> None:
        table = bigquery.Table(self.table_id, schema=self.fields)
        table.expires = dt.datetime.now(dt.UTC) + STAGING_LIFETIME
        self.warehouse.create_table(table)
        self.created = True

    def append(self, frame: pd.DataFrame) -> None:
        """Add a frame holding every staging field (timestamps as ISO strings)."""
        if frame.empty:
            return
        frame = frame[[f.name for f in self.fields]]  # CSV columns are positional
        if self._spool is None:
            self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - lives across append() calls
        pacsv.write_csv(
            pa.Table.from_pandas(frame, preserve_index=False),
            self._spool,
            pacsv.WriteOptions(include_header=self._spooled == 0),
        )
        self._spooled += len(frame)
        self.rows += len(frame)
        if self._spooled >= self.spool_rows:
            self.flush()

    def flush(self) -> None:
        """Load the spooled rows into the staging table.

        CSV with a header row rather than NDJSON: several times faster to write (pyarrow)
        and to load; the explicit skip_leading_rows=1 is read the same way by the
        emulator, which otherwise takes the first row for a header."""
        if not self._spooled:
            return
        if not self.created:
            self._create()
        self._spool.seek(0)
        self.warehouse.load_file(
            self._spool,
            self.table_id,
            bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.CSV,
                skip_leading_rows=1,
                allow_quoted_newlines=True,
                schema=self.fields,
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            ),
        )
        self._spool.close()
        self._spool = None
        self._spooled = 0

    def merge_into(
        self,
        target: str,
        keys: tuple[str, ...],
        columns: tuple[str, ...],
        order_by: str,
        time_range: tuple[str, dt.datetime, dt.datetime] | None = None,
    ) -> int:
        """Insert the staged rows whose key is new to `target` (first by `order_by` wins);
        returns the rows inserted. Drops the staging table.

        time_range (column, first, last) bounds the target's rows that can match, so that
        BigQuery prunes the target's partitions instead of scanning the whole table."""
        self.flush()
        if not self.created:
            return 0
        try:
            on = " AND ".join(f"T.{k} = S.{k}" for k in keys)
            params = []
            if time_range is not None:
                column, first, last = time_range
                on += f" AND T.{column} BETWEEN @first AND @last"
                params = [
                    bigquery.ScalarQueryParameter("first", "TIMESTAMP", first),
                    bigquery.ScalarQueryParameter("last", "TIMESTAMP", last),
                ]
            cols = ", ".join(columns)
            values = ", ".join(f"S.{c}" for c in columns)
            sql = (
                f"MERGE `{self.warehouse.table_id(target)}` T "
                f"USING (SELECT {cols} FROM `{self.table_id}` "
                f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {', '.join(keys)} ORDER BY {order_by}) = 1) S "
                f"ON {on} "
                f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})"
            )
            job = self.warehouse.run_query(sql, bigquery.QueryJobConfig(query_parameters=params))
            return int(job.num_dml_affected_rows or 0)
        finally:
            self.drop()

    def changed_rows(self, target: str, keys: tuple[str, ...], order_by: str, time_range) -> list[dict]:
        """Staged rows (first by `order_by` per key) whose key is new to `target` or whose
        value differs from the target's newest version: key, old_value (None: new), new_value."""
        self.flush()
        if not self.created:
            return []
        sql, params = self._changed_sql(target, keys, order_by, time_range, ", ".join(f"S.{k}" for k in keys))
        job = self.warehouse.run_query(
            sql.replace("{select}", "T.value AS old_value, S.value AS new_value"),
            bigquery.QueryJobConfig(query_parameters=params),
        )
        return [dict(r.items()) for r in self.warehouse.wait(job, "reading the corrections")]

    def insert_changed(self, target: str, keys, columns: tuple[str, ...], order_by: str, time_range) -> int:
        """Append the staged rows that are new or changed (a correction is a newer row for
        the same key; readers take the newest); returns rows inserted. Drops the table."""
        self.flush()
        if not self.created:
            return 0
        try:
            cols = ", ".join(columns)
            sql, params = self._changed_sql(target, keys, order_by, time_range, ", ".join(f"S.{c}" for c in columns))
            job = self.warehouse.run_query(
                f"INSERT INTO `{self.warehouse.table_id(target)}` ({cols}) " + sql.replace(", {select}", ""),
                bigquery.QueryJobConfig(query_parameters=params),
            )
            return int(job.num_dml_affected_rows or 0)
        finally:
            self.drop()

    def _changed_sql(self, target, keys, order_by, time_range, select_cols):
        column, first, last = time_range
        key_cols = ", ".join(keys)
        sql = (
            f"SELECT {select_cols}, {{select}} FROM "
            f"(SELECT * FROM `{self.table_id}` "
            f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {key_cols} ORDER BY {order_by}) = 1) S "
            f"LEFT JOIN (SELECT {key_cols}, value FROM `{self.warehouse.table_id(target)}` "
            f"WHERE {column} BETWEEN @first AND @last "
            f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {key_cols} ORDER BY ingested_at DESC) = 1) T "
            f"ON {' AND '.join(f'T.{k} = S.{k}' for k in keys)} "
            "WHERE T.value IS NULL OR T.value != S.value"
        )
        params = [
            bigquery.ScalarQueryParameter("first", "TIMESTAMP", first),
            bigquery.ScalarQueryParameter("last", "TIMESTAMP", last),
        ]
        return sql, params

    def drop(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
            self._spooled = 0
        if self.created:
            self.warehouse.delete_table(self.table_id)
            self.created = False


def iso_utc(ts: pd.Series) -> pd.Series:
    """UTC timestamps -> 'YYYY-MM-DDTHH:MM:SS.ffffffZ' strings, vectorised."""
    values = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    return pd.Series(np.datetime_as_string(values, unit="us"), index=ts.index, dtype=object) + "Z"
