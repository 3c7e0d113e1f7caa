"""The `abdi` command as an operator uses it: link codes, roles, unlinking, config errors, chat."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.messages import Channel
from storage.models import Account, AuditLog, Employee, LinkCode
from tests.conftest import Result
from tests.fakes.chat import Chat

HR_NIP = "198412052009031034"
STAFF_NIP = "199803132020012001"  # Mega Hidayat, no roles in the demo roster
STAFF_PHONE = "081200000001"
UNKNOWN_NIP = "199001012015011999"
CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")
ABDI = Path(sys.executable).with_name("abdi")


async def cli_audit(app, action: str) -> list[AuditLog]:
    async with app.sessions() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))


async def linked(app, user_ref: str, channel: str = "telegram") -> str | None:
    """The NIP the chat account is linked to, if any."""
    async with app.sessions() as session:
        account = await session.scalar(
            select(Account).where(Account.user_ref == user_ref, Account.channel == channel)
        )
        if account is None or account.employee_id is None:
            return None
        employee = await session.get(Employee, account.employee_id)
        return employee.nip if employee else None


async def link_by_contact(user: Chat) -> None:
    await user.send("/start")
    await user.press("Hubungkan")
    await user.share_contact(STAFF_PHONE)
    assert "berhasil terhubung" in user.text


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.code != 0, result
    assert result.out == "", result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("abdi: galat: "), result
    for fragment in fragments:
        assert fragment in lines[0], result


# ---------------------------------------------------------------- link-code


async def test_link_code_links_an_account_once(cli, demo_app) -> None:
    result = await cli("link-code", STAFF_NIP)
    assert result.code == 0, result
    assert "Mega Hidayat" in result.out
    found = CODE.search(result.out)
    assert found, result.out
    code = found.group(0)

    user = Chat(demo_app, "7001", channel=Channel.WHATSAPP)
    await user.send("/hubungkan")
    await user.press("kode")
    await user.send(code)
    assert "berhasil terhubung" in user.text and "Mega Hidayat" in user.text
    assert await linked(demo_app, "7001", "whatsapp") == STAFF_NIP

    other = Chat(demo_app, "7002")
    await other.send("/hubungkan")
    await other.press("kode")
    await other.send(code)
    assert "sudah dipakai" in other.text
    assert await linked(demo_app, "7002") is None

    async with demo_app.sessions() as session:
        hashes = list(await session.scalars(select(LinkCode.code_hash)))
    assert len(hashes) == 1 and code.replace("-", "") not in hashes[0]  # only a hash is kept
    rows = await cli_audit(demo_app, "link_code.create")
    assert len(rows) == 1 and rows[0].actor.startswith("cli")


async def test_link_code_needs_a_positive_validity(cli, demo_app) -> None:
    for bad in ("-5", "0", "soon"):
        with pytest.raises(SystemExit) as exited:  # argparse refuses before anything is written
            await cli("link-code", STAFF_NIP, "--minutes", bad)
        assert exited.value.code == 2
    assert await cli_audit(demo_app, "link_code.create") == []


# ---------------------------------------------------------------- roles


async def test_role_grant_and_revoke_change_the_menu(cli, demo_app) -> None:
    user = Chat(demo_app, "7010")
    await link_by_contact(user)
    assert not any("Meja HR" in label for label in user.labels)

    result = await cli("role", "grant", STAFF_NIP, "hr")
    assert result.code == 0, result
    assert "Peran hr diberikan kepada Mega Hidayat." in result.out
    await user.send("/menu")
    await user.press("Meja HR")
    await user.press("Kelola akun")
    assert "Ketik NIP atau nama pegawai" in user.text

    again = await cli("role", "grant", STAFF_NIP, "hr")
    assert again.code == 0 and "Tidak ada perubahan" in again.out

    result = await cli("role", "revoke", STAFF_NIP, "hr")
    assert result.code == 0, result
    assert "Peran hr dicabut dari Mega Hidayat." in result.out
    await user.send("/menu")
    assert not any("Meja HR" in label for label in user.labels)
    await user.action("home:section:hr")
    assert "Kelola akun" not in user.text and not any("Kelola" in x for x in user.labels)
    await user.action("admin:accounts")
    assert "bukan untuk akun Anda" in user.text

    grants, revokes = (
        await cli_audit(demo_app, "role.grant"),
        await cli_audit(demo_app, "role.revoke"),
    )
    assert [r.detail["changed"] for r in grants] == [True, False]
    assert [r.detail["changed"] for r in revokes] == [True]
    assert all(r.actor.startswith("cli") for r in [*grants, *revokes])


async def test_role_must_be_a_known_one(cli, demo_app) -> None:
    with pytest.raises(SystemExit) as exited:
        await cli("role", "grant", STAFF_NIP, "superuser")
    assert exited.value.code != 0
    assert await cli_audit(demo_app, "role.grant") == []


# ---------------------------------------------------------------- unlink


async def test_account_unlink_returns_the_user_to_guest(cli, demo_app) -> None:
    user = Chat(demo_app, "7020")
    await link_by_contact(user)
    assert await linked(demo_app, "7020") == STAFF_NIP

    other_channel = await cli("account", "unlink", STAFF_NIP, "--channel", "whatsapp")
    assert other_channel.code == 0 and other_channel.out.startswith("0 akun")
    assert await linked(demo_app, "7020") == STAFF_NIP

    result = await cli("account", "unlink", STAFF_NIP)
    assert result.code == 0, result
    assert "1 akun milik Mega Hidayat diputus." in result.out
    assert await linked(demo_app, "7020") is None
    await user.send("/menu")
    assert any("Hubungkan" in label for label in user.labels)
    assert not any("Profil saya" in label for label in user.labels)

    rows = await cli_audit(demo_app, "account.unlink")
    assert [r.detail["accounts"] for r in rows] == [0, 1]
    assert all(r.actor.startswith("cli") for r in rows)


# ---------------------------------------------------------------- unknown NIP


@pytest.mark.parametrize(
    "argv",
    [
        ["link-code", UNKNOWN_NIP],
        ["role", "grant", UNKNOWN_NIP, "hr"],
        ["role", "revoke", UNKNOWN_NIP, "officer"],
        ["account", "unlink", UNKNOWN_NIP],
    ],
    ids=["link-code", "grant", "revoke", "unlink"],
)
async def test_unknown_nip_is_one_clear_line(cli, demo_app, argv: list[str]) -> None:
    result = await cli(*argv)
    assert_one_line_error(result, f"NIP {UNKNOWN_NIP} tidak ada di data kepegawaian")
    async with demo_app.sessions() as session:
        actions = set(await session.scalars(select(AuditLog.action)))
    assert actions == {"roster.import"}  # nothing was recorded for the failed command


# ---------------------------------------------------------------- start-up errors


def run_abdi(
    tmp_path: Path, *argv: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    clean.setdefault("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'abdi.db'}")
    clean.update(env)
    return subprocess.run(
        [str(ABDI), *argv],
        env=clean,
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def check_one_line_config_error(done: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert done.returncode != 0, done
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("abdi: galat: ") and fragment in lines[0], lines
    assert done.stdout == "", done.stdout


CONFIG_ERRORS = {
    "bad-scheme": ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL"),
    "pg-down": ({"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/abdi"}, "DATABASE_URL"),
    "redis-down": ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "REDIS_URL"),
    "redis-bad": ({"REDIS_URL": "not-a-url"}, "REDIS_URL"),
    "zone": ({"AGENCY_TIMEZONE": "Mars/Olympus"}, "AGENCY_TIMEZONE"),
    "number": ({"LINK_CODE_TTL_MINUTES": "sehari"}, "LINK_CODE_TTL_MINUTES"),
}


def test_config_errors_stop_with_one_line(tmp_path: Path) -> None:
    """Each bad setting, in its own process (run side by side: start-up costs a second each)."""
    out = tmp_path / "x.csv"
    with ThreadPoolExecutor(max_workers=len(CONFIG_ERRORS)) as pool:
        runs = {  # each on its own SQLite file: two first migrations of one file would race
            name: pool.submit(
                run_abdi,
                tmp_path,
                "roster",
                "export",
                str(out),
                **{"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / name}.db", **env},
            )
            for name, (env, _) in CONFIG_ERRORS.items()
        }
    failures = []
    for name, (_, fragment) in CONFIG_ERRORS.items():
        try:
            check_one_line_config_error(runs[name].result(), fragment)
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)
    assert not out.exists()


def test_unusable_sqlite_path_stops_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    url = f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'abdi.db'}"
    done = run_abdi(tmp_path, "roster", "export", str(tmp_path / "x.csv"), DATABASE_URL=url)
    check_one_line_config_error(done, "DATABASE_URL")


# ---------------------------------------------------------------- the terminal chat


def test_chat_demo_runs_a_conversation_and_exits_on_eof(tmp_path: Path) -> None:
    done = run_abdi(tmp_path, "chat", "--demo", stdin="1\n/batal\n/bahasa\n2\n")
    assert done.returncode == 0, done
    assert "Traceback" not in done.stderr, done.stderr
    out = done.stdout
    assert "Data demo dimuat: 50 pegawai baru" in out
    assert "Selamat datang di Abdi" in out
    assert "1. 🔗 Hubungkan akun ASN" in out  # the guest menu, numbered
    assert "bagikan nomor HP Anda" in out  # "1" chose the first entry
    assert "Dibatalkan." in out  # the link screen was waiting for a code
    assert "Pilih bahasa:" in out and "2. English" in out
    assert "Language changed to English." in out  # "2" chose English
    assert out.rstrip().endswith("Sampai jumpa!")
    assert "Kelola akun" not in out


def test_chat_demo_as_hr_shows_the_hr_entry(tmp_path: Path) -> None:
    done = run_abdi(tmp_path, "chat", "--demo", "--as", HR_NIP, stdin="/menu\n")
    assert done.returncode == 0, done
    assert "Traceback" not in done.stderr, done.stderr
    assert "Halo, Fajar Santoso!" in done.stdout
    assert "Hubungkan akun ASN" not in done.stdout
    found = re.search(r"^\s+(\d+)\. 🗂 Meja HR$", done.stdout, re.MULTILINE)
    assert found, done.stdout
    desk = run_abdi(tmp_path, "chat", "--demo", "--as", HR_NIP, stdin=f"/menu\n{found[1]}\n")
    assert re.search(r"^\s+\d+\. 🛠 Kelola akun ASN$", desk.stdout, re.MULTILINE), desk.stdout


def test_chat_as_unknown_nip_is_one_line(tmp_path: Path) -> None:
    done = run_abdi(tmp_path, "chat", "--demo", "--as", UNKNOWN_NIP, stdin="")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"abdi: galat: NIP {UNKNOWN_NIP} tidak ada di data kepegawaian."
    ]


def test_console_a_number_typed_where_text_is_asked_is_text(tmp_path: Path) -> None:
    """ "1" typed as a question is the question; "#0" still picks the way back."""
    done = run_abdi(tmp_path, "chat", "--demo", stdin="/tanya\n1\n/tanya\n#0\n")
    assert done.returncode == 0, done
    # The way back to the menu keeps its fixed number 0 on every screen (issue point 4).
    # The hint names only the numbers shown: here the way back alone, never a "#1, #2" that
    # is not there.
    assert "#0. ⬅ Menu utama" in done.stdout and "atau #0 untuk memilih" in done.stdout
    assert "#1, #2" not in done.stdout
    after_one, after_pick = done.stdout.split("Tulis pertanyaan Anda")[1:3]
    assert "tidak menemukan jawaban" in after_one  # "1" went to the guidance search
    assert "Silakan pilih layanan" in after_pick and "tidak menemukan" not in after_pick
