"""The outbound client: batches, bounded concurrency, timeouts, a deadline, retries, and accounting.

Every record handed to :meth:`EndpointClient.score` comes back answered or failed with a reason.
Retries happen on 429, 5xx and connection errors only, with exponential backoff and full jitter, or
after the server's ``Retry-After``; never past the deadline, and never more than the request's retry
budget (10 plus one per five batches sent), so a model that fails everything costs a bounded number
of calls. A batch that fails for a reason a smaller batch might not (a 4xx/5xx, an unreadable or
wrong-length answer, a timeout) is split in halves — until halving is seen not to help: when both
halves fail with the same error as the batch, that error is not split again in this request. After
:data:`GIVE_UP_AFTER` calls in a row get the same client error (4xx other than 429), the rest are not
sent (reason ``abandoned``). Redirects are not followed. Requests go to the address the guard checked,
with the caller's request id in ``X-Request-ID``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from fairprobe.domain.endpoint import Accounting, EndpointSpec, Output, ProbeFailure, Scored
from fairprobe.endpoints.formats import BATCHABLE, AnswerError, Raw, decode, encode, single_record
from fairprobe.endpoints.targets import Target

__all__ = ["EndpointClient"]

#: a smaller batch may succeed where these failed; not worth splitting for the others
SPLITTABLE = frozenset({
    ProbeFailure.HTTP_ERROR, ProbeFailure.INVALID_RESPONSE, ProbeFailure.WRONG_LENGTH, ProbeFailure.TIMEOUT,
    ProbeFailure.TOO_LARGE,
})
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 5.0
CHUNK = 64 * 1024
#: retries a request may make at all, and the extra allowed per batch it sends
RETRY_BUDGET_BASE = 10.0
RETRY_BUDGET_PER_BATCH = 0.2
#: this many calls in a row answered with the same client error, and the rest are not sent
GIVE_UP_AFTER = 5

Failure = tuple[ProbeFailure, int | None]  # a reason and, for HTTP errors, the status


class _Retryable(Exception):
    def __init__(self, reason: ProbeFailure, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.retry_after = retry_after
        self.status = status


class _PinnedAdapter(HTTPAdapter):
    """Connects to the checked address; for https, SNI and certificate checks use the URL's host."""

    def __init__(self, target: Target, pool_size: int) -> None:
        self._target = target
        super().__init__(pool_connections=1, pool_maxsize=pool_size, pool_block=True, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        if self._target.scheme == "https":
            pool_kwargs.update(server_hostname=self._target.host, assert_hostname=self._target.host)
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


class EndpointClient:
    """Score records through one model endpoint (implements ``domain.endpoint.Scorer``).

    Parameters
    ----------
    spec
        The endpoint as the request described it.
    target
        ``spec.url`` after :class:`~fairprobe.endpoints.targets.TargetGuard` checked it.
    max_response_bytes
        Larger bodies fail as ``response_too_large`` without being read to the end.
    seed
        Seeds the retry jitter.
    request_id
        Sent as ``X-Request-ID`` so the model's logs can be joined with fairprobe's.
    progress, on_call
        Optional observers: how many probes are resolved (for streamed progress), and each call's duration
        and outcome (for metrics). They see counts and statuses only, never a record or a reply.
    """

    def __init__(self, spec: EndpointSpec, target: Target, *, max_response_bytes: int, seed: int = 0,
                 request_id: str | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, progress: Callable[[int, int], None] | None = None,
                 on_call: Callable[[float, str], None] | None = None) -> None:
        self.spec = spec
        self.progress = progress  # (probes resolved so far, probes handed in so far), over the client's life
        self.on_call = on_call  # (seconds, outcome: the HTTP status or a failure reason) after every call
        self._resolved = 0
        self._handed = 0
        self.target = target
        self.max_response_bytes = max_response_bytes
        self.request_id = request_id
        self.clock = clock
        self.sleep = sleep
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._retries_denied = 0
        self._statuses: Counter[str] = Counter()
        self._deadline: float | None = None  # set by the first call: one deadline for the whole request
        self._retry_tokens = RETRY_BUDGET_BASE
        self._unsplittable: set[Failure] = set()  # errors that halving a batch was seen not to cure
        self._run_of: tuple[Failure | None, int] = (None, 0)  # the last client error and how many in a row
        self._gave_up: str | None = None

    @property
    def batch_size(self) -> int:
        if single_record(self.spec.format, self.spec.options) or self.spec.format not in BATCHABLE:
            return 1
        return self.spec.batch_size

    def score(self, records: Sequence[Mapping[str, Any]]) -> Scored:
        """Send every record; return one answer or failure per record, in order, and the accounting.

        ``deadline_s`` runs from the client's first call: a search that calls several times shares it.
        The accounting covers this call only.
        """
        start = self.clock()
        if self._deadline is None:
            self._deadline = start + self.spec.deadline_s
        deadline = self._deadline
        before = (self._requests, self._retries, Counter(self._statuses), self._retries_denied)
        raws: list[Raw | None] = [None] * len(records)
        size = self.batch_size
        chunks = [list(range(i, min(i + size, len(records)))) for i in range(0, len(records), size)]
        with self._lock:
            self._retry_tokens += RETRY_BUDGET_PER_BATCH * len(chunks)
            self._handed += len(records)
        if chunks:
            with self._session() as session, ThreadPoolExecutor(min(self.spec.concurrency, len(chunks))) as pool:
                futures = [pool.submit(self._run, session, records, chunk, deadline, raws) for chunk in chunks]
                for future in futures:
                    future.result()
        return self._scored(raws, self.clock() - start, before)

    # ------------------------------------------------------------ sending

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the service's environment
        adapter = _PinnedAdapter(self.target, self.spec.concurrency)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def _run(self, session: requests.Session, records: Sequence[Mapping[str, Any]], chunk: list[int],
             deadline: float, raws: list[Raw | None]) -> Failure | None:
        """Answer ``chunk``; return the failure that every one of its records got, if they all got one."""
        try:
            values = self._call_with_retries(session, [records[i] for i in chunk], deadline)
        except AnswerError as exc:
            failure = (exc.reason, exc.status)
            if len(chunk) > 1 and exc.reason in SPLITTABLE and failure not in self._unsplittable \
                    and self.clock() < deadline and self._gave_up is None:
                middle = len(chunk) // 2
                first = self._run(session, records, chunk[:middle], deadline, raws)
                second = self._run(session, records, chunk[middle:], deadline, raws)
                if first == second == failure:
                    with self._lock:
                        self._unsplittable.add(failure)  # halving did not help: do not halve on it again
                    return failure
                return None
            for i in chunk:
                raws[i] = exc.reason
            self._resolve(len(chunk))
            return failure
        for i, value in zip(chunk, values, strict=True):
            raws[i] = value
        self._resolve(len(chunk))
        return None

    def _resolve(self, n: int) -> None:
        with self._lock:
            self._resolved += n
            done, handed = self._resolved, self._handed
        if self.progress is not None:
            self.progress(done, handed)

    def _call_with_retries(self, session: requests.Session, batch: list[Mapping[str, Any]],
                           deadline: float) -> list[Raw]:
        attempt = 0
        while True:
            if self._gave_up is not None:
                raise AnswerError(ProbeFailure.ABANDONED, self._gave_up)
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise AnswerError(ProbeFailure.DEADLINE, "the deadline passed before this call")
            try:
                values = self._call(session, batch, min(self.spec.timeout_s, remaining), deadline)
            except _Retryable as exc:
                self._note(None)
                if attempt >= self.spec.retries:
                    raise AnswerError(exc.reason, "retries exhausted", status=exc.status) from exc
                if not self._take_retry_token():
                    raise AnswerError(exc.reason, "the request's retry budget is spent", status=exc.status) from exc
                wait = exc.retry_after if exc.retry_after is not None else self._backoff(attempt)
                if self.clock() + wait >= deadline:
                    raise AnswerError(exc.reason, "waiting to retry would pass the deadline", status=exc.status) \
                        from exc
                self.sleep(wait)
                attempt += 1
                with self._lock:
                    self._retries += 1
            except AnswerError as exc:
                self._note((exc.reason, exc.status) if exc.status is not None and 400 <= exc.status < 500 else None)
                raise
            else:
                self._note(None)
                return values

    def _take_retry_token(self) -> bool:
        with self._lock:
            if self._retry_tokens >= 1:
                self._retry_tokens -= 1
                return True
            self._retries_denied += 1
            return False

    def _note(self, client_error: Failure | None) -> None:
        """Count calls in a row answered with the same client error; give up on the request after enough."""
        with self._lock:
            last, run = self._run_of
            run = run + 1 if client_error is not None and client_error == last else (1 if client_error else 0)
            self._run_of = (client_error, run)
            if client_error is not None and run >= GIVE_UP_AFTER and self._gave_up is None:
                self._gave_up = (f"{run} calls in a row were answered {client_error[1]}; the rest were not sent "
                                 "because an error like that does not go away on its own")

    def _backoff(self, attempt: int) -> float:
        with self._lock:
            return self._random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))

    def _call(self, session: requests.Session, batch: list[Mapping[str, Any]], timeout: float,
              deadline: float) -> list[Raw]:
        try:
            body, content_type = encode(self.spec.format, self.spec.options, batch)
        except (TypeError, ValueError, KeyError, OverflowError, UnicodeError) as exc:
            # a record the format cannot carry (a value JSON or CSV cannot hold): a failed probe, not a crash
            raise AnswerError(ProbeFailure.INVALID_REQUEST, "the records could not be encoded") from exc
        headers = {**self.spec.headers, "Content-Type": content_type, "Host": self.target.netloc}
        if self.request_id:
            headers["X-Request-ID"] = self.request_id
        started = self.clock()
        with self._lock:
            self._requests += 1
        outcome = "no_response"
        try:
            with session.request(self.spec.method, self.target.pinned_url, data=body, headers=headers,
                                 timeout=timeout, allow_redirects=False, stream=True) as response:
                with self._lock:
                    self._statuses[str(response.status_code)] += 1
                status = response.status_code
                outcome = str(status)
                if 300 <= status < 400:
                    raise AnswerError(ProbeFailure.REDIRECT, f"the endpoint answered {status}; redirects are refused")
                if status == 429:
                    raise _Retryable(ProbeFailure.RATE_LIMITED, _retry_after(response.headers))
                if status >= 500:
                    raise _Retryable(ProbeFailure.HTTP_ERROR, _retry_after(response.headers), status=status)
                if status >= 400:
                    raise AnswerError(ProbeFailure.HTTP_ERROR, f"the endpoint answered {status}", status=status)
                content = self._read(response, min(started + timeout, deadline))
        except requests.exceptions.ConnectTimeout as exc:
            raise _Retryable(ProbeFailure.CONNECTION) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise AnswerError(ProbeFailure.TIMEOUT, "no answer within the timeout") from exc
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise AnswerError(ProbeFailure.INVALID_RESPONSE, "the response body is broken") from exc
        except requests.exceptions.ConnectionError as exc:
            raise _Retryable(ProbeFailure.CONNECTION) from exc
        except (requests.exceptions.RequestException, ValueError, UnicodeError) as exc:
            # the request could not be built or sent (a header or URL the HTTP library refuses): no retry helps
            raise AnswerError(ProbeFailure.INVALID_REQUEST, "the request could not be sent") from exc
        finally:
            if self.on_call is not None:
                self.on_call(self.clock() - started, outcome)
        return decode(self.spec.format, self.spec.options, content, len(batch))

    def _read(self, response: requests.Response, until: float) -> bytes:
        """Read the body in pieces, stopping at the size cap or when the call's time is up."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise AnswerError(ProbeFailure.TOO_LARGE, "the declared body is over the size cap")
        parts: list[bytes] = []
        size = 0
        while True:
            if self.clock() > until:
                raise AnswerError(ProbeFailure.TIMEOUT, "the body did not arrive within the timeout")
            piece = response.raw.read1(CHUNK, decode_content=True)
            if not piece:
                return b"".join(parts)
            size += len(piece)
            if size > self.max_response_bytes:
                raise AnswerError(ProbeFailure.TOO_LARGE, "the body is over the size cap")
            parts.append(piece)

    # ------------------------------------------------------------ answers

    def _scored(self, raws: list[Raw | None], elapsed: float, before: tuple[int, int, Counter[str], int]) -> Scored:
        scores: list[float | None] = []
        decisions: list[bool | None] = []
        failures: list[ProbeFailure | None] = []
        answers: list[Any] = []
        keep = self.spec.output in (Output.SEGMENT, Output.LIST)
        for raw in raws:
            score, decision, failure = self._answer(raw)
            scores.append(score)
            decisions.append(decision)
            failures.append(failure)
            if keep:
                answers.append(None if failure is not None else (raw if isinstance(raw, tuple) else str(raw)))
        failed = Counter(f.value for f in failures if f is not None)
        accounting = Accounting(
            sent=len(raws), answered=len(raws) - sum(failed.values()), failed=sum(failed.values()),
            failures=dict(sorted(failed.items())), http_statuses=dict(sorted((self._statuses - before[2]).items())),
            requests=self._requests - before[0], retries=self._retries - before[1], elapsed_s=round(elapsed, 4),
            deadline_s=self.spec.deadline_s, retries_denied=self._retries_denied - before[3], gave_up=self._gave_up,
        )
        return Scored(tuple(scores), tuple(decisions), tuple(failures), accounting, tuple(answers))

    def _answer(self, raw: Raw | None) -> tuple[float | None, bool | None, ProbeFailure | None]:
        if raw is None:  # cannot happen: every chunk is resolved; kept so a bug shows as a failure, not a gap
            return None, None, ProbeFailure.INVALID_RESPONSE
        if isinstance(raw, ProbeFailure):
            return None, None, raw
        if self.spec.output is Output.SCORE:
            if isinstance(raw, tuple):
                return None, None, ProbeFailure.INVALID_VALUE
            if isinstance(raw, bool):
                return float(raw), raw, None
            if isinstance(raw, str):
                try:
                    raw = float(raw)
                except ValueError:
                    return None, None, ProbeFailure.INVALID_VALUE
            return raw, raw >= self.spec.threshold, None
        if self.spec.output is Output.LIST:
            if not isinstance(raw, tuple):
                return None, None, ProbeFailure.INVALID_VALUE
            exposure = list_exposure(raw, self.spec.high_value_items)
            return exposure, exposure > 0, None
        if isinstance(raw, tuple):
            return None, None, ProbeFailure.INVALID_VALUE
        if self.spec.output is Output.SEGMENT:
            placed = any(_same_label(raw, v) for v in self.spec.valuable)
            return float(placed), placed, None
        decision = _same_label(raw, self.spec.positive_label)
        return float(decision), decision, None


def list_exposure(items: tuple[Any, ...], high_value: tuple[Any, ...]) -> float:
    """The DCG-weighted share of high-value items in a ranked list: sum of 1/log2(1 + rank) over them, over
    the same sum over the list (0 for an empty list)."""
    if not items:
        return 0.0
    wanted = {str(v) for v in high_value}
    weights = [1.0 / math.log2(2 + i) for i in range(len(items))]
    return sum(w for w, item in zip(weights, items, strict=True) if str(item) in wanted) / sum(weights)


def _same_label(value: Any, positive: Any) -> bool:
    number_types = int | float
    if isinstance(value, number_types) and isinstance(positive, number_types) \
            and not isinstance(value, bool) and not isinstance(positive, bool):
        return float(value) == float(positive)
    return str(value).strip().lower() == str(positive).strip().lower()


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


