"""Every entry of a catalog type, read page by page from `GET /v3/catalog_entries`.

Pure: the caller does the HTTP, feeding pages in through `fetch`.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

JSONObject = Mapping[str, t.Any]

ENTRIES_PATH = "/v3/catalog_entries"
# The most one `GET /v3/catalog_entries` page holds.
PAGE_SIZE = 250


def listing_path(catalog_type_id: str, after: str | None = None, page_size: int = PAGE_SIZE) -> str:
    """Path and query of one `GET /v3/catalog_entries` page; the caller prefixes base_url."""
    query = {"catalog_type_id": catalog_type_id, "page_size": str(page_size)}
    if after:
        query["after"] = after
    return f"{ENTRIES_PATH}?{urlencode(query)}"


@dataclass(frozen=True)
class ListingPage:
    """One parsed `CatalogListEntriesResultV3`."""

    entries: tuple[JSONObject, ...]
    # The cursor for the next page; None once the listing is complete.
    after: str | None
    # Attribute id -> type, from the `catalog_type` every page carries.
    attribute_types: Mapping[str, str]


def parse_listing_page(body: object) -> ListingPage:
    """Entries, next cursor and attribute types of a listing page.

    The listing ends at a page without `pagination_meta.after`, or without entries (where
    catalog-importer stops), so a server that repeats its cursor on an empty last page
    cannot loop the caller.
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("catalog_entries"), list):
        msg = (
            "a catalog listing must be an object with a 'catalog_entries' list: "
            f"got {type(body).__name__}"
        )
        raise TypeError(msg)
    entries = tuple(body["catalog_entries"])
    meta = body.get("pagination_meta")
    after = meta.get("after") if isinstance(meta, Mapping) else None
    return ListingPage(
        entries=entries,
        after=after if entries and isinstance(after, str) and after else None,
        attribute_types=_attribute_types(body.get("catalog_type")),
    )


def _attribute_types(catalog_type: object) -> dict[str, str]:
    """Attribute id -> type name from a `CatalogTypeV3`, skipping anything malformed."""
    schema = catalog_type.get("schema") if isinstance(catalog_type, Mapping) else None
    attributes = schema.get("attributes") if isinstance(schema, Mapping) else None
    return {
        a["id"]: a["type"]
        for a in attributes or ()
        if isinstance(a, Mapping)
        and isinstance(a.get("id"), str)
        and isinstance(a.get("type"), str)
    }


@dataclass(frozen=True)
class Listing:
    """Every entry of a catalog type, gathered page by page."""

    entries: tuple[JSONObject, ...]
    attribute_types: Mapping[str, str]
    pages: int


def collect_listing(
    catalog_type_id: str, fetch: Callable[[str], object], page_size: int = PAGE_SIZE
) -> Listing:
    """Follow the listing's cursors with `fetch(path) -> JSON body` (the caller's HTTP GET).

    A cursor seen twice is an error rather than an endless loop.
    """
    entries: list[JSONObject] = []
    types: dict[str, str] = {}
    seen: set[str] = set()
    after: str | None = None
    pages = 0
    while True:
        page = parse_listing_page(fetch(listing_path(catalog_type_id, after, page_size)))
        pages += 1
        entries.extend(page.entries)
        types.update(page.attribute_types)
        if page.after is None:
            return Listing(tuple(entries), types, pages)
        if page.after in seen:
            msg = f"the listing of catalog type {catalog_type_id} repeated cursor {page.after!r}"
            raise ValueError(msg)
        seen.add(page.after)
        after = page.after
