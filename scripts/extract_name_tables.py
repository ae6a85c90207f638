"""Copy the name tables fairprobe ships from ../shared/data/names into the package (see SOURCES.md).

Run from the repository root: ``python scripts/extract_name_tables.py [path/to/shared/data/names]``.
Rows are copied unchanged; two tables are row-filtered as SOURCES.md states.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

SRC = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data" / "names"
DST = Path(__file__).resolve().parents[1] / "service" / "fairprobe" / "namebanks" / "data"
MIN_SURNAME_COUNT = 10_000


def main() -> None:
    shutil.copyfile(SRC / "bertrand_mullainathan_2004_names.csv", DST / "bertrand_mullainathan_2004_names.csv")
    shutil.copyfile(SRC / "tzioumis2018_firstnames_race.csv", DST / "tzioumis2018_firstnames_race.csv")
    wanted = {row["firstname"] for row in csv.DictReader((SRC / "tzioumis2018_firstnames_race.csv").open())}
    wanted |= {row["first_name"].upper() for row in csv.DictReader((SRC / "bertrand_mullainathan_2004_names.csv").open())}
    with (SRC / "ssa_firstname_sex_counts_1880_2023.csv").open() as src, \
            (DST / "ssa_firstname_sex_counts_1880_2023_subset.csv").open("w") as dst:
        lines = iter(src)
        dst.write(next(lines))
        dst.writelines(line for line in lines if line.split(",", 1)[0].upper() in wanted)
    with (SRC / "census2010_surnames_count_ge_1000.csv").open() as src, \
            (DST / "census2010_surnames_count_ge_10000.csv").open("w") as dst:
        lines = iter(src)
        dst.write(next(lines))
        dst.writelines(line for line in lines
                       if line.split(",")[2].isdigit() and int(line.split(",")[2]) >= MIN_SURNAME_COUNT)


if __name__ == "__main__":
    main()
