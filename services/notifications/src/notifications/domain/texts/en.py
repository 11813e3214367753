"""English: the words of every message, and every code from an event as words."""

from __future__ import annotations

LANGUAGE = "en"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
AND = "and"
OR = "or"
DECIMAL_MARK = "."
DATE_FORMAT = "{weekday} {day:02d} {month_name} {year}, {hour:02d}:{minute:02d} ({zone})"

CATALOGUE: dict[str, str] = {
    # ---------------------------------------------------------------- people we have no name for
    "someone.partner": "your partner",  # the subject or object of a sentence
    "someone.partner_with": "your partner",  # after "with"
    "someone.partner_subject": "Your partner",  # starting a sentence
    "someone.colleague_subject": "A colleague",
    "someone.facilitator": "a member of the circle",
    "someone.erased": "a former participant",
    # ---------------------------------------------------------------- matching
    "match.why": "Why this match: {reasons}.",
    "pair_created.unknown_mentor": "your mentor",
    "pair_created.unknown_mentee": "your mentee",
    "pair_created.mentee.title": "You have a mentor: {name}",
    "pair_created.mentor.title": "You have a new mentee: {name}",
    "pair_created.body": "You and {name} are now a mentorship pair.",
    "pair_created.action": "Agree on your goals and how often you will meet in your first session.",
    "mentorship_requested.title": "{mentee} asks you to be their mentor",
    "mentorship_requested.body": "{mentee} would like you as their mentor.",
    "mentorship_requested.note": 'They wrote: "{note}"',
    "mentorship_requested.action": "Accept or decline by {deadline}; after that the request expires.",
    "request_withdrawn.title": "{mentee} withdrew their mentorship request",
    "request_withdrawn.body": "{mentee} withdrew their request for you to be their mentor.",
    "request_withdrawn.action": "Nothing to do: you no longer need to answer it.",
    "request_ended.unknown_mentor": "the mentor you asked",
    "request_ended.unknown_mentor_subject": "The mentor you asked",
    "request_ended.declined.title": "{Mentor} declined your mentorship request",
    "request_ended.declined.body": "{Mentor} declined your mentorship request.",
    "request_ended.declined.action": "Ask another suggested mentor, or ask for a new match.",
    "request_ended.expired.title": "Your mentorship request to {mentor} expired",
    "request_ended.expired.body": "{Mentor} did not answer your mentorship request in time, so it has "
    "expired. If there was a next suggested mentor, we have asked them.",
    "request_ended.expired.action": "Wait for the next mentor's answer, or ask for a new match if none "
    "was suggested.",
    "request_ended.mentor_unavailable.title": "{Mentor} cannot take on a new mentee right now",
    "request_ended.mentor_unavailable.body": "{Mentor} cannot take on a new mentee at the moment, so "
    "your request was closed.",
    "request_ended.mentor_unavailable.action": "Ask another suggested mentor, or ask for a new match.",
    "request_ended.closed.title": "Your mentorship request to {mentor} was closed",
    "request_ended.closed.body": "Your mentorship request to {mentor} was closed.",
    "request_ended.closed.action": "Ask another suggested mentor, or ask for a new match.",
    # ---------------------------------------------------------------- no mentor possible now
    "unmatched.mentee.title": "We could not find you a new mentor yet",
    "unmatched.mentee.body.escalated": "Your mentorship ended after it stalled, and no mentor in your "
    "program "
    "is possible for you right now.",
    "unmatched.mentee.body.proposal_rejected": "The match proposed for you did not go ahead, and no other "
    "mentor "
    "in your program is possible for you right now.",
    "unmatched.mentee.action": "Nothing to do: your program's admins know and will find you a mentor.",
    "unmatched.admin.title": "No mentor possible for {mentee} in {program}",
    "unmatched.admin.body.escalated": "{mentee}'s stagnant pair was escalated and ended, and no mentor of "
    "the "
    "program is possible now.",
    "unmatched.admin.body.proposal_rejected": "After the proposal for {mentee} was rejected, no other mentor "
    "of "
    "the program is possible now.",
    "unmatched.admin.action": "Pair them by hand (a stated reason lets you override a soft rule), or change "
    "the program's settings.",
    "unmatched.rule.full": "Every suitable mentor is full.",
    "unmatched.rule.paused": "Every suitable mentor has paused mentoring.",
    "unmatched.rule.program_capacity": "Every suitable mentor has reached the program's limit of mentees.",
    "unmatched.rule.previous_mentor": "The only suitable mentors were mentors before.",
    "unmatched.rule.reporting_line": "The only suitable mentors are in the same reporting line.",
    "unmatched.rule.no_shared_language": "No available mentor shares a language.",
    "unmatched.rule.focus_skill": "No available mentor offers the program's focus skill.",
    "unmatched.rule.no_mentors": "The program has no mentors yet.",
    "unmatched.rule.mentor_not_peer": "No available mentor has opted in to peer mentoring.",
    "unmatched.rule.mentor_not_reverse": "No available mentor has opted in to reverse mentoring.",
    "unmatched.rule.mentee_not_peer": "The mentee has not opted in to peer mentoring.",
    "unmatched.rule.mentee_not_reverse": "The mentee has not opted in to reverse mentoring.",
    "unmatched.rule.other_org": "No mentor of the same organisation is available.",
    "unmatched.rule.taken": "Every suitable mentor was taken meanwhile.",
    "match_proposed.title": "Proposed match awaiting approval: {mentee} with {mentor}",
    "match_proposed.body": 'Matching proposes {mentor} as the mentor of {mentee} in the program "{program}" '
    "(score {score}).",
    "match_proposed.action": "Approve or reject the proposed match.",
    "circle_formed.title": "You are in a mentoring circle",
    "circle_formed.title_topics": "You are in a mentoring circle on {topics}",
    "circle_formed.body": "You are in a new mentoring circle with {members}.",
    "circle_formed.topics": "Topics: {topics}.",
    "circle_formed.no_members": "other members",
    "circle_formed.unnamed.one": "{count} colleague",
    "circle_formed.unnamed.other": "{count} colleagues",
    "circle_formed.unnamed_more.one": "{count} more colleague",
    "circle_formed.unnamed_more.other": "{count} more colleagues",
    "circle_formed.action.agree": "Agree who facilitates your first meeting.",
    "circle_formed.action.you": "You facilitate the first meeting: welcome everyone and set its agenda.",
    "circle_formed.action.other": "Look out for the first meeting, facilitated by {facilitator}.",
    "pair_ended.title": "Your mentorship with {others} ended",
    "pair_ended.body.completed": "Your mentorship with {others} is complete.",
    "pair_ended.body.not_a_fit": "Your mentorship with {others} has ended because it was not a good fit.",
    "pair_ended.body.stagnant": "Your mentorship with {others} has ended because you had stopped meeting.",
    "pair_ended.body.mentor_left": "Your mentorship with {others} has ended because your mentor left "
    "the program.",
    "pair_ended.body.mentor_left.you": "Your mentorship with {others} has ended because you left the "
    "program as a mentor.",
    "pair_ended.body.mentee_left": "Your mentorship with {others} has ended because your mentee left "
    "the program.",
    "pair_ended.body.mentee_left.you": "Your mentorship with {others} has ended because you left the "
    "program.",
    "pair_ended.body.erased": "Your mentorship with {others} has ended because a participant left the "
    "platform.",
    "pair_ended.body.other": "Your mentorship with {others} has ended.",
    "pair_ended.action.completed": "Share your feedback, and consider mentoring someone yourself.",
    "pair_ended.action.rematch": "We are looking for a new mentor for you; you can also ask for a new "
    "match yourself.",
    "pair_ended.action.mentee": "You can ask for a new match whenever you are ready.",
    "pair_ended.action.mentor": "You can take on a new mentee whenever you are ready.",
    # ---------------------------------------------------------------- why a match (matching's phrases)
    "match_reason.skills": "offers {skills}",
    "match_reason.skill_level": "{skill} ({level})",
    "match_reason.goals_words": "experience that fits the mentee's goals ({words})",
    "match_reason.levels": "a {mentor_level} mentor for a {mentee_level} mentee",
    "match_reason.style": "the same communication style ({style})",
    "match_reason.personality": "similar answers to the personality questions",
    "match_reason.timezone.one": "{count} working hour in common",
    "match_reason.timezone.other": "{count} working hours in common",
    "match_reason.languages": "speaks {languages}",
    "match_reason.modalities": "both can meet {modalities}",
    "match_reason.department": "from another department ({department})",
    "proficiency.beginner": "beginner",
    "proficiency.intermediate": "intermediate",
    "proficiency.advanced": "advanced",
    "proficiency.expert": "expert",
    "seniority.junior": "junior",
    "seniority.mid": "mid-level",
    "seniority.senior": "senior",
    "seniority.lead": "lead",
    "seniority.principal": "principal",
    "seniority.executive": "executive",
    "style.direct": "direct",
    "style.reflective": "reflective",
    "style.collaborative": "collaborative",
    "style.structured": "structured",
    "modality.video": "by video",
    "modality.in_person": "in person",
    "modality.chat": "by chat",
    "language.ar": "Arabic",
    "language.de": "German",
    "language.en": "English",
    "language.es": "Spanish",
    "language.fr": "French",
    "language.hi": "Hindi",
    "language.it": "Italian",
    "language.ja": "Japanese",
    "language.ko": "Korean",
    "language.nl": "Dutch",
    "language.pl": "Polish",
    "language.pt": "Portuguese",
    "language.ru": "Russian",
    "language.sv": "Swedish",
    "language.tr": "Turkish",
    "language.zh": "Chinese",
    # ---------------------------------------------------------------- sessions
    "session_invite.title": "Session with {others} on {when}",
    "session_invite.body": "Your mentorship session with {others} is scheduled for {when}. The calendar "
    "invite is attached.",
    "session_invite.action": "Add the session to your calendar.",
    "calendar.summary": "Mentorship session with {others}",
    "calendar.description": "Your mentorship session. Bring your agenda and your action items.",
    "calendar.alarm": "Mentorship session",
    "program.name": "Mentorship program",
    "session_scheduled.title": "Session scheduled with {others}: {when}",
    "session_scheduled.body": "Your next mentorship session with {others} is on {when}.",
    "session_scheduled.moved.title": "Session with {others} moved to {when}",
    "session_scheduled.moved.body": "Your mentorship session with {others} has moved to {when}.",
    "session_scheduled.action": "Keep the time free.",
    "session_reminder.title": "Reminder: session with {others} on {when}",
    "session_reminder.body": "Your mentorship session with {others} starts on {when}.",
    "session_reminder.action": "Check the time and your open action items.",
    "agenda_prompt.title": "Prepare the agenda for your next session",
    "agenda_prompt.body": "Your session with {others} is on {when}.",
    "agenda_prompt.action": "Add the topics you want to discuss to the session's agenda.",
    "session_missed.title": "Your mentorship session was missed",
    "session_missed.body": "The session with {others} planned for {when} did not take place.",
    "session_missed.streak": "That is {count} missed in a row.",
    "session_missed.action": "Pick a new time now.",
    "session_missed_escalation.title": "{pair} missed {count} sessions in a row",
    "session_missed_escalation.body": "The mentorship pair {pair} has missed {count} sessions in a row, "
    "the last planned for {when}.",
    "session_missed_escalation.action": "Check in with the pair: is the cadence right, is something in "
    "the way?",
    # ---------------------------------------------------------------- agreements
    "agreement.awaiting.title": "Your mentorship agreement with {others} awaits your signature",
    "agreement.awaiting.body": "The agreement with {others} is ready: your goals, roles, cadence and how "
    "you will meet.",
    "agreement.redrafted.title": "Your changed mentorship agreement with {others} awaits your signature",
    "agreement.redrafted.body": "The agreement with {others} was changed, so it needs everyone's "
    "signature again.",
    "agreement.signature_added.title": "{signer} signed your mentorship agreement",
    "agreement.signature_added.body": "{signer} signed the agreement; your signature is awaited.",
    "agreement.sign_action": "Read the agreement and sign it.",
    "agreement.signed.title": "Your mentorship agreement with {others} is signed",
    "agreement.signed.body": "Everyone has signed the agreement with {others}: you meet {cadence}.",
    "agreement.signed.action": "Work on your goals in your next session.",
    "cadence.weekly": "every week",
    "cadence.biweekly": "every two weeks",
    "cadence.monthly": "every month",
    "cadence.quarterly": "every three months",
    # ---------------------------------------------------------------- progress
    "stagnant.title": "Your mentorship with {others} has slowed down",
    "stagnant.body": "Your mentorship seems to have slowed down. {reasons} Suggestions: {actions}",
    "stagnant.escalation.title": "The mentorship of {pair} is stagnating",
    "stagnant.escalation.body": "The mentorship of {pair} is stagnating, with high severity. {reasons} "
    "Suggested to the pair: {actions} Consider reaching out or re-matching.",
    "stagnant.escalation.action": "Reach out to the pair.",
    "stagnation_reason.unknown": "The sessions have become less regular.",
    "stagnation_reason.no_session_for_cadence": "No session has taken place for more than {multiple} "
    "times the agreed interval between sessions.",
    "stagnation_reason.missed_sessions_in_a_row": "Several sessions in a row were missed.",
    "stagnation_reason.no_progress_over_last_sessions": "The last sessions brought no progress on goals "
    "or action items.",
    "stagnation_reason.learning_declining": "Fewer recent sessions felt like learning something.",
    "stagnation_reason.end_near_with_open_goals": "The mentorship ends soon and some goals are still open.",
    "stagnation_reason.agreement_unsigned": "The agreement is not signed yet.",
    "suggested_action.schedule_the_next_session": "Book your next session now.",
    "suggested_action.reevaluate_goals": "Revisit your goals together.",
    "suggested_action.try_new_topics": "Try new topics in your next session.",
    "suggested_action.consider_a_transition_or_rematch": "Talk about whether to go on together or to "
    "look for a new match.",
    "suggested_action.review_and_sign_the_agreement": "Review and sign your agreement.",
    "action_item_overdue.title": "Overdue: {title}",
    "action_item_overdue.body": 'Your action item "{title}" was due on {due}.',
    "action_item_overdue.action": "Finish it, or agree a new date in your next session.",
    "goal_achieved.title": "Goal achieved: {title}",
    "goal_achieved.body": 'Congratulations: you and {others} achieved "{title}".',
    "goal_achieved.action": "Celebrate, then pick your next goal together.",
    # ---------------------------------------------------------------- summaries
    "digest.title.daily.one": "Your daily mentorship summary: {count} update",
    "digest.title.daily.other": "Your daily mentorship summary: {count} updates",
    "digest.title.weekly.one": "Your weekly mentorship summary: {count} update",
    "digest.title.weekly.other": "Your weekly mentorship summary: {count} updates",
    "digest.intro": "Since your last summary:",
    "digest.action": "Open the portal to see the details.",
}
