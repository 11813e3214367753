"""What the README's walkthrough promises after each of its blocks, in order: one Step per ```sh block,
with a text the block must contain (so a check never drifts onto another block) and the check of its
output. A read-only step may be run again until its check holds (events take a moment to travel)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Variables(Protocol):
    """The walkthrough's shell, for the variables its blocks set (PAIR, BOB_PAIR, ...)."""

    def var(self, name: str) -> str: ...


class StepFailed(Exception):
    """The output is not (yet) what the README says."""


Check = Callable[[str, Variables], None]


@dataclass(frozen=True)
class Step:
    title: str
    marker: str  # a text the block contains
    check: Check
    read_only: bool = False  # may run again until the check holds


def expect(condition: object, message: str) -> None:
    if not condition:
        raise StepFailed(message)


def values(output: str) -> list[Any]:
    """The JSON values in a block's output (jq prints one or several), skipping lines that are not JSON."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
            continue
        try:
            value, at = decoder.raw_decode(output, at)
        except json.JSONDecodeError:
            end = output.find("\n", at)
            at = len(output) if end < 0 else end + 1
            continue
        found.append(value)
    return found


def objects(output: str) -> list[dict[str, Any]]:
    return [value for value in values(output) if isinstance(value, dict)]


def kinds(output: str) -> set[str]:
    return {str(item.get("kind")) for item in objects(output)}


def _tokens(_: str, shell: Variables) -> None:
    for name in ("HR", "ADMIN", "ALICE", "BOB", "CHEN", "MARIA", "MARCO"):
        expect(shell.var(name).count(".") == 2, f"${name} is not a token")


def _imported(created: int) -> Check:
    def check(output: str, _: Variables) -> None:
        reports = objects(output)
        expect(reports and reports[0].get("created") == created, f"{created} profiles created")
        expect(reports[0].get("invalid") == 0, "no row refused")

    return check


def _programs(output: str, _: Variables) -> None:
    found = {item.get("program_id"): item for item in objects(output)}
    expect(found.get("spring", {}).get("approval") == "admin_approval", "spring needs an admin's approval")
    expect(found["spring"].get("continuous") is False, "spring is matched in cohort runs only")
    expect(found.get("open", {}).get("continuous") is True, "the built-in open program matches continuously")
    expect(any(item.get("admin_ids") == ["pat"] for item in objects(output)), "pat is the escalation contact")


def _joined(output: str, _: Variables) -> None:
    seats = objects(output)
    # Until matching has heard of someone's registration, their join answers 404 (a problem
    # document, no seat): the step runs again rather than failing on it.
    expect(all("person_id" in seat for seat in seats), "every join answered with a seat")
    expect(
        sorted((s.get("person_id"), s.get("program_id"), s.get("status")) for s in seats)
        == [("alice", "spring", "waiting"), ("bob", "spring", "waiting")],
        "alice and bob wait in spring",
    )


def _suggested(output: str, _: Variables) -> None:
    cards = objects(output)
    expect(
        {card.get("name") for card in cards} == {"Maria Garcia", "Marco Bianchi"}, "both mentors suggested"
    )
    expect(all(card.get("why") and card.get("skills") for card in cards), "each says why, with skills")
    expect(not any("email" in json.dumps(card) for card in cards), "nothing private")


def _cohort_run(output: str, _: Variables) -> None:
    run = objects(output)[0] if objects(output) else {}
    expect(run.get("mentees") == 2 and run.get("matched") == 2, "both mentees matched")
    expect(run.get("optimal") is True, "the run is optimal")
    expect(all(pair.get("reasons") for pair in run.get("pairs", [])), "each pair has reasons")


def _proposed_to_admin(output: str, _: Variables) -> None:
    expect([item.get("kind") for item in objects(output)].count("match_proposed") == 2, "pat told of both")


def _decided(output: str, shell: Variables) -> None:
    expect(re.fullmatch(r"[0-9a-f-]{36}", shell.var("PAIR")), "$PAIR is alice's new pair")
    expect(re.fullmatch(r"[0-9a-f-]{36}", shell.var("BOB_PAIR")), "$BOB_PAIR is bob's pair")
    answers = objects(output)
    rejected = next((a for a in answers if a.get("outcome") == "rejected"), {})
    expect((rejected.get("next") or {}).get("outcome") == "proposed", "bob's next mentor is proposed at once")
    audit = next((a for a in answers if a.get("action") == "proposal_rejected"), {})
    expect("Bob would rather learn from an engineer" in str(audit.get("note")), "the audit keeps the reason")


def _paired_feed(output: str, _: Variables) -> None:
    found = kinds(output)
    for kind in ("pair_created", "agreement_signature_awaited", "session_scheduled"):
        expect(kind in found, f"alice told: {kind}")


def _drafted(output: str, _: Variables) -> None:
    draft = objects(output)[0] if objects(output) else {}
    expect(draft.get("roles") == {"alice": "mentee", "maria": "mentor"}, "roles from the pairing")
    expect(draft.get("timezones") == {"alice": "Europe/Paris", "maria": "Europe/Paris"}, "timezones")
    expect(draft.get("cadence") == "biweekly", "maria's preferred cadence")
    expect(sorted(draft.get("awaiting", [])) == ["alice", "maria"], "both signatures awaited")


def _signed(output: str, _: Variables) -> None:
    patched, *signatures = objects(output)
    expect(patched.get("roles") == {"alice": "mentee", "maria": "mentor"}, "PATCH keeps the roles")
    expect(patched.get("local_time") == "09:30" and len(patched.get("goals", [])) == 2, "PATCH applied")
    expect(signatures and signatures[-1].get("awaiting") == [], "nobody left to sign")
    expect(signatures[-1].get("signed_at"), "the agreement is signed")


def _calendar(output: str, shell: Variables) -> None:
    sessions = objects(output)
    expect(sessions and sessions[0].get("kind") == "kickoff", "the kick-off comes first")
    expect(sum(s.get("kind") == "cadence" for s in sessions) >= 2, "regular sessions scheduled")
    expect(all(str(s.get("starts_at", "")).endswith("+01:00") for s in sessions), "in alice's timezone")
    expect(shell.var("KICKOFF"), "$KICKOFF is the kick-off's id")
    for line in ("BEGIN:VCALENDAR", "ORGANIZER;CN=Maria Garcia:mailto:maria@example.com", "CN=Alice Martin"):
        expect(line in output, f"the invite has {line}")


def _clock_moved(output: str, _: Variables) -> None:
    expect("moved the platform clock forward" in output, "the clock moved")
    expect(len(re.findall(r"\(offset [0-9.]+ days\)", output)) == 4, "all four services see it")


def _missed(output: str, _: Variables) -> None:
    told = {item.get("recipient_id") for item in objects(output)}
    expect({"alice", "maria"} <= told, "alice and maria told of the missed kick-off")


def _held(output: str, _: Variables) -> None:
    answers = objects(output)
    expect(any(a.get("status") == "held" and a.get("held_by") == "bob" for a in answers), "checked in")
    expect(any(a.get("feedback_from") == ["bob"] for a in answers), "bob's feedback kept")
    expect(any(a.get("awaiting") == [] for a in answers), "both signed")
    health = answers[-1] if answers else {}
    expect(health.get("sessions_held") == 1 and health.get("stagnant") is False, "a healthy pair")


def _stagnant(output: str, _: Variables) -> None:
    found = objects(output)
    expect(
        any(item.get("title", "").startswith("Your mentorship with Maria Garcia") for item in found), "told"
    )
    expect("Alice Martin and Maria Garcia missed 2 sessions in a row" in output, "pat hears of the misses")
    expect(any(item.get("episode_id") for item in found), "matching keeps the stagnation on the pair")
    expect(any(item.get("at_risk") is True for item in found), "the program's health shows it at risk")


def _rematched(output: str, _: Variables) -> None:
    escalated, approved = [*objects(output), {}, {}][:2]
    expect(escalated.get("reason") == "stagnant", "the pair ended as stagnant")
    rematch = escalated.get("rematch", {})
    expect(rematch.get("outcome") == "proposed" and rematch.get("mentor_id") == "marco", "marco proposed")
    expect(approved.get("outcome") == "paired", "the new proposal approved")


def _rematch_told(output: str, _: Variables) -> None:
    titles = [str(item.get("title")) for item in objects(output)]
    expect("You have a mentor: Marco Bianchi" in titles, "alice told of her new mentor")
    expect(any(t.startswith("Your mentorship with Maria Garcia ended") for t in titles), "and of the ending")


def _registered(output: str, _: Variables) -> None:
    expect(objects(output)[:1] == [{"person_id": "chen", "roles": ["mentee"]}], "chen registered")


def _open_pair(output: str, _: Variables) -> None:
    pair, *profiles = objects(output) or [{}]
    expect(pair.get("program_id") == "open" and pair.get("mentor_id") == "maria", "chen paired with maria")
    expect(profiles and profiles[0].get("active_mentees") == 1, "maria's place taken")


def _erased(output: str, _: Variables) -> None:
    expect(output.strip() == "204", "erased")


def _forgotten(output: str, _: Variables) -> None:
    found = objects(output)
    expect(any("left the platform" in str(item.get("body")) for item in found), "maria told")
    expect(not any("Chen" in str(item.get("body")) for item in found), "without chen's name")
    expect(any(item.get("active_mentees") == 0 for item in found), "maria's place free again")
    expect(any(item.get("status") == 404 for item in found), "chen's profile gone")


STEPS: list[Step] = [
    Step("tokens for seven people", "make -s token", _tokens),
    Step("HR imports the mentees as JSON", "content-type: application/json' -d '[", _imported(2)),
    Step("a cohort program, the built-in open one, an escalation contact", "escalation-contacts", _programs),
    Step("the mentees join the cohort program", "/join", _joined, read_only=True),
    Step("HR imports the mentors as CSV", "text/csv", _imported(2)),
    Step("alice's suggestions", "/suggestions", _suggested, read_only=True),
    Step("a cohort run", "/cohort-runs", _cohort_run),
    Step("the admin is told of the proposals", "8004/notifications", _proposed_to_admin, read_only=True),
    Step("approve, reject with a reason, approve the next", "/reject", _decided),
    Step("alice's feed after pairing", "$ALICE\" | jq -c '.items", _paired_feed, read_only=True),
    Step("the drafted agreement", "/agreement -H", _drafted, read_only=True),
    Step("PATCH the agreement, both sign", "PATCH", _signed),
    Step("sessions and the calendar invite", "calendar.ics", _calendar, read_only=True),
    Step("the clock moves 8 days", "make clock ADVANCE=8d", _clock_moved),
    Step("both told of the missed kick-off", "session_missed", _missed, read_only=True),
    Step("a held session, feedback, both sign", "/held", _held),
    Step("the clock moves 30 days", "make clock ADVANCE=30d", _clock_moved),
    Step("stagnation: told, escalated, kept, at risk", "relationship_stagnant", _stagnant, read_only=True),
    Step("escalation and rematch", "/escalate", _rematched),
    Step("alice told of the rematch", "pair_", _rematch_told, read_only=True),
    Step("chen registers herself", '8001/profiles -H "Authorization: Bearer $CHEN"', _registered),
    Step("the open program pairs her at once", '$CHEN" | jq', _open_pair, read_only=True),
    Step("chen erases her profile", "DELETE", _erased),
    Step("the mentor is told, the place is free", "pair_ended", _forgotten, read_only=True),
]
