"""Deutsch: die Texte jeder Nachricht und jeder Code aus einem Ereignis in Worten (formelle Anrede).

Personen ohne bekannten Namen werden so umschrieben, dass der Fall zur Stelle im Satz passt; ein
gelöschter Name wird durch einen Platzhalter ersetzt, der nicht gebeugt werden muss.
"""

from __future__ import annotations

LANGUAGE = "de"
WEEKDAYS = ("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So.")
MONTHS = ("Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez.")
AND = "und"
OR = "oder"
DECIMAL_MARK = ","
DATE_FORMAT = "{weekday}, {day:02d}.{month:02d}.{year}, {hour:02d}:{minute:02d} Uhr ({zone})"

CATALOGUE: dict[str, str] = {
    # ---------------------------------------------------------------- Personen ohne bekannten Namen
    "someone.partner": "Ihr Gegenüber",
    "someone.partner_with": "Ihrem Gegenüber",
    "someone.partner_subject": "Ihr Gegenüber",
    "someone.colleague_subject": "Eine Person aus Ihrem Unternehmen",
    "someone.facilitator": "einem Mitglied des Kreises",
    "someone.erased": "(Name entfernt)",
    # ---------------------------------------------------------------- Zuordnung
    "match.why": "Warum diese Zuordnung: {reasons}.",
    "pair_created.unknown_mentor": "Ihrer Mentorin oder Ihrem Mentor",
    "pair_created.unknown_mentee": "Ihrer oder Ihrem neuen Mentee",
    "pair_created.mentee.title": "Ihr Mentoring mit {name} beginnt",
    "pair_created.mentor.title": "Neu als Mentor:in: Ihr Mentoring mit {name} beginnt",
    "pair_created.body": "Sie bilden jetzt mit {name} ein Mentoring-Tandem.",
    "pair_created.action": "Vereinbaren Sie in Ihrer ersten Sitzung Ihre Ziele und wie oft Sie sich treffen.",
    "mentorship_requested.title": "{mentee} bittet Sie um ein Mentoring",
    "mentorship_requested.body": "{mentee} möchte von Ihnen als Mentor:in begleitet werden.",
    "mentorship_requested.note": "Die Nachricht dazu: „{note}“",
    "mentorship_requested.action": "Nehmen Sie bis {deadline} an oder lehnen Sie ab; danach verfällt die "
    "Anfrage.",
    "request_withdrawn.title": "{mentee} hat die Mentoring-Anfrage zurückgezogen",
    "request_withdrawn.body": "{mentee} hat die Anfrage an Sie zurückgezogen.",
    "request_withdrawn.action": "Für Sie ist nichts zu tun: Sie müssen nicht mehr antworten.",
    "request_ended.unknown_mentor": "die angefragte Person",
    "request_ended.unknown_mentor_subject": "Die angefragte Person",
    "request_ended.declined.title": "{Mentor} hat Ihre Mentoring-Anfrage abgelehnt",
    "request_ended.declined.body": "{Mentor} hat Ihre Mentoring-Anfrage abgelehnt.",
    "request_ended.declined.action": "Fragen Sie eine andere vorgeschlagene Person an oder bitten Sie um "
    "eine neue Zuordnung.",
    "request_ended.expired.title": "Ihre Mentoring-Anfrage an {mentor} ist abgelaufen",
    "request_ended.expired.body": "{Mentor} hat nicht rechtzeitig geantwortet, daher ist Ihre Anfrage "
    "abgelaufen. Gab es eine weitere vorgeschlagene Person, haben wir sie angefragt.",
    "request_ended.expired.action": "Warten Sie auf deren Antwort oder bitten Sie um eine neue Zuordnung, "
    "falls niemand weiter vorgeschlagen war.",
    "request_ended.mentor_unavailable.title": "{Mentor} kann derzeit niemanden zusätzlich begleiten",
    "request_ended.mentor_unavailable.body": "{Mentor} kann derzeit niemanden zusätzlich begleiten, daher "
    "wurde Ihre Anfrage geschlossen.",
    "request_ended.mentor_unavailable.action": "Fragen Sie eine andere vorgeschlagene Person an oder "
    "bitten Sie um eine neue Zuordnung.",
    "request_ended.closed.title": "Ihre Mentoring-Anfrage an {mentor} wurde geschlossen",
    "request_ended.closed.body": "Ihre Mentoring-Anfrage an {mentor} wurde geschlossen.",
    "request_ended.closed.action": "Fragen Sie eine andere vorgeschlagene Person an oder bitten Sie um "
    "eine neue Zuordnung.",
    # ---------------------------------------------------------------- no mentor possible now
    "unmatched.mentee.title": "Wir haben noch keine neue Mentorin und keinen neuen Mentor für Sie gefunden",
    "unmatched.mentee.body.escalated": "Ihr Mentoring endete, nachdem es ins Stocken geraten war, und "
    "derzeit "
    "kommt in Ihrem Programm niemand als Mentor:in für Sie infrage.",
    "unmatched.mentee.body.proposal_rejected": "Die für Sie vorgeschlagene Zuordnung kam nicht zustande, und "
    "derzeit kommt in Ihrem Programm niemand sonst als Mentor:in für Sie infrage.",
    "unmatched.mentee.action": "Sie müssen nichts tun: Die Verantwortlichen Ihres Programms wissen Bescheid "
    "und finden eine Mentorin oder einen Mentor für Sie.",
    "unmatched.admin.title": "Keine Mentor:in möglich für {mentee} in {program}",
    "unmatched.admin.body.escalated": "Das stockende Mentoring von {mentee} wurde eskaliert und beendet, und "
    "derzeit kommt im Programm niemand als Mentor:in infrage.",
    "unmatched.admin.body.proposal_rejected": "Nachdem der Vorschlag für {mentee} abgelehnt wurde, kommt "
    "derzeit im Programm niemand sonst als Mentor:in infrage.",
    "unmatched.admin.action": "Ordnen Sie von Hand zu (mit einer Begründung können Sie eine weiche Regel "
    "übergehen) oder ändern Sie die Einstellungen des Programms.",
    "unmatched.rule.full": "Alle passenden Mentor:innen sind ausgelastet.",
    "unmatched.rule.paused": "Alle passenden Mentor:innen pausieren.",
    "unmatched.rule.program_capacity": "Alle passenden Mentor:innen haben die Höchstzahl des Programms "
    "erreicht.",
    "unmatched.rule.previous_mentor": "Die einzigen passenden Mentor:innen waren es schon einmal.",
    "unmatched.rule.reporting_line": "Die einzigen passenden Mentor:innen stehen in derselben Berichtslinie.",
    "unmatched.rule.no_shared_language": "Keine verfügbare Mentor:in spricht eine gemeinsame Sprache.",
    "unmatched.rule.focus_skill": "Keine verfügbare Mentor:in bietet die Schwerpunktfähigkeit des Programms "
    "an.",
    "unmatched.rule.no_mentors": "Das Programm hat noch keine Mentor:innen.",
    "unmatched.rule.mentor_not_peer": "Keine verfügbare Mentor:in macht beim Peer-Mentoring mit.",
    "unmatched.rule.mentor_not_reverse": "Keine verfügbare Mentor:in macht beim Reverse-Mentoring mit.",
    "unmatched.rule.mentee_not_peer": "Die Person macht beim Peer-Mentoring nicht mit.",
    "unmatched.rule.mentee_not_reverse": "Die Person macht beim Reverse-Mentoring nicht mit.",
    "unmatched.rule.other_org": "In derselben Organisation ist keine Mentor:in verfügbar.",
    "unmatched.rule.taken": "Alle passenden Mentor:innen wurden inzwischen vergeben.",
    "match_proposed.title": "Vorgeschlagene Zuordnung wartet auf Freigabe: {mentee} mit {mentor}",
    "match_proposed.body": "Für {mentee} wird im Programm „{program}“ {mentor} als Mentor:in vorgeschlagen "
    "(Passung {score}).",
    "match_proposed.action": "Geben Sie die vorgeschlagene Zuordnung frei oder lehnen Sie sie ab.",
    "circle_formed.title": "Sie sind Teil eines Mentoring-Kreises",
    "circle_formed.title_topics": "Sie sind Teil eines Mentoring-Kreises zu {topics}",
    "circle_formed.body": "Sie sind Teil eines neuen Mentoring-Kreises mit {members}.",
    "circle_formed.topics": "Themen: {topics}.",
    "circle_formed.no_members": "weiteren Mitgliedern",
    "circle_formed.unnamed.one": "{count} Person",
    "circle_formed.unnamed.other": "{count} Personen",
    "circle_formed.unnamed_more.one": "{count} weiteren Person",
    "circle_formed.unnamed_more.other": "{count} weiteren Personen",
    "circle_formed.action.agree": "Vereinbaren Sie, wer Ihr erstes Treffen moderiert.",
    "circle_formed.action.you": "Sie moderieren das erste Treffen: Begrüßen Sie alle und legen Sie die "
    "Tagesordnung fest.",
    "circle_formed.action.other": "Achten Sie auf das erste Treffen, moderiert von {facilitator}.",
    "pair_ended.title": "Ihr Mentoring mit {others} ist beendet",
    "pair_ended.body.completed": "Ihr Mentoring mit {others} ist erfolgreich abgeschlossen.",
    "pair_ended.body.not_a_fit": "Ihr Mentoring mit {others} wurde beendet, weil die Zusammenarbeit nicht "
    "gepasst hat.",
    "pair_ended.body.stagnant": "Ihr Mentoring mit {others} wurde beendet, weil keine Treffen mehr "
    "stattfanden.",
    "pair_ended.body.mentor_left": "Ihr Mentoring mit {others} wurde beendet, weil Ihre Mentorin oder Ihr "
    "Mentor das Programm verlassen hat.",
    "pair_ended.body.mentor_left.you": "Ihr Mentoring mit {others} wurde beendet, weil Sie das Programm "
    "als Mentor:in verlassen haben.",
    "pair_ended.body.mentee_left": "Ihr Mentoring mit {others} wurde beendet, weil die von Ihnen begleitete "
    "Person das Programm verlassen hat.",
    "pair_ended.body.mentee_left.you": "Ihr Mentoring mit {others} wurde beendet, weil Sie das Programm "
    "verlassen haben.",
    "pair_ended.body.erased": "Ihr Mentoring mit {others} wurde beendet, weil eine beteiligte Person die "
    "Plattform verlassen hat.",
    "pair_ended.body.other": "Ihr Mentoring mit {others} wurde beendet.",
    "pair_ended.action.completed": "Geben Sie uns Ihre Rückmeldung, und überlegen Sie, selbst jemanden "
    "als Mentor:in zu begleiten.",
    "pair_ended.action.rematch": "Wir suchen eine neue Mentorin oder einen neuen Mentor für Sie; Sie "
    "können auch selbst um eine neue Zuordnung bitten.",
    "pair_ended.action.mentee": "Sie können jederzeit um eine neue Zuordnung bitten.",
    "pair_ended.action.mentor": "Sie können jederzeit eine weitere Person begleiten.",
    # ---------------------------------------------------------------- Warum eine Zuordnung (aus dem Matching)
    "match_reason.skills": "bietet {skills}",
    "match_reason.skill_level": "{skill} ({level})",
    "match_reason.goals_words": "Erfahrung, die zu den Zielen der begleiteten Person passt ({words})",
    "match_reason.levels": "Mentor:in auf Stufe {mentor_level} für eine Person auf Stufe {mentee_level}",
    "match_reason.style": "derselbe Kommunikationsstil ({style})",
    "match_reason.personality": "ähnliche Antworten auf die Persönlichkeitsfragen",
    "match_reason.timezone.one": "{count} gemeinsame Arbeitsstunde",
    "match_reason.timezone.other": "{count} gemeinsame Arbeitsstunden",
    "match_reason.languages": "spricht {languages}",
    "match_reason.modalities": "beide können sich {modalities} treffen",
    "match_reason.department": "aus einer anderen Abteilung ({department})",
    "proficiency.beginner": "Grundkenntnisse",
    "proficiency.intermediate": "gute Kenntnisse",
    "proficiency.advanced": "sehr gute Kenntnisse",
    "proficiency.expert": "Expertenwissen",
    "seniority.junior": "Junior",
    "seniority.mid": "Mittlere Ebene",
    "seniority.senior": "Senior",
    "seniority.lead": "Lead",
    "seniority.principal": "Principal",
    "seniority.executive": "Führungsebene",
    "style.direct": "direkt",
    "style.reflective": "nachdenklich",
    "style.collaborative": "kooperativ",
    "style.structured": "strukturiert",
    "modality.video": "per Video",
    "modality.in_person": "persönlich",
    "modality.chat": "per Chat",
    "language.ar": "Arabisch",
    "language.de": "Deutsch",
    "language.en": "Englisch",
    "language.es": "Spanisch",
    "language.fr": "Französisch",
    "language.hi": "Hindi",
    "language.it": "Italienisch",
    "language.ja": "Japanisch",
    "language.ko": "Koreanisch",
    "language.nl": "Niederländisch",
    "language.pl": "Polnisch",
    "language.pt": "Portugiesisch",
    "language.ru": "Russisch",
    "language.sv": "Schwedisch",
    "language.tr": "Türkisch",
    "language.zh": "Chinesisch",
    # ---------------------------------------------------------------- Sitzungen
    "session_invite.title": "Sitzung mit {others} am {when}",
    "session_invite.body": "Ihre Mentoring-Sitzung mit {others} ist für {when} geplant. Die "
    "Kalendereinladung ist angehängt.",
    "session_invite.action": "Übernehmen Sie die Sitzung in Ihren Kalender.",
    "calendar.summary": "Mentoring-Sitzung mit {others}",
    "calendar.description": "Ihre Mentoring-Sitzung. Bringen Sie Ihre Tagesordnung und Ihre offenen "
    "Aufgaben mit.",
    "calendar.alarm": "Mentoring-Sitzung",
    "program.name": "Mentoring-Programm",
    "session_scheduled.title": "Sitzung mit {others} geplant: {when}",
    "session_scheduled.body": "Ihre nächste Mentoring-Sitzung mit {others} findet am {when} statt.",
    "session_scheduled.moved.title": "Sitzung mit {others} verschoben auf {when}",
    "session_scheduled.moved.body": "Ihre Mentoring-Sitzung mit {others} wurde auf {when} verschoben.",
    "session_scheduled.action": "Halten Sie sich den Termin frei.",
    "session_reminder.title": "Erinnerung: Sitzung mit {others} am {when}",
    "session_reminder.body": "Ihre Mentoring-Sitzung mit {others} beginnt am {when}.",
    "session_reminder.action": "Prüfen Sie die Uhrzeit und Ihre offenen Aufgaben.",
    "agenda_prompt.title": "Bereiten Sie die Tagesordnung Ihrer nächsten Sitzung vor",
    "agenda_prompt.body": "Ihre Sitzung mit {others} ist am {when}.",
    "agenda_prompt.action": "Tragen Sie die Themen, die Sie besprechen möchten, in die Tagesordnung ein.",
    "session_missed.title": "Ihre Mentoring-Sitzung hat nicht stattgefunden",
    "session_missed.body": "Die Sitzung mit {others}, geplant für {when}, hat nicht stattgefunden.",
    "session_missed.streak": "Damit sind {count} Sitzungen in Folge ausgefallen.",
    "session_missed.action": "Vereinbaren Sie jetzt einen neuen Termin.",
    "session_missed_escalation.title": "{pair}: {count} Sitzungen in Folge ausgefallen",
    "session_missed_escalation.body": "Beim Mentoring-Tandem {pair} sind {count} Sitzungen in Folge "
    "ausgefallen, zuletzt die für {when} geplante.",
    "session_missed_escalation.action": "Sprechen Sie mit dem Tandem: Passt der Rhythmus, steht etwas im "
    "Weg?",
    # ---------------------------------------------------------------- Vereinbarungen
    "agreement.awaiting.title": "Ihre Mentoring-Vereinbarung mit {others} wartet auf Ihre Unterschrift",
    "agreement.awaiting.body": "Die Vereinbarung mit {others} liegt bereit: Ihre Ziele, Rollen, der "
    "Rhythmus und wie Sie sich treffen.",
    "agreement.redrafted.title": "Ihre geänderte Mentoring-Vereinbarung mit {others} wartet auf Ihre "
    "Unterschrift",
    "agreement.redrafted.body": "Die Vereinbarung mit {others} wurde geändert und muss daher erneut von "
    "allen unterschrieben werden.",
    "agreement.signature_added.title": "{signer} hat Ihre Mentoring-Vereinbarung unterschrieben",
    "agreement.signature_added.body": "{signer} hat die Vereinbarung unterschrieben; Ihre Unterschrift "
    "steht noch aus.",
    "agreement.sign_action": "Lesen Sie die Vereinbarung und unterschreiben Sie sie.",
    "agreement.signed.title": "Ihre Mentoring-Vereinbarung mit {others} ist unterschrieben",
    "agreement.signed.body": "Alle haben die Vereinbarung mit {others} unterschrieben: Sie treffen sich "
    "{cadence}.",
    "agreement.signed.action": "Arbeiten Sie in Ihrer nächsten Sitzung an Ihren Zielen.",
    "cadence.weekly": "jede Woche",
    "cadence.biweekly": "alle zwei Wochen",
    "cadence.monthly": "jeden Monat",
    "cadence.quarterly": "alle drei Monate",
    # ---------------------------------------------------------------- Fortschritt
    "stagnant.title": "Ihr Mentoring mit {others} ist ins Stocken geraten",
    "stagnant.body": "Ihr Mentoring scheint ins Stocken geraten zu sein. {reasons} Vorschläge: {actions}",
    "stagnant.escalation.title": "Das Mentoring von {pair} stockt",
    "stagnant.escalation.body": "Das Mentoring von {pair} stockt deutlich. {reasons} Vorschläge an das "
    "Tandem: {actions} Sprechen Sie das Tandem an oder erwägen Sie eine neue Zuordnung.",
    "stagnant.escalation.action": "Nehmen Sie Kontakt mit dem Tandem auf.",
    "stagnation_reason.unknown": "Die Sitzungen finden seltener statt.",
    "stagnation_reason.no_session_for_cadence": "Seit mehr als dem {multiple}-fachen des vereinbarten "
    "Abstands hat keine Sitzung stattgefunden.",
    "stagnation_reason.missed_sessions_in_a_row": "Mehrere Sitzungen in Folge sind ausgefallen.",
    "stagnation_reason.no_progress_over_last_sessions": "Die letzten Sitzungen haben bei Zielen und "
    "Aufgaben keinen Fortschritt gebracht.",
    "stagnation_reason.learning_declining": "In den letzten Sitzungen wurde seltener etwas Neues gelernt.",
    "stagnation_reason.end_near_with_open_goals": "Das Mentoring endet bald, und einige Ziele sind noch "
    "offen.",
    "stagnation_reason.agreement_unsigned": "Die Vereinbarung ist noch nicht unterschrieben.",
    "suggested_action.schedule_the_next_session": "Vereinbaren Sie jetzt Ihre nächste Sitzung.",
    "suggested_action.reevaluate_goals": "Überprüfen Sie gemeinsam Ihre Ziele.",
    "suggested_action.try_new_topics": "Probieren Sie in der nächsten Sitzung neue Themen aus.",
    "suggested_action.consider_a_transition_or_rematch": "Besprechen Sie, ob Sie gemeinsam weitermachen "
    "oder eine neue Zuordnung suchen.",
    "suggested_action.review_and_sign_the_agreement": "Prüfen und unterschreiben Sie Ihre Vereinbarung.",
    "action_item_overdue.title": "Überfällig: {title}",
    "action_item_overdue.body": "Ihre Aufgabe „{title}“ war am {due} fällig.",
    "action_item_overdue.action": "Erledigen Sie sie, oder vereinbaren Sie in Ihrer nächsten Sitzung ein "
    "neues Datum.",
    "goal_achieved.title": "Ziel erreicht: {title}",
    "goal_achieved.body": "Herzlichen Glückwunsch: Sie und {others} haben „{title}“ erreicht.",
    "goal_achieved.action": "Feiern Sie den Erfolg und wählen Sie dann gemeinsam Ihr nächstes Ziel.",
    # ---------------------------------------------------------------- Übersichten
    "digest.title.daily.one": "Ihre tägliche Mentoring-Übersicht: {count} Neuigkeit",
    "digest.title.daily.other": "Ihre tägliche Mentoring-Übersicht: {count} Neuigkeiten",
    "digest.title.weekly.one": "Ihre wöchentliche Mentoring-Übersicht: {count} Neuigkeit",
    "digest.title.weekly.other": "Ihre wöchentliche Mentoring-Übersicht: {count} Neuigkeiten",
    "digest.intro": "Seit Ihrer letzten Übersicht:",
    "digest.action": "Öffnen Sie das Portal, um die Einzelheiten zu sehen.",
}
