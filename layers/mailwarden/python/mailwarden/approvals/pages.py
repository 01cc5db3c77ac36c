"""HTML for the approval links: a confirmation page (GET; it never decides) and a result page.
Everything shown is escaped; the pages load nothing from anywhere and cannot be framed."""

from __future__ import annotations

from html import escape

from ..clock import iso
from .model import Attempt, Decision, Outcome, plan_lines

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the URL carries a signature
    "Cache-Control": "no-store",
}

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}"
    "dt{font-weight:600;margin-top:.6rem}pre{background:#f4f4f4;padding:.8rem;overflow:auto}"
    "button{font-size:1.1rem;padding:.6rem 1.4rem;margin-top:1rem}"
    ".approve{background:#1a7f37;color:#fff;border:0}.reject{background:#cf222e;color:#fff;border:0}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<meta name=robots content=noindex><title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def confirmation(attempt: Attempt, outcome: Outcome) -> str:
    request = outcome.request
    assert request is not None
    plan_text = "\n".join(plan_lines(request.plan))
    verb = "Approve" if attempt.decision is Decision.APPROVE else "Reject"
    hidden = "".join(
        f'<input type=hidden name="{name}" value="{escape(value)}">'
        for name, value in (
            ("decision", attempt.decision.value),
            ("approver", attempt.approver),
            ("expires", str(attempt.expires)),
            ("sig", attempt.signature),
        )
    )
    body = (
        f"<p>You are about to <strong>{verb.lower()}</strong> this request as {escape(attempt.approver)}.</p>"
        "<dl>"
        f"<dt>What will happen</dt><dd>{escape(request.summary)}</dd>"
        f"<dt>Why</dt><dd>{escape(request.reason)}</dd>"
        f"<dt>To what</dt><dd>{escape(request.subject)}</dd>"
        f"<dt>Action</dt><dd>{escape(request.action)}</dd>"
        f"<dt>Requested by</dt><dd>{escape(request.requester)}</dd>"
        f"<dt>Decide before</dt><dd>{iso(request.expires_at)} UTC</dd>"
        "</dl>"
        f"<h2>Plan</h2><pre>{escape(plan_text)}</pre>"
        '<form method=post action="">'
        f"{hidden}"
        "<label for=comment>Comment (optional)</label><br><textarea id=comment name=comment rows=3 cols=60 "
        "maxlength=1000></textarea><br>"
        f'<button type=submit class="{attempt.decision.value}">{verb}</button>'
        "</form><p><small>Nothing has been decided yet. Opening this page changes nothing.</small></p>"
    )
    return _page(f"{verb} {request.action}?", body)


def result(outcome: Outcome) -> str:
    title = "Done" if outcome.accepted else "Not done"
    return _page(title, f"<p>{escape(outcome.message)}</p>")
