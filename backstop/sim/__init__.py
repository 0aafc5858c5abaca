"""The crash simulator: scenarios and the depth model (scenario), the step loop
(simulator), a run's files (output, plots, progress), settings and sweeps
over seeds and grids on Dask (settings, sweep), the demo's tables (report)."""
