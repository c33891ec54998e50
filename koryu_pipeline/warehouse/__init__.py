"""Writing the warehouse: Parquet files (parquet.py) and the SQL copy (sql.py)."""
