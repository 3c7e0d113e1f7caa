"""What the audit log's rows read as on the console: a label per action code (catalog ids, so
Indonesian and English) and the detail as "key: value" lines instead of raw JSON. The codes
themselves stay in the filter's values and in the CSV export, where tools read them."""

from __future__ import annotations

import json
from typing import Any

from bot.i18n import Translator

# What each action is called on the page (catalog ids); an action not listed shows its code.
ACTION_LABELS: dict[str, str] = {
    "account.identity_changed": "web.audit.act.account_identity_changed",
    "account.link": "web.audit.act.account_link",
    "account.moved": "web.audit.act.account_moved",
    "account.unlink": "web.audit.act.account_unlink",
    "audit.export": "web.audit.act.audit_export",
    "broadcast.acks_export": "web.audit.act.broadcast_acks_export",
    "broadcast.export": "web.audit.act.broadcast_export",
    "broadcast.create": "web.audit.act.broadcast_create",
    "broadcast.cancel": "web.audit.act.broadcast_cancel",
    "reminder.create": "web.audit.act.reminder_create",
    "reminder.cancel": "web.audit.act.reminder_cancel",
    "reminder.add": "web.audit.act.reminder_add",
    "reminder.remove": "web.audit.act.reminder_remove",
    "case.answer": "web.audit.act.case_answer",
    "case.cancel": "web.audit.act.case_cancel",
    "case.code": "web.audit.act.case_code",
    "case.duplicate.merge": "web.audit.act.case_duplicate_merge",
    "case.duplicate.reject": "web.audit.act.case_duplicate_reject",
    "case.merge": "web.audit.act.case_merge",
    "case.open": "web.audit.act.case_open",
    "case.questions": "web.audit.act.case_questions",
    "case.queue": "web.audit.act.case_queue",
    "case.received": "web.audit.act.case_received",
    "case.reopen": "web.audit.act.case_reopen",
    "case.report": "web.audit.act.case_report",
    "case.satisfaction": "web.audit.act.case_satisfaction",
    "case.view": "web.audit.act.case_view",
    "cli.db.behind": "web.audit.act.cli_db_behind",
    "cli.db.upgraded": "web.audit.act.cli_db_upgraded",
    "data_request.done": "web.audit.act.data_request_done",
    "data_request.read": "web.audit.act.data_request_read",
    "data_request.refused": "web.audit.act.data_request_refused",
    "database.backup": "web.audit.act.database_backup",
    "database.restore": "web.audit.act.database_restore",
    "employee.deceased": "web.audit.act.employee_deceased",
    "employee.view": "web.audit.act.employee_view",
    "guidance.require": "web.audit.act.guidance_require",
    "guidance.unrequire": "web.audit.act.guidance_unrequire",
    "link_code.budget_tripped": "web.audit.act.link_code_budget_tripped",
    "link_code.create": "web.audit.act.link_code_create",
    "ops.backup.done": "web.audit.act.ops_backup_done",
    "period.close": "web.audit.act.period_close",
    "period.open": "web.audit.act.period_open",
    "period.publish": "web.audit.act.period_publish",
    "rating.flags.view": "web.audit.act.rating_flags_view",
    "rating.save": "web.audit.act.rating_save",
    "retention.run": "web.audit.act.retention_run",
    "role.grant": "web.audit.act.role_grant",
    "role.revoke": "web.audit.act.role_revoke",
    "roster.export": "web.audit.act.roster_export",
    "roster.import": "web.audit.act.roster_import",
    "roster.list": "web.audit.act.roster_list",
    "roster.preview": "web.audit.act.roster_preview",
    "standings.export": "web.audit.act.standings_export",
    "standings.view": "web.audit.act.standings_view",
    "web.login": "web.audit.act.web_login",
    "web.login.bad_code": "web.audit.act.web_login_bad_code",
    "web.login.code_sent": "web.audit.act.web_login_code_sent",
    "web.login.failed": "web.audit.act.web_login_failed",
    "web.login.locked": "web.audit.act.web_login_locked",
    "web.login.no_chat": "web.audit.act.web_login_no_chat",
    "web.logout": "web.audit.act.web_logout",
}


def action_label(action: str, t: Translator) -> str:
    """The action's name in the officer's language; an action without one shows its code."""
    key = ACTION_LABELS.get(action)
    return t(key) if key else action


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return ", ".join(str(v) for v in value)
    if value is None:
        return "–"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def detail_lines(detail: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The detail's keys in order, each with its value as text (lists joined, nested values as
    compact JSON)."""
    return [(key, _value(value)) for key, value in sorted((detail or {}).items())]
