"""Light curves: every measurement table of a system's downloaded time-series tags, standardised.

The pipeline, one module per job: :mod:`discovery` finds the tables (and the sidecars left alone) in
a tag's files and nested zips; :mod:`table_reading` reads them whatever the separator, locale or
header; :mod:`file_names` reads the TFOP naming convention; :mod:`time_systems` turns any time
column into full BJD_TDB with ERFA (astropy's routines); :mod:`flux_columns` picks the flux, its error and the
detrending columns; :mod:`light_curve_files` writes the ECSV; :mod:`plotting` draws the PNG;
:mod:`extraction` runs it all and records the products in the manifest; :mod:`reports` holds the
models of the answer; :mod:`jobs` lets a long extraction outlive the call that started it.
No module here imports the MCP SDK.
"""
