"""Invariants about what happened over the run, read from the topics and the notifications: the
programme types' rules, what every missed session and stagnant pair caused, what escalations led
to, duplicates, dead letters, lag."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from simulation.invariants import Verdict, _erased, _notifications, _verdict, by_key, current_pairs
from simulation.observe import Record, Snapshot
from simulation.world import World

MATCH_MADE = ("PairCreated", "MatchProposed", "MentorshipRequested")


def _time(record: Record) -> datetime:
    return datetime.fromisoformat(record.headers["ce_time"].replace("Z", "+00:00"))


def circles_form_only_circles(snapshot: Snapshot, world: World) -> Verdict:
    circles = {p for p, plan in world.plans.items() if plan.type == "circles"}
    made = [r for r in snapshot.events("PairCreated") if r.data.get("program_id") in circles]
    formed = [r for r in snapshot.events("CircleFormed") if r.data.get("program_id") in circles]
    problems = [
        f"PairCreated {r.data['pair_id']} in circles program {r.data['program_id']}: mentor "
        f"{r.data['mentor_id']}, mentee {r.data['mentee_id']}"
        for r in made
    ]
    return _verdict("circles_form_only_circles", len(made) + len(formed), problems)


def program_rules_hold(snapshot: Snapshot, world: World) -> Verdict:
    """Peer and reverse pairs are between people who opted in, skills-based mentors offer the
    focus skill and the pair ends by the programme's end, nobody is mentored by their manager, a
    mentee with several mentors has each mentor once."""
    problems, people = [], world.people
    created = snapshot.events("PairCreated")
    for record in created:
        data = record.data
        plan = world.plans.get(data["program_id"])
        mentor, mentee = people.get(data["mentor_id"]), people.get(data["mentee_id"])
        if plan is None or mentor is None or mentee is None:
            continue
        if mentee.manager_id == mentor.person_id:
            problems.append(f"{data['pair_id']}: {mentor.person_id} mentors their report {mentee.person_id}")
        if plan.type == "peer" and not (mentor.peer and mentee.peer):
            problems.append(f"{data['pair_id']}: peer pair without both opting in")
        if plan.type == "reverse" and not (mentor.reverse and mentee.reverse):
            problems.append(f"{data['pair_id']}: reverse pair without both opting in")
        focus = plan.settings.get("focus_skill")
        if focus and focus not in {s["name"] for s in mentor.skills_offered}:
            problems.append(f"{data['pair_id']}: {mentor.person_id} does not offer {focus}")
    for doc in current_pairs(snapshot).values():
        plan = world.plans.get(doc["pair"]["program_id"])
        ends_on = plan.settings.get("ends_on") if plan else None
        ends_at = doc["pair"].get("ends_at")
        if ends_on and (ends_at is None or ends_at > datetime.fromisoformat(ends_on)):
            problems.append(f"{doc['pair']['pair_id']}: ends {ends_at}, after the programme ends {ends_on}")
    seats = Counter(
        (doc["person_id"], doc["pair"]["mentor_id"]) for doc in current_pairs(snapshot).values()
        if doc["person_id"] != "erased"
    )  # fmt: skip
    problems += [
        f"{mentee} has {mentor} as mentor {n} times" for (mentee, mentor), n in seats.items() if n > 1
    ]
    return _verdict("program_rules_hold", len(created), problems)


def matching_sees_goals_and_personality(snapshot: Snapshot, world: World) -> Verdict:
    """Everyone stated goals and personality answers, so the goals component cannot be 0.0 in every
    breakdown, nor personality the same for everyone."""
    breakdowns = [
        doc["pair"].get("breakdown") or {}
        for doc in current_pairs(snapshot).values()
        if doc["pair"].get("breakdown")
    ]
    goals = [b.get("goals", 0.0) for b in breakdowns]
    personality = {round(b.get("personality", 0.0), 6) for b in breakdowns}
    problems = []
    if breakdowns and max(goals) == 0.0:
        problems.append(f"the goals component is 0.0 in all {len(breakdowns)} pairs' breakdowns")
    if len(breakdowns) > 5 and len(personality) == 1:
        problems.append(f"the personality component is {personality.pop()} for all {len(breakdowns)} pairs")
    return _verdict("matching_sees_goals_and_personality", len(breakdowns), problems)


def missed_sessions_reach_both_once(snapshot: Snapshot, world: World) -> Verdict:
    erased = _erased(world)
    told = Counter(
        (n["recipient_id"], n.get("subject_id"))
        for n in _notifications(snapshot)
        if n.get("kind") == "session_missed"
    )
    missed = {r.data["session_id"]: r for r in snapshot.events("SessionMissed")}
    problems = []
    for session_id, record in sorted(missed.items()):
        for person in record.data["participant_ids"]:
            if person in erased or person == "erased":
                continue
            if told[(person, session_id)] != 1:
                problems.append(
                    f"{person} was told {told[(person, session_id)]} times of missed session {session_id}"
                )
    return _verdict("missed_sessions_reach_both_once", len(missed), problems)


def stagnant_pairs_notified(snapshot: Snapshot, world: World) -> Verdict:
    erased = _erased(world)
    told = {
        (n["recipient_id"], n.get("cause_event_id"))
        for n in _notifications(snapshot)
        if n.get("kind") == "relationship_stagnant"
    }
    episodes = by_key(snapshot.events("RelationshipStagnant"), lambda r: r.data["episode_id"])
    problems = []
    for episode, records in sorted(episodes.items()):
        first = records[0]
        for person in first.data["participant_ids"]:
            if person not in erased and person != "erased" and (person, first.event_id) not in told:
                problems.append(
                    f"{person} was not told of stagnation episode {episode} of {first.data['pair_id']}"
                )
    return _verdict("stagnant_pairs_notified", len(episodes), problems)


def escalations_end_in_match_or_notice(snapshot: Snapshot, world: World, step_days: float = 1.0) -> Verdict:
    """After an escalation the platform itself matches the mentee again (a pair, a proposal, a
    request it made), or tells the mentee and the admin why not, by the next step of the clock."""
    asked_by_people = world.journal.asked  # not the platform's own requests the mentee saw listed
    problems = []
    for escalation in world.journal.escalations:
        mentee, at = escalation["mentee"], escalation["at"]
        until = at + timedelta(days=step_days)
        followed = [
            r for r in snapshot.records
            if r.type in MATCH_MADE and r.data.get("mentee_id") == mentee and at <= _time(r) <= until
            and r.data.get("request_id") not in asked_by_people
        ]  # fmt: skip
        notices = [
            n for n in _notifications(snapshot)
            if at <= n["created_at"] <= until and n.get("kind") not in ("pair_ended",)
            and n.get("category") in ("matching", "escalation")  # the admin's is an escalation
            and (n["recipient_id"] == mentee or mentee in n.get("mentions", []))
        ]  # fmt: skip
        told = {n["recipient_id"] for n in notices}
        if not followed and not (mentee in told and len(told) > 1):
            problems.append(
                f"escalated pair {escalation['pair']} in {escalation['program']} (continuous: "
                f"{world.plans[escalation['program']].continuous}, "
                f"answered rematching: {escalation['rematching']}): "
                f"no new match, proposal or request for {mentee}, and no notice to them and the admin"
            )
    return _verdict("escalations_end_in_match_or_notice", len(world.journal.escalations), problems)


def one_pair_created_per_pair_id(snapshot: Snapshot, world: World) -> Verdict:
    created = by_key(snapshot.events("PairCreated"), lambda r: r.data["pair_id"])
    problems = [
        f"pair {pair_id}: {len({r.event_id for r in records})} different PairCreated events"
        for pair_id, records in created.items()
        if len({r.event_id for r in records}) > 1
    ]
    return _verdict("one_pair_created_per_pair_id", len(created), problems)


ONCE_PER_SUBJECT = ("session_missed", "pair_created", "pair_ended", "goal_achieved", "action_item_overdue")


def no_notification_twice(snapshot: Snapshot, world: World) -> Verdict:
    """Nobody is told the same thing about the same subject twice (by a repeated cause)."""
    told = Counter(
        (n["recipient_id"], n["kind"], n.get("subject_id"))
        for n in _notifications(snapshot)
        if n.get("kind") in ONCE_PER_SUBJECT
    )
    sent = Counter(
        (r.data.get("notification_id"), r.data.get("channel"), r.event_id)
        for r in snapshot.events("NotificationSent")
    )
    per_notification = Counter((n, c) for n, c, _ in sent)
    problems = [
        f"{who} got {n} '{kind}' notifications about {subject}"
        for (who, kind, subject), n in told.items()
        if n > 1
    ]
    problems += [
        f"notification {n} was sent {k} times on {c}" for (n, c), k in per_notification.items() if k > 1
    ]
    return _verdict("no_notification_twice", len(told), problems)


def dead_letter_topics_empty(snapshot: Snapshot, world: World) -> Verdict:
    dead = [r for r in snapshot.records if r.topic.endswith(".dlq")]
    problems = [
        f"{r.topic}: {r.headers.get('ce_type')} {r.event_id}: {r.headers.get('dlq_error', '')[:160]}"
        for r in dead
    ]
    return _verdict("dead_letter_topics_empty", len(snapshot.records), problems)


def consumer_lag_zero(snapshot: Snapshot, world: World) -> Verdict:
    problems = [f"{where}: {lag} records not consumed" for where, lag in sorted(snapshot.lag.items()) if lag]
    problems += [
        f"{where}: {n} documents with events not yet published"
        for where, n in snapshot.pending_outbox.items()
    ]
    return _verdict("consumer_lag_zero", len(snapshot.lag), problems)
