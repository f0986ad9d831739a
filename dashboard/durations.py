"""How long things took, the way the dashboard says it ("4m 05s")."""


def format_duration(seconds: float | None) -> str:
    """Seconds as "42s", "4m 05s" or "2h 07m"; None as a dash."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
