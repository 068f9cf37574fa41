"""The accessibility walk (``test_walk_*.py``): every page each persona reaches by
following links, in Chromium at 1366 px and at 390 px, on the demo book.

Each page answers below 400 without a console error, has one ``<h1>``, labels every
control, fits the viewport without sideways scrolling, has no serious or critical
axe-core violation (``axe-playwright-python``, which brings axe's script) and can be
entered from the keyboard (the first Tab reaches the skip link; no positive tabindex);
chart text is at least 8 px high and its month labels neither overlap nor leave the chart.
A full-page screenshot of each is kept under ``var/screenshots/walk/`` (a CI artifact).
axe audits each page pattern once per width (the first persona to reach it).

Fast on purpose (it runs in CI): one browser, one context per persona and width, each
page pattern once per persona (``/statements/42/`` stands for every statement). The
providers' and the customers' walks are two files, so that the suite's two processes
take one each.
"""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from urllib.parse import urljoin, urlparse

from django.contrib.auth import get_user_model
from django.core.management import call_command

from contracts.models import Membership, Organization

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "walk"
WIDTHS = {"desktop": 1366, "phone": 390}
DEMO_PASSWORD = "demo"
# Not pages: downloads, the API, logging out, probes; and the Django admin's own pages
# beyond its index and the contract page (Django's templates, outside this walk's reach).
SKIPPED = re.compile(
    r"^/(api|healthz|metrics|static)/|/logout/|\.(csv|pdf|ya?ml|json|ics|txt)$|/(csv|pdf)/$"
)
# Found in Django's own admin templates (its breadcrumbs' links, its filter widget's help
# icon), not in the portal's: left to Django.
DJANGO_ADMIN_OWN = {"link-in-text-block", "aria-prohibited-attr"}
ADMIN_PAGES = re.compile(r"^/admin/$|^/admin/contracts/contract/(\d+/change/)?$")
PAGE_CHECKS = """() => {
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const controls = [...document.querySelectorAll('input, select, textarea')].filter(
    (el) => el.type !== 'hidden' && el.type !== 'submit' && el.type !== 'button' && visible(el));
  const unlabelled = controls.filter((el) => !(el.labels && el.labels.length)
    && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby') && !el.title)
    .map((el) => el.outerHTML.slice(0, 120));
  return {
    h1: document.querySelectorAll('h1').length,
    lang: document.documentElement.lang,
    scrollWidth: document.documentElement.scrollWidth,
    unlabelled,
    positiveTabindex: [...document.querySelectorAll('[tabindex]')]
      .filter((el) => el.tabIndex > 0).map((el) => el.outerHTML.slice(0, 120)),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')),
    // Chart text a person can read: no label under 8 px high, none over the next one,
    // none outside its chart.
    tinyText: [...document.querySelectorAll('svg text')].filter((t) => visible(t)
      && t.getBoundingClientRect().height < 8).length,
    crowdedLabels: [...document.querySelectorAll('svg.chart')].map((svg) => {
      const frame = svg.getBoundingClientRect();
      const boxes = [...svg.querySelectorAll('.xlabels text')].filter(visible)
        .map((t) => t.getBoundingClientRect());
      return boxes.filter((b, i) => (i > 0 && b.left < boxes[i - 1].right)
        || b.left < frame.left - 1 || b.right > frame.right + 1).length;
    }).reduce((a, b) => a + b, 0),
  };
}"""


def personas() -> dict[str, str]:
    """The five personas on the demo book: username → who."""
    users = get_user_model().objects
    northwind = Organization.objects.get(slug="northwind")
    globex = Organization.objects.get(slug="globex")
    for username, organization in (("provider-viewer", northwind), ("customer-viewer", globex)):
        user = users.create_user(username, password=DEMO_PASSWORD)
        Membership.objects.create(user=user, organization=organization, role="viewer")
    return {
        "provider": "provider editor",
        "provider-viewer": "provider viewer",
        "customer": "customer editor",
        "customer-viewer": "customer viewer",
        "admin": "operator",
    }


def _pattern(path: str) -> str:
    parsed = urlparse(path)
    return re.sub(r"\d+", "N", parsed.path) + ("?" if parsed.query else "")


def _log_in(page, username: str) -> None:
    """By keyboard alone: type, Tab, type, Enter (the field by its id: its label is in the
    browser's language)."""
    page.goto("/accounts/login/")
    page.locator("#id_username").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _first_tab_reaches_skip_link(page) -> bool:
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    page.keyboard.press("Tab")
    reached = page.evaluate("() => document.activeElement.classList.contains('skip')")
    page.evaluate("() => document.activeElement.blur()")  # the screenshot without it
    return reached


def _check(page, axe, url: str, width: int, problems: list[str], audited: set) -> dict:
    info = page.evaluate(PAGE_CHECKS)
    where = f"{url} at {width} px"
    if info["h1"] != 1:
        problems.append(f"{where}: {info['h1']} <h1>")
    if info["scrollWidth"] > width:
        problems.append(f"{where}: {info['scrollWidth']} px wide")
    if info["unlabelled"]:
        problems.append(f"{where}: unlabelled {info['unlabelled']}")
    if info["tinyText"] or info["crowdedLabels"]:
        problems.append(
            f"{where}: chart text under 8 px ({info['tinyText']}) or crowded, cut off labels "
            f"({info['crowdedLabels']})"
        )
    if info["positiveTabindex"]:
        problems.append(f"{where}: positive tabindex {info['positiveTabindex']}")
    if not url.startswith("/admin/") and not _first_tab_reaches_skip_link(page):
        problems.append(f"{where}: the first Tab does not reach the skip link")
    # axe is the slow part: each page pattern once per width, whoever reaches it first.
    if (_pattern(url), width) in audited:
        return info
    audited.add((_pattern(url), width))
    results = axe.run(page)
    for violation in results.response["violations"]:
        if url.startswith("/admin/") and violation["id"] in DJANGO_ADMIN_OWN:
            continue
        if violation["impact"] in ("serious", "critical"):
            targets = [node["target"] for node in violation["nodes"]][:3]
            problems.append(f"{where}: axe {violation['id']} ({violation['impact']}) {targets}")
    return info


def walk(
    browser,
    base_url: str,
    username: str,
    axe,
    problems: list[str],
    audited: set,
    widths: dict[str, int] = WIDTHS,
    locale: str = "en-GB",
) -> int:
    """Visit every page ``username`` reaches, at the widths given (both by default) with
    the browser asking for ``locale``; returns the pages seen."""
    contexts = {
        name: browser.new_context(
            base_url=base_url, viewport={"width": w, "height": 900}, locale=locale
        )
        for name, w in widths.items()
    }
    pages = {name: context.new_page() for name, context in contexts.items()}
    errors: list[str] = []
    for page in pages.values():
        page.set_default_timeout(15_000)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        _log_in(page, username)
    queue, patterns, seen = ["/"], {"/"}, 0
    while queue:
        url = queue.pop(0)
        links: list[str] = []
        for name, page in pages.items():
            errors.clear()
            response = page.goto(url)
            status = response.status if response else 0
            if status >= 400:
                problems.append(f"{username}: {url} answered {status}")
                break
            info = _check(page, axe, url, widths[name], problems, audited)
            if locale.startswith("de") and not url.startswith("/admin/") and info["lang"] != "de":
                problems.append(f"{username}: {url} is not in German ({info['lang']})")
            if errors:
                problems.append(f"{username}: {url} at {widths[name]} px: console {errors[:2]}")
            slug = re.sub(r"[^a-z0-9]+", "-", f"{username}-{locale}{url}".lower()).strip("-")
            page.screenshot(
                path=str(SCREENSHOTS / f"{slug}-{widths[name]}.jpeg"), full_page=True, quality=60
            )
            links = info["links"]
        seen += 1
        for href in links:
            if href.startswith(("#", "mailto:")):
                continue
            parsed = urlparse(urljoin(base_url + url, href))
            if parsed.netloc != urlparse(base_url).netloc:
                continue
            path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
            if SKIPPED.search(parsed.path):
                continue
            if parsed.path.startswith("/admin/") and not ADMIN_PAGES.search(parsed.path):
                continue
            if _pattern(path) not in patterns:
                patterns.add(_pattern(path))
                queue.append(path)
    for context in contexts.values():
        context.close()
    return seen


def walk_demo(browser, base_url: str, walks: list[tuple[str, dict[str, int], str]]) -> None:
    """Load the demo book and walk each (username, widths, browser locale); every persona
    reaches more than its home page (a broken login would walk nothing) and no page has a
    problem."""
    from axe_playwright_python.sync_playwright import Axe

    call_command("loaddemo", stdout=StringIO())
    personas()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    problems: list[str] = []
    visited: dict[str, int] = {}
    audited_by_locale: dict[str, set] = {}
    for username, widths, locale in walks:
        # The same page in German is another page: its own axe audits.
        audited = audited_by_locale.setdefault(locale, set())
        visited[f"{username} ({locale})"] = walk(
            browser, base_url, username, axe, problems, audited, widths=widths, locale=locale
        )
    assert all(count >= 8 for count in visited.values()), visited
    assert problems == [], "\n".join(problems)
