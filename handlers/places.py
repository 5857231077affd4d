"""Hanzhong's county-level divisions, as codes; their names are in the catalogs (county.<code>)."""

from __future__ import annotations

from handlers.inputs import Choice, options_from

COUNTIES: tuple[str, ...] = (
    "hantai",
    "nanzheng",
    "chenggu",
    "yangxian",
    "xixiang",
    "mianxian",
    "ningqiang",
    "lueyang",
    "zhenba",
    "liuba",
    "foping",
)

COUNTY_CHOICE: Choice = options_from(COUNTIES, "county", columns=3)
