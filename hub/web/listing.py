"""Every long list of the web UI: a search box, sortable columns, pages and counts, all on the server.

`read_query` turns the query string into a `ListQuery` (refusing a bad page, sort or search with a 422
that says what to write); `paginate` sorts and cuts a list already filtered by the caller; a `Listing`
carries the page's rows, the total and the links (the `pager` and `sort_th` macros in macros.html).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from hub.errors import Invalid
from hub.search import matches, search_words

T = TypeVar("T")
PER_PAGE = 50
SEARCH_MAX = 100  # characters of a search
PAGE_MAX = 100_000


@dataclass(frozen=True)
class ListQuery:
    """What a list was asked for: the search words (folded), the page, the sort column and direction, and
    the page's other filters (kept in every link)."""

    q: str = ""
    page: int = 1
    sort: str = ""
    desc: bool = False
    per_page: int = PER_PAGE
    filters: Mapping[str, str] = field(default_factory=dict)
    default: str = ""  # the list's own order ("-created"): left out of the links

    def matches(self, *texts: str | None) -> bool:
        """Every word of the search is in one of the texts (hub.search)."""
        return matches(search_words(self.q), *texts)


def read_query(
    query: Mapping[str, str],
    sorts: Iterable[str],
    default_sort: str,
    *,
    default_desc: bool = False,
    filters: Iterable[str] = (),
    per_page: int = PER_PAGE,
) -> ListQuery:
    """The list's parameters from the query string: `q`, `page` (from 1), `sort` (one of `sorts`, "-" in
    front for the other direction) and the named `filters`."""
    q = query.get("q", "").strip()
    if len(q) > SEARCH_MAX:
        raise Invalid(f"Từ khóa tìm kiếm dài quá {SEARCH_MAX} ký tự; hãy rút ngắn.", field="q")
    raw_page = query.get("page", "").strip() or "1"
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= PAGE_MAX:
        raise Invalid(f"Số trang '{raw_page[:20]}' không hợp lệ; hãy dùng một số từ 1.", field="page")
    raw_sort = query.get("sort", "").strip()
    desc = raw_sort.startswith("-")
    sort = raw_sort.lstrip("-")
    allowed = list(sorts)
    if sort and sort not in allowed:
        raise Invalid(
            f"Không sắp xếp được theo '{sort[:30]}'; hãy chọn một trong: {', '.join(allowed)}.", field="sort"
        )
    if not sort:
        sort, desc = default_sort, default_desc
    kept = {k: query.get(k, "").strip() for k in filters if query.get(k, "").strip()}
    default = ("-" if default_desc else "") + default_sort
    return ListQuery(q, int(raw_page), sort, desc, per_page, kept, default)


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One page of a list: its rows, how many there are in all, and the links to other pages and sorts."""

    rows: list[T]
    total: int
    lq: ListQuery
    path: str

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.lq.per_page))

    @property
    def page(self) -> int:
        return min(self.lq.page, self.pages)

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.lq.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.lq.per_page)

    def url(self, **change: Any) -> str:
        """This list's address with some parameters changed (page=None drops the page)."""
        params: dict[str, Any] = {**self.lq.filters}
        if self.lq.q:
            params["q"] = self.lq.q
        params["sort"] = ("-" if self.lq.desc else "") + self.lq.sort
        params["page"] = self.page
        params.update(change)
        drop = {"page": 1, "sort": self.lq.default}
        kept = {k: v for k, v in params.items() if v not in (None, "") and drop.get(k) != v}
        return self.path + ("?" + urlencode(kept) if kept else "")

    def sort_url(self, key: str) -> str:
        """Sort by `key`; the same column again turns the order round. Back to page 1."""
        desc = not self.lq.desc if key == self.lq.sort else False
        return self.url(sort=("-" if desc else "") + key, page=None)

    def aria_sort(self, key: str) -> str:
        if key != self.lq.sort:
            return "none"
        return "descending" if self.lq.desc else "ascending"


def paginate(
    items: Sequence[T], lq: ListQuery, path: str, keys: Mapping[str, Callable[[T], Any]]
) -> Listing[T]:
    """Sort the (already filtered) `items` by `keys[lq.sort]` and keep `lq.page` of them."""
    rows = sorted(items, key=keys[lq.sort], reverse=lq.desc) if lq.sort in keys else list(items)
    pages = max(1, math.ceil(len(rows) / lq.per_page))
    page = min(lq.page, pages)
    start = (page - 1) * lq.per_page
    return Listing(rows[start : start + lq.per_page], len(rows), lq, path)
