"""Event types, one class each. A class's `ce_type` is `mentorship.<stream>.<Name>.v<N>`.

Rules every type keeps (tests/contract enforces them): `org_id` (tenant) and the aggregate's
`version` counter are present; the aggregate id field named by `aggregate_field` is `ce_subject`;
the record key is the field named by `key_field` (the aggregate id unless said otherwise): every
event about a pair or circle is keyed by that pair or circle and every notification event by its
recipient, so one partition (and so one order) holds each of them; events carry ids and what
consumers need, never whole profiles, free-text notes or inclusion data. Consumers ignore fields
they do not know, so adding an optional field is safe; removing or retyping one, or tightening a
constraint, needs a new `.v2` type.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mentorship_schemas.envelope import ce_type_of
from mentorship_schemas.topics import RESTRICTED_TOPICS, TOPICS, Stream

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]


class Event(BaseModel):
    """Base of every integration event."""

    # Unknown fields are ignored (not rejected) so producers can add optional fields safely.
    model_config = ConfigDict(frozen=True, extra="ignore")

    stream: ClassVar[Stream]
    restricted: ClassVar[bool] = False  # True: travels only on the stream's restricted topic
    schema_version: ClassVar[int] = 1
    aggregate_field: ClassVar[str]
    # The Kafka record key when it is not the aggregate id: the pair of a session, the recipient
    # of a notification. Kafka orders records per partition, so per key.
    key_field: ClassVar[str | None] = None

    org_id: Id = Field(description="The tenant (company) this event belongs to.")
    version: int = Field(ge=1, description="The aggregate's version after this change.")

    @classmethod
    def ce_type(cls) -> str:
        return ce_type_of(cls.stream.value, cls.__name__, cls.schema_version)

    @classmethod
    def topic(cls) -> str:
        return (RESTRICTED_TOPICS if cls.restricted else TOPICS)[cls.stream].name

    @classmethod
    def partition_key_field(cls) -> str:
        return cls.key_field or cls.aggregate_field

    @property
    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_field))

    @property
    def partition_key(self) -> str:
        """The record key: events with the same key keep their order for every consumer."""
        return str(getattr(self, self.partition_key_field()))


class PersonRole(StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"


# ---------------------------------------------------------------- profiles


class _ProfileFacts(Event):
    """What consumers of profile events keep copies of (not an event type on its own)."""

    person_id: Id
    roles: list[PersonRole] = Field(min_length=1)
    display_name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320, description="Work email, for notifications.")
    timezone: str = Field(default="UTC", description="IANA timezone name.")
    department: str | None = None
    skills_offered: list[str] = Field(default_factory=list)
    skills_wanted: list[str] = Field(default_factory=list)
    locale: str = Field(default="en", description="BCP 47 language tag for messages.")
    title: str | None = None
    level: str | None = Field(default=None, description="Seniority: junior ... executive.")
    years_experience: int | None = Field(default=None, ge=0)
    manager_id: Id | None = Field(default=None, description="To keep pairs out of a reporting line.")
    languages: list[str] = Field(default_factory=list, description="ISO 639-1 codes.")
    skill_levels: dict[str, str] = Field(
        default_factory=dict, description="Offered skill -> proficiency (beginner ... expert)."
    )
    peer_mentoring: bool = False
    reverse_mentoring: bool = False
    preferred_cadence: str | None = None
    modalities: list[str] = Field(default_factory=list)
    communication_style: str | None = None
    goals: str | None = Field(
        default=None,
        max_length=4000,
        description="What the person wants from mentoring, in own words.",
    )
    challenges: str | None = Field(
        default=None,
        max_length=4000,
        description="What the person finds hard now, in own words.",
    )
    interests: list[str] = Field(default_factory=list, description="Interests outside the skills (matching).")
    can_help_with: list[str] = Field(
        default_factory=list, description="Topics a mentor is glad to cover (their boundaries' topics in)."
    )
    personality: dict[str, str] = Field(
        default_factory=dict, description="Short answers to the personality questions: question -> answer."
    )


class ProfileRegistered(_ProfileFacts):
    """A person joined the program. Carries what matching and notifications need to act."""

    stream = Stream.PROFILES
    aggregate_field = "person_id"


class ProfileUpdated(_ProfileFacts):
    """A profile changed. Carries the current values of what consumers keep copies of."""

    stream = Stream.PROFILES
    aggregate_field = "person_id"

    changed_fields: list[str] = Field(default_factory=list, description="Names of the fields that changed.")


class InclusionAttributesChanged(Event):
    """Consented inclusion attributes for inclusive-matching programs. Restricted topic only."""

    stream = Stream.PROFILES
    restricted = True
    aggregate_field = "person_id"

    person_id: Id
    consented: bool = Field(description="False: consent withdrawn, attributes must be forgotten.")
    attributes: dict[str, str] = Field(
        default_factory=dict,
        json_schema_extra={"x-sensitive": True},
        description="e.g. employee resource group, first-generation professional.",
    )


class ProfileErased(Event):
    """A person exercised the right to be forgotten: every service removes their personal data."""

    stream = Stream.PROFILES
    aggregate_field = "person_id"

    person_id: Id
    erased_at: AwareDatetime


class MentorAvailable(Event):
    """A mentor is accepting and below capacity (emitted on the transition only)."""

    stream = Stream.PROFILES
    aggregate_field = "person_id"

    person_id: Id
    capacity: int = Field(ge=0, le=20)
    active_mentees: int = Field(ge=0)


class MentorUnavailable(Event):
    """A mentor paused or reached capacity (emitted on the transition only)."""

    stream = Stream.PROFILES
    aggregate_field = "person_id"

    person_id: Id
    reason: str = Field(description="at_capacity | paused | left")


# ---------------------------------------------------------------- matching


class PairCreated(Event):
    """A mentee and a mentor now form a pair."""

    stream = Stream.MATCHING
    aggregate_field = "pair_id"

    pair_id: Id
    program_id: Id
    mentor_id: Id
    mentee_id: Id
    score: float = Field(ge=0, le=1, description="Compatibility score in [0, 1].")
    reasons: list[str] = Field(default_factory=list, description="Why this match, in words.")
    focus_area: str | None = Field(
        default=None,
        description="The wanted skill this pair is for, when the program gives one mentor per focus area.",
    )


class PairEndReason(StrEnum):
    COMPLETED = "completed"
    NOT_A_FIT = "not_a_fit"
    STAGNANT = "stagnant"
    MENTOR_LEFT = "mentor_left"
    MENTEE_LEFT = "mentee_left"
    ERASED = "erased"
    OTHER = "other"


class PairEnded(Event):
    stream = Stream.MATCHING
    aggregate_field = "pair_id"

    pair_id: Id
    program_id: Id
    mentor_id: Id
    mentee_id: Id
    reason: PairEndReason
    ended_at: AwareDatetime


class MatchProposed(Event):
    """A cohort run proposes a pair that awaits admin approval or the mentor's acceptance."""

    stream = Stream.MATCHING
    aggregate_field = "proposal_id"

    proposal_id: Id
    run_id: Id | None = None
    program_id: Id
    mentor_id: Id
    mentee_id: Id
    score: float = Field(ge=0, le=1)
    reasons: list[str] = Field(default_factory=list)


class MentorshipRequested(Event):
    """A mentee asked a mentor; the mentor answers by `answer_by` or the request expires."""

    stream = Stream.MATCHING
    aggregate_field = "request_id"

    request_id: Id
    program_id: Id
    mentor_id: Id
    mentee_id: Id
    message: str | None = Field(default=None, max_length=1000, description="The mentee's note to the mentor.")
    answer_by: AwareDatetime
    focus_area: str | None = Field(default=None, description="The wanted skill the request is about, if one.")


class PairDeclined(Event):
    stream = Stream.MATCHING
    aggregate_field = "request_id"

    request_id: Id
    program_id: Id
    mentor_id: Id
    mentee_id: Id
    reason: str = Field(
        description="declined | expired | mentor_unavailable | withdrawn (by the mentee) | "
        "rejected (a proposal, by an admin)"
    )


class MenteeUnmatched(Event):
    """A mentee who needs a mentor now could not get one: after their stagnant pair was escalated
    and ended, or an admin rejected a proposal for them, no mentor of the program is possible.
    Tells the mentee and the program's admins why (`reason`, a sentence; `rule`, its code)."""

    stream = Stream.MATCHING
    aggregate_field = "mentee_id"

    mentee_id: Id
    program_id: Id
    cause: str = Field(description="escalated (a stagnant pair ended) | proposal_rejected")
    ended_pair_id: Id | None = Field(default=None, description="The escalated pair, when that is the cause.")
    focus_area: str | None = Field(default=None, description="The focus area, when the program has several.")
    rule: str = Field(
        description="The rule that applied: full | paused | program_capacity | previous_mentor | "
        "reporting_line | no_shared_language | focus_skill | no_mentors | mentor_not_peer | "
        "mentor_not_reverse | mentee_not_peer | mentee_not_reverse | other_org | taken"
    )
    reason: str = Field(max_length=500, description="Why no mentor is possible, as a sentence (English).")


class CircleFormed(Event):
    stream = Stream.MATCHING
    aggregate_field = "circle_id"

    circle_id: Id
    program_id: Id
    member_ids: list[Id] = Field(min_length=2)
    facilitator_rota: list[Id] = Field(default_factory=list, description="Facilitators, in turn order.")
    topics: list[str] = Field(default_factory=list)


class MatchRunCompleted(Event):
    stream = Stream.MATCHING
    aggregate_field = "run_id"

    run_id: Id
    program_id: Id
    mentees: int = Field(ge=0)
    mentors: int = Field(ge=0)
    matched: int = Field(ge=0)
    objective: float
    optimal: bool
    seconds: float = Field(ge=0)


# ---------------------------------------------------------------- sessions


class Cadence(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class AgreementDrafted(Event):
    """A pair's agreement was drafted (or redrafted after a change): each participant's signature is
    awaited."""

    stream = Stream.SESSIONS
    aggregate_field = "pair_id"

    pair_id: Id
    participant_ids: list[Id] = Field(min_length=1)
    awaiting_ids: list[Id] = Field(min_length=1, description="Participants whose signature is awaited.")
    revision: int = Field(ge=1, description="The agreement's revision; a redraft asks everyone again.")


class AgreementSignatureAdded(Event):
    """One participant signed; others have not yet (when the last signs, AgreementSigned follows)."""

    stream = Stream.SESSIONS
    aggregate_field = "pair_id"

    pair_id: Id
    participant_ids: list[Id] = Field(min_length=1)
    signer_id: Id
    awaiting_ids: list[Id] = Field(min_length=1, description="Participants whose signature is still awaited.")
    revision: int = Field(ge=1)


class AgreementSigned(Event):
    """Both sides signed the pair's agreement (goals, roles, cadence, duration)."""

    stream = Stream.SESSIONS
    aggregate_field = "pair_id"

    pair_id: Id
    participant_ids: list[Id] = Field(min_length=1)
    cadence: Cadence
    ends_on: AwareDatetime | None = None


class SessionScheduled(Event):
    stream = Stream.SESSIONS
    aggregate_field = "session_id"
    key_field = "pair_id"

    session_id: Id
    pair_id: Id
    participant_ids: list[Id] = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class SessionMissed(Event):
    """A scheduled session was not held by its end plus the grace period, nor cancelled."""

    stream = Stream.SESSIONS
    aggregate_field = "session_id"
    key_field = "pair_id"

    session_id: Id
    pair_id: Id
    participant_ids: list[Id] = Field(min_length=1)
    starts_at: AwareDatetime
    missed_in_a_row: int = Field(ge=1)


class SessionCompleted(Event):
    stream = Stream.SESSIONS
    aggregate_field = "session_id"
    key_field = "pair_id"

    session_id: Id
    pair_id: Id
    participant_ids: list[Id] = Field(min_length=1)
    starts_at: AwareDatetime
    held_at: AwareDatetime


class SessionCancelled(Event):
    stream = Stream.SESSIONS
    aggregate_field = "session_id"
    key_field = "pair_id"

    session_id: Id
    pair_id: Id
    participant_ids: list[Id] = Field(min_length=1)
    starts_at: AwareDatetime
    cancelled_by: Id


class ActionItemOverdue(Event):
    stream = Stream.SESSIONS
    aggregate_field = "action_item_id"
    key_field = "pair_id"

    action_item_id: Id
    pair_id: Id
    owner_id: Id
    title: str = Field(max_length=200)
    due_at: AwareDatetime


class GoalAchieved(Event):
    stream = Stream.SESSIONS
    aggregate_field = "goal_id"
    key_field = "pair_id"

    goal_id: Id
    pair_id: Id
    participant_ids: list[Id] = Field(min_length=1)
    title: str = Field(max_length=200)


class RelationshipStagnant(Event):
    """A pair stopped meeting or stopped learning, measured against its own agreed cadence.

    Emitted once per episode (`episode_id`); RelationshipRecovered closes the episode.
    """

    stream = Stream.SESSIONS
    aggregate_field = "pair_id"

    pair_id: Id
    episode_id: Id
    participant_ids: list[Id] = Field(min_length=1)
    reasons: list[str] = Field(min_length=1, description="Codes, e.g. no_session_for_2x_cadence.")
    severity: Severity
    suggested_actions: list[str] = Field(default_factory=list)


class RelationshipRecovered(Event):
    stream = Stream.SESSIONS
    aggregate_field = "pair_id"

    pair_id: Id
    episode_id: Id
    participant_ids: list[Id] = Field(min_length=1)


# ---------------------------------------------------------------- notifications


class NotificationChannel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    CHAT = "chat"


class NotificationSent(Event):
    stream = Stream.NOTIFICATIONS
    aggregate_field = "notification_id"
    key_field = "recipient_id"

    notification_id: Id
    recipient_id: Id
    kind: str = Field(min_length=1, max_length=64)
    channel: NotificationChannel
    cause_event_id: str = Field(min_length=1, max_length=200)
    sent_at: datetime


class NotificationFailed(Event):
    """A channel kept failing; the notification was not delivered on it."""

    stream = Stream.NOTIFICATIONS
    aggregate_field = "notification_id"
    key_field = "recipient_id"

    notification_id: Id
    recipient_id: Id
    kind: str = Field(min_length=1, max_length=64)
    channel: NotificationChannel
    cause_event_id: str = Field(min_length=1, max_length=200)
    attempts: int = Field(ge=1)
    error: str = Field(max_length=1000)


ALL_EVENTS: tuple[type[Event], ...] = (
    ProfileRegistered,
    ProfileUpdated,
    ProfileErased,
    InclusionAttributesChanged,
    MentorAvailable,
    MentorUnavailable,
    PairCreated,
    PairEnded,
    MatchProposed,
    MentorshipRequested,
    PairDeclined,
    MenteeUnmatched,
    CircleFormed,
    MatchRunCompleted,
    AgreementDrafted,
    AgreementSignatureAdded,
    AgreementSigned,
    SessionScheduled,
    SessionCompleted,
    SessionCancelled,
    SessionMissed,
    ActionItemOverdue,
    GoalAchieved,
    RelationshipStagnant,
    RelationshipRecovered,
    NotificationSent,
    NotificationFailed,
)
EVENTS_BY_TYPE: dict[str, type[Event]] = {event.ce_type(): event for event in ALL_EVENTS}
