"""``fairprobe``: audit a CSV file or probe a model from a pipeline, and gate a release on the verdict.

Exit codes, whatever happens: 0 pass, 1 fail, 2 inconclusive, 3 anything else (a usage error, a missing
or unreadable file, a 4xx or 5xx answer, no connection, a timeout). A gate that reads 1 or 2 can trust
that the service judged the data; nothing else ever exits with those codes.

    fairprobe audit scores.csv --label reoffended --score risk --threshold 5 --favorable 0 \\
        --protected race=Caucasian --protected sex --policy policy.yaml --format junit --out fairness.xml
    fairprobe name-swap probe.yaml --format html --out probe.html
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
import pandas as pd
import yaml

from fairprobe_client._client import DEFAULT_RETRIES, DEFAULT_URL, Client, Operation
from fairprobe_client._exceptions import APIConnectionError, APIStatusError, APITimeoutError, FairprobeClientError
from fairprobe_client._models import Report
from fairprobe_client._render import FORMATS, headline, render

__all__ = ["ERROR", "EXIT", "cli", "main", "read_policy", "read_spec"]

EXIT = {"pass": 0, "fail": 1, "inconclusive": 2}
ERROR = 3
#: --out's extension chooses the format when --format is not given
BY_EXTENSION = {".html": "html", ".htm": "html", ".xml": "junit", ".md": "markdown", ".json": "json",
                ".txt": "table"}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Failed(click.ClickException):
    """An error the CLI explains in one message and exits 3 for (never a traceback)."""

    exit_code = ERROR


# ------------------------------------------------------------------ reading inputs


def _read_structured(path: Path, what: str) -> Any:
    """A YAML or JSON file (JSON for ``.json``, YAML otherwise: YAML reads JSON too)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint=what) from exc
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise click.BadParameter(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                                 f"{str(exc).splitlines()[0]}", param_hint=what) from exc


def _mapping(value: Any, path: Path, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise click.BadParameter(f"{path} must hold a mapping (key: value), not {type(value).__name__}",
                                 param_hint=what)
    return value


def _expand(value: Any, base: Path, what: str) -> Any:
    """A spec's values made whole: ``${VAR}`` from the environment (keep keys out of files), and
    ``{file: data.csv}`` replaced by the file's rows (``csv`` text; ``records`` from a ``.json`` list),
    relative to the spec."""
    if isinstance(value, dict):
        if set(value) == {"file"} and isinstance(value["file"], str):
            path = base / _expand(value["file"], base, what)
            if path.suffix.lower() == ".json":
                return {"records": _read_structured(path, what)}
            try:
                return {"csv": path.read_text(encoding="utf-8")}
            except (OSError, UnicodeDecodeError) as exc:
                raise click.BadParameter(f"cannot read {path}: {exc}", param_hint=what) from exc
        return {k: _expand(v, base, what) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, base, what) for v in value]
    if isinstance(value, str) and "${" in value:
        def variable(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise click.BadParameter(f"the environment has no {name} (named as ${{{name}}})", param_hint=what)
            return os.environ[name]
        return _ENV.sub(variable, value)
    return value


def read_spec(path: Path) -> dict[str, Any]:
    """A probe, stress or search request from a YAML or JSON file: the API's request body, with
    ``{file: ...}`` and ``${VAR}`` expanded."""
    return _mapping(_expand(_read_structured(path, "SPEC"), path.parent, "SPEC"), path, "SPEC")


def read_policy(path: Path) -> dict[str, Any]:
    return _mapping(_read_structured(path, "--policy"), path, "--policy")


def _typed(text: str, column: pd.Series, option: str, name: str) -> Any:
    """``text`` as a value of ``column``'s type: ``--positive-label 1`` is the integer 1 for an integer
    column and the string "1" for a text column, so the service compares like with like."""
    kind = column.dtype
    try:
        if pd.api.types.is_bool_dtype(kind):
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return lowered in ("true", "1")
        if pd.api.types.is_integer_dtype(kind):
            return int(text)
        if pd.api.types.is_float_dtype(kind):
            value = float(text)
            return int(value) if value.is_integer() else value
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a value of column {name!r} ({kind})", param_hint=option) from None
    return text


def _guess(text: str) -> Any:
    """A value for a column that is not in the file (the service will name it): a number if it reads as one."""
    try:
        return int(text)
    except ValueError:
        return text


def _read_csv(path: Path, sep: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=sep, skipinitialspace=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}",
                                 param_hint="DATA") from exc


# ------------------------------------------------------------------ progress and output


class ProgressBar:
    """A one-line bar on stderr fed by the service's streamed progress events."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.drawn = False

    def __call__(self, event: Mapping[str, Any]) -> None:
        done, sent = int(event.get("probes_done", 0)), int(event.get("probes_sent", 0))
        share = done / sent if sent else 0.0
        bar = "#" * round(28 * share)
        click.echo(f"\r{self.label} [{bar:.<28}] {done:,}/{sent:,} probes answered, "
                   f"{float(event.get('elapsed_s', 0)):.1f} s", nl=False, err=True)
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            click.echo(err=True)


def _output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
                           help="Write the report to this file (its extension picks the format unless --format "
                                "does: .html, .xml = junit, .md, .json, .txt).")(command)
    command = click.option("--format", "form", type=click.Choice(sorted(FORMATS)),
                           help="Report format. Default: a table of failing and inconclusive findings on a "
                                "terminal, JSON otherwise.")(command)
    return command


def _form(form: str | None, out: Path | None) -> str:
    if form:
        return form
    if out is not None:
        return BY_EXTENSION.get(out.suffix.lower(), "json")
    return "table" if sys.stdout.isatty() else "json"


def _emit(report: Report, form: str, out: Path | None) -> int:
    text = render(report, form)
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise Failed(f"cannot write {out}: {exc}") from exc
        click.echo(f"{headline(report)}; {form} report written to {out}", err=True)
    return EXIT[report.verdict]


def _client(ctx: click.Context) -> Client:
    options = ctx.find_root().params
    return Client(options["url"], api_key=options["api_key"], timeout=options["timeout"],
                  retries=options["retries"])


def _show_progress(choice: bool | None) -> bool:
    return sys.stderr.isatty() if choice is None else choice


# ------------------------------------------------------------------ commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(version("fairprobe-client"), "--version", prog_name="fairprobe")
@click.option("--url", envvar="FAIRPROBE_URL", default=DEFAULT_URL, show_default=True,
              help="The fairprobe service (env FAIRPROBE_URL).")
@click.option("--api-key", envvar="FAIRPROBE_API_KEY", help="Bearer key, if the service needs one (env "
                                                            "FAIRPROBE_API_KEY).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=300.0, show_default=True,
              help="Seconds to wait for each answer (give probes more than their deadline_s).")
@click.option("--retries", type=click.IntRange(0, 10), default=DEFAULT_RETRIES, show_default=True,
              help="Retries after a connection error or a 429/502/503/504 answer (Retry-After honoured).")
def cli(url: str, api_key: str | None, timeout: float, retries: int) -> None:
    """Audit data and probe models for bias with a fairprobe service; exit 0 pass, 1 fail, 2 inconclusive,
    3 on any error."""


@cli.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", help="Column with the actual outcome (leave out to audit a segment or an outcome only).")
@click.option("--prediction", help="Column with the model's decision.")
@click.option("--score", help="Column with the model's score (with --threshold: decision = score >= threshold).")
@click.option("--threshold", type=float, help="Score threshold for a positive decision.")
@click.option("--protected", "protected", multiple=True, required=True, metavar="COLUMN[=REFERENCE]",
              help="A protected attribute, optionally with its reference group (default: the largest). Repeat.")
@click.option("--intersections", multiple=True, metavar="A,B[,C]",
              help="Attributes to audit crossed, e.g. race,sex. Repeat. Default: every pair.")
@click.option("--max-intersection-order", type=click.IntRange(1, 4),
              help="Cross at most this many attributes (1: each alone).")
@click.option("--count", help="Column of counts: each row is a cell of a counts table.")
@click.option("--weight", help="Column of sample weights.")
@click.option("--positive-label", default="1", show_default=True,
              help="The label value of the event predicted (typed like the label column).")
@click.option("--negative-label", help="The other label value, if the column has more than two.")
@click.option("--favorable", help="The decision that benefits the person (typed like the prediction column).")
@click.option("--policy", "policy_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Fairness policy as YAML or JSON: {rules: [...], alpha, min_group_size, ...}.")
@click.option("--sep", default=",", show_default=True, help="The CSV file's field separator.")
@click.option("--segment", help="Column with each person's segment (shares, independence, coverage).")
@click.option("--valuable", multiple=True, metavar="SEGMENT",
              help="A valuable segment: placement in one is the favorable decision. Repeat.")
@click.option("--outcome", help="Column with a continuous outcome per person (offer value, touchpoints, ...).")
@click.option("--outcome-favours", type=click.Choice(["higher", "lower", "neither"]), default="higher",
              show_default=True, help="Whether a higher outcome is to the person's advantage.")
@click.option("--diagnostics", help="Diagnostic sections to run, comma-separated (default: every one the "
                                    "inputs allow; 'none' runs none).")
@_output_options
@click.pass_context
def audit(ctx: click.Context, data: Path, label: str | None, prediction: str | None, score: str | None,
          threshold: float | None, protected: Sequence[str], intersections: Sequence[str],
          max_intersection_order: int | None, count: str | None, weight: str | None, positive_label: str,
          negative_label: str | None, favorable: str | None, policy_file: Path | None, sep: str,
          segment: str | None, valuable: Sequence[str], outcome: str | None, outcome_favours: str,
          diagnostics: str | None, form: str | None, out: Path | None) -> int:
    """Audit the CSV file DATA: only the named columns are sent."""
    if len(sep) != 1 and sep != r"\t":
        raise click.BadParameter("must be one character", param_hint="--sep")
    policy = read_policy(policy_file) if policy_file is not None else None
    frame = _read_csv(data, "\t" if sep == r"\t" else sep)

    def typed(text: str, column: str | None, option: str) -> Any:
        if column is None or column not in frame.columns:
            return _guess(text)  # a column the file lacks: the service will name it
        return _typed(text, frame[column], option, column)

    specs: list[dict[str, Any]] = []
    for item in protected:
        name, has_reference, reference = item.partition("=")
        spec: dict[str, Any] = {"attribute": name}
        if has_reference:
            spec["reference"] = reference if reference == "largest" else typed(reference, name, "--protected")
        specs.append(spec)
    if valuable and segment is None:
        raise click.BadParameter("needs --segment", param_hint="--valuable")
    outputs: dict[str, Any] = {}
    if segment is not None:
        outputs["segment"] = {"column": segment, **({"valuable": [typed(v, segment, "--valuable") for v in valuable]}
                                                    if valuable else {})}
    if outcome is not None:
        outputs["outcome"] = {"column": outcome, "favours": outcome_favours}
    if diagnostics is not None:
        outputs["diagnostics"] = [] if diagnostics == "none" else [d.strip() for d in diagnostics.split(",")]
    chosen = _form(form, out)
    with _client(ctx) as client:
        report = client.audit(
            frame, label=label, prediction=prediction, score=score, threshold=threshold, protected=specs,
            count=count, weight=weight, positive_label=typed(positive_label, label, "--positive-label"),
            negative_label=None if negative_label is None else typed(negative_label, label, "--negative-label"),
            favorable=None if favorable is None else typed(favorable, prediction, "--favorable"),
            intersections=[i.split(",") for i in intersections] or None,
            max_intersection_order=max_intersection_order, policy=policy, html=chosen == "html", **outputs)
    return _emit(report, chosen, out)


def _spec_command(operation: Operation, name: str, summary: str) -> click.Command:
    @click.command(name=name, help=f"{summary}\n\nSPEC is the request body of the API operation as YAML or "
                                   "JSON; `{file: profiles.csv}` stands for a file's rows and `${VAR}` for an "
                                   "environment variable (keep vendor keys out of the file).")
    @click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--progress/--no-progress", default=None,
                  help="A progress bar on stderr (default: when stderr is a terminal).")
    @_output_options
    @click.pass_context
    def command(ctx: click.Context, spec: Path, progress: bool | None, form: str | None, out: Path | None) -> int:
        body = read_spec(spec)
        chosen = _form(form, out)
        bar = ProgressBar(name) if _show_progress(progress) else None
        try:
            with _client(ctx) as client:
                report = client.report(operation, body, progress=bar, html=chosen == "html")
        finally:
            if bar is not None:
                bar.close()
        return _emit(report, chosen, out)

    return command


cli.add_command(_spec_command("name_swap", "name-swap", "Send each profile under names of each group."))
cli.add_command(_spec_command("flip", "flip", "Send each profile with a protected attribute flipped."))
cli.add_command(_spec_command("stress", "stress", "Stress a model with synthetic profiles of target groups."))
cli.add_command(_spec_command("discrimination", "search", "Search for individual discrimination."))


# ------------------------------------------------------------------ the entry point


def _explain(error: FairprobeClientError) -> str:
    if isinstance(error, APIStatusError):
        problem = error.problem
        title = f"{error.status} {problem.get('title') or ''}".rstrip()
        if error.errors:  # the detail repeats them; one line per field reads better
            lines = [title] + [f"  {e.get('field', '')}: {e.get('message', '')}" for e in error.errors]
        else:
            lines = [f"{title}: {problem.get('detail') or ''}"]
        if error.request_id:
            lines.append(f"  request id: {error.request_id}")
        return "\n".join(lines)
    if isinstance(error, APITimeoutError):
        return f"timed out: {error} (raise --timeout)"
    if isinstance(error, APIConnectionError):
        return f"no connection: {error}"
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the return value is the exit code (0, 1, 2 or 3, never another)."""
    started = time.monotonic()
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="fairprobe",
                          standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("fairprobe: aborted", err=True)
        return ERROR
    except click.ClickException as exc:  # usage errors, unreadable files: click's own message, exit 3
        exc.show()
        return ERROR
    except FairprobeClientError as exc:
        click.echo(f"fairprobe: {_explain(exc)}", err=True)
        return ERROR
    except KeyboardInterrupt:
        click.echo("\nfairprobe: interrupted", err=True)
        return ERROR
    except Exception as exc:  # a bug here must still not look like a verdict
        click.echo(f"fairprobe: unexpected {type(exc).__name__} after {time.monotonic() - started:.1f} s; "
                   "please report it", err=True)
        return ERROR
    if result is None or result == 0:  # --help, --version
        return 0
    return result if isinstance(result, int) and result in (1, 2) else ERROR


if __name__ == "__main__":
    raise SystemExit(main())
