"""The floor for run cost: one trivial asset, materialised through `execute_job` as
`koryu run` materialises the pipeline. `run_cost.py` times it with the job's default
executor (the floor) and with the `in_process` executor `koryu run` uses (context)."""

import dagster as dg


@dg.asset
def trivial() -> None:
    return None


floor_job = dg.define_asset_job("floor_job", selection=[trivial])
floor_defs = dg.Definitions(assets=[trivial], jobs=[floor_job])


def get_floor_job() -> dg.JobDefinition:
    return floor_defs.resolve_job_def("floor_job")
