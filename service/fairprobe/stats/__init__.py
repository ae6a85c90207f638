"""Statistics shared by every engine: counts tables, intervals, tests, multiple-testing control."""
