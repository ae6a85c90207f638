"""Build the name banks from the package's name tables (``data/SOURCES.md`` says where each came from).

The selection thresholds are parameters here; the names themselves only ever come from the tables.
Banks are built once per process (``load_banks`` is cached) and are immutable.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files

from fairprobe.domain.names import Name, NameBank, NameGroup

__all__ = ["BANKS", "TZIOUMIS_THRESHOLDS", "load_banks"]

TZIOUMIS_THRESHOLDS: Mapping[str, float] = {
    "first_name_min_share": 0.60,  # Tzioumis share of one race/ethnicity
    "first_name_min_count": 30,  # occurrences in the mortgage data
    "gender_min_share": 0.90,  # SSA share of births of one sex
    "surname_min_share": 0.60,  # Census 2010 share of one race/ethnicity
    "surname_min_count": 10_000,  # people with the surname
}
#: bank race label -> (Tzioumis column, Census column)
RACES: Mapping[str, tuple[str, str]] = {
    "white": ("pctwhite", "pctwhite"),
    "black": ("pctblack", "pctblack"),
    "hispanic": ("pcthispanic", "pcthispanic"),
    "asian_pacific_islander": ("pctapi", "pctapi"),
}
SEXES = ("female", "male")
BANKS = ("bertrand-mullainathan-2004", "tzioumis-census-2010")


def _rows(name: str) -> Iterator[dict[str, str]]:
    with files("fairprobe.namebanks").joinpath("data", name).open("r", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _pct(raw: str) -> float | None:
    try:
        return float(raw) / 100
    except ValueError:  # "(S)": suppressed by the Census Bureau
        return None


def _bertrand_mullainathan() -> NameBank:
    cells: dict[tuple[str, str], list[Name]] = {}
    for row in _rows("bertrand_mullainathan_2004_names.csv"):
        cells.setdefault((row["race"], row["sex"]), []).append(Name(row["first_name"], None, int(row["n_resumes"])))
    groups = tuple(
        NameGroup(id=f"{race}_{sex}", attributes={"race": race, "sex": sex},
                  first_names=tuple(sorted(cells[(race, sex)], key=lambda n: n.name)))
        for race in ("white", "black") for sex in SEXES
    )
    return NameBank(
        id="bertrand-mullainathan-2004",
        title="Bertrand & Mullainathan (2004) résumé-audit first names, race × sex",
        groups=groups, thresholds={},
        sources=("Bertrand & Mullainathan (2004), AER 94(4):991-1013: the experiment's 36 first names; "
                 "count = résumés sent with the name",),
        licence="facts from a published paper; cite the paper",
    )


def _female_share() -> dict[str, float]:
    shares: dict[str, tuple[int, int]] = {}
    for row in _rows("ssa_firstname_sex_counts_1880_2023_subset.csv"):
        female, male = int(row["count_female"]), int(row["count_male"])
        key = row["name"].upper()
        prior_f, prior_m = shares.get(key, (0, 0))
        shares[key] = (prior_f + female, prior_m + male)
    return {k: f / (f + m) for k, (f, m) in shares.items() if f + m > 0}


def _tzioumis_census() -> NameBank:
    t = TZIOUMIS_THRESHOLDS
    female_share = _female_share()
    firsts: dict[tuple[str, str], list[Name]] = {(r, s): [] for r in RACES for s in SEXES}
    for row in _rows("tzioumis2018_firstnames_race.csv"):
        name, obs = row["firstname"], int(row["obs"])
        if obs < t["first_name_min_count"] or name not in female_share:
            continue
        sex = ("female" if female_share[name] >= t["gender_min_share"]
               else "male" if 1 - female_share[name] >= t["gender_min_share"] else None)
        if sex is None:
            continue
        for race, (column, _) in RACES.items():
            share = _pct(row[column])
            if share is not None and share >= t["first_name_min_share"]:
                firsts[(race, sex)].append(Name(name.title(), share, obs))
    surnames: dict[str, list[Name]] = {r: [] for r in RACES}
    for row in _rows("census2010_surnames_count_ge_10000.csv"):
        count = int(row["count"])
        if count < t["surname_min_count"] or row["name"] == "ALL OTHER NAMES":  # a total, not a name
            continue
        for race, (_, column) in RACES.items():
            share = _pct(row[column])
            if share is not None and share >= t["surname_min_share"]:
                surnames[race].append(Name(row["name"].title(), share, count))
    groups = []
    for race in RACES:
        by_rank = sorted(surnames[race], key=lambda n: -(n.count or 0))
        for k, sex in enumerate(SEXES):
            groups.append(NameGroup(
                id=f"{race}_{sex}", attributes={"race": race, "sex": sex},
                first_names=tuple(sorted(firsts[(race, sex)], key=lambda n: -(n.count or 0))),
                last_names=tuple(by_rank[k::2]),
            ))
    return NameBank(
        id="tzioumis-census-2010",
        title="First names by race/ethnicity (Tzioumis 2018) and sex (SSA), surnames by race (Census 2010)",
        groups=tuple(groups), thresholds=dict(t),
        sources=(
            "Tzioumis (2018), Scientific Data 5:180025, doi:10.7910/DVN/TYJKEZ: first-name shares by race",
            "US SSA baby names 1880-2023, counts per name and sex: gender association",
            "US Census Bureau, Frequently Occurring Surnames from the 2010 Census: surname shares by race",
        ),
        licence="Tzioumis: CC0 1.0 (Dataverse default, not re-verified); SSA and Census: public domain",
    )


@cache
def load_banks() -> Mapping[str, NameBank]:
    """Every shipped bank by id."""
    return {bank.id: bank for bank in (_bertrand_mullainathan(), _tzioumis_census())}
