"""Typed sync definitions (pydantic v2), shaped exactly like the YAML of a `syncs/*.yml` file."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from segflow.segments.model import SegmentRef

# Customer columns a sync may map (the newest customer version, read at sync time), and the
# segment tier. Consent and erasure columns are rules, never fields.
MAPPABLE_COLUMNS = (
    "customer_id",
    "first_name",
    "last_name",
    "gender",
    "birth_date",
    "signup_date",
    "signup_store",
    "language",
    "country",
    "postal_code",
    "app_user",
    "login_method",
    "tier",
)
KLAVIYO_ATTRIBUTES = ("first_name", "last_name", "external_id", "organization", "title", "locale")
KLAVIYO_PROPERTY = re.compile(r"^properties\.[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAILCHIMP_MERGE_TAG = re.compile(r"^[A-Z][A-Z0-9_]{0,9}$")


def _error(key: str, message: str) -> PydanticCustomError:
    return PydanticCustomError("segflow", "{message}", {"key": key, "message": message})


class SyncDefinition(BaseModel):
    """One sync: which segment's consenting members go to which list, with which fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    segment: SegmentRef = Field(description="a segment, or one tier: loyalty_status.gold")
    destination: Literal["klaviyo", "mailchimp"]
    list: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="the list's name on the platform; created when missing"
    )
    mode: Literal["mirror", "add_only"] = "mirror"
    fields: dict[str, Literal[MAPPABLE_COLUMNS]] = Field(  # type: ignore[valid-type]
        default_factory=dict,
        description="platform field: customer column (nothing else is sent)",
    )
    holdout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    max_removals: Annotated[float, Field(ge=0, le=1)] = 0.25
    schedule: Literal["after_build", "manual"] = "after_build"

    @model_validator(mode="after")
    def _platform_fields(self) -> SyncDefinition:
        for key in self.fields:
            if self.destination == "klaviyo":
                ok = key in KLAVIYO_ATTRIBUTES or KLAVIYO_PROPERTY.match(key)
                hint = f"one of {', '.join(KLAVIYO_ATTRIBUTES)} or properties.<name>"
            else:
                ok = MAILCHIMP_MERGE_TAG.match(key)
                hint = "a merge tag: upper-case letters, digits and _, at most 10 (FNAME, LNAME)"
            if not ok:
                raise _error(f"fields.{key}", f"{key!r} is no {self.destination} field: use {hint}")
        return self

    @property
    def segment_name(self) -> str:
        return self.segment.split(".")[0]

    @property
    def tier(self) -> str | None:
        return self.segment.split(".")[1] if "." in self.segment else None
