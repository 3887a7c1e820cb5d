"""The HTTP client of the marketplace's JSON API (no Django import: workers and the CLI use it).

Every failure is a :class:`ApiError` with the server's one-line ``detail`` and the HTTP
status, or a connection failure said in one line.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import requests


class ApiError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class MarketClient:
    url: str
    token: str | None = None
    timeout: float = 60.0
    #: retries of requests that failed to connect or got a 5xx/429 (the marketplace restarting)
    retries: int = 5

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.session = requests.Session()
        if self.token:
            self.session.headers["Authorization"] = f"Bearer {self.token}"

    def _request(self, method: str, path: str, *, raw: bool = False, **kwargs) -> Any:
        url = f"{self.url}/api{path}"
        delay = 0.5
        for attempt in range(self.retries + 1):
            try:
                r = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as e:
                if attempt == self.retries:
                    raise ApiError(f"cannot reach the marketplace at {self.url}: {type(e).__name__}") from None
            else:
                if r.status_code not in (429, 502, 503, 504) or attempt == self.retries:
                    break
            for f in kwargs.get("files", {}).values():    # rewind uploads before retrying
                if hasattr(f, "seek"):
                    f.seek(0)
                elif isinstance(f, tuple) and hasattr(f[1], "seek"):
                    f[1].seek(0)
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text.strip()[:200] or r.reason
            if isinstance(detail, list):          # pydantic validation errors
                detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail)
            raise ApiError(f"{detail} (HTTP {r.status_code})", r.status_code)
        if raw:
            return r.content
        return r.json() if r.content else None

    # ------------------------------------------------------------ accounts
    def register(self, username: str, password: str, operator: bool = False) -> dict:
        return self._request("POST", "/register", json={"username": username, "password": password,
                                                         "operator": operator})

    def account(self) -> dict:
        return self._request("GET", "/account")

    def deposit(self, amount: int, to_collateral: bool = False) -> dict:
        return self._request("POST", "/account/deposit", json={"amount": amount, "to_collateral": to_collateral})

    # ------------------------------------------------------------ clients
    def upload_program(self, elf: bytes, name: str, public_input: bytes = b"") -> dict:
        return self._request("POST", "/programs", files={"program": (name, elf), "input": ("input", public_input)})

    def submit_job(self, elf: bytes, name: str, public_input: bytes = b"", private_input: bytes | None = None,
                   **fields: Any) -> dict:
        files = {"program": (name, elf), "input": ("input", public_input)}
        if private_input is not None:
            files["private_input"] = ("private_input", private_input)
        data = {k: str(v) for k, v in fields.items() if v is not None}
        return self._request("POST", "/jobs", files=files, data=data)

    def submit_diagnosis(self, model: str, ecg: bytes, **fields: Any) -> dict:
        """A job of a registered model on ``ecg`` (its private input); the provider supplies the weights."""
        data = {k: str(v) for k, v in fields.items() if v is not None}
        return self._request("POST", "/jobs", files={"private_input": ("ecg", ecg)}, data={**data, "model": model})

    # ------------------------------------------------------------ the clinic's model registry
    def register_model(self, name: str, commitment: str, *, elf: bytes | None = None, image_id: str | None = None,
                       report: dict | None = None, classes: list[str] | None = None,
                       cycles: int | None = None) -> dict:
        """Register a model by the commitment (SHA-256) of its weights: the weights are not sent."""
        import json
        data = {"name": name, "commitment": commitment, "report": json.dumps(report or {})}
        if image_id:
            data["image_id"] = image_id
        if classes:
            data["classes"] = json.dumps(list(classes))
        if cycles is not None:
            data["cycles"] = str(cycles)
        if elf is None:
            return self._request("POST", "/models", data=data)
        return self._request("POST", "/models", data=data, files={"program": ("classifier.elf", elf)})

    def models(self) -> list[dict]:
        return self._request("GET", "/models")

    def model(self, name: str) -> dict:
        from urllib.parse import quote
        return self._request("GET", f"/models/{quote(name, safe='')}")

    def job(self, job_id: str) -> dict:
        return self._request("GET", f"/jobs/{job_id}")

    def jobs(self) -> list[dict]:
        return self._request("GET", "/jobs")

    def journal(self, job_id: str) -> bytes:
        return self._request("GET", f"/jobs/{job_id}/journal", raw=True)

    def receipt(self, job_id: str) -> bytes:
        return self._request("GET", f"/jobs/{job_id}/receipt", raw=True)

    def wait(self, job_id: str, *, timeout: float = 3600.0, poll: float = 1.0, on_change=None) -> dict:
        """Poll until the job is paid, failed or refunded; ``on_change(job)`` sees each new view."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            job = self.job(job_id)
            view = (job["state"], str(job.get("progress")))
            if view != last and on_change is not None:
                on_change(job)
            last = view
            if job["state"] in ("paid", "failed", "refunded"):
                return job
            if time.monotonic() > deadline:
                raise ApiError(f"job {job_id} still {job['state']} after {timeout:.0f} s")
            time.sleep(poll)

    # ------------------------------------------------------------ operators
    def offers(self) -> list[dict]:
        return self._request("GET", "/offers")

    def lock(self, job_id: str, chain_address: str = "") -> dict:
        if chain_address:
            return self._request("POST", f"/jobs/{job_id}/lock", data={"chain_address": chain_address})
        return self._request("POST", f"/jobs/{job_id}/lock")

    def inputs(self, job_id: str) -> dict:
        got = self._request("GET", f"/jobs/{job_id}/inputs")
        return {**got, "program": base64.b64decode(got["program_b64"]), "input": base64.b64decode(got["input_b64"]),
                "private_input": base64.b64decode(got["private_input_b64"])}

    def progress(self, job_id: str, stage: str, done: int, total: int) -> None:
        self._request("POST", f"/jobs/{job_id}/progress", json={"stage": stage, "done": done, "total": total})

    def upload_receipt(self, job_id: str, receipt: bytes, transactions: list[dict] | None = None) -> dict:
        import json
        data = {"transactions": json.dumps(transactions)} if transactions else {}
        return self._request("POST", f"/jobs/{job_id}/receipt", files={"receipt": ("receipt.zkm", receipt)},
                             data=data)

    def report_transactions(self, job_id: str, transactions: list[dict]) -> dict:
        return self._request("POST", f"/jobs/{job_id}/transactions", json=transactions)

    def verify(self, receipt: bytes, image_id: str | None = None) -> dict:
        data = {"image_id": image_id} if image_id else {}
        return self._request("POST", "/verify", files={"receipt": ("receipt.zkm", receipt)}, data=data)
