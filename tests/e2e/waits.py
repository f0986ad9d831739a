"""Waiting on the page from the test side.

Playwright's `wait_for_function` polls by evaluating its text inside the page, which the
app's Content-Security-Policy (script-src 'self', no 'unsafe-eval') rightly refuses.
`page.evaluate` runs through the browser's debugging protocol instead, outside the policy:
poll with it.
"""

import time


def wait_js(page, predicate: str, *, timeout: float = 15.0) -> None:
    """Until the JavaScript function `predicate` returns something truthy on the page."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {predicate}")
        page.wait_for_timeout(50)
