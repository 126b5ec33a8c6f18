"""Every refusal is JSON (or, on the web page, a page) with a clear message and a 4xx status.

The workflow's validators refuse with ApplicationError types that are the domain's refusal
codes; here each code gets its HTTP status, so the API says exactly what the workflow said.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from domain.problems import Problem
from domain.refusals import RefusalCode

# Why each status: a person without the role is not allowed (403); the plan is not at
# the step, or the content moved on (409: retry after reading the status again); the
# hearing is over for good (410); the content or decision itself is wrong (422); a
# measure or goal the plan in force does not have is not found (404).
REFUSAL_STATUS: dict[str, int] = {
    RefusalCode.UNKNOWN_PARTICIPANT.value: 403,
    RefusalCode.WRONG_ROLE.value: 403,
    RefusalCode.GATE_NOT_OPEN.value: 409,
    RefusalCode.STALE_CONTENT.value: 409,
    RefusalCode.LATE_RESPONSE.value: 410,
    RefusalCode.NOT_OPEN_YET.value: 409,
    RefusalCode.INVALID_CONTENT.value: 422,
    RefusalCode.INVALID_DECISION.value: 422,
    RefusalCode.UNKNOWN_ITEM.value: 404,
    RefusalCode.INVALID_VALUE.value: 422,
    "InvalidInput": 422,  # an Update's input that does not decode (runtime.payload_converter)
    "RevisionCannotRun": 409,  # a trigger recorded as failed (client.schedules)
    # The record refused the append; nothing was recorded, and no retry changes that.
    "EventIdConflict": 409,
    "ConcurrencyConflict": 409,
    "CanonicalFormError": 422,
    "DataRefused": 422,
}


class ErrorBody(BaseModel):
    code: str
    message: str
    problems: list[Problem] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, problems: list[Problem] | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.problems = problems or []
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        return ErrorResponse(
            error=ErrorBody(code=self.code, message=self.message, problems=self.problems)
        ).model_dump(mode="json")


def refused(code: str, message: str) -> ApiError:
    return ApiError(REFUSAL_STATUS.get(code, 409), code, message)


def not_authenticated() -> ApiError:
    return ApiError(
        401,
        "NotAuthenticated",
        "send your personal access token as 'Authorization: Bearer <token>' "
        "(an administrator issues it with `temaplan tokens issue PERSON`)",
    )


def not_allowed(message: str) -> ApiError:
    return ApiError(403, "NotAllowed", message)


def unknown_plan(plan_id: str) -> ApiError:
    return ApiError(
        404,
        "UnknownPlan",
        f"no plan '{plan_id}' (plan ids look like '1804-boligplan-2026')",
    )


# Shown in the OpenAPI document for every route that can refuse.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        401: "not authenticated",
        403: "not allowed (wrong role, not a participant, auditors change nothing)",
        404: "unknown plan, revision, measure or goal",
        409: "gate not open, or stale content version",
        410: "the hearing is closed",
        413: "request too large",
        422: "invalid input",
        429: "too many requests",
    }.items()
}
